//! The soak: two server instances sharing one database behind a round-robin driver, a mixed
//! stream of signed callbacks (subscribe with a scene, plain subscribe, SCAN, unsubscribe, text;
//! one instance in safe mode, the other in plaintext) with 5 % exact re-deliveries (some
//! concurrent), a PostgreSQL restart in the middle, and WeChat API faults from the sandbox
//! (timeouts, -1, 40001 after revoked tokens, 45015). At the end the expected referral set is
//! compared with the database: nothing lost, nothing duplicated, every outbox job settled.
//!
//! Short by default (part of `cargo test`); `cargo xtask soak` runs it longer
//! (`SOAK_FOLLOWERS`, default here 120).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use app::model::{NewQrCode, NewReferrer};
use futures_util::future::join_all;
use pgcluster::{Cluster, Options};
use rand::{Rng, SeedableRng};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tuijian::config::{SANDBOX_APPID, SANDBOX_TOKEN};
use tuijian::db::sandbox as sim_store;
use tuijian::referral::{qrcodes, referrers};
use tuijian::sandbox::faults::Fault;
use tuijian::wechat::crypto::MsgCrypt;
use tuijian::wechat::signature::sign;

use crate::common::{TestApp, eventually, settings, spawn_app_with};

const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const REFERRERS: usize = 8;

/// One callback as WeChat would send it.
#[derive(Clone, Debug)]
struct Event {
    xml: String,
    /// Sent twice (an exact re-delivery).
    redeliver: bool,
}

fn event_xml(openid: &str, at: i64, event: &str, key: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_soak]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{at}</CreateTime>\
         <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>\
         <EventKey><![CDATA[{key}]]></EventKey></xml>"
    )
}

fn text_xml(openid: &str, at: i64, msg_id: u64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_soak]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{at}</CreateTime>\
         <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>\
         <MsgId>{msg_id}</MsgId></xml>"
    )
}

/// The driver: signs (and for the safe-mode instance encrypts) and delivers like WeChat,
/// retrying a delivery that was not acknowledged.
struct Driver {
    apps: Vec<TestApp>,
    crypt: MsgCrypt,
    next: AtomicU64,
    deliveries: AtomicU64,
    refused: AtomicU64,
}

impl Driver {
    async fn send_once(&self, xml: &str) -> u16 {
        let i = self.next.fetch_add(1, Ordering::Relaxed) as usize % self.apps.len();
        let app = &self.apps[i];
        let (timestamp, nonce) = ("1700000000", "5150");
        let signature = sign(&[SANDBOX_TOKEN, timestamp, nonce]);
        let mut url =
            format!("/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}");
        // Instance 0 runs in safe mode, instance 1 in plaintext mode.
        let body = if i == 0 {
            let encrypt = self.crypt.encrypt(xml);
            let msg_signature = sign(&[SANDBOX_TOKEN, timestamp, nonce, &encrypt]);
            url.push_str(&format!("&encrypt_type=aes&msg_signature={msg_signature}"));
            format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
        } else {
            xml.to_owned()
        };
        self.deliveries.fetch_add(1, Ordering::Relaxed);
        match app.client.post(app.url(&url)).body(body).send().await {
            Ok(resp) => resp.status().as_u16(),
            Err(_) => 0,
        }
    }

    /// Delivers until acknowledged (WeChat retries three times; the driver keeps going so the
    /// restart window cannot exhaust it).
    async fn deliver(&self, xml: &str) {
        for _ in 0..200 {
            let status = self.send_once(xml).await;
            if status == 200 {
                return;
            }
            assert!(
                status == 503 || status == 0,
                "only an outage may refuse a valid callback, got {status}"
            );
            self.refused.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("a callback was never acknowledged");
    }

    async fn play(&self, e: &Event) {
        if e.redeliver {
            // Half of the re-deliveries arrive concurrently with the first delivery.
            if e.xml.len().is_multiple_of(2) {
                join_all([self.deliver(&e.xml), self.deliver(&e.xml)]).await;
            } else {
                self.deliver(&e.xml).await;
                self.deliver(&e.xml).await;
            }
        } else {
            self.deliver(&e.xml).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn soak_two_instances_restart_and_faults_lose_and_duplicate_nothing() {
    let followers: usize = std::env::var("SOAK_FOLLOWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("soak-postgres-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let options = Options {
        settings: vec![("max_connections".into(), "100".into())],
    };
    let cluster = Cluster::ensure_running(&dir, &options).expect("cluster");
    let url = cluster.url("postgres");
    let pool = |n| {
        PgPoolOptions::new()
            .max_connections(n)
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy(&url)
            .expect("pool")
    };
    let admin: PgPool = pool(4);
    tuijian::db::migrate(&admin).await.expect("migrate");
    let safe = spawn_app_with(
        pool(15),
        settings(&[
            ("WECHAT_ENCODING_AES_KEY", AES_KEY),
            ("TUIJIAN_CALLBACK_DEADLINE_MS", "1500"),
        ]),
    )
    .await;
    let plain = spawn_app_with(
        pool(15),
        settings(&[("TUIJIAN_CALLBACK_DEADLINE_MS", "1500")]),
    )
    .await;

    // Referrers with permanent codes; half have a bound openid (a WeChat user whose
    // customer-service window is closed: their notices are kept with 45015).
    let mut scenes = Vec::new();
    for r in 0..REFERRERS {
        let openid = (r % 2 == 0).then(|| format!("oSoakRef{r}"));
        if let Some(o) = &openid {
            sim_store::ensure_user(&admin, 1, o, o)
                .await
                .expect("sim user");
            sim_store::record_follow(&admin, 1, o, None)
                .await
                .expect("follow");
            sim_store::age_interaction(&admin, 1, o, 72)
                .await
                .expect("age");
        }
        let referrer = referrers::create(
            &admin,
            &tuijian::referral::actor::Actor::cli(1),
            &NewReferrer {
                name: format!("推荐人{r}"),
                openid,
                ..NewReferrer::default()
            },
        )
        .await
        .expect("referrer");
        let code = qrcodes::create(
            &admin,
            &safe.state.accounts,
            &tuijian::referral::actor::Actor::cli(1),
            referrer.id,
            &NewQrCode {
                kind: "permanent".into(),
                expire_seconds: None,
                label: None,
                scene_type: None,
                wechat_tag: None,
            },
        )
        .await
        .expect("code");
        scenes.push((code.scene, referrer.id));
    }

    // The stream, seeded: every follower's first event is a follow; 75 % through a code.
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261124);
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    let mut firsts = Vec::new();
    let mut laters = Vec::new();
    let mut msg_id = 1_000_000u64;
    for f in 0..followers {
        let openid = format!("oSoak{f:06}");
        sim_store::ensure_user(&admin, 1, &openid, &openid)
            .await
            .expect("sim user");
        let at = 1_700_000_000 + f as i64;
        let redeliver = rng.random_bool(0.05);
        if rng.random_bool(0.75) {
            let (scene, referrer) = &scenes[rng.random_range(0..scenes.len())];
            sim_store::record_follow(&admin, 1, &openid, Some(scene))
                .await
                .expect("follow");
            expected.insert(openid.clone(), *referrer);
            firsts.push(Event {
                xml: event_xml(&openid, at, "subscribe", &format!("qrscene_{scene}")),
                redeliver,
            });
        } else {
            sim_store::record_follow(&admin, 1, &openid, None)
                .await
                .expect("follow");
            firsts.push(Event {
                xml: event_xml(&openid, at, "subscribe", ""),
                redeliver,
            });
        }
        // Then a SCAN, a text or an unfollow, sometimes.
        let later = match rng.random_range(0..10) {
            0..=2 => {
                let (scene, _) = &scenes[rng.random_range(0..scenes.len())];
                Some(event_xml(&openid, at + 100, "SCAN", scene))
            }
            3..=4 => {
                msg_id += 1;
                Some(text_xml(&openid, at + 200, msg_id))
            }
            5 => Some(event_xml(&openid, at + 300, "unsubscribe", "")),
            _ => None,
        };
        if let Some(xml) = later {
            laters.push(Event {
                xml,
                redeliver: rng.random_bool(0.05),
            });
        }
    }
    // A few followers arrive after the tokens are revoked (their lookups meet 40001).
    for f in followers..followers + 10 {
        let openid = format!("oSoak{f:06}");
        sim_store::ensure_user(&admin, 1, &openid, &openid)
            .await
            .expect("sim user");
        let (scene, referrer) = &scenes[f % scenes.len()];
        sim_store::record_follow(&admin, 1, &openid, Some(scene))
            .await
            .expect("follow");
        expected.insert(openid.clone(), *referrer);
        laters.push(Event {
            xml: event_xml(
                &openid,
                1_700_100_000 + f as i64,
                "subscribe",
                &format!("qrscene_{scene}"),
            ),
            redeliver: false,
        });
    }
    let redeliveries = firsts.iter().chain(&laters).filter(|e| e.redeliver).count();
    let distinct_events = firsts.len() + laters.len();

    // WeChat API faults on both instances.
    for app in [&safe, &plain] {
        app.state.sandbox_faults.add(&Fault {
            endpoint: "user/info".into(),
            errcode: Some(-1),
            count: Some(6),
            latency_ms: None,
        });
        app.state.sandbox_faults.add(&Fault {
            endpoint: "message/custom/send".into(),
            latency_ms: Some(11_000),
            ..Fault::default()
        });
    }
    let driver = Arc::new(Driver {
        apps: vec![safe, plain],
        crypt: MsgCrypt::new(AES_KEY, SANDBOX_APPID).expect("key"),
        next: AtomicU64::new(0),
        deliveries: AtomicU64::new(0),
        refused: AtomicU64::new(0),
    });

    // Play: 16 concurrent lanes; the first half of the follows, a restart, the rest.
    let play = |events: Vec<Event>| {
        let driver = driver.clone();
        async move {
            let lanes: Vec<_> = (0..16)
                .map(|lane| {
                    let driver = driver.clone();
                    let mine: Vec<Event> = events.iter().skip(lane).step_by(16).cloned().collect();
                    tokio::spawn(async move {
                        for e in &mine {
                            driver.play(e).await;
                        }
                    })
                })
                .collect();
            for lane in lanes {
                lane.await.expect("lane");
            }
        }
    };
    let half = firsts.len() / 2;
    let second = firsts.split_off(half);
    play(firsts).await;
    // PostgreSQL goes down while the second half is being delivered, and comes back.
    let (stopped_tx, stopped) = tokio::sync::oneshot::channel();
    let restart = {
        let dir = dir.clone();
        let options = options.clone();
        tokio::task::spawn_blocking(move || {
            let c = Cluster::ensure_running(&dir, &options).expect("running");
            c.shutdown().expect("stop");
            let _ = stopped_tx.send(());
            std::thread::sleep(Duration::from_millis(1500));
            Cluster::ensure_running(&dir, &options).expect("restart");
        })
    };
    stopped.await.expect("stopped");
    let during = play(second);
    let (restarted, ()) = tokio::join!(restart, during);
    restarted.expect("restart task");
    for app in &driver.apps {
        app.state.sandbox_faults.clear();
    }
    // Tokens revoked: the next call gets 40001 and the shared token is replaced.
    let tokens_before = sim_store::tokens_issued(&admin).await.expect("tokens");
    sim_store::revoke_tokens(&admin).await.expect("revoke");
    play(laters).await;

    // Every job settles: done, or failed for good with WeChat's errcode.
    let pending = eventually(120, || async {
        let pending: i64 =
            sqlx::query_scalar("select count(*) from outbox where status = 'pending'")
                .fetch_one(&admin)
                .await
                .ok()?;
        (pending == 0).then_some(pending)
    })
    .await;
    let recorded: Vec<(String, i64)> = sqlx::query_as(
        "select f.openid, r.referrer_id
         from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id",
    )
    .fetch_all(&admin)
    .await
    .expect("referrals");
    let mut per_follower: HashMap<&str, usize> = HashMap::new();
    for (openid, _) in &recorded {
        *per_follower.entry(openid).or_default() += 1;
    }
    let duplicated = per_follower.values().filter(|n| **n > 1).count();
    let lost = expected
        .iter()
        .filter(|(o, r)| !recorded.iter().any(|(ro, rr)| ro == *o && rr == *r))
        .count();
    let unexpected = recorded
        .iter()
        .filter(|(o, r)| expected.get(o) != Some(r))
        .count();
    let events: i64 = sqlx::query_scalar("select count(*) from event")
        .fetch_one(&admin)
        .await
        .expect("events");
    let jobs: Vec<(String, String, Option<i32>, i64)> = sqlx::query_as(
        "select kind, status, last_errcode, count(*) from outbox
         group by kind, status, last_errcode order by 1, 2, 3",
    )
    .fetch_all(&admin)
    .await
    .expect("jobs");
    let unsettled_failures = jobs
        .iter()
        .filter(|(_, status, errcode, _)| status == "failed" && errcode.is_none())
        .count();
    println!(
        "soak: {followers} followers, {} events ({redeliveries} re-delivered), {} deliveries, \
         {} refused during the restart",
        distinct_events,
        driver.deliveries.load(Ordering::Relaxed),
        driver.refused.load(Ordering::Relaxed),
    );
    println!(
        "soak: referrals expected {}, recorded {}, lost {lost}, duplicated {duplicated}, \
         unexpected {unexpected}; events stored {events}; outbox pending {pending}",
        expected.len(),
        recorded.len()
    );
    for (kind, status, errcode, n) in &jobs {
        println!("soak: outbox {kind} {status} errcode={errcode:?}: {n}");
    }
    assert_eq!((lost, duplicated, unexpected), (0, 0, 0));
    assert!(
        driver.refused.load(Ordering::Relaxed) > 0,
        "the restart overlapped with deliveries"
    );
    let tokens_after = sim_store::tokens_issued(&admin).await.expect("tokens");
    assert!(tokens_after > tokens_before, "a revoked token was replaced");
    assert_eq!(events as usize, distinct_events, "each event stored once");
    assert_eq!(unsettled_failures, 0, "every failed job names its errcode");
    // Referrers whose customer-service window closed (45015) and who have no template: their
    // notices are kept for when they are back, and those jobs are not retried.
    let kept: i64 = sqlx::query_scalar(
        "select count(*) from notification where status = 'pending' and errcode = 45015",
    )
    .fetch_one(&admin)
    .await
    .expect("kept notices");
    assert!(kept > 0, "closed windows keep their notices: {jobs:?}");
    assert!(
        !jobs
            .iter()
            .any(|(_, status, errcode, _)| status == "failed" && *errcode == Some(45015)),
        "a closed window fails no job: {jobs:?}"
    );
    // The report roll-ups kept under concurrency, restarts and redeliveries add up.
    let kept = crate::rest_reports::rollups(&admin).await;
    tuijian::db::rollup::rebuild(&admin).await.expect("rebuild");
    assert_eq!(
        crate::rest_reports::rollups(&admin).await,
        kept,
        "roll-ups drifted"
    );
    drop(driver);
    admin.close().await;
    let _ = cluster.shutdown();
    let _ = std::fs::remove_dir_all(&dir);
}
