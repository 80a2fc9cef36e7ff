//! Abuse review: each pattern raises its flag once; a voided referral leaves the leaderboard and
//! the roll-ups (which then equal a rebuild), later events of its follower change nothing,
//! restoring brings it back; decisions are audited with their reasons; roles hold.

use std::collections::BTreeSet;

use app::model::{NewQrCode, NewReferrer, Role};
use app::review::{AbuseThresholds, ReviewItem};
use sqlx::PgPool;
use tuijian::referral::abuse;
use tuijian::referral::actor::Actor;
use tuijian::referral::error::ServiceError;
use tuijian::sandbox::simulate;

use crate::common::{TestApp, board, eventually, referrer_with_code, settle_jobs, spawn_app};

async fn referral_id(pool: &PgPool, openid: &str) -> i64 {
    sqlx::query_scalar(
        "select r.id from referral r join follower f on f.id = r.follower_id
         where f.openid = $1",
    )
    .bind(openid)
    .fetch_one(pool)
    .await
    .expect("referral")
}

/// Every item of the queue with the given state, as a manager reads it.
async fn items(pool: &PgPool, status: &str) -> Vec<ReviewItem> {
    abuse::queue(
        pool,
        &Actor::token(1, Role::Manager, "m"),
        Some(status),
        None,
        None,
    )
    .await
    .expect("queue")
    .items
    .items
}

/// The flag kinds of the item of `openid` (empty when it has none).
fn kinds(items: &[ReviewItem], openid: &str) -> BTreeSet<String> {
    items
        .iter()
        .filter(|i| i.openid == openid)
        .flat_map(|i| i.flags.iter().map(|f| f.kind.clone()))
        .collect()
}

fn set(kinds: &[&str]) -> BTreeSet<String> {
    kinds.iter().map(|k| (*k).to_owned()).collect()
}

async fn referrer_with_openid(app: &TestApp, name: &str, openid: &str) -> i64 {
    let actor = Actor::cli(1);
    let referrer = tuijian::referral::referrers::create(
        &app.state.pool,
        &actor,
        &NewReferrer {
            name: name.into(),
            openid: Some(openid.into()),
            ..Default::default()
        },
    )
    .await
    .expect("referrer");
    tuijian::referral::qrcodes::create(
        &app.state.pool,
        &app.state.accounts,
        &actor,
        referrer.id,
        &NewQrCode {
            kind: "temporary".into(),
            expire_seconds: Some(3600),
            ..Default::default()
        },
    )
    .await
    .expect("code")
    .id
}

#[sqlx::test(migrations = "../migrations")]
async fn each_pattern_is_flagged_once_with_its_evidence(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = Actor::cli(1);
    abuse::set_thresholds(
        &pool,
        &admin,
        &AbuseThresholds {
            quick_unfollow_hours: 24,
            cycle_follows: 3,
            burst_follows: 2,
            burst_minutes: 10,
        },
    )
    .await
    .expect("thresholds");
    let (_, zhang_code) = referrer_with_code(&app, "张三").await;
    let (_, li_code) = referrer_with_code(&app, "李四").await;
    let (_, burst_code) = referrer_with_code(&app, "刷码").await;
    let own_code = referrer_with_openid(&app, "自己", "oSBX_selfie").await;
    let late_code = referrer_with_openid(&app, "过期", "oSBX_owner-late").await;
    let sim = app.state.sim();

    // Quick unfollow.
    simulate::scan(&sim, zhang_code, "quick")
        .await
        .expect("scan");
    simulate::unfollow(&sim, "quick").await.expect("unfollow");
    // Cycles: three follows (and quick unfollows on the way).
    simulate::scan(&sim, zhang_code, "cycler")
        .await
        .expect("scan");
    for _ in 0..2 {
        simulate::unfollow(&sim, "cycler").await.expect("unfollow");
        simulate::follow(&sim, "cycler").await.expect("follow");
    }
    // A burst: three follows through one code within ten minutes (more than two).
    for user in ["b1", "b2", "b3"] {
        simulate::scan(&sim, burst_code, user).await.expect("burst");
    }
    // A referrer scanning their own code (no credit).
    simulate::scan(&sim, own_code, "selfie")
        .await
        .expect("self");
    // A follow through a code after its expiry (as when WeChat delivers late).
    sqlx::query("update qr_code set expires_at = now() - interval '1 minute' where id = $1")
        .bind(late_code)
        .execute(&pool)
        .await
        .expect("expire");
    simulate::scan(&sim, late_code, "late").await.expect("late");
    // WeChat's user/info names another scene than the event that credited the follow.
    let mut forged = app.state.sim();
    forged.info_scene = Some("poster-elsewhere".into());
    simulate::scan(&forged, li_code, "mismatch")
        .await
        .expect("mismatch");
    // A plain referral: no flag.
    simulate::scan(&sim, li_code, "clean").await.expect("clean");
    settle_jobs(&pool).await;

    let open = eventually(10, || async {
        let open = items(&pool, "open").await;
        (!kinds(&open, "oSBX_mismatch").is_empty()).then_some(open)
    })
    .await;
    assert_eq!(kinds(&open, "oSBX_quick"), set(&["quick_unfollow"]));
    assert_eq!(
        kinds(&open, "oSBX_cycler"),
        set(&["cycles", "quick_unfollow"])
    );
    for user in ["oSBX_b1", "oSBX_b2", "oSBX_b3"] {
        assert_eq!(kinds(&open, user), set(&["burst"]), "{user}");
    }
    assert_eq!(kinds(&open, "oSBX_selfie"), set(&["self_scan"]));
    assert_eq!(kinds(&open, "oSBX_late"), set(&["expired_code"]));
    assert_eq!(kinds(&open, "oSBX_mismatch"), set(&["scene_mismatch"]));
    assert!(kinds(&open, "oSBX_clean").is_empty(), "{open:?}");
    // The self scan and the late follow earned no credit: they are scans, not referrals.
    for user in ["oSBX_selfie", "oSBX_late"] {
        let item = open.iter().find(|i| i.openid == user).expect(user);
        assert_eq!(item.subject, "scan", "{user}");
    }
    // The evidence says what happened.
    let burst = open.iter().find(|i| i.openid == "oSBX_b3").expect("b3");
    let evidence = &burst.flags[0].evidence;
    assert!(
        evidence.contains(&("follows".into(), "3".into())),
        "{evidence:?}"
    );
    let mismatch = open
        .iter()
        .find(|i| i.openid == "oSBX_mismatch")
        .expect("m");
    assert!(
        mismatch.flags[0]
            .evidence
            .contains(&("wechat_scene".into(), "poster-elsewhere".into())),
        "{:?}",
        mismatch.flags[0].evidence
    );
    // Flagged referrals still count until reviewed.
    assert!(board(&pool).await.contains(&("刷码".into(), 3, 0)));

    // Sweeping again adds nothing; the counts by kind add up.
    assert_eq!(tuijian::db::abuse::sweep(&pool, 1).await.expect("sweep"), 0);
    assert_eq!(abuse::sweep_all(&pool).await.expect("sweep all"), 0);
    let counts = abuse::queue(&pool, &admin, None, None, None)
        .await
        .expect("queue")
        .open_counts;
    assert_eq!(
        counts,
        [
            ("burst".to_owned(), 3),
            ("cycles".to_owned(), 1),
            ("expired_code".to_owned(), 1),
            ("quick_unfollow".to_owned(), 2),
            ("scene_mismatch".to_owned(), 1),
            ("self_scan".to_owned(), 1),
        ]
    );
    // Filtering by kind.
    let only = abuse::queue(&pool, &admin, Some("open"), Some("burst"), None)
        .await
        .expect("by kind");
    assert_eq!(only.items.total, 3);
    assert!(matches!(
        abuse::queue(&pool, &admin, Some("open"), Some("nonsense"), None).await,
        Err(ServiceError::Validation(_))
    ));
    assert!(matches!(
        abuse::queue(&pool, &admin, Some("later"), None, None).await,
        Err(ServiceError::Validation(_))
    ));
    // The evidence names no openid (erasure need not look into it).
    let leaked: i64 =
        sqlx::query_scalar("select count(*) from abuse_flag where evidence::text like '%oSBX_%'")
            .fetch_one(&pool)
            .await
            .expect("evidence");
    assert_eq!(leaked, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn voiding_takes_a_referral_out_of_the_figures_and_restoring_brings_it_back(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (zhang, code) = referrer_with_code(&app, "张三").await;
    let (li, _) = referrer_with_code(&app, "李四").await;
    let sim = app.state.sim();
    for user in ["a", "b", "c", "d"] {
        simulate::scan(&sim, code, user).await.expect("scan");
    }
    simulate::unfollow(&sim, "c").await.expect("c leaves");
    simulate::unfollow(&sim, "d").await.expect("d leaves");
    simulate::follow(&sim, "d").await.expect("d is back");
    assert_eq!(board(&pool).await[0], ("张三".into(), 4, 1));
    let manager = Actor::token(1, Role::Manager, "经理");
    let c = referral_id(&pool, "oSBX_c").await;
    let d = referral_id(&pool, "oSBX_d").await;
    let a = referral_id(&pool, "oSBX_a").await;
    let open = items(&pool, "open").await;
    assert_eq!(kinds(&open, "oSBX_c"), set(&["quick_unfollow"]));

    // The rules: managers, a reason, a referral of the account.
    let staff = Actor::token(1, Role::Staff, "s");
    assert!(matches!(
        abuse::void(&pool, &staff, c, "x").await,
        Err(ServiceError::Forbidden(Role::Manager))
    ));
    assert!(matches!(
        abuse::queue(&pool, &staff, None, None, None).await,
        Err(ServiceError::Forbidden(Role::Manager))
    ));
    assert!(matches!(
        abuse::void(&pool, &manager, c, "  ").await,
        Err(ServiceError::Validation(_))
    ));
    assert!(matches!(
        abuse::void(&pool, &Actor::cli(2), c, "x").await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(matches!(
        abuse::restore(&pool, &manager, c, "x").await,
        Err(ServiceError::Conflict {
            code: "not_voided",
            ..
        })
    ));

    // Void: the follow and its unfollow leave the board; the roll-ups equal a rebuild.
    abuse::void(&pool, &manager, c, "同一人用小号刷关注")
        .await
        .expect("void");
    assert_eq!(board(&pool).await[0], ("张三".into(), 3, 0));
    let kept = crate::rest_reports::rollups(&pool).await;
    tuijian::db::rollup::rebuild(&pool).await.expect("rebuild");
    assert_eq!(crate::rest_reports::rollups(&pool).await, kept);
    assert!(matches!(
        abuse::void(&pool, &manager, c, "again").await,
        Err(ServiceError::Conflict {
            code: "already_voided",
            ..
        })
    ));
    assert!(matches!(
        tuijian::referral::credit::move_credit(&pool, &Actor::cli(1), c, li, "x").await,
        Err(ServiceError::Conflict { code: "voided", .. })
    ));
    let voided = items(&pool, "voided").await;
    assert_eq!(voided.len(), 1);
    assert_eq!(
        (voided[0].state.as_str(), voided[0].void_reason.as_deref()),
        ("voided", Some("同一人用小号刷关注"))
    );
    assert!(kinds(&items(&pool, "open").await, "oSBX_c").is_empty());
    let detail = tuijian::referral::referrers::detail(&pool, &manager, zhang, None)
        .await
        .expect("detail");
    assert!(detail.can_void);
    let shown: Vec<(String, bool)> = detail
        .referrals
        .items
        .iter()
        .map(|r| (r.openid.clone(), r.voided))
        .collect();
    assert!(shown.contains(&("oSBX_c".into(), true)), "{shown:?}");
    assert!(shown.contains(&("oSBX_a".into(), false)), "{shown:?}");

    // The voided follower's later events count nowhere, and the first touch still holds.
    simulate::follow(&sim, "c").await.expect("c is back");
    simulate::unfollow(&sim, "c").await.expect("c leaves again");
    simulate::follow(&sim, "c").await.expect("c is back again");
    assert_eq!(board(&pool).await[0], ("张三".into(), 3, 0));
    let kept = crate::rest_reports::rollups(&pool).await;
    tuijian::db::rollup::rebuild(&pool).await.expect("rebuild");
    assert_eq!(crate::rest_reports::rollups(&pool).await, kept);
    simulate::unfollow(&sim, "c")
        .await
        .expect("c leaves for good");
    assert_eq!(board(&pool).await[0], ("张三".into(), 3, 0));

    // Restore: it counts again, with its current state (gone).
    abuse::restore(&pool, &manager, c, "核实为真实客户")
        .await
        .expect("restore");
    assert_eq!(board(&pool).await[0], ("张三".into(), 4, 1));
    let kept = crate::rest_reports::rollups(&pool).await;
    tuijian::db::rollup::rebuild(&pool).await.expect("rebuild");
    assert_eq!(crate::rest_reports::rollups(&pool).await, kept);
    // Restored, its first flag reads reviewed; the cycles it made meanwhile wait for review.
    let open = items(&pool, "open").await;
    assert_eq!(kinds(&open, "oSBX_c"), set(&["cycles", "quick_unfollow"]));
    let c_item = open.iter().find(|i| i.openid == "oSBX_c").expect("c");
    assert_eq!(c_item.state, "open");

    // Remove credit without a flag (the referrer page), and restore it.
    abuse::void(&pool, &manager, a, "员工本人")
        .await
        .expect("remove");
    assert_eq!(board(&pool).await[0], ("张三".into(), 3, 1));
    abuse::restore(&pool, &manager, a, "误操作")
        .await
        .expect("back");
    assert_eq!(board(&pool).await[0], ("张三".into(), 4, 1));

    // Confirming an open item keeps its counts and closes it; twice is a conflict.
    let open = items(&pool, "open").await;
    assert_eq!(kinds(&open, "oSBX_d"), set(&["quick_unfollow"]));
    abuse::confirm(&pool, &manager, abuse::subject("referral", d).expect("s"))
        .await
        .expect("confirm");
    assert!(kinds(&items(&pool, "open").await, "oSBX_d").is_empty());
    assert!(matches!(
        abuse::confirm(&pool, &manager, abuse::subject("referral", d).expect("s")).await,
        Err(ServiceError::Conflict {
            code: "nothing_open",
            ..
        })
    ));
    assert!(matches!(
        abuse::confirm(&pool, &manager, abuse::subject("scan", 999_999).expect("s")).await,
        Err(ServiceError::NotFound(_))
    ));
    assert!(abuse::subject("event", 1).is_err());
    assert_eq!(board(&pool).await[0], ("张三".into(), 4, 1));

    // The audit log has who, what and why.
    let audit: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select action, actor, detail->>'reason' from audit_log
         where action like 'referral.%' or action like 'abuse.%' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    let names: Vec<(&str, Option<&str>)> = audit
        .iter()
        .map(|(a, _, r)| (a.as_str(), r.as_deref()))
        .collect();
    assert_eq!(
        names,
        [
            ("referral.void", Some("同一人用小号刷关注")),
            ("referral.restore", Some("核实为真实客户")),
            ("referral.void", Some("员工本人")),
            ("referral.restore", Some("误操作")),
            ("abuse.confirm_referral", None),
        ]
    );
    assert!(audit.iter().all(|(_, actor, _)| actor.contains("经理")));
}

#[sqlx::test(migrations = "../migrations")]
async fn thresholds_are_for_admins_and_checked(pool: PgPool) {
    let _app = spawn_app(pool.clone()).await;
    let good = AbuseThresholds {
        quick_unfollow_hours: 48,
        cycle_follows: 4,
        burst_follows: 50,
        burst_minutes: 5,
    };
    assert!(matches!(
        abuse::set_thresholds(&pool, &Actor::token(1, Role::Manager, "m"), &good).await,
        Err(ServiceError::Forbidden(Role::Admin))
    ));
    let bad = AbuseThresholds {
        quick_unfollow_hours: 0,
        cycle_follows: 1,
        burst_follows: 50,
        burst_minutes: 5000,
    };
    let Err(ServiceError::Validation(fields)) =
        abuse::set_thresholds(&pool, &Actor::cli(1), &bad).await
    else {
        panic!("bad thresholds accepted");
    };
    let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(
        names,
        ["quick_unfollow_hours", "cycle_follows", "burst_minutes"]
    );
    let admin = Actor::cli(1);
    let before = abuse::queue(&pool, &admin, None, None, None)
        .await
        .expect("queue")
        .thresholds;
    assert_eq!(
        before,
        AbuseThresholds {
            quick_unfollow_hours: 24,
            cycle_follows: 3,
            burst_follows: 20,
            burst_minutes: 10,
        },
        "the defaults, unchanged by the refusals"
    );
    abuse::set_thresholds(&pool, &admin, &good)
        .await
        .expect("save");
    let data = abuse::queue(&pool, &admin, None, None, None)
        .await
        .expect("queue");
    assert_eq!(data.thresholds, good);
    assert!(data.can_configure);
    let manager_view = abuse::queue(
        &pool,
        &Actor::token(1, Role::Manager, "m"),
        None,
        None,
        None,
    )
    .await
    .expect("queue");
    assert!(!manager_view.can_configure);
}

#[sqlx::test(migrations = "../migrations")]
async fn integrators_review_through_the_rest_api(pool: PgPool) {
    use reqwest::{Method, StatusCode};
    use serde_json::{Value, json};
    let app = spawn_app(pool.clone()).await;
    let (_, code) = referrer_with_code(&app, "张三").await;
    let sim = app.state.sim();
    simulate::scan(&sim, code, "quick").await.expect("scan");
    simulate::unfollow(&sim, "quick").await.expect("unfollow");
    let token = |role| {
        let pool = pool.clone();
        async move {
            tuijian::referral::tokens::mint(&pool, 1, &format!("t-{role}"), role)
                .await
                .expect("mint")
        }
    };
    let (manager, staff, admin) = (
        token(Role::Manager).await,
        token(Role::Staff).await,
        token(Role::Admin).await,
    );
    let call = |method: Method, path: &str, token: &str, body: Option<Value>| {
        let mut req = app
            .client
            .request(method, app.url(&format!("/api/v1{path}")))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.expect("request");
            let status = resp.status();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (status, list) = call(Method::GET, "/review", &manager, None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1);
    let item = &list["items"][0];
    assert_eq!(item["openid"], "oSBX_quick");
    assert_eq!(item["flags"][0]["kind"], "quick_unfollow");
    let id = item["id"].as_i64().expect("id");

    let (status, _) = call(Method::GET, "/review", &staff, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = call(Method::GET, "/review?status=later", &manager, None).await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!("validation_failed")
        )
    );
    let path = format!("/referrals/{id}/void");
    let (status, err) = call(Method::POST, &path, &manager, Some(json!({"reason": ""}))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let (status, _) = call(
        Method::POST,
        &path,
        &manager,
        Some(json!({"reason": "刷量"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(board(&pool).await.is_empty(), "the only referral is voided");
    let (status, err) = call(
        Method::POST,
        &path,
        &manager,
        Some(json!({"reason": "again"})),
    )
    .await;
    assert_eq!(
        (status, &err["error"]["code"]),
        (StatusCode::CONFLICT, &json!("already_voided"))
    );
    let (status, _) = call(
        Method::POST,
        "/referrals/999999/void",
        &manager,
        Some(json!({"reason": "x"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = call(
        Method::POST,
        &format!("/referrals/{id}/restore"),
        &manager,
        Some(json!({"reason": "核实"})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(board(&pool).await[0], ("张三".into(), 1, 1));
    let (status, _) = call(
        Method::POST,
        "/review/confirm",
        &manager,
        Some(json!({"subject": "referral", "id": id})),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "restoring reviewed it already"
    );

    let t = json!({"quick_unfollow_hours": 12, "cycle_follows": 3, "burst_follows": 20,
                   "burst_minutes": 10});
    let (status, _) = call(Method::PUT, "/review/thresholds", &manager, Some(t.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, saved) = call(Method::PUT, "/review/thresholds", &admin, Some(t.clone())).await;
    assert_eq!((status, &saved), (StatusCode::OK, &t));
    let (status, read) = call(Method::GET, "/review/thresholds", &manager, None).await;
    assert_eq!((status, read), (StatusCode::OK, t));

    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");
    for (path, method) in [
        ("/review", "get"),
        ("/review/confirm", "post"),
        ("/referrals/{id}/void", "post"),
        ("/referrals/{id}/restore", "post"),
        ("/review/thresholds", "put"),
    ] {
        assert!(doc["paths"][path][method].is_object(), "{path} {method}");
    }
    assert!(doc["components"]["schemas"]["ReviewItem"].is_object());
}
