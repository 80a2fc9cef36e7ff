//! Binding by scan: a referrer's one-time code binds the scanner's WeChat identity once, is
//! refused when used, expired or the scanner is bound elsewhere, and binding enables notices.

use serde_json::json;
use sqlx::PgPool;
use tuijian::db::sandbox as sim_store;
use tuijian::referral::actor::Actor;
use tuijian::referral::binding;
use tuijian::sandbox::simulate;

use crate::common::{TestApp, eventually, spawn_app};

async fn referrer(app: &TestApp, name: &str) -> i64 {
    let created = tuijian::referral::referrers::create(
        &app.state.pool,
        &Actor::cli(1),
        &app::model::NewReferrer {
            name: name.into(),
            ..Default::default()
        },
    )
    .await
    .expect("referrer");
    created.id
}

async fn openid_of(pool: &PgPool, id: i64) -> Option<String> {
    sqlx::query_scalar("select openid from referrer where id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("referrer")
}

async fn scan(app: &TestApp, url: &str, user: &str) -> String {
    simulate::scan_url(&app.state.sim(), url, user)
        .await
        .expect("scan")
        .reply
        .expect("a reply")
}

#[sqlx::test(migrations = "../migrations")]
async fn a_binding_code_binds_its_first_scanner_once(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let staff = Actor::cli(1);
    let zhang = referrer(&app, "张三").await;
    let li = referrer(&app, "李四").await;

    // A new follower scans Zhang's code: bound, told so, and no referral is credited.
    let code = binding::create(&pool, &app.state.accounts, &staff, zhang)
        .await
        .expect("code");
    assert!(
        code.svg.starts_with("<?xml") || code.svg.contains("<svg"),
        "an SVG"
    );
    let reply = scan(&app, &code.url, "laowang").await;
    assert!(
        reply.contains("绑定成功") && reply.contains("张三"),
        "{reply}"
    );
    assert_eq!(
        openid_of(&pool, zhang).await.as_deref(),
        Some("oSBX_laowang")
    );
    let referrals: i64 = sqlx::query_scalar("select count(*) from referral")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(referrals, 0, "a binding code credits nobody");
    // Scanning it again (now a SCAN) confirms again; someone else finds it used.
    let again = scan(&app, &code.url, "laowang").await;
    assert!(again.contains("绑定成功"), "{again}");
    let used = scan(&app, &code.url, "xiaoli").await;
    assert!(used.contains("已被使用"), "{used}");
    assert_eq!(
        openid_of(&pool, zhang).await.as_deref(),
        Some("oSBX_laowang")
    );

    // Bound to Zhang, Lao Wang cannot also be Li's.
    let other = binding::create(&pool, &app.state.accounts, &staff, li)
        .await
        .expect("code");
    let refused = scan(&app, &other.url, "laowang").await;
    assert!(refused.contains("已绑定推荐人「张三」"), "{refused}");
    assert_eq!(openid_of(&pool, li).await, None);
    // ... and it stays usable for the right person.
    let bound = scan(&app, &other.url, "xiaoli").await;
    assert!(bound.contains("李四"), "{bound}");
    assert_eq!(openid_of(&pool, li).await.as_deref(), Some("oSBX_xiaoli"));

    // An expired code binds nobody.
    let late = binding::create(&pool, &app.state.accounts, &staff, li)
        .await
        .expect("code");
    sqlx::query("update referrer_binding set expires_at = now() - interval '1 second' where used_at is null")
        .execute(&pool)
        .await
        .expect("expire");
    let expired = scan(&app, &late.url, "xiaozhao").await;
    assert!(expired.contains("已过期"), "{expired}");
    assert_eq!(openid_of(&pool, li).await.as_deref(), Some("oSBX_xiaoli"));
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'referrer.bind'")
            .fetch_one(&pool)
            .await
            .expect("audit");
    assert_eq!(audited, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bound_referrer_is_told_about_new_followers(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let staff = Actor::cli(1);
    let zhang = referrer(&app, "张三").await;
    let code = binding::create(&pool, &app.state.accounts, &staff, zhang)
        .await
        .expect("code");
    scan(&app, &code.url, "zhangsan").await;
    let qr = tuijian::referral::qrcodes::create(
        &pool,
        &app.state.accounts,
        &staff,
        zhang,
        &app::model::NewQrCode {
            kind: "permanent".into(),
            expire_seconds: None,
            label: None,
            scene_type: None,
            wechat_tag: None,
        },
    )
    .await
    .expect("code");
    simulate::scan(&app.state.sim(), qr.id, "friend")
        .await
        .expect("friend follows");
    let notice = eventually(10, || async {
        sim_store::messages_to(&pool, 1, "oSBX_zhangsan")
            .await
            .expect("messages")
            .into_iter()
            .find(|m| m.kind == "custom")
    })
    .await;
    assert!(
        notice.body["text"]["content"]
            .as_str()
            .is_some_and(|t| t.contains("张三")),
        "{}",
        json!(notice.body)
    );
}
