//! Reconciliation against the simulated WeChat: follows whose callback WeChat gave up on are
//! recovered with the right referrer once, followers WeChat no longer lists are marked lost,
//! a crashed run resumes from its cursor without counting anything twice, a quota error stops
//! a run that then resumes, and the nightly schedule starts runs for live accounts.

use app::model::Role;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tuijian::db::reconcile as runs;
use tuijian::referral::actor::Actor;
use tuijian::referral::error::ServiceError;
use tuijian::referral::reconcile::{self, LEASE_SECS, Reconciler};
use tuijian::sandbox::faults::Fault;
use tuijian::sandbox::simulate::{self, SimContext};

use crate::common::{TestApp, board, eventually, referrer_with_code, spawn_app};

/// The simulator with WeChat giving up on every callback.
fn lossy(app: &TestApp) -> SimContext {
    let mut sim = app.state.sim();
    sim.lose_callbacks = true;
    sim
}

async fn scalar(pool: &PgPool, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Waits for the server's reconciler to finish run `id`.
async fn finished(pool: &PgPool, id: i64) -> runs::RunRow {
    eventually(30, || async {
        let run = runs::get(pool, 1, id).await.expect("run").expect("exists");
        (run.status != "active").then_some(run)
    })
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn lost_callbacks_are_recovered_once_and_gone_followers_marked_lost(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (zhang, zhang_code) = referrer_with_code(&app, "张三").await;
    let (_, li_code) = referrer_with_code(&app, "李四").await;
    let sim = app.state.sim();
    // Heard: a follows through Zhang's code; d follows through it and later unfollows, but
    // WeChat gives up on the unfollow.
    simulate::scan(&sim, zhang_code, "a").await.expect("a");
    simulate::scan(&sim, zhang_code, "d").await.expect("d");
    let gone = simulate::unfollow(&lossy(&app), "d")
        .await
        .expect("d leaves");
    assert!(gone.lost && gone.status == 0);
    // Never heard: b follows through Zhang's code, c by search, e through Li's code after
    // being referred by Zhang before (first touch stays with Zhang).
    let b = simulate::scan(&lossy(&app), zhang_code, "b")
        .await
        .expect("b");
    assert!(b.lost && b.reply.is_none(), "no greeting: {b:?}");
    simulate::follow(&lossy(&app), "c").await.expect("c");
    simulate::scan(&sim, zhang_code, "e").await.expect("e");
    simulate::unfollow(&sim, "e").await.expect("e leaves");
    simulate::scan(&lossy(&app), li_code, "e")
        .await
        .expect("e again");
    assert_eq!(
        scalar(&pool, "select count(*) from referral").await,
        3,
        "a, d, e"
    );

    let run = reconcile::start(&pool, &Actor::cli(1), false)
        .await
        .expect("start");
    let run = finished(&pool, run.id).await;
    assert_eq!(run.status, "done", "{:?}", run.error);
    assert_eq!(run.wechat_total, Some(4), "a, b, c, e follow at WeChat");
    assert_eq!(
        (run.recovered, run.recorded, run.unattributed, run.lost),
        (1, 1, 1, 1),
        "b recovered, e's re-follow recorded, c not ours, d lost"
    );
    // b is Zhang's, once, recorded as recovered with WeChat's follow time; nobody greeted or
    // told (no follow-up job), and the event says where it came from.
    let (referrer, recovered_by, followed_at): (i64, Option<i64>, DateTime<Utc>) = sqlx::query_as(
        "select r.referrer_id, r.recovered_by, r.followed_at from referral r
             join follower f on f.id = r.follower_id where f.openid = 'oSBX_b'",
    )
    .fetch_one(&pool)
    .await
    .expect("b's referral");
    assert_eq!((referrer, recovered_by), (zhang, Some(run.id)));
    let subscribed_at: DateTime<Utc> =
        sqlx::query_scalar("select subscribe_time from sandbox_user where openid = 'oSBX_b'")
            .fetch_one(&pool)
            .await
            .expect("b at WeChat");
    assert_eq!(followed_at.timestamp(), subscribed_at.timestamp());
    assert_eq!(
        scalar(
            &pool,
            "select count(*) from event where openid = 'oSBX_b' and kind = 'recovered' and reply is null"
        )
        .await,
        1
    );
    assert_eq!(
        scalar(
            &pool,
            "select count(*) from outbox where payload->>'openid' = 'oSBX_b'"
        )
        .await,
        0,
        "no notice unless asked for"
    );
    // e follows again, still Zhang's; d is marked unfollowed; c was not recorded at all.
    let states: Vec<(String, bool)> =
        sqlx::query_as("select openid, subscribed from follower order by openid")
            .fetch_all(&pool)
            .await
            .expect("followers");
    assert_eq!(
        states,
        [
            ("oSBX_a".into(), true),
            ("oSBX_b".into(), true),
            ("oSBX_d".into(), false),
            ("oSBX_e".into(), true)
        ]
    );
    let report = runs::changes(&pool, 1, run.id, 100).await.expect("report");
    let lines: Vec<(&str, &str, Option<&str>)> = report
        .iter()
        .map(|c| {
            (
                c.change.as_str(),
                c.openid.as_str(),
                c.referrer_name.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        [
            ("recovered", "oSBX_b", Some("张三")),
            ("recorded", "oSBX_e", None),
            ("lost", "oSBX_d", Some("张三")),
        ]
    );
    // The leaderboard counts b once; the roll-ups equal a rebuild from the rows.
    let after = board(&pool).await;
    assert!(
        after.contains(&("张三".into(), 4, 1)),
        "a, b, d and e; d is gone, e is back: {after:?}"
    );
    assert!(
        after
            .iter()
            .all(|(name, follows, _)| name == "张三" || *follows == 0),
        "Li brought nobody: {after:?}"
    );
    let kept = crate::rest_reports::rollups(&pool).await;
    tuijian::db::rollup::rebuild(&pool).await.expect("rebuild");
    assert_eq!(crate::rest_reports::rollups(&pool).await, kept);

    // Running it again changes nothing.
    let again = reconcile::start(&pool, &Actor::cli(1), false)
        .await
        .expect("start again");
    let again = finished(&pool, again.id).await;
    assert_eq!(
        (
            again.status.as_str(),
            again.recovered,
            again.recorded,
            again.lost
        ),
        ("done", 0, 0, 0)
    );
    assert_eq!(again.unattributed, 1, "c is still not ours");
    assert_eq!(board(&pool).await, after);
    assert_eq!(scalar(&pool, "select count(*) from referral").await, 4);
    assert_eq!(
        scalar(&pool, "select count(*) from reconcile_seen").await,
        0,
        "finished runs keep no list"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_crashed_run_resumes_from_its_cursor_and_counts_nothing_twice(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (_, zhang_code) = referrer_with_code(&app, "张三").await;
    let lossy = lossy(&app);
    for i in 0..230 {
        simulate::scan(&lossy, zhang_code, &format!("f{i:03}"))
            .await
            .expect("follow");
    }
    let reconciler = Reconciler {
        pool: pool.clone(),
        accounts: app.state.accounts.clone(),
    };
    let run = runs::create(&pool, 1, "cli", false)
        .await
        .expect("create")
        .expect("no other run");
    let run = runs::claim(&pool, Some(1), Some(run.id), LEASE_SECS)
        .await
        .expect("claim")
        .expect("nobody else drives it");
    let read = || async {
        runs::get(&pool, 1, run.id)
            .await
            .expect("run")
            .expect("run")
    };
    reconciler.step(&run).await.expect("list");
    let listed = read().await;
    assert_eq!((listed.phase.as_str(), listed.to_check), ("check", 230));
    reconciler.step(&listed).await.expect("first batch");
    // A driver that read the run before the batch was taken (it crashed after the commit,
    // or a second process raced it) takes the same step again: nothing is written twice.
    reconciler
        .step(&listed)
        .await
        .expect("the same batch again");
    let after_one = read().await;
    assert_eq!((after_one.checked, after_one.recovered), (100, 100));

    // The driver crashes holding the lease; once it lapses, another one takes over.
    assert!(
        runs::claim(&pool, Some(1), Some(run.id), LEASE_SECS)
            .await
            .expect("claim")
            .is_none(),
        "the lease is held"
    );
    sqlx::query("update reconcile_run set lease_until = now() - interval '1 second'")
        .execute(&pool)
        .await
        .expect("lease lapses");
    let resumed = runs::claim(&pool, Some(1), Some(run.id), LEASE_SECS)
        .await
        .expect("claim")
        .expect("the lapsed lease is taken");
    assert_eq!(resumed.cursor, after_one.cursor, "from where it stopped");
    let done = reconciler.drive(resumed, None, |_| {}).await;
    assert_eq!(done.status, "done", "{:?}", done.error);
    assert_eq!((done.checked, done.recovered, done.lost), (230, 230, 0));
    assert_eq!(scalar(&pool, "select count(*) from referral").await, 230);
    assert_eq!(
        scalar(&pool, "select count(*) from reconcile_change").await,
        230
    );
    assert_eq!(
        scalar(&pool, "select count(*) from event where kind = 'recovered'").await,
        230
    );
    // Finishing again (a stale driver) marks nobody lost.
    reconciler.step(&done).await.expect("stale finish");
    assert_eq!(
        scalar(&pool, "select count(*) from follower where not subscribed").await,
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_quota_error_stops_the_run_and_resuming_finishes_it(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (_, code_id) = referrer_with_code(&app, "张三").await;
    simulate::scan(&lossy(&app), code_id, "q").await.expect("q");
    app.state.sandbox_faults.add(&Fault {
        endpoint: "user/info/batchget".into(),
        errcode: Some(45009),
        count: Some(1),
        latency_ms: None,
    });
    let run = reconcile::start(&pool, &Actor::cli(1), false)
        .await
        .expect("start");
    let stopped = finished(&pool, run.id).await;
    assert_eq!(stopped.status, "failed");
    let error = stopped.error.clone().expect("an error");
    assert!(
        error.contains("45009") && error.contains("resume tomorrow"),
        "{error}"
    );
    assert_eq!(stopped.phase, "check", "stopped where it was");
    // Another run cannot start over it; resuming continues from its cursor.
    let resumed = reconcile::resume(&pool, &Actor::cli(1), run.id)
        .await
        .expect("resume");
    assert_eq!(resumed.status, "active");
    let done = finished(&pool, run.id).await;
    assert_eq!((done.status.as_str(), done.recovered), ("done", 1));
    assert!(done.error.is_none());
    assert!(matches!(
        reconcile::resume(&pool, &Actor::cli(1), run.id).await,
        Err(ServiceError::Conflict { .. })
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn managers_run_reconciliations_one_at_a_time(pool: PgPool) {
    let staff = Actor::token(1, Role::Staff, "s");
    assert!(matches!(
        reconcile::start(&pool, &staff, false).await,
        Err(ServiceError::Forbidden(Role::Manager))
    ));
    assert!(matches!(
        reconcile::overview(&pool, &staff).await,
        Err(ServiceError::Forbidden(Role::Manager))
    ));
    // No server here drives the run: it stays active.
    let manager = Actor::token(1, Role::Manager, "m");
    let run = reconcile::start(&pool, &manager, true)
        .await
        .expect("start");
    assert_eq!(run.started_by, "token:m");
    assert!(matches!(
        reconcile::start(&pool, &manager, false).await,
        Err(ServiceError::Conflict {
            code: "reconcile_running",
            ..
        })
    ));
    let page = reconcile::overview(&pool, &manager).await.expect("page");
    assert_eq!(page.runs.len(), 1);
    assert!(page.runs[0].notify && page.runs[0].is_active());
    assert!(!page.can_schedule, "only admins set the schedule");
    assert!(matches!(
        reconcile::set_schedule(&pool, &manager, Some(4)).await,
        Err(ServiceError::Forbidden(Role::Admin))
    ));
    let other_account = Actor::token(2, Role::Admin, "x");
    assert!(matches!(
        reconcile::cancel(&pool, &other_account, run.id).await,
        Err(ServiceError::NotFound(_))
    ));
    reconcile::cancel(&pool, &manager, run.id)
        .await
        .expect("cancel");
    let page = reconcile::overview(&pool, &manager).await.expect("page");
    assert_eq!(page.runs[0].status, "cancelled");
    reconcile::start(&pool, &manager, false)
        .await
        .expect("a new run after the cancelled one");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_nightly_run_starts_once_a_day_for_live_accounts(pool: PgPool) {
    // Tomorrow in Beijing, around noon (whatever the time of day the test runs at).
    let beijing = chrono::FixedOffset::east_opt(8 * 3600).expect("offset");
    let tomorrow = (Utc::now().with_timezone(&beijing) + chrono::Duration::days(1)).date_naive();
    let at = |h: u32, m: u32| {
        tomorrow
            .and_hms_opt(h, m, 0)
            .expect("time")
            .and_local_timezone(beijing)
            .single()
            .expect("one instant")
            .with_timezone(&Utc)
    };
    let admin = Actor::cli(1);
    reconcile::set_schedule(&pool, &admin, Some(12))
        .await
        .expect("schedule");
    assert!(matches!(
        reconcile::set_schedule(&pool, &admin, Some(24)).await,
        Err(ServiceError::Validation(_))
    ));
    // A sandbox account is not reconciled by itself.
    assert!(
        runs::start_scheduled(&pool, at(12, 30))
            .await
            .expect("due")
            .is_empty()
    );
    sqlx::query("update account set mode = 'live' where id = 1")
        .execute(&pool)
        .await
        .expect("live");
    // Before its hour: nothing; at it: one run, and only one that day.
    assert!(
        runs::start_scheduled(&pool, at(11, 59))
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        runs::start_scheduled(&pool, at(12, 0)).await.expect("due"),
        [1]
    );
    let run = runs::recent(&pool, 1, 1).await.expect("runs").remove(0);
    assert_eq!(run.started_by, "schedule");
    assert!(
        runs::start_scheduled(&pool, at(12, 5))
            .await
            .expect("due")
            .is_empty(),
        "not while it runs"
    );
    // It ran at 12:00 and finished: not again that day, again the next.
    sqlx::query("update reconcile_run set status = 'done', created_at = $1")
        .bind(at(12, 0))
        .execute(&pool)
        .await
        .expect("finish");
    assert!(
        runs::start_scheduled(&pool, at(23, 59))
            .await
            .expect("due")
            .is_empty(),
        "once a day"
    );
    assert_eq!(
        runs::start_scheduled(&pool, at(12, 0) + chrono::Duration::days(1))
            .await
            .expect("due"),
        [1]
    );
    // Turned off: never.
    reconcile::set_schedule(&pool, &admin, None)
        .await
        .expect("off");
    sqlx::query("delete from reconcile_run")
        .execute(&pool)
        .await
        .expect("forget");
    assert!(
        runs::start_scheduled(&pool, at(13, 0))
            .await
            .expect("due")
            .is_empty()
    );
}

/// `tuijian reconcile` drives a run to its end against the server's simulated WeChat and
/// prints the report; run again, it finds nothing more.
#[sqlx::test(migrations = "../migrations")]
async fn the_command_line_reconciles_and_prints_the_report(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (_, code_id) = referrer_with_code(&app, "王五").await;
    simulate::scan(&lossy(&app), code_id, "cli")
        .await
        .expect("lost follow");
    let run = || async {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tuijian"))
            .args(["reconcile", "--account", "1"])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", crate::setup::url_of(&pool))
            .env("LEPTOS_SITE_ADDR", app.addr.to_string())
            .env("RUST_LOG", "error")
            .output()
            .await
            .expect("run tuijian reconcile");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stdout, stderr) = run().await;
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("recovered") && l.contains("oSBX_cli") && l.contains("王五")),
        "{stdout}"
    );
    assert!(
        stdout.contains("done: 1 followers at WeChat; 1 referrals recovered"),
        "{stdout}"
    );
    assert!(stderr.contains("[100%]"), "progress is shown: {stderr}");
    let (ok, stdout, _) = run().await;
    assert!(ok);
    assert!(stdout.contains("; 0 referrals recovered"), "{stdout}");
    assert_eq!(scalar(&pool, "select count(*) from referral").await, 1);
}

/// Integer scenes (QR_LIMIT_SCENE / QR_SCENE) are made from REST like string ones, credited
/// through `qrscene_<id>`, and recovered by reconciliation from `qr_scene`.
#[sqlx::test(migrations = "../migrations")]
async fn integer_scene_codes_are_made_credited_and_recovered(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (zhao, _) = referrer_with_code(&app, "赵六").await;
    let token = tuijian::referral::tokens::mint(&pool, 1, "int", Role::Staff)
        .await
        .expect("token");
    let make = |body: serde_json::Value| {
        let (app, token) = (&app, &token);
        async move {
            let resp = app
                .client
                .post(app.url(&format!("/api/v1/referrers/{zhao}/qrcodes")))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("create");
            (
                resp.status().as_u16(),
                resp.json::<serde_json::Value>().await.expect("json"),
            )
        }
    };
    let (status, first) =
        make(serde_json::json!({"kind": "permanent", "scene_type": "integer"})).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["scene"], "1");
    let (_, second) = make(serde_json::json!({"kind": "permanent", "scene_type": "integer"})).await;
    assert_eq!(second["scene"], "2", "the next free id");
    let (_, temporary) = make(
        serde_json::json!({"kind": "temporary", "expire_seconds": 3600, "scene_type": "integer"}),
    )
    .await;
    let temporary_id: i64 = temporary["scene"]
        .as_str()
        .expect("scene")
        .parse()
        .expect("a number");
    assert!(
        temporary_id > 100_000,
        "never a permanent id: {temporary_id}"
    );
    let (status, refused) =
        make(serde_json::json!({"kind": "permanent", "scene_type": "float"})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["fields"][0]["field"], "scene_type");
    // WeChat was asked for QR_LIMIT_SCENE with scene_id 1.
    let action: String = sqlx::query_scalar("select action from sandbox_qrcode where scene = '1'")
        .fetch_one(&pool)
        .await
        .expect("made at WeChat");
    assert_eq!(action, "QR_LIMIT_SCENE");

    // A scan of code 1 is credited (EventKey qrscene_1) and greeted by name.
    let first_id = first["id"].as_i64().expect("id");
    let reply = simulate::scan(&app.state.sim(), first_id, "int1")
        .await
        .expect("scan");
    assert!(
        reply.reply.as_deref().is_some_and(|r| r.contains("赵六")),
        "{reply:?}"
    );
    // A lost follow through code 2 is recovered from batchget's integer qr_scene.
    let second_id = second["id"].as_i64().expect("id");
    simulate::scan(&lossy(&app), second_id, "int2")
        .await
        .expect("lost scan");
    let info = tuijian::db::sandbox::user(&pool, 1, "oSBX_int2")
        .await
        .expect("user")
        .expect("user");
    assert_eq!(info.qr_scene_id, Some(2));
    let run = reconcile::start(&pool, &Actor::cli(1), false)
        .await
        .expect("start");
    let run = finished(&pool, run.id).await;
    assert_eq!(
        (run.status.as_str(), run.recovered),
        ("done", 1),
        "{:?}",
        run.error
    );
    let credited: Vec<(String, String)> = sqlx::query_as(
        "select f.openid, q.scene from referral r join follower f on f.id = r.follower_id
         join qr_code q on q.id = r.qr_code_id where r.referrer_id = $1 order by f.openid",
    )
    .bind(zhao)
    .fetch_all(&pool)
    .await
    .expect("referrals");
    assert_eq!(
        credited,
        [
            ("oSBX_int1".into(), "1".into()),
            ("oSBX_int2".into(), "2".into())
        ]
    );
}
