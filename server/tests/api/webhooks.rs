//! Outbound webhooks: a real receiver (an axum server on a loopback port, so the endpoints
//! allow private addresses) verifies every signature as the README says and records each
//! delivery; follows, unfollows, re-follows, member codes and failed notices through the
//! sandbox reach it once per event id even when it fails the first attempts; a loopback URL
//! is refused by default, at save and at delivery time; rotation, auto-disable and roles.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use app::model::{NewQrCode, NewReferrer, Role};
use app::webhooks::{WebhookInput, WebhookWithSecret};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;
use sqlx::PgPool;
use tuijian::referral::actor::Actor;
use tuijian::referral::error::ServiceError;
use tuijian::referral::{qrcodes, referrers, tokens, webhooks};
use tuijian::sandbox::simulate;
use tuijian::webhooks::payload::{
    MemberCodeCreatedData, NotificationFailedData, ReferralCreatedData, ReferralLostData,
    ReferralRestoredData, WebhookEventBody, WebhookTestData,
};

use crate::common::{TestApp, eventually, referrer_with_code, spawn_app};

/// One request the receiver got, and what it answered.
#[derive(Debug, Clone)]
struct Hit {
    signature: String,
    event_id: String,
    event_type: String,
    attempt: String,
    body: Vec<u8>,
    answered: u16,
}

/// The test receiver: records every request; answers 503 to the first `fail_first`, and to
/// every one while `always_fail` is set.
#[derive(Clone, Default)]
struct Receiver {
    hits: Arc<Mutex<Vec<Hit>>>,
    fail_first: Arc<AtomicUsize>,
    always_fail: Arc<AtomicBool>,
    url: String,
}

impl Receiver {
    async fn start(fail_first: usize) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let mut receiver = Receiver {
            fail_first: Arc::new(AtomicUsize::new(fail_first)),
            ..Default::default()
        };
        receiver.url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        receiver
    }

    fn hits(&self) -> Vec<Hit> {
        self.hits.lock().expect("hits").clone()
    }
}

async fn receive(
    State(r): State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let fail = r.always_fail.load(Ordering::SeqCst)
        || r.fail_first
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
    let status = if fail {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let event_id = header("x-tuijian-event-id");
    r.hits.lock().expect("hits").push(Hit {
        signature: header("x-tuijian-signature"),
        event_id: event_id.clone(),
        event_type: header("x-tuijian-event"),
        attempt: header("x-tuijian-attempt"),
        body: body.to_vec(),
        answered: status.as_u16(),
    });
    (status, format!("received {event_id}"))
}

/// What the README tells receivers to do, written independently of the server's code:
/// `t=<unix>,v1=<hex>[,v1=<hex>]`, HMAC-SHA256 of `"<t>.<body>"` keyed by the secret, the
/// timestamp within five minutes.
fn verifies(hit: &Hit, secret: &str) -> bool {
    let mut t = None;
    let mut v1 = Vec::new();
    for part in hit.signature.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = value.parse::<i64>().ok(),
            Some(("v1", value)) => v1.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    if (chrono::Utc::now().timestamp() - t).abs() > 300 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("{t}.").as_bytes());
    mac.update(&hit.body);
    let expected = hex::encode(mac.finalize().into_bytes());
    v1.contains(&expected)
}

fn body_of(hit: &Hit) -> WebhookEventBody {
    serde_json::from_slice(&hit.body).expect("a documented webhook body")
}

fn data_as<T: DeserializeOwned>(body: &WebhookEventBody) -> T {
    serde_json::from_value(body.data.clone()).unwrap_or_else(|e| {
        panic!(
            "{} data is not its schema: {e}: {}",
            body.event_type, body.data
        )
    })
}

fn every_event() -> Vec<String> {
    app::webhooks::EVENTS
        .iter()
        .map(|(e, ..)| (*e).to_owned())
        .collect()
}

async fn endpoint(pool: &PgPool, url: &str, events: Vec<String>) -> WebhookWithSecret {
    webhooks::create(
        pool,
        &Actor::cli(1),
        &WebhookInput {
            url: url.to_owned(),
            events,
            allow_private: true,
        },
    )
    .await
    .expect("endpoint")
}

/// Makes the waiting webhook retries due now (instead of waiting out the backoff).
async fn retries_due(pool: &PgPool) {
    sqlx::query(
        "update outbox set next_attempt_at = now()
         where kind = 'webhook' and status = 'pending' and next_attempt_at > now()
           and attempts > 0",
    )
    .execute(pool)
    .await
    .expect("retries due");
}

async fn pending_webhooks(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from outbox where kind = 'webhook' and status = 'pending'")
        .fetch_one(pool)
        .await
        .expect("count")
}

/// Waits until `ok_hits` successful deliveries were received and no delivery is pending,
/// making retries due meanwhile.
async fn delivered(app: &TestApp, receiver: &Receiver, ok_hits: usize) -> Vec<Hit> {
    eventually(60, || async {
        retries_due(&app.state.pool).await;
        let hits = receiver.hits();
        let ok = hits.iter().filter(|h| h.answered == 200).count();
        (ok >= ok_hits && pending_webhooks(&app.state.pool).await == 0).then_some(hits)
    })
    .await
}

#[sqlx::test(migrations = "../migrations")]
async fn each_event_reaches_a_failing_receiver_signed_once_per_id_after_retries(pool: PgPool) {
    let app = crate::attribution::app(&pool).await;
    // The first two requests fail: those events are retried with the same id.
    let receiver = Receiver::start(2).await;
    let hook = endpoint(&pool, &receiver.url, every_event()).await;
    let sim = app.state.sim();
    let (zhang, _) = crate::attribution::seed_code(&pool, "张三", "ref_zhang", None, None).await;

    // referral.created, then referral.lost and referral.restored for the same follower (the
    // callbacks' CreateTime a few seconds apart, as WeChat would send them).
    let now = chrono::Utc::now().timestamp();
    let callback = |time: i64, event: &'static str, key: &'static str| {
        crate::attribution::event(&app, "oSBX_alice", time, event, key)
    };
    callback(now - 10, "subscribe", "qrscene_ref_zhang").await;
    callback(now - 5, "unsubscribe", "").await;
    callback(now, "subscribe", "qrscene_ref_zhang").await;
    // member.code_created: a follower asks for their own code.
    simulate::follow(&sim, "mia").await.expect("follow");
    simulate::text(&sim, "mia", "推广码").await.expect("code");
    // notification.failed: a referrer bound to a follower whose window closed, no template.
    simulate::follow(&sim, "lisi").await.expect("follow");
    tuijian::db::sandbox::age_interaction(&pool, 1, "oSBX_lisi", 72)
        .await
        .expect("age");
    let li = referrers::create(
        &pool,
        &Actor::cli(1),
        &NewReferrer {
            name: "李四".into(),
            openid: Some("oSBX_lisi".into()),
            ..Default::default()
        },
    )
    .await
    .expect("li");
    let li_code = qrcodes::create(
        &pool,
        &app.state.accounts,
        &Actor::cli(1),
        li.id,
        &NewQrCode {
            kind: "permanent".into(),
            ..Default::default()
        },
    )
    .await
    .expect("code");
    simulate::scan(&sim, li_code.id, "bob").await.expect("bob");

    // Six events: two referrals made, one lost, one restored, a code, a failed notice.
    let hits = delivered(&app, &receiver, 6).await;
    assert!(
        hits.iter().all(|h| verifies(h, &hook.secret)),
        "every request is signed with the endpoint's secret"
    );
    let failed: Vec<&Hit> = hits.iter().filter(|h| h.answered != 200).collect();
    let ok: Vec<&Hit> = hits.iter().filter(|h| h.answered == 200).collect();
    assert_eq!(failed.len(), 2, "{hits:?}");
    // After de-duplication by id each event was seen once, and each failed one came again
    // with the same id (and body) as a later attempt.
    let mut ids: Vec<&str> = ok.iter().map(|h| h.event_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), ok.len(), "one success per id");
    assert_eq!(ids.len(), 6);
    for f in &failed {
        let again = ok
            .iter()
            .find(|h| h.event_id == f.event_id)
            .expect("retried with the same id");
        assert_eq!(again.body, f.body, "the same body");
        assert_eq!((f.attempt.as_str(), again.attempt.as_str()), ("1", "2"));
    }

    // Each body is its documented schema, with what happened.
    let mut types: Vec<String> = Vec::new();
    for hit in &ok {
        let body = body_of(hit);
        assert_eq!(
            (hit.event_id.as_str(), hit.event_type.as_str()),
            (body.id.as_str(), body.event_type.as_str())
        );
        assert!(
            body.id.starts_with("evt_") && body.id.len() == 36,
            "{}",
            body.id
        );
        assert_eq!(body.account_id, 1);
        types.push(body.event_type.clone());
        match body.event_type.as_str() {
            "referral.created" => {
                let d: ReferralCreatedData = data_as(&body);
                let expected = if d.follower_openid == "oSBX_alice" {
                    zhang
                } else {
                    li.id
                };
                assert_eq!(d.referrer_id, expected);
                assert_eq!(d.referrer_kind, "staff");
            }
            "referral.lost" => {
                let d: ReferralLostData = data_as(&body);
                assert_eq!(
                    (d.referrer_id, d.follower_openid.as_str()),
                    (zhang, "oSBX_alice")
                );
                assert_eq!(d.referrer_name, "张三");
            }
            "referral.restored" => {
                let d: ReferralRestoredData = data_as(&body);
                assert_eq!(
                    (d.referrer_id, d.follower_openid.as_str()),
                    (zhang, "oSBX_alice")
                );
            }
            "member.code_created" => {
                let d: MemberCodeCreatedData = data_as(&body);
                assert_eq!(
                    (d.member_openid.as_str(), d.code_kind.as_str()),
                    ("oSBX_mia", "permanent")
                );
                assert_eq!(d.expires_at, None);
            }
            "notification.failed" => {
                let d: NotificationFailedData = data_as(&body);
                assert_eq!(
                    (d.referrer_id, d.channel.as_str(), d.errcode),
                    (li.id, "custom", Some(45015))
                );
            }
            other => panic!("unexpected event {other}"),
        }
    }
    types.sort();
    assert_eq!(
        types,
        [
            "member.code_created",
            "notification.failed",
            "referral.created",
            "referral.created",
            "referral.lost",
            "referral.restored"
        ]
    );

    // The log has every attempt: status, latency, the start of the answer.
    let log = webhooks::deliveries(&pool, &Actor::cli(1), hook.endpoint.id)
        .await
        .expect("log");
    assert_eq!(log.len(), hits.len());
    assert_eq!(
        log.iter()
            .filter(|d| !d.ok && d.status_code == Some(503))
            .count(),
        2
    );
    for d in &log {
        assert_eq!(
            d.response_excerpt.as_deref(),
            Some(format!("received {}", d.event_id).as_str())
        );
        assert!(d.latency_ms >= 0 && d.local_time.len() == 19, "{d:?}");
    }
    // A success clears the failure count.
    let listed = webhooks::get(&pool, &Actor::cli(1), hook.endpoint.id)
        .await
        .expect("get");
    assert_eq!(listed.consecutive_failures, 0);

    // Redelivering an event sends the same id again (attempt 1 of a new delivery).
    let lost = ok
        .iter()
        .find(|h| h.event_type == "referral.lost")
        .expect("lost");
    webhooks::redeliver(&pool, &Actor::cli(1), hook.endpoint.id, &lost.event_id)
        .await
        .expect("redeliver");
    let hits = delivered(&app, &receiver, 7).await;
    let again: Vec<&Hit> = hits
        .iter()
        .filter(|h| h.event_id == lost.event_id && h.answered == 200)
        .collect();
    assert_eq!(again.len(), 2);
    assert_eq!(again[1].body, lost.body);
    assert!(matches!(
        webhooks::redeliver(&pool, &Actor::cli(1), hook.endpoint.id, "evt_unknown").await,
        Err(ServiceError::NotFound(_))
    ));
}

/// An endpoint subscribed to some events gets only those; no endpoint, no event rows.
#[sqlx::test(migrations = "../migrations")]
async fn endpoints_get_only_their_events_and_nothing_is_written_without_one(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let (_, code) = referrer_with_code(&app, "张三").await;
    simulate::scan(&sim, code, "early").await.expect("scan");
    simulate::unfollow(&sim, "early").await.expect("unfollow");
    crate::common::settle_jobs(&pool).await;
    let events: i64 = sqlx::query_scalar("select count(*) from webhook_event")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(events, 0, "nobody listens: nothing is stored");

    let receiver = Receiver::start(0).await;
    endpoint(&pool, &receiver.url, vec!["referral.lost".into()]).await;
    simulate::scan(&sim, code, "later").await.expect("scan");
    simulate::unfollow(&sim, "later").await.expect("unfollow");
    let hits = delivered(&app, &receiver, 1).await;
    crate::common::settle_jobs(&pool).await;
    let hits_after = receiver.hits();
    assert_eq!(hits_after.len(), hits.len());
    let types: Vec<String> = hits_after.iter().map(|h| h.event_type.clone()).collect();
    assert_eq!(types, ["referral.lost"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_loopback_url_is_refused_by_default_at_save_and_at_delivery(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let receiver = Receiver::start(0).await;
    let admin = Actor::cli(1);
    let localhost = receiver.url.replace("127.0.0.1", "localhost");
    for url in [
        receiver.url.clone(),
        localhost.clone(),
        "http://[::1]/hook".to_owned(),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://10.0.0.1/hook".to_owned(),
    ] {
        let refused = webhooks::create(
            &pool,
            &admin,
            &WebhookInput {
                url: url.clone(),
                events: every_event(),
                allow_private: false,
            },
        )
        .await;
        match refused {
            Err(ServiceError::Validation(fields)) => {
                assert_eq!(fields[0].field, "url", "{url}");
                assert!(
                    fields[0].message.contains("not a public address"),
                    "{url}: {fields:?}"
                );
            }
            other => panic!("{url} accepted: {other:?}"),
        }
    }
    // Through REST as well: 422 naming the field, nothing stored.
    let token = tokens::mint(&pool, 1, "ops", Role::Admin)
        .await
        .expect("token");
    let resp = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"url": receiver.url, "events": ["referral.created"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 422);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["fields"][0]["field"], "url");
    assert!(
        webhooks::list(&pool, &admin)
            .await
            .expect("list")
            .is_empty()
    );

    // Saved while private addresses were allowed, then the rule is back (as after a DNS
    // change): the delivery is refused when it connects, logged, and not retried.
    let literal = endpoint(&pool, &receiver.url, every_event()).await;
    let named = endpoint(&pool, &localhost, every_event()).await;
    sqlx::query("update webhook_endpoint set allow_private = false")
        .execute(&pool)
        .await
        .expect("rule back");
    for hook in [&literal, &named] {
        webhooks::send_test(&pool, &admin, hook.endpoint.id)
            .await
            .expect("test");
    }
    let logs = eventually(30, || async {
        let mut logs = Vec::new();
        for hook in [&literal, &named] {
            let log = webhooks::deliveries(&pool, &admin, hook.endpoint.id)
                .await
                .expect("log");
            logs.push(log.into_iter().next()?);
        }
        (pending_webhooks(&pool).await == 0).then_some(logs)
    })
    .await;
    for d in &logs {
        assert!(!d.ok && d.status_code.is_none(), "{d:?}");
        let error = d.error.as_deref().unwrap_or_default();
        assert!(error.contains("not a public address"), "{error}");
    }
    assert!(
        receiver.hits().is_empty(),
        "nothing reached the loopback receiver"
    );
    let failed: i64 = sqlx::query_scalar(
        "select count(*) from outbox where kind = 'webhook' and status = 'failed' and attempts = 1",
    )
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(failed, 2, "refusals are not retried");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_rotated_secret_and_the_previous_one_both_verify_for_a_day(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let receiver = Receiver::start(0).await;
    let admin = Actor::cli(1);
    let hook = endpoint(&pool, &receiver.url, every_event()).await;
    let rotated = webhooks::rotate(&pool, &admin, hook.endpoint.id)
        .await
        .expect("rotate");
    assert_ne!(rotated.secret, hook.secret);
    let until = rotated
        .endpoint
        .previous_secret_until
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .expect("the previous secret's end");
    let left = until.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(left > chrono::Duration::hours(23) && left <= chrono::Duration::hours(24));

    webhooks::send_test(&pool, &admin, hook.endpoint.id)
        .await
        .expect("test");
    let hits = delivered(&app, &receiver, 1).await;
    assert_eq!(hits[0].signature.matches("v1=").count(), 2);
    assert!(verifies(&hits[0], &rotated.secret) && verifies(&hits[0], &hook.secret));
    let test: WebhookTestData = data_as(&body_of(&hits[0]));
    assert_eq!(test.endpoint_id, hook.endpoint.id);

    // After the overlap only the new secret signs.
    sqlx::query("update webhook_endpoint set previous_secret_until = now() - interval '1 second'")
        .execute(&pool)
        .await
        .expect("overlap over");
    webhooks::send_test(&pool, &admin, hook.endpoint.id)
        .await
        .expect("test");
    let hits = delivered(&app, &receiver, 2).await;
    let last = hits.last().expect("hit");
    assert_eq!(last.signature.matches("v1=").count(), 1);
    assert!(verifies(last, &rotated.secret) && !verifies(last, &hook.secret));
    let listed = webhooks::get(&pool, &admin, hook.endpoint.id)
        .await
        .expect("get");
    assert_eq!(listed.previous_secret_until, None);
    // Rotating is audited, never with a secret.
    let audit: Vec<String> = sqlx::query_scalar(
        "select action || ' ' || detail::text from audit_log where action like 'webhook.%'",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    assert!(
        audit.iter().any(|a| a.starts_with("webhook.rotate")),
        "{audit:?}"
    );
    assert!(
        audit
            .iter()
            .all(|a| !a.contains(&hook.secret) && !a.contains(&rotated.secret))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn an_endpoint_failing_again_and_again_is_disabled_and_the_admin_told(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let receiver = Receiver::start(0).await;
    receiver.always_fail.store(true, Ordering::SeqCst);
    let admin = Actor::cli(1);
    let hook = endpoint(&pool, &receiver.url, every_event()).await;
    let limit = tuijian::webhooks::DISABLE_AFTER as usize;
    for _ in 0..limit {
        webhooks::send_test(&pool, &admin, hook.endpoint.id)
            .await
            .expect("test");
    }
    let disabled = eventually(60, || async {
        let e = webhooks::get(&pool, &admin, hook.endpoint.id)
            .await
            .expect("get");
        (!e.enabled).then_some(e)
    })
    .await;
    assert!(
        disabled
            .disabled_reason
            .as_deref()
            .is_some_and(|r| r.contains("20"))
    );
    assert_eq!(disabled.consecutive_failures, limit as i32);
    let audit: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'webhook.disabled' and actor = 'system'
           and target = $1",
    )
    .bind(hook.endpoint.id.to_string())
    .fetch_one(&pool)
    .await
    .expect("audit");
    assert_eq!(audit, 1);
    // The retries still queued go nowhere; new test events are refused until it is enabled.
    eventually(30, || async {
        retries_due(&pool).await;
        (pending_webhooks(&pool).await == 0).then_some(())
    })
    .await;
    assert_eq!(receiver.hits().len(), limit);
    assert!(matches!(
        webhooks::send_test(&pool, &admin, hook.endpoint.id).await,
        Err(ServiceError::Conflict {
            code: "webhook_disabled",
            ..
        })
    ));
    receiver.always_fail.store(false, Ordering::SeqCst);
    let enabled = webhooks::set_enabled(&pool, &admin, hook.endpoint.id, true)
        .await
        .expect("enable");
    assert!(enabled.enabled && enabled.disabled_reason.is_none());
    assert_eq!(enabled.consecutive_failures, 0);
    webhooks::send_test(&pool, &admin, hook.endpoint.id)
        .await
        .expect("test");
    delivered(&app, &receiver, 1).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn only_admins_manage_webhooks_and_secrets_are_never_listed(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let receiver = Receiver::start(0).await;
    let input = WebhookInput {
        url: receiver.url.clone(),
        events: every_event(),
        allow_private: true,
    };
    for role in [Role::Staff, Role::Manager] {
        let actor = Actor::token(1, role, "t");
        assert!(matches!(
            webhooks::list(&pool, &actor).await,
            Err(ServiceError::Forbidden(Role::Admin))
        ));
        assert!(matches!(
            webhooks::create(&pool, &actor, &input).await,
            Err(ServiceError::Forbidden(_))
        ));
        assert!(matches!(
            webhooks::rotate(&pool, &actor, 1).await,
            Err(ServiceError::Forbidden(_))
        ));
        assert!(matches!(
            webhooks::send_test(&pool, &actor, 1).await,
            Err(ServiceError::Forbidden(_))
        ));
        assert!(matches!(
            webhooks::deliveries(&pool, &actor, 1).await,
            Err(ServiceError::Forbidden(_))
        ));
    }
    let staff = tokens::mint(&pool, 1, "staff", Role::Staff)
        .await
        .expect("token");
    let manager = tokens::mint(&pool, 1, "manager", Role::Manager)
        .await
        .expect("token");
    let admin = tokens::mint(&pool, 1, "admin", Role::Admin)
        .await
        .expect("token");
    for token in [&staff, &manager] {
        let resp = app
            .client
            .post(app.url("/api/v1/webhooks"))
            .bearer_auth(token)
            .json(&input)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 403);
    }

    // An admin token creates one: the secret is in that answer only.
    let resp = app
        .client
        .post(app.url("/api/v1/webhooks"))
        .bearer_auth(&admin)
        .json(&input)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 201);
    let made: WebhookWithSecret = resp.json().await.expect("json");
    assert!(made.secret.starts_with("whsec_"));
    let id = made.endpoint.id;
    let post = |path: String, body: serde_json::Value| {
        let req = app
            .client
            .post(app.url(&path))
            .bearer_auth(&admin)
            .json(&body);
        async move { req.send().await.expect("request") }
    };
    assert_eq!(
        post(format!("/api/v1/webhooks/{id}/test"), serde_json::json!({}))
            .await
            .status(),
        202
    );
    delivered(&app, &receiver, 1).await;
    for path in [
        "/api/v1/webhooks".to_owned(),
        format!("/api/v1/webhooks/{id}"),
        format!("/api/v1/webhooks/{id}/deliveries"),
    ] {
        let resp = app
            .client
            .get(app.url(&path))
            .bearer_auth(&admin)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200, "{path}");
        let text = resp.text().await.expect("text");
        assert!(
            !text.contains(&made.secret) && !text.contains("whsec_"),
            "{path}: {text}"
        );
    }
    let enabled = post(
        format!("/api/v1/webhooks/{id}/enabled"),
        serde_json::json!({"enabled": false}),
    )
    .await;
    assert_eq!(enabled.status(), 200);
    let rotated = post(
        format!("/api/v1/webhooks/{id}/rotate"),
        serde_json::json!({}),
    )
    .await;
    let rotated: WebhookWithSecret = rotated.json().await.expect("json");
    assert_ne!(rotated.secret, made.secret);

    // Bad input changes nothing: a table of refusals, then the limit.
    let bad = [
        (
            serde_json::json!({"url": "ftp://example.com/x", "events": ["referral.created"]}),
            "url",
        ),
        (
            serde_json::json!({"url": "https://user:pw@example.com/x", "events": ["referral.created"]}),
            "url",
        ),
        (
            serde_json::json!({"url": "not a url", "events": ["referral.created"]}),
            "url",
        ),
        (
            serde_json::json!({"url": receiver.url, "events": [], "allow_private": true}),
            "events",
        ),
        (
            serde_json::json!({"url": receiver.url, "events": ["referral.*"], "allow_private": true}),
            "events",
        ),
    ];
    for (body, field) in bad {
        let resp = post("/api/v1/webhooks".into(), body.clone()).await;
        assert_eq!(resp.status(), 422, "{body}");
        let err: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(err["error"]["fields"][0]["field"], field, "{body}");
    }
    let put = app
        .client
        .put(app.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"url": "http://127.0.0.1:1/x", "events": ["referral.lost"]}))
        .send()
        .await
        .expect("request");
    assert_eq!(put.status(), 422, "a loopback URL without the opt-in");
    for _ in 1..app::webhooks::MAX_ENDPOINTS {
        endpoint(&pool, &receiver.url, every_event()).await;
    }
    let over = post(
        "/api/v1/webhooks".into(),
        serde_json::to_value(&input).expect("json"),
    )
    .await;
    assert_eq!(over.status(), 409);
    let err: serde_json::Value = over.json().await.expect("json");
    assert_eq!(err["error"]["code"], "webhook_limit");
    let count: i64 = sqlx::query_scalar("select count(*) from webhook_endpoint")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, app::webhooks::MAX_ENDPOINTS as i64);
    let unchanged = webhooks::get(&pool, &Actor::cli(1), id).await.expect("get");
    assert_eq!(
        unchanged.events,
        every_event(),
        "the refused update changed nothing"
    );

    // Another account sees none of them; deleting works once.
    assert!(matches!(
        webhooks::get(&pool, &Actor::cli(2), id).await,
        Err(ServiceError::NotFound(_))
    ));
    let deleted = app
        .client
        .delete(app.url(&format!("/api/v1/webhooks/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("request");
    assert_eq!(deleted.status(), 204);
    assert!(matches!(
        webhooks::get(&pool, &Actor::cli(1), id).await,
        Err(ServiceError::NotFound(_))
    ));

    // The OpenAPI document has the routes and the payload schemas.
    let doc: serde_json::Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    for schema in [
        "WebhookEventBody",
        "ReferralCreatedData",
        "ReferralLostData",
        "ReferralRestoredData",
        "MemberCodeCreatedData",
        "NotificationFailedData",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    assert!(doc["paths"]["/webhooks/{id}/redeliver"]["post"].is_object());
}

/// The page renders on the server for an admin, with the endpoints and no secret.
#[sqlx::test(migrations = "../migrations")]
async fn the_webhooks_page_lists_endpoints_without_their_secret(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let cookie = crate::skeleton::signed_in(&pool, Role::Admin).await;
    let (status, html) = crate::skeleton::page_html(&app, &cookie, "/webhooks").await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"data-testid="webhooks-empty""#), "{html}");
    let hook = endpoint(&pool, "http://127.0.0.1:9/hook", every_event()).await;
    let (status, html) = crate::skeleton::page_html(&app, &cookie, "/webhooks").await;
    assert_eq!(status, 200);
    assert!(html.contains("http://127.0.0.1:9/hook") && html.contains("<leptos-island"));
    assert!(!html.contains(&hook.secret));
    assert!(!html.contains(r#"data-testid="webhook-disabled-banner""#));

    // Disabled after repeated failures: the webhooks page and the settings page say so.
    sqlx::query(
        "update webhook_endpoint set enabled = false, disabled_reason = 'Disabled after 20 failed deliveries in a row'",
    )
    .execute(&pool)
    .await
    .expect("disable");
    let (_, html) = crate::skeleton::page_html(&app, &cookie, "/webhooks").await;
    assert!(html.contains(r#"data-testid="webhook-disabled-banner""#));
    assert!(html.contains("Disabled after 20 failed deliveries in a row"));
    let (_, html) = crate::skeleton::page_html(&app, &cookie, "/settings").await;
    assert!(
        html.contains(r#"data-testid="settings-webhooks-disabled""#),
        "{html}"
    );
}

/// `tuijian webhook list` shows each endpoint's state and URL, never its secret.
#[sqlx::test(migrations = "../migrations")]
async fn the_command_line_lists_webhooks_without_their_secret(pool: PgPool) {
    let hook = endpoint(
        &pool,
        "http://127.0.0.1:9/cli-hook",
        vec!["referral.lost".into()],
    )
    .await;
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tuijian"))
        .args(["webhook", "list"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", crate::setup::url_of(&pool))
        .env("RUST_LOG", "error")
        .output()
        .await
        .expect("run tuijian");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.ends_with("http://127.0.0.1:9/cli-hook"))
        .expect("listed");
    assert!(line.starts_with(&hook.endpoint.id.to_string()), "{line}");
    assert!(
        line.contains("enabled") && line.contains("referral.lost"),
        "{line}"
    );
    assert!(!stdout.contains(&hook.secret));
}
