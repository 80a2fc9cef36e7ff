//! The WeChat client against the sandbox simulator: every call, limits, error codes, the shared
//! token store under concurrency, fault knobs, and the complete referral round trip.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tuijian::db::sandbox as sim_store;
use tuijian::referral::roles::Role;
use tuijian::referral::tokens;
use tuijian::sandbox::faults::Fault;
use tuijian::sandbox::simulate;
use tuijian::wechat::client::{ApiError, QrRequest, Scene, TemplateMessage};

use crate::common::{TestApp, eventually, settle_jobs, spawn_app};

async fn tokens_issued(pool: &PgPool) -> i64 {
    sim_store::tokens_issued(pool).await.expect("count")
}

fn errcode(r: Result<impl std::fmt::Debug, ApiError>) -> Option<i64> {
    r.expect_err("expected an API error").errcode()
}

#[sqlx::test(migrations = "../migrations")]
async fn qr_codes_of_every_kind_are_made_and_limits_hold(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let api = &app.state.wechat;
    let kinds = [
        QrRequest::Temporary {
            scene: Scene::Id(42),
            expire_seconds: 600,
        },
        QrRequest::Temporary {
            scene: Scene::Str("t".into()),
            expire_seconds: 2_592_000,
        },
        QrRequest::Permanent {
            scene: Scene::Id(7),
        },
        QrRequest::Permanent {
            scene: Scene::Str("ref_1".into()),
        },
    ];
    for req in &kinds {
        let t = api.create_qrcode(req).await.expect("created");
        assert!(t.url.starts_with("http://weixin.qq.com/q/"));
        let temporary = matches!(req, QrRequest::Temporary { .. });
        assert_eq!(t.expire_seconds.is_some(), temporary, "{req:?}");
        let image = app
            .client
            .get(tuijian::wechat::client::showqrcode_url(
                &format!("{}/sandbox/wx", app.url("")),
                &t.ticket,
            ))
            .send()
            .await
            .expect("showqrcode");
        assert_eq!(image.status(), StatusCode::OK);
    }
    let unknown = app
        .client
        .get(app.url("/sandbox/wx/cgi-bin/showqrcode?ticket=nope"))
        .send()
        .await
        .expect("request");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    // Limits are refused before anything is sent.
    let before = sim_store::permanent_codes(&pool, 1).await.expect("count");
    let too_long = QrRequest::Permanent {
        scene: Scene::Str("x".repeat(65)),
    };
    assert!(matches!(
        api.create_qrcode(&too_long).await,
        Err(ApiError::Invalid(_))
    ));
    assert_eq!(
        sim_store::permanent_codes(&pool, 1).await.expect("count"),
        before
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_permanent_quota_is_enforced_with_45029(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    sqlx::query(
        "insert into sandbox_qrcode (ticket, action, scene, url)
         select 't' || g, 'QR_LIMIT_SCENE', g::text, 'u' from generate_series(1, 100000) g",
    )
    .execute(&pool)
    .await
    .expect("fill quota");
    let req = QrRequest::Permanent {
        scene: Scene::Str("one_more".into()),
    };
    assert_eq!(
        errcode(app.state.wechat.create_qrcode(&req).await),
        Some(45029)
    );
    let temporary = QrRequest::Temporary {
        scene: Scene::Str("ok".into()),
        expire_seconds: 60,
    };
    assert!(app.state.wechat.create_qrcode(&temporary).await.is_ok());
}

#[sqlx::test(migrations = "../migrations")]
async fn user_calls_follow_the_simulated_users(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let api = &app.state.wechat;
    simulate::follow(&app.state.sim(), "alice")
        .await
        .expect("alice follows");
    simulate::follow(&app.state.sim(), "bob")
        .await
        .expect("bob follows");
    simulate::unfollow(&app.state.sim(), "bob")
        .await
        .expect("bob leaves");
    let alice = api.user_info("oSBX_alice", false).await.expect("info");
    assert_eq!(alice.subscribe, 1);
    assert!(alice.unionid.is_some());
    assert_eq!(alice.subscribe_scene.as_deref(), Some("ADD_SCENE_SEARCH"));
    assert_eq!(
        api.user_info("oSBX_bob", false)
            .await
            .expect("info")
            .subscribe,
        0
    );
    assert_eq!(
        errcode(api.user_info("oSBX_nobody", false).await),
        Some(40003)
    );
    let batch = api
        .user_info_batch(&["oSBX_alice".into(), "oSBX_bob".into()])
        .await
        .expect("batch");
    assert_eq!(batch.len(), 2);
    assert!(matches!(
        api.user_info_batch(&[]).await,
        Err(ApiError::Invalid(_))
    ));
    let list = api.user_list(None).await.expect("list");
    assert_eq!(list.total, 1);
    assert_eq!(list.data.expect("data").openid, ["oSBX_alice"]);
    let tag = api.create_tag("VIP").await.expect("tag");
    assert_eq!(errcode(api.create_tag("VIP").await), Some(45157));
    api.tag_users(tag.id, &["oSBX_alice".into()])
        .await
        .expect("tagging");
    let tags = api.get_tags().await.expect("tags");
    assert_eq!((tags[0].name.as_str(), tags[0].count), ("VIP", Some(1)));
    assert_eq!(
        errcode(api.tag_users(999, &["oSBX_alice".into()]).await),
        Some(45159)
    );
    let info = api.user_info("oSBX_alice", false).await.expect("info");
    assert_eq!(info.tagid_list, [tag.id]);
}

#[sqlx::test(migrations = "../migrations")]
async fn messages_respect_the_48_hour_window_and_following(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let api = &app.state.wechat;
    simulate::follow(&app.state.sim(), "carol")
        .await
        .expect("follow");
    api.send_text("oSBX_carol", "你好")
        .await
        .expect("inside the window");
    sim_store::age_interaction(&pool, 1, "oSBX_carol", 49)
        .await
        .expect("age");
    assert_eq!(
        errcode(api.send_text("oSBX_carol", "还在吗").await),
        Some(45015)
    );
    let template = TemplateMessage {
        touser: "oSBX_carol".into(),
        template_id: "TPL".into(),
        url: None,
        client_msg_id: None,
        data: json!({"keyword1": {"value": "x"}}),
    };
    assert!(api.send_template(&template).await.expect("template") > 0);
    simulate::unfollow(&app.state.sim(), "carol")
        .await
        .expect("unfollow");
    assert_eq!(
        errcode(api.send_text("oSBX_carol", "再见").await),
        Some(43004)
    );
    assert_eq!(errcode(api.send_template(&template).await), Some(43004));
    let received = sim_store::messages_to(&pool, 1, "oSBX_carol")
        .await
        .expect("messages");
    let kinds: Vec<&str> = received.iter().map(|m| m.kind.as_str()).collect();
    assert_eq!(kinds, ["custom", "template"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn busy_answers_are_retried_with_backoff_then_given_up(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    simulate::follow(&app.state.sim(), "dave")
        .await
        .expect("follow");
    settle_jobs(&pool).await;
    let api = &app.state.wechat;
    let busy = |count| Fault {
        endpoint: "user/info".into(),
        errcode: Some(-1),
        count: Some(count),
        latency_ms: None,
    };
    app.state.sandbox_faults.add(&busy(2));
    assert_eq!(
        api.user_info("oSBX_dave", false)
            .await
            .expect("third try")
            .subscribe,
        1
    );
    app.state.sandbox_faults.add(&busy(10));
    assert_eq!(errcode(api.user_info("oSBX_dave", false).await), Some(-1));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_revoked_token_is_replaced_once_for_20_concurrent_calls(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    simulate::follow(&app.state.sim(), "erin")
        .await
        .expect("follow");
    settle_jobs(&pool).await;
    let api = app.state.wechat.clone();
    api.user_info("oSBX_erin", false).await.expect("warm up");
    let before = tokens_issued(&pool).await;
    sim_store::revoke_tokens(&pool).await.expect("revoke");
    let calls = (0..20).map(|_| {
        let api = api.clone();
        async move { api.user_info("oSBX_erin", false).await }
    });
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.expect("retried with the new token").subscribe, 1);
    }
    assert_eq!(
        tokens_issued(&pool).await,
        before + 1,
        "exactly one token fetch"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn two_instances_share_one_token_and_one_refresh(pool: PgPool) {
    let a = spawn_app(pool.clone()).await;
    let b = spawn_app(pool.clone()).await;
    simulate::follow(&a.state.sim(), "frank")
        .await
        .expect("follow");
    settle_jobs(&pool).await;
    a.state
        .wechat
        .user_info("oSBX_frank", false)
        .await
        .expect("a warms up");
    let before = tokens_issued(&pool).await;
    b.state
        .wechat
        .user_info("oSBX_frank", false)
        .await
        .expect("b reuses a's token");
    assert_eq!(
        tokens_issued(&pool).await,
        before,
        "b must not fetch its own token"
    );
    sim_store::revoke_tokens(&pool).await.expect("revoke");
    let calls = (0..20).map(|i| {
        let api = if i % 2 == 0 {
            a.state.wechat.clone()
        } else {
            b.state.wechat.clone()
        };
        async move { api.user_info("oSBX_frank", false).await }
    });
    for result in futures_util::future::join_all(calls).await {
        assert_eq!(result.expect("call succeeds").subscribe, 1);
    }
    assert_eq!(
        tokens_issued(&pool).await,
        before + 1,
        "one fetch across both instances"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn fault_knobs_are_settable_over_http(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    simulate::follow(&app.state.sim(), "gina")
        .await
        .expect("follow");
    settle_jobs(&pool).await;
    let resp = app
        .client
        .post(app.url("/sandbox/faults"))
        .json(&json!({"faults": [{"endpoint": "user/info", "errcode": 45009, "count": 1}]}))
        .send()
        .await
        .expect("faults");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        errcode(app.state.wechat.user_info("oSBX_gina", false).await),
        Some(45009)
    );
    assert!(app.state.wechat.user_info("oSBX_gina", false).await.is_ok());
}

async fn rest(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Value {
    let mut req = app
        .client
        .request(method, app.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("json")
}

/// Creates a referrer and one QR code for it through the REST API (the bodies as given); the
/// referrer's id and the code as answered.
async fn referrer_with_code(
    app: &TestApp,
    token: &str,
    referrer: Value,
    code: Value,
) -> (i64, Value) {
    let referrer = rest(
        app,
        token,
        reqwest::Method::POST,
        "/referrers",
        Some(referrer),
    )
    .await;
    let id = referrer["id"].as_i64().expect("id");
    let path = format!("/referrers/{id}/qrcodes");
    (
        id,
        rest(app, token, reqwest::Method::POST, &path, Some(code)).await,
    )
}

/// create referrer → create code → simulated scan → greeting names the referrer → referral
/// listed → leaderboard counts it → referrer notified → follower looked up.
#[sqlx::test(migrations = "../migrations")]
async fn full_sandbox_round_trip(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let token = tokens::mint(&pool, 1, "admin", Role::Admin)
        .await
        .expect("token");
    // The referrer's own WeChat identity follows and has talked to the account recently.
    simulate::follow(&app.state.sim(), "zhangsan")
        .await
        .expect("referrer follows");
    simulate::text(&app.state.sim(), "zhangsan", "你好")
        .await
        .expect("referrer writes");
    let (id, code) = referrer_with_code(
        &app,
        &token,
        json!({"name": "张三", "openid": "oSBX_zhangsan"}),
        json!({"kind": "permanent", "label": "门店海报"}),
    )
    .await;
    assert_eq!(code["kind"], "permanent");
    let code_id = code["id"].as_i64().expect("code id");

    let seen = simulate::scan(&app.state.sim(), code_id, "newcomer")
        .await
        .expect("scan");
    assert_eq!((seen.sent.as_str(), seen.status), ("subscribe", 200));
    assert_eq!(
        seen.reply.as_deref(),
        Some("欢迎关注！您是张三推荐的客户。")
    );
    let again = simulate::scan(&app.state.sim(), code_id, "newcomer")
        .await
        .expect("scan again");
    assert_eq!(again.sent, "SCAN");

    let referrals = rest(
        &app,
        &token,
        reqwest::Method::GET,
        &format!("/referrers/{id}/referrals"),
        None,
    )
    .await;
    assert_eq!(referrals["total"], 1);
    assert_eq!(referrals["items"][0]["openid"], "oSBX_newcomer");
    let board = rest(
        &app,
        &token,
        reqwest::Method::GET,
        "/leaderboard?period=day",
        None,
    )
    .await;
    assert_eq!(board["items"][0]["referrer_id"], id);
    assert_eq!(board["items"][0]["follows"], 1);

    let notice = eventually(10, || async {
        let msgs = sim_store::messages_to(&pool, 1, "oSBX_zhangsan")
            .await
            .expect("messages");
        msgs.into_iter().find(|m| m.kind == "custom")
    })
    .await;
    let text = notice.body["text"]["content"].as_str().expect("text");
    assert!(
        text.contains("张三") && text.contains("累计推荐 1 位"),
        "{text}"
    );
    let (channel, status): (String, String) = eventually(10, || async {
        sqlx::query_as("select channel, status from notification")
            .fetch_optional(&pool)
            .await
            .expect("q")
    })
    .await;
    assert_eq!((channel.as_str(), status.as_str()), ("custom", "sent"));
    let unionid: Option<String> = eventually(10, || async {
        sqlx::query_scalar::<_, Option<String>>(
            "select unionid from follower where openid = 'oSBX_newcomer' and info_fetched_at is not null",
        )
        .fetch_optional(&pool)
        .await
        .expect("q")
    })
    .await;
    assert!(unionid.is_some());
}

/// `(channel, status, errcode)` of every attempt to tell a referrer, oldest first.
async fn attempts(pool: &PgPool) -> Vec<(String, String, Option<i32>)> {
    sqlx::query_as("select channel, status, errcode from notice_attempt order by id")
        .fetch_all(pool)
        .await
        .expect("attempts")
}

/// A referrer whose 48-hour window closed at WeChat and who has no template: 45015, and the
/// notice is kept (the job is done, not retried) until the referrer next messages the
/// account, when it is delivered.
#[sqlx::test(migrations = "../migrations")]
async fn a_notice_outside_the_window_is_kept_and_sent_when_the_referrer_is_back(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    simulate::follow(&app.state.sim(), "lisi")
        .await
        .expect("follow");
    sim_store::age_interaction(&pool, 1, "oSBX_lisi", 72)
        .await
        .expect("age");
    let token = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let (_, code) = referrer_with_code(
        &app,
        &token,
        json!({"name": "李四", "openid": "oSBX_lisi"}),
        json!({"kind": "temporary", "expire_seconds": 3600}),
    )
    .await;
    simulate::scan(&app.state.sim(), code["id"].as_i64().expect("id"), "friend")
        .await
        .expect("scan");
    let (status, errcode): (String, Option<i32>) = eventually(10, || async {
        sqlx::query_as("select status, errcode from notification")
            .fetch_optional(&pool)
            .await
            .expect("q")
    })
    .await;
    assert_eq!((status.as_str(), errcode), ("pending", Some(45015)));
    let (job_status, attempts_made): (String, i32) = eventually(10, || async {
        sqlx::query_as(
            "select status, attempts from outbox
             where kind = 'follow_up' and payload->>'referral_id' is not null
               and status <> 'pending'",
        )
        .fetch_optional(&pool)
        .await
        .expect("q")
    })
    .await;
    assert_eq!((job_status.as_str(), attempts_made), ("done", 1));
    assert_eq!(
        attempts(&pool).await,
        [("custom".into(), "failed".into(), Some(45015))]
    );

    // The referrer writes to the account: the window is open again and the notice goes out.
    simulate::text(&app.state.sim(), "lisi", "在吗")
        .await
        .expect("text");
    let notice = eventually(15, || async {
        let msgs = sim_store::messages_to(&pool, 1, "oSBX_lisi")
            .await
            .expect("messages");
        msgs.into_iter().find(|m| m.kind == "custom")
    })
    .await;
    let text = notice.body["text"]["content"].as_str().expect("text");
    assert!(
        text.contains("李四") && text.contains("累计推荐 1 位"),
        "{text}"
    );
    let status: String = eventually(10, || async {
        sqlx::query_scalar("select status from notification where status = 'sent'")
            .fetch_optional(&pool)
            .await
            .expect("q")
    })
    .await;
    assert_eq!(status, "sent");
    assert_eq!(
        attempts(&pool).await,
        [
            ("custom".into(), "failed".into(), Some(45015)),
            ("custom".into(), "sent".into(), None)
        ]
    );
}

/// A referrer our records last saw days ago gets the template message first, its keys filled
/// by the account's mapping; when the template is refused and the window is closed too, the
/// notice waits for the referrer and the referrer's page says so.
#[sqlx::test(migrations = "../migrations")]
async fn template_notices_follow_the_mapping_and_fall_back(pool: PgPool) {
    use app::notice::{FieldMapping, NoticeSource};
    use tuijian::referral::actor::Actor;
    let app = spawn_app(pool.clone()).await;
    let mapping = [
        ("thing1", NoticeSource::Referrer),
        ("character_string2", NoticeSource::Follower),
        ("time3", NoticeSource::Time),
        ("number4", NoticeSource::Total),
    ]
    .map(|(key, source)| FieldMapping {
        key: key.into(),
        source,
    });
    tuijian::referral::settings::save_notify_template(
        &pool,
        &Actor::cli(1),
        "TPL_FOLLOW",
        &mapping,
    )
    .await
    .expect("template saved");
    // Followed long before this server was connected: no callback of theirs is stored.
    sim_store::ensure_user(&pool, 1, "oSBX_zhao", "zhao")
        .await
        .expect("user");
    sim_store::record_follow(&pool, 1, "oSBX_zhao", None)
        .await
        .expect("follow");
    sim_store::age_interaction(&pool, 1, "oSBX_zhao", 100)
        .await
        .expect("age");
    let token = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let (referrer_id, code) = referrer_with_code(
        &app,
        &token,
        json!({"name": "赵六", "openid": "oSBX_zhao"}),
        json!({"kind": "permanent"}),
    )
    .await;
    let code_id = code["id"].as_i64().expect("id");
    simulate::scan(&app.state.sim(), code_id, "friend_one")
        .await
        .expect("scan");
    let notice = eventually(10, || async {
        let msgs = sim_store::messages_to(&pool, 1, "oSBX_zhao")
            .await
            .expect("messages");
        msgs.into_iter().find(|m| m.kind == "template")
    })
    .await;
    assert_eq!(notice.body["template_id"], "TPL_FOLLOW");
    let data = &notice.body["data"];
    assert_eq!(data["thing1"]["value"], "赵六");
    assert_eq!(data["number4"]["value"], "1");
    assert_eq!(data["character_string2"]["value"], "oSBX****_one");
    assert!(
        data["time3"]["value"]
            .as_str()
            .is_some_and(|t| t.len() == 16),
        "{data}"
    );
    assert!(data.get("keyword1").is_none(), "{data}");

    // The template is refused (40037) and the customer-service window is closed (45015).
    app.state.sandbox_faults.add(&Fault {
        endpoint: "message/template/send".into(),
        errcode: Some(40037),
        count: Some(1),
        latency_ms: None,
    });
    simulate::scan(&app.state.sim(), code_id, "friend_two")
        .await
        .expect("scan");
    eventually(10, || async {
        sqlx::query_scalar::<_, i64>("select count(*) from notification where status = 'pending'")
            .fetch_one(&pool)
            .await
            .ok()
            .filter(|n| *n == 1)
    })
    .await;
    assert_eq!(
        attempts(&pool).await,
        [
            ("template".into(), "sent".into(), None),
            ("template".into(), "failed".into(), Some(40037)),
            ("custom".into(), "failed".into(), Some(45015)),
        ]
    );
    // The referrer's page lists the attempts and the kept notice, newest first.
    let detail = tuijian::referral::referrers::detail(&pool, &Actor::cli(1), referrer_id, None)
        .await
        .expect("detail");
    let listed: Vec<(&str, &str)> = detail
        .notices
        .iter()
        .map(|n| (n.channel.as_str(), n.status.as_str()))
        .collect();
    assert_eq!(
        listed,
        [
            ("custom", "pending"),
            ("custom", "failed"),
            ("template", "failed"),
            ("template", "sent")
        ],
        "{:?}",
        detail.notices
    );

    // The referrer clicks the menu: back inside the window, the kept notice is delivered.
    simulate::menu_click(&app.state.sim(), "zhao")
        .await
        .expect("click");
    let custom = eventually(15, || async {
        let msgs = sim_store::messages_to(&pool, 1, "oSBX_zhao")
            .await
            .expect("messages");
        msgs.into_iter().find(|m| {
            m.kind == "custom"
                && m.body["text"]["content"]
                    .as_str()
                    .is_some_and(|t| t.contains("累计推荐"))
        })
    })
    .await;
    assert!(
        custom.body["text"]["content"]
            .as_str()
            .is_some_and(|t| t.contains("累计推荐 2 位")),
        "{custom:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn qr_images_decode_to_the_code_url(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let token = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let (_, code) = referrer_with_code(
        &app,
        &token,
        json!({"name": "王五"}),
        json!({"kind": "permanent"}),
    )
    .await;
    let code_id = code["id"].as_i64().expect("id");
    let png = app
        .client
        .get(app.url(&format!("/api/v1/qrcodes/{code_id}/image.png?size=300")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("png");
    assert_eq!(png.headers()["content-type"], "image/png");
    let bytes = png.bytes().await.expect("bytes");
    let image = image::load_from_memory(&bytes).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1);
    let (_, content) = grids[0].decode().expect("decodes");
    assert_eq!(content, code["url"].as_str().expect("url"));
    let svg = app
        .client
        .get(app.url(&format!("/api/v1/qrcodes/{code_id}/image.svg")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("svg");
    assert!(svg.text().await.expect("svg").starts_with("<?xml"));
    let quota = rest(&app, &token, reqwest::Method::GET, "/qrcodes/quota", None).await;
    assert_eq!(
        (
            quota["permanent_used"].as_i64(),
            quota["permanent_limit"].as_i64()
        ),
        (Some(1), Some(100_000))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn archived_referrers_get_no_new_codes_but_old_ones_still_attribute(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let token = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let (id, code) = referrer_with_code(
        &app,
        &token,
        json!({"name": "赵六"}),
        json!({"kind": "permanent"}),
    )
    .await;
    rest(
        &app,
        &token,
        reqwest::Method::DELETE,
        &format!("/referrers/{id}"),
        None,
    )
    .await;
    let refused = app
        .client
        .post(app.url(&format!("/api/v1/referrers/{id}/qrcodes")))
        .bearer_auth(&token)
        .json(&json!({"kind": "permanent"}))
        .send()
        .await
        .expect("request");
    assert_eq!(refused.status(), StatusCode::CONFLICT);
    let body: Value = refused.json().await.expect("json");
    assert_eq!(body["error"]["code"], "referrer_archived");
    let seen = simulate::scan(&app.state.sim(), code["id"].as_i64().expect("id"), "late")
        .await
        .expect("scan");
    assert_eq!(
        seen.reply.as_deref(),
        Some("欢迎关注！您是赵六推荐的客户。")
    );
}

/// The same loop in safe mode: the simulator encrypts, we decrypt, reply encrypted; and the
/// referrer is told by template message when a template is configured.
#[sqlx::test(migrations = "../migrations")]
async fn safe_mode_round_trip_with_a_template_notification(pool: PgPool) {
    let app = crate::common::spawn_app_with(
        pool.clone(),
        crate::common::settings(&[
            (
                "WECHAT_ENCODING_AES_KEY",
                "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
            ),
            ("WECHAT_TOKEN_ENDPOINT", "classic"),
        ]),
    )
    .await;
    assert!(app.state.callback.safe_mode());
    sqlx::query("update account set notify_template_id = 'TPL_NEW_FOLLOWER'")
        .execute(&pool)
        .await
        .expect("template");
    simulate::follow(&app.state.sim(), "wangwu")
        .await
        .expect("referrer follows");
    sim_store::age_interaction(&pool, 1, "oSBX_wangwu", 100)
        .await
        .expect("window closed");
    let token = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let (_, code) = referrer_with_code(
        &app,
        &token,
        json!({"name": "王五", "openid": "oSBX_wangwu"}),
        json!({"kind": "permanent"}),
    )
    .await;
    let seen = simulate::scan(
        &app.state.sim(),
        code["id"].as_i64().expect("id"),
        "safe_friend",
    )
    .await
    .expect("scan");
    assert_eq!(
        seen.reply.as_deref(),
        Some("欢迎关注！您是王五推荐的客户。")
    );
    let stored: String =
        sqlx::query_scalar("select payload from event where openid = 'oSBX_safe_friend'")
            .fetch_one(&pool)
            .await
            .expect("event");
    assert!(
        stored.contains("oSBX_safe_friend"),
        "the decrypted message is stored"
    );
    let notice = eventually(10, || async {
        let msgs = sim_store::messages_to(&pool, 1, "oSBX_wangwu")
            .await
            .expect("messages");
        msgs.into_iter().find(|m| m.kind == "template")
    })
    .await;
    assert_eq!(notice.body["template_id"], "TPL_NEW_FOLLOWER");
    assert_eq!(notice.body["data"]["keyword3"]["value"], "1");
    let classic: i64 =
        sqlx::query_scalar("select count(*) from sandbox_token where kind = 'classic'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert!(
        classic >= 1,
        "WECHAT_TOKEN_ENDPOINT=classic uses cgi-bin/token"
    );
}

/// The CLI's service: the simulate endpoints over HTTP.
#[sqlx::test(migrations = "../migrations")]
async fn simulate_endpoints_answer_like_the_cli_expects(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let post = |path: &'static str, body: Value| {
        let app = &app;
        async move {
            app.client
                .post(app.url(&format!("/sandbox/simulate/{path}")))
                .json(&body)
                .send()
                .await
                .expect("request")
        }
    };
    let resp = post("follow", json!({"user": "hank"})).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let reply: simulate::SimReply = resp.json().await.expect("json");
    assert_eq!(reply.reply.as_deref(), Some("欢迎关注！"));
    let text: simulate::SimReply = post("text", json!({"user": "hank", "content": "在吗"}))
        .await
        .json()
        .await
        .expect("json");
    assert_eq!((text.sent.as_str(), text.reply), ("text", None));
    assert_eq!(
        post("scan", json!({"user": "hank", "qrcode_id": 999}))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        post("follow", json!({"user": "bad name!"})).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let users: Value = app
        .client
        .get(app.url("/sandbox/users"))
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("json");
    assert_eq!(users["users"][0]["openid"], "oSBX_hank");
}

/// Follow-ups look their followers up with `user/info/batchget`: single `user/info` calls
/// are made to fail here, and every follower is still looked up.
#[sqlx::test(migrations = "../migrations")]
async fn follow_ups_look_followers_up_with_batchget(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    app.state.sandbox_faults.add(&Fault {
        endpoint: "user/info".into(),
        errcode: Some(40003),
        count: Some(1000),
        latency_ms: None,
    });
    for user in ["bat1", "bat2", "bat3"] {
        simulate::follow(&app.state.sim(), user)
            .await
            .expect("follow");
    }
    settle_jobs(&pool).await;
    let looked_up: Vec<(String, String)> = sqlx::query_as(
        "select f.openid, o.status from follower f
         join outbox o
           on o.account_id = f.account_id and (o.payload->>'follower_id')::bigint = f.id
         where f.info_fetched_at is not null order by f.openid",
    )
    .fetch_all(&pool)
    .await
    .expect("followers");
    assert_eq!(
        looked_up,
        [
            ("oSBX_bat1".to_owned(), "done".to_owned()),
            ("oSBX_bat2".to_owned(), "done".to_owned()),
            ("oSBX_bat3".to_owned(), "done".to_owned()),
        ]
    );
}

/// One follower WeChat does not know makes `batchget` fail for the whole batch: the others
/// are then looked up one by one, and only the unknown one's job fails (40003).
#[sqlx::test(migrations = "../migrations")]
async fn an_unknown_follower_fails_alone(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    simulate::follow(&app.state.sim(), "known")
        .await
        .expect("follow");
    settle_jobs(&pool).await;
    // Two follow-ups due together: one for a known follower, one for an openid the sandbox
    // never saw; the worker claims them in one batch.
    // In one transaction, so the worker claims both jobs in one batch.
    sqlx::raw_sql(
        "insert into follower (account_id, openid, first_followed_at, last_followed_at)
         values (1, 'oSBX_ghost', now(), now());
         insert into outbox (account_id, kind, payload)
         select 1, 'follow_up', jsonb_build_object('openid', openid, 'follower_id', id)
         from follower where openid = 'oSBX_ghost';
         update outbox set status = 'pending', attempts = 0, finished_at = null,
                next_attempt_at = now();
         update follower set info_fetched_at = null;",
    )
    .execute(&pool)
    .await
    .expect("jobs");
    app.state.jobs_wake.notify_one();
    settle_jobs(&pool).await;
    let jobs: Vec<(String, String, Option<i32>, bool)> = sqlx::query_as(
        "select o.payload->>'openid', o.status, o.last_errcode, f.info_fetched_at is not null
         from outbox o join follower f
           on f.account_id = o.account_id and f.id = (o.payload->>'follower_id')::bigint
         order by 1",
    )
    .fetch_all(&pool)
    .await
    .expect("jobs");
    assert_eq!(
        jobs,
        [
            (
                "oSBX_ghost".to_owned(),
                "failed".to_owned(),
                Some(40003),
                false
            ),
            ("oSBX_known".to_owned(), "done".to_owned(), None, true),
        ]
    );
}

/// Rows queued by earlier versions still run (`user_info`); a kind this version does not know
/// and a payload it cannot read fail at once with a clear error, and the rest of the batch
/// still runs.
#[sqlx::test(migrations = "../migrations")]
async fn old_jobs_run_and_unreadable_ones_fail(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    simulate::follow(&app.state.sim(), "legacy")
        .await
        .expect("follow");
    settle_jobs(&pool).await;
    // In one transaction, so the worker claims them in one batch.
    sqlx::raw_sql(
        "update follower set info_fetched_at = null;
         insert into outbox (account_id, kind, payload)
         select 1, 'user_info', jsonb_build_object('openid', openid, 'follower_id', id)
         from follower where openid = 'oSBX_legacy';
         insert into outbox (account_id, kind, payload)
         values (1, 'send_postcard', '{}'),
                (1, 'follow_up', '{\"openid\": \"oSBX_legacy\"}');",
    )
    .execute(&pool)
    .await
    .expect("jobs");
    app.state.jobs_wake.notify_one();
    settle_jobs(&pool).await;
    let jobs: Vec<(String, String, i32, Option<String>)> = sqlx::query_as(
        "select kind, status, attempts, last_error from outbox
         where kind <> 'follow_up' or not payload ? 'follower_id' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("jobs");
    let summary: Vec<(&str, &str, i32)> = jobs
        .iter()
        .map(|(kind, status, attempts, _)| (kind.as_str(), status.as_str(), *attempts))
        .collect();
    assert_eq!(
        summary,
        [
            ("user_info", "done", 1),
            ("send_postcard", "failed", 1),
            ("follow_up", "failed", 1),
        ]
    );
    assert_eq!(
        jobs[1].3.as_deref(),
        Some(r#"unknown job kind "send_postcard""#)
    );
    let error = jobs[2].3.as_deref().expect("error");
    assert!(
        error.starts_with("follow_up job payload is not what this version expects")
            && error.contains("follower_id"),
        "{error}"
    );
    let fetched: bool = sqlx::query_scalar(
        "select info_fetched_at is not null from follower where openid = 'oSBX_legacy'",
    )
    .fetch_one(&pool)
    .await
    .expect("follower");
    assert!(fetched, "the old user_info job looked the follower up");
}

/// Islands get their data as props: no page leaves resource data for the browser to read back
/// while it hydrates. The sandbox's inbox was a resource inside its island; the server created
/// it twice while resolving the page's `Suspense`, the browser read the first (discarded) one's
/// data, and hydration failed now and then.
#[sqlx::test(migrations = "../migrations")]
async fn pages_hand_their_islands_data_as_props(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let token = tokens::mint(&pool, 1, "admin", Role::Admin)
        .await
        .expect("token");
    let (id, code) = referrer_with_code(
        &app,
        &token,
        json!({"name": "岛屿"}),
        json!({"kind": "permanent", "label": "海报"}),
    )
    .await;
    let code_id = code["id"].as_i64().expect("code id");
    // alice, the panel's first simulated user, asks for her personal code: the link to her page
    // arrives as a customer-service message, which the sandbox page shows from the server.
    simulate::follow(&app.state.sim(), "alice")
        .await
        .expect("follow");
    simulate::text(&app.state.sim(), "alice", "推广码")
        .await
        .expect("asks");
    settle_jobs(&pool).await;

    let cookie = crate::skeleton::signed_in(&pool, Role::Admin).await;
    let (status, sandbox) = crate::skeleton::page_html(&app, &cookie, "/sandbox").await;
    assert_eq!(status, 200);
    let inbox = sandbox
        .split(r#"data-testid="sim-inbox""#)
        .nth(1)
        .expect("inbox section");
    assert!(inbox.contains(r#"data-testid="inbox-message""#));
    let member = inbox
        .split("/m/")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
                .next()
        })
        .expect("the link to alice's page");

    for path in [
        "/".to_owned(),
        "/referrers".to_owned(),
        format!("/referrers/{id}"),
        format!("/referrers/{id}/poster/{code_id}"),
        "/qrcodes".to_owned(),
        "/leaderboard".to_owned(),
        "/stats".to_owned(),
        "/settings".to_owned(),
        "/sandbox".to_owned(),
        format!("/m/{member}"),
    ] {
        let (status, html) = crate::skeleton::page_html(&app, &cookie, &path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains("<leptos-island"), "{path} has islands");
        assert!(
            html.contains("__PENDING_RESOURCES=[];") && !html.contains("__RESOLVED_RESOURCES["),
            "{path} leaves resource data for the browser"
        );
    }
}
