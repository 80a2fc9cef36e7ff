//! The custom menu: published from the dashboard's server functions, held by the simulated
//! WeChat (`menu/get` reads it back, `menu/delete` clears it), played in the sandbox panel (the
//! "my referral code" click answers with the member's code, the member-page link leads to their
//! page). Refused menus name each field and change nothing; WeChat's refusals show their
//! errcode; only admins manage the menu.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tuijian::db::sandbox as sim_store;
use tuijian::referral::roles::Role;
use tuijian::sandbox::faults::Fault;
use tuijian::sandbox::simulate;
use tuijian::wechat::client::ApiError;
use tuijian::wechat::menu::{Button, Menu};

use crate::common::{TestApp, spawn_app};
use crate::skeleton::signed_in;

/// A server function call: (status, answer). `body` is JSON for publishing, else a form.
async fn sfn(app: &TestApp, cookie: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let req = app.client.post(app.url(path)).header("cookie", cookie);
    let req = match body {
        Some(json) => req.json(&json),
        None => req.header("content-type", "application/x-www-form-urlencoded"),
    };
    let resp = req.send().await.expect("server function");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn publish(app: &TestApp, cookie: &str, menu: Value) -> (u16, Value) {
    sfn(
        app,
        cookie,
        "/sfn/menu/publish",
        Some(json!({ "menu": menu })),
    )
    .await
}

/// The simulated WeChat's stored menu of the first account.
async fn held(pool: &PgPool) -> Option<Value> {
    sim_store::menu(pool, 1).await.expect("sandbox menu")
}

/// A live access token of the first account, for calling the simulated API by hand.
async fn token(app: &TestApp) -> String {
    let api = app.state.accounts.api(1).await.expect("api");
    api.with_token(|_, t| async move { Ok::<_, ApiError>(t) })
        .await
        .expect("token")
}

fn as_menu(value: &Value) -> app::menu::Menu {
    serde_json::from_value(value.clone()).expect("a menu")
}

/// The ready items' menu: 我的推广码 on top, 我的推广页 under 更多.
fn ready_menu(page: &Value) -> Value {
    let ready = &page["ready"];
    json!({"buttons": [
        {"name": "我的推广码", "kind": "click", "key": ready["code_key"]},
        {"name": "更多", "kind": "parent", "sub_buttons": [
            {"name": "我的推广页", "kind": "view", "url": ready["page_url"]}
        ]}
    ]})
}

#[sqlx::test(migrations = "../migrations")]
async fn a_published_menu_is_read_back_from_the_simulator_and_its_click_yields_the_member_code(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let (status, page) = sfn(&app, &admin, "/sfn/menu/load", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["live"], Value::Null, "no menu yet");
    assert_eq!(page["live_error"], Value::Null);
    assert_eq!(page["ready"]["code_key"], "MY_REFERRAL_CODE");
    let page_url = page["ready"]["page_url"].as_str().expect("url").to_owned();
    assert_eq!(page_url, app.url("/m/a/1"));

    let (status, published) = publish(&app, &admin, ready_menu(&page)).await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(
        as_menu(&published["live"]),
        as_menu(&ready_menu(&page)),
        "what is live is what was sent"
    );
    // The simulator holds WeChat's shape; WeChat's own `menu/get` answers it.
    assert_eq!(
        held(&pool).await.expect("held"),
        json!({"button": [
            {"type": "click", "name": "我的推广码", "key": "MY_REFERRAL_CODE"},
            {"name": "更多", "sub_button": [
                {"type": "view", "name": "我的推广页", "url": page_url}
            ]}
        ]})
    );
    let raw: Value = app
        .client
        .get(app.url("/sandbox/wx/cgi-bin/menu/get"))
        .query(&[("access_token", token(&app).await)])
        .send()
        .await
        .expect("menu/get")
        .json()
        .await
        .expect("json");
    assert_eq!(raw["menu"]["button"][0]["sub_button"], json!([]), "{raw}");
    assert_eq!(
        raw["menu"]["button"][1]["sub_button"][0]["url"],
        page_url.as_str()
    );
    let audit: Vec<String> =
        sqlx::query_scalar("select action from audit_log where action like 'menu.%' order by id")
            .fetch_all(&pool)
            .await
            .expect("audit");
    assert_eq!(audit, ["menu.publish"]);

    // The sandbox panel: mia follows and clicks 我的推广码 → her personal code.
    let staff = signed_in(&pool, Role::Staff).await;
    let (_, shown) = sfn(&app, &staff, "/sfn/sandbox/menu", None).await;
    assert_eq!(shown, published["live"], "the panel renders the held menu");
    simulate::follow(&app.state.sim(), "mia")
        .await
        .expect("follow");
    let click = |key: &str| {
        let body = format!("action=Menu&who=mia&content={key}");
        let (app, staff) = (&app, &staff);
        async move {
            let resp = app
                .client
                .post(app.url("/sfn/sandbox/simulate"))
                .header("cookie", staff)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .expect("simulate");
            (resp.status(), resp.json::<Value>().await.expect("json"))
        }
    };
    let (status, outcome) = click("MY_REFERRAL_CODE").await;
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["sent"], "CLICK");
    let image = outcome["image"].as_str().unwrap_or_default();
    let link = outcome["reply"].as_str().unwrap_or_default();
    assert!(
        image.starts_with("/sandbox/media/") || link.contains("/m/"),
        "the member code (image, or the link when the image is late): {outcome}"
    );
    let (kind, token): (String, String) = sqlx::query_as(
        "select kind, member_token from referrer where account_id = 1 and openid = 'oSBX_mia'",
    )
    .fetch_one(&pool)
    .await
    .expect("mia is a member");
    assert_eq!(kind, "member");
    let (status, refused) = click("NOT_ON_THE_MENU").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");

    // 我的推广页: the VIEW event, then web authorization leads mia to her own page.
    let view = simulate::view(&app.state.sim(), "mia", &page_url)
        .await
        .expect("view");
    assert_eq!((view.sent.as_str(), view.status), ("VIEW", 200));
    let (done, ..) =
        crate::members::authorize_at(&app, "/m/a/1", "/m/oauth/callback/1", "mia").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], format!("/m/{token}").as_str());
}

#[sqlx::test(migrations = "../migrations")]
async fn clearing_the_menu_empties_the_simulator_and_get_answers_46003(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let (_, page) = sfn(&app, &admin, "/sfn/menu/load", None).await;
    assert_eq!(publish(&app, &admin, ready_menu(&page)).await.0, 200);
    let (status, cleared) = sfn(&app, &admin, "/sfn/menu/delete", None).await;
    assert_eq!(status, 200, "{cleared}");
    assert_eq!(cleared["live"], Value::Null);
    assert_eq!(cleared["live_error"], Value::Null);
    assert_eq!(held(&pool).await, None);
    let raw: Value = app
        .client
        .get(app.url("/sandbox/wx/cgi-bin/menu/get"))
        .query(&[("access_token", token(&app).await)])
        .send()
        .await
        .expect("menu/get")
        .json()
        .await
        .expect("json");
    assert_eq!(raw["errcode"], 46003, "{raw}");
    let api = app.state.accounts.api(1).await.expect("api");
    assert_eq!(api.menu_get().await.expect("menu/get"), None);
    // Clearing again is fine (WeChat answers ok), and the panel shows no menu.
    assert_eq!(sfn(&app, &admin, "/sfn/menu/delete", None).await.0, 200);
    let (_, shown) = sfn(&app, &admin, "/sfn/sandbox/menu", None).await;
    assert_eq!(shown, Value::Null);
}

#[sqlx::test(migrations = "../migrations")]
async fn refused_menus_name_each_field_and_change_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let (_, page) = sfn(&app, &admin, "/sfn/menu/load", None).await;
    assert_eq!(publish(&app, &admin, ready_menu(&page)).await.0, 200);
    let before = held(&pool).await;
    let click = |name: &str, key: &str| json!({"name": name, "kind": "click", "key": key});
    let view = |name: &str, url: &str| json!({"name": name, "kind": "view", "url": url});
    let parent = |subs: Vec<Value>| json!({"name": "更多", "kind": "parent", "sub_buttons": subs});
    let long_url = format!("https://a.example/{}", "p".repeat(1007));
    let cases: Vec<(Vec<Value>, &[&str])> = vec![
        (vec![], &["buttons"]),
        (vec![click("a", "k"); 4], &["buttons"]),
        // 6 Chinese characters are 18 bytes; 16 is the limit on top.
        (vec![click("六个汉字名称", "k")], &["buttons[0].name"]),
        (vec![click("   ", "k")], &["buttons[0].name"]),
        (
            vec![parent(vec![click(&"页".repeat(21), "k")])],
            &["buttons[0].sub_buttons[0].name"],
        ),
        (vec![click("码", "")], &["buttons[0].key"]),
        (vec![click("码", &"K".repeat(129))], &["buttons[0].key"]),
        (vec![view("页", "www.example.com")], &["buttons[0].url"]),
        (vec![view("页", &long_url)], &["buttons[0].url"]),
        (
            vec![parent(vec![view("页", "javascript:alert(1)")])],
            &["buttons[0].sub_buttons[0].url"],
        ),
        (
            vec![parent(vec![click("a", "k"); 6])],
            &["buttons[0].sub_buttons"],
        ),
        (vec![parent(vec![])], &["buttons[0].kind"]),
        (
            vec![json!({"name": "小程序", "kind": "other", "wechat_type": "miniprogram"})],
            &["buttons[0].kind"],
        ),
        (
            vec![click("六个汉字名称", ""), view("ok", "ftp://x")],
            &["buttons[0].name", "buttons[0].key", "buttons[1].url"],
        ),
    ];
    for (buttons, fields) in cases {
        let (status, err) = publish(&app, &admin, json!({ "buttons": buttons })).await;
        assert_eq!(
            (status, err["code"].as_str()),
            (422, Some("validation_failed")),
            "{buttons:?}: {err}"
        );
        let named: Vec<&str> = err["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .filter_map(|f| f["field"].as_str())
            .collect();
        assert_eq!(named, fields, "{buttons:?}: {err}");
        assert_eq!(held(&pool).await, before, "{buttons:?} changed the menu");
    }
    // Exactly at the limits is fine: 5 Chinese characters (15 bytes), 20 below (60 bytes),
    // a 128-byte key, a 1024-byte link.
    let edge = json!({"buttons": [
        click("我的推广码", &"K".repeat(128)),
        parent(vec![view(&"页".repeat(20), &format!("https://a.example/{}", "p".repeat(1006))); 5]),
    ]});
    let (status, ok) = publish(&app, &admin, edge).await;
    assert_eq!(status, 200, "{ok}");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_simulated_wechat_refuses_menus_with_wechats_errcodes(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let token = token(&app).await;
    let create = |body: String| {
        let (app, token) = (&app, &token);
        async move {
            let answer: Value = app
                .client
                .post(app.url("/sandbox/wx/cgi-bin/menu/create"))
                .query(&[("access_token", token)])
                .body(body)
                .send()
                .await
                .expect("menu/create")
                .json()
                .await
                .expect("json");
            answer["errcode"].as_i64().expect("errcode")
        }
    };
    let click = json!({"type": "click", "name": "码", "key": "K"});
    let cases: Vec<(Value, i64)> = vec![
        (json!({"button": []}), 40016),
        (json!({"button": [click, click, click, click]}), 40016),
        (
            json!({"button": [{"type": "teleport", "name": "x"}]}),
            40017,
        ),
        (json!({"button": [{"name": "x"}]}), 40017),
        (
            json!({"button": [{"type": "click", "name": "太长的菜单名称", "key": "K"}]}),
            40018,
        ),
        (
            json!({"button": [{"type": "click", "name": "x", "key": ""}]}),
            40019,
        ),
        (
            json!({"button": [{"type": "view", "name": "x", "url": "https://a.example/".to_owned() + &"p".repeat(1007)}]}),
            40020,
        ),
        (
            json!({"button": [{"name": "x", "sub_button": [click, click, click, click, click, click]}]}),
            40023,
        ),
        (
            json!({"button": [{"name": "x", "sub_button": [{"type": "click", "name": "子".repeat(21), "key": "K"}]}]}),
            40025,
        ),
        (
            json!({"button": [{"name": "x", "sub_button": [{"type": "view", "name": "y", "url": "nope"}]}]}),
            40054,
        ),
        (
            json!({"button": [{"type": "view", "name": "x", "url": "nope"}]}),
            40055,
        ),
        (json!({"button": "not a list"}), 47001),
    ];
    for (body, errcode) in cases {
        assert_eq!(create(body.to_string()).await, errcode, "{body}");
    }
    assert_eq!(create("not json".into()).await, 47001);
    assert_eq!(held(&pool).await, None, "nothing refused was kept");
    assert_eq!(create(json!({"button": [click]}).to_string()).await, 0);
    assert!(held(&pool).await.is_some());

    // Our client refuses a breach before sending it.
    let api = app.state.accounts.api(1).await.expect("api");
    let bad = Menu {
        button: vec![Button::click("六个汉字名称", "K")],
    };
    let refused = api.menu_create(&bad).await.expect_err("refused");
    assert!(
        matches!(&refused, ApiError::Invalid(m) if m.contains("40018")),
        "{refused:?}"
    );
    assert_eq!(
        api.menu_get().await.expect("get"),
        Some(Menu {
            button: vec![Button::click("码", "K")]
        }),
        "the held menu is untouched"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn wechats_refusals_show_their_errcode(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let (_, page) = sfn(&app, &admin, "/sfn/menu/load", None).await;
    // An unverified subscription account may not use the menu API (48001).
    app.state.sandbox_faults.add(&Fault {
        endpoint: "menu/create".into(),
        errcode: Some(48001),
        ..Fault::default()
    });
    let (status, err) = publish(&app, &admin, ready_menu(&page)).await;
    assert_eq!(
        (status, err["code"].as_str()),
        (502, Some("wechat_error")),
        "{err}"
    );
    let message = err["message"].as_str().expect("message");
    assert!(message.contains("errcode 48001"), "{message}");
    assert_eq!(held(&pool).await, None);
    // The live menu cannot be read: the page says why instead of showing "no menu".
    app.state.sandbox_faults.add(&Fault {
        endpoint: "menu/get".into(),
        errcode: Some(40164),
        ..Fault::default()
    });
    let (status, page) = sfn(&app, &admin, "/sfn/menu/load", None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["live"], Value::Null);
    let why = page["live_error"].as_str().expect("live_error");
    assert!(
        why.contains("errcode 40164") && why.contains("白名单"),
        "{why}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn only_admins_manage_the_menu(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = signed_in(&pool, Role::Admin).await;
    let (_, page) = sfn(&app, &admin, "/sfn/menu/load", None).await;
    for role in [Role::Manager, Role::Staff] {
        let cookie = signed_in(&pool, role).await;
        for (path, body) in [
            ("/sfn/menu/load", None),
            (
                "/sfn/menu/publish",
                Some(json!({"menu": ready_menu(&page)})),
            ),
            ("/sfn/menu/delete", None),
        ] {
            let (status, err) = sfn(&app, &cookie, path, body).await;
            assert_eq!(
                (status, err["code"].as_str()),
                (403, Some("forbidden")),
                "{path} as {role}: {err}"
            );
        }
    }
    assert_eq!(held(&pool).await, None);
    let audit: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action like 'menu.%'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(audit, 0);
}
