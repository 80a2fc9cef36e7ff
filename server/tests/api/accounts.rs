//! Several Official Accounts in one server: each receives signed callbacks on its own URL
//! (one in plaintext, one in safe mode), greets with its own templates, and shows only its own
//! referrers, codes, leaderboards and exports, through REST and server functions alike.

use app::model::AccountInput;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tuijian::referral::actor::Actor;
use tuijian::referral::roles::Role;
use tuijian::referral::{accounts, settings, tokens, users};
use tuijian::sandbox::simulate;
use tuijian::wechat::signature::sign;

use crate::common::{TestApp, settings, spawn_app, spawn_app_with};

const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

/// A second, safe-mode sandbox account with its own greeting for referred follows.
async fn second_account(app: &TestApp) -> i64 {
    let pool = &app.state.pool;
    let view = accounts::create(
        pool,
        &app.state.accounts,
        &Actor::cli(1),
        &AccountInput {
            name: "华南分店".into(),
            token: Some("southToken2026".into()),
            encoding_aes_key: Some(AES_KEY.into()),
            ..AccountInput::default()
        },
        tuijian::accounts::Mode::Sandbox,
    )
    .await
    .expect("second account");
    assert_eq!(view.callback_path, format!("/wechat/callback/{}", view.id));
    assert!(view.safe_mode && !view.appsecret_set);
    settings::save_greeting(
        pool,
        &Actor::cli(view.id),
        "referred",
        "华南分店欢迎您！推荐人：{referrer}",
    )
    .await
    .expect("greeting");
    view.id
}

async fn rest(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, app.url(&format!("/api/v1{path}")))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A referrer with a permanent code in an account, through that account's REST routes.
async fn referrer_with_code(app: &TestApp, prefix: &str, token: &str, name: &str) -> (i64, i64) {
    let (status, r) = rest(
        app,
        reqwest::Method::POST,
        &format!("{prefix}/referrers"),
        token,
        Some(json!({ "name": name })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    let id = r["id"].as_i64().expect("id");
    let (status, code) = rest(
        app,
        reqwest::Method::POST,
        &format!("{prefix}/referrers/{id}/qrcodes"),
        token,
        Some(json!({ "kind": "permanent" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{code}");
    (id, code["id"].as_i64().expect("code id"))
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_owned())
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn two_accounts_have_their_own_callbacks_greetings_and_data(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let south = second_account(&app).await;
    let first_token = tokens::mint(&pool, 1, "hq", Role::Manager)
        .await
        .expect("t1");
    let south_token = tokens::mint(&pool, south, "south", Role::Manager)
        .await
        .expect("t2");
    let south_path = format!("/accounts/{south}");
    let (_, hq_code) = referrer_with_code(&app, "", &first_token, "总部张三").await;
    let (_, south_code) = referrer_with_code(&app, &south_path, &south_token, "南区李四").await;

    // Each account's users follow through its own code; the simulator signs with each
    // account's Token and posts to its own URL (the second one encrypted).
    let hq_sim = app.state.sim_for(Some(1)).await.expect("first account");
    assert!(!hq_sim.callback.safe_mode());
    let hq = simulate::scan(&hq_sim, hq_code, "alice")
        .await
        .expect("scan");
    assert_eq!(hq.status, 200);
    assert_eq!(
        hq.reply.as_deref(),
        Some("欢迎关注！您是总部张三推荐的客户。")
    );
    let south_sim = app
        .state
        .sim_for(Some(south))
        .await
        .expect("second account");
    assert!(south_sim.callback.safe_mode());
    let s = simulate::scan(&south_sim, south_code, "alice")
        .await
        .expect("scan");
    assert_eq!(s.status, 200);
    assert_eq!(s.reply.as_deref(), Some("华南分店欢迎您！推荐人：南区李四"));
    // A code of the other account is unknown here.
    let crossed = simulate::scan(&south_sim, hq_code, "bob").await;
    assert!(
        crossed.is_err(),
        "account 1's code is not one of account 2's"
    );

    // The second account's URL checks its own Token: one signed with the first's is refused.
    let (timestamp, nonce) = ("1700000000", "42");
    for (token, expected) in [("tuijian-sandbox", 401), ("southToken2026", 200)] {
        let signature = sign(&[token, timestamp, nonce]);
        let resp = app
            .client
            .get(app.url(&format!(
                "/wechat/callback/{south}?signature={signature}&timestamp={timestamp}&nonce={nonce}&echostr=hi"
            )))
            .send()
            .await
            .expect("url check");
        assert_eq!(resp.status().as_u16(), expected, "signed with {token}");
    }
    let unknown = app
        .client
        .post(app.url("/wechat/callback/999?signature=x&timestamp=1&nonce=1"))
        .body("<xml/>")
        .send()
        .await
        .expect("unknown account");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);

    // REST: each token sees its own account only.
    let (status, own) = rest(
        &app,
        reqwest::Method::GET,
        &format!("{south_path}/referrers"),
        &south_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&own["items"]), ["南区李四"]);
    let (status, hq_list) =
        rest(&app, reqwest::Method::GET, "/referrers", &first_token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&hq_list["items"]), ["总部张三"]);
    for (path, token) in [
        (format!("{south_path}/referrers"), &first_token),
        ("/referrers".to_owned(), &south_token),
        ("/accounts/1/leaderboard".to_owned(), &south_token),
    ] {
        let (status, err) = rest(&app, reqwest::Method::GET, &path, token, None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {err}");
    }
    let (status, board) = rest(
        &app,
        reqwest::Method::GET,
        &format!("{south_path}/leaderboard"),
        &south_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&board["items"]), ["南区李四"]);
    assert_eq!(board["items"][0]["follows"], 1);
    // A code of the other account is not found through this account's routes.
    let (status, _) = rest(
        &app,
        reqwest::Method::GET,
        &format!("{south_path}/qrcodes/{hq_code}"),
        &south_token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let csv = app
        .client
        .get(app.url(&format!("/api/v1{south_path}/referrals.csv")))
        .bearer_auth(&south_token)
        .send()
        .await
        .expect("csv")
        .text()
        .await
        .expect("csv body");
    assert!(
        csv.contains("南区李四") && !csv.contains("总部张三"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 2, "header and one referral: {csv}");

    // The follow-ups ran against each account's own (simulated) WeChat API: every job done,
    // each follower looked up in its own account.
    crate::common::settle_jobs(&pool).await;
    let jobs: Vec<(i64, String)> =
        sqlx::query_as("select account_id, status from outbox order by account_id, id")
            .fetch_all(&pool)
            .await
            .expect("jobs");
    assert_eq!(jobs, [(1, "done".to_owned()), (south, "done".to_owned())]);
    let tokens_per_account: Vec<i64> =
        sqlx::query_scalar("select account_id from sandbox_token group by account_id order by 1")
            .fetch_all(&pool)
            .await
            .expect("tokens");
    assert_eq!(tokens_per_account, [1, south]);

    // The catalog of referrals agrees: one per account, each in its own.
    let per_account: Vec<(i64, i64)> = sqlx::query_as(
        "select account_id, count(*) from referral group by account_id order by account_id",
    )
    .fetch_all(&pool)
    .await
    .expect("referrals");
    assert_eq!(per_account, [(1, 1), (south, 1)]);
}

async fn sfn(app: &TestApp, path: &str, body: &str, cookie: &str) -> (u16, Value) {
    let resp = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .body(body.to_owned())
        .send()
        .await
        .expect("server function");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn login(pool: &PgPool, username: &str) -> String {
    let (_, cookie) = users::login(pool, 1, username, "password-123")
        .await
        .expect("login");
    format!("tj_session={cookie}")
}

#[sqlx::test(migrations = "../migrations")]
async fn a_user_with_a_role_in_one_account_sees_only_that_account(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let south = second_account(&app).await;
    let south_token = tokens::mint(&pool, south, "south", Role::Staff)
        .await
        .expect("token");
    referrer_with_code(
        &app,
        &format!("/accounts/{south}"),
        &south_token,
        "南区李四",
    )
    .await;
    let hq_token = tokens::mint(&pool, 1, "hq", Role::Staff)
        .await
        .expect("token");
    referrer_with_code(&app, "", &hq_token, "总部张三").await;

    // bee works only in the second account: her session opens there.
    users::create_user(&pool, south, "bee", "password-123", Role::Manager)
        .await
        .expect("bee");
    let bee = login(&pool, "bee").await;
    let (status, list) = sfn(
        &app,
        "/sfn/referrers/list",
        "query[page]=1&query[archived]=false",
        &bee,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(names(&list["items"]), ["南区李四"]);
    let (status, board) = sfn(&app, "/sfn/reports/leaderboard", "query[period]=all", &bee).await;
    assert_eq!(status, 200, "{board}");
    assert!(
        board
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| r["name"] == "南区李四")
    );
    let (status, mine) = sfn(&app, "/sfn/accounts/mine", "", &bee).await;
    assert_eq!(status, 200);
    assert_eq!(mine.as_array().map(Vec::len), Some(1), "{mine}");
    assert_eq!(mine[0]["name"], "华南分店");
    // She cannot switch to, or read through the API, an account she has no role in.
    let (status, err) = sfn(&app, "/sfn/accounts/switch", "account_id=1", &bee).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("not_found")));
    let resp = app
        .client
        .get(app.url("/api/v1/accounts/1/referrers"))
        .header("cookie", &bee)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    // Her dashboard pages show her account's referrers only.
    let (status, html) = crate::skeleton::page_html(&app, &bee, "/referrers").await;
    assert_eq!(status, 200);
    assert!(html.contains("南区李四") && !html.contains("总部张三"));

    // An admin of both switches between them; each list is that account's.
    users::create_user(&pool, 1, "boss", "password-123", Role::Admin)
        .await
        .expect("boss");
    users::create_user(&pool, south, "boss", "password-123", Role::Staff)
        .await
        .expect("boss in the second account");
    let boss = login(&pool, "boss").await;
    let (_, mine) = sfn(&app, "/sfn/accounts/mine", "", &boss).await;
    let roles: Vec<(&str, &str, bool)> = mine
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().expect("name"),
                a["role"].as_str().expect("role"),
                a["current"].as_bool().expect("current"),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [("默认公众号", "Admin", true), ("华南分店", "Staff", false)]
    );
    let (_, list) = sfn(
        &app,
        "/sfn/referrers/list",
        "query[page]=1&query[archived]=false",
        &boss,
    )
    .await;
    assert_eq!(names(&list["items"]), ["总部张三"]);
    let (status, user) = sfn(
        &app,
        "/sfn/accounts/switch",
        &format!("account_id={south}"),
        &boss,
    )
    .await;
    assert_eq!(status, 200, "{user}");
    assert_eq!(
        (user["account_id"].as_i64(), user["role"].as_str()),
        (Some(south), Some("Staff"))
    );
    let (_, list) = sfn(
        &app,
        "/sfn/referrers/list",
        "query[page]=1&query[archived]=false",
        &boss,
    )
    .await;
    assert_eq!(names(&list["items"]), ["南区李四"]);
    // There they are staff: the settings (admin) are refused.
    let (status, err) = sfn(&app, "/sfn/settings/load", "", &boss).await;
    assert_eq!((status, err["code"].as_str()), (403, Some("forbidden")));
}

#[sqlx::test(migrations = "../migrations")]
async fn accounts_are_validated_and_secrets_never_come_back(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = crate::skeleton::signed_in(&pool, Role::Admin).await;
    // Refused input changes nothing and names each field.
    let (status, err) = sfn(
        &app,
        "/sfn/accounts/create",
        "input[name]=&input[mode]=live&input[appid]=nope&input[encoding_aes_key]=short",
        &admin,
    )
    .await;
    assert_eq!(status, 422, "{err}");
    let fields: Vec<&str> = err["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().expect("field"))
        .collect();
    assert_eq!(
        fields,
        ["name", "appid", "encoding_aes_key", "token", "appsecret"]
    );
    let count: i64 = sqlx::query_scalar("select count(*) from account")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(count, 1);

    // A live account: refused while PUBLIC_URL is unset (the server would not start again)...
    let secret = "0123456789abcdef0123456789abcdef";
    let live = format!(
        "input[name]=品牌号&input[mode]=live&input[appid]=wx49f0ab532d5d035a&input[token]=brandToken&input[appsecret]={secret}&input[original_id]=gh_0123456789ab"
    );
    let (status, err) = sfn(&app, "/sfn/accounts/create", &live, &admin).await;
    assert_eq!(status, 422, "{err}");
    assert_eq!(err["fields"][0]["field"], "mode", "{err}");
    // ... and, with it set, its AppSecret is stored and never shown.
    let app = spawn_app_with(
        pool.clone(),
        settings(&[("PUBLIC_URL", "https://tuijian.example.com")]),
    )
    .await;
    let (status, view) = sfn(
        &app,
        "/sfn/accounts/create",
        &format!(
            "input[name]=品牌号&input[mode]=live&input[appid]=wx49f0ab532d5d035a&input[token]=brandToken&input[appsecret]={secret}&input[original_id]=gh_0123456789ab"
        ),
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["mode"], "Live");
    assert_eq!(view["appsecret_set"], true);
    assert!(!view.to_string().contains(secret) && !view.to_string().contains("brandToken"));
    let id = view["id"].as_i64().expect("id");
    // The same AppID twice is a conflict.
    let (status, err) = sfn(
        &app,
        "/sfn/accounts/create",
        &format!("input[name]=again&input[mode]=live&input[appid]=wx49f0ab532d5d035a&input[token]=brandToken&input[appsecret]={secret}"),
        &admin,
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("appid_taken")));
    // Its creator administers it: the settings show it, without secrets.
    let (_, settings) = sfn(&app, "/sfn/settings/load", "", &admin).await;
    let listed: Vec<i64> = settings["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["id"].as_i64().expect("id"))
        .collect();
    assert_eq!(listed, [1, id]);
    assert!(!settings.to_string().contains(secret));
    let (status, _) = sfn(
        &app,
        "/sfn/accounts/switch",
        &format!("account_id={id}"),
        &admin,
    )
    .await;
    assert_eq!(status, 200);
    // In the live account the header says so, and there is no sandbox panel to play it.
    let (_, mine) = sfn(&app, "/sfn/accounts/mine", "", &admin).await;
    let current: Vec<&Value> = mine
        .as_array()
        .expect("accounts")
        .iter()
        .filter(|a| a["current"] == true)
        .collect();
    assert_eq!(current.len(), 1);
    assert_eq!(
        (current[0]["id"].as_i64(), current[0]["mode"].as_str()),
        (Some(id), Some("Live"))
    );
    let (_, html) = crate::skeleton::page_html(&app, &admin, "/").await;
    assert!(
        html.contains("正式模式") && !html.contains("nav-sandbox"),
        "{html}"
    );
    assert!(html.contains("品牌号"), "the header names the account");
    // An edit that leaves the secret empty keeps it; the first account keeps its WeChat
    // settings (they follow the environment).
    let (status, view) = sfn(
        &app,
        "/sfn/accounts/update",
        "input[name]=品牌号二&input[appid]=wx49f0ab532d5d035a&input[token]=brandToken2",
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(
        (view["name"].as_str(), view["appsecret_set"].as_bool()),
        (Some("品牌号二"), Some(true))
    );
    let stored: Option<String> = sqlx::query_scalar("select appsecret from account where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .expect("secret");
    assert_eq!(stored.as_deref(), Some(secret));
    let (_, _) = sfn(&app, "/sfn/accounts/switch", "account_id=1", &admin).await;
    let (status, view) = sfn(
        &app,
        "/sfn/accounts/update",
        "input[name]=总部&input[token]=changedToken",
        &admin,
    )
    .await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["name"], "总部");
    let token: Option<String> = sqlx::query_scalar("select token from account where id = 1")
        .fetch_one(&pool)
        .await
        .expect("token");
    assert_eq!(token.as_deref(), Some(tuijian::config::SANDBOX_TOKEN));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_member_of_the_second_account_reaches_their_page_through_its_web_authorization(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let south = second_account(&app).await;
    let sim = app
        .state
        .sim_for(Some(south))
        .await
        .expect("second account");
    simulate::follow(&sim, "mia").await.expect("follow");
    let asked = simulate::text(&sim, "mia", "推广码").await.expect("ask");
    assert_eq!(asked.status, 200);
    let token: String = sqlx::query_scalar(
        "select member_token from referrer where account_id = $1 and kind = 'member'",
    )
    .bind(south)
    .fetch_one(&pool)
    .await
    .expect("mia is a member of the second account");
    let (done, _, _) = crate::members::authorize_at(
        &app,
        &format!("/m/a/{south}"),
        &format!("/m/oauth/callback/{south}"),
        "mia",
    )
    .await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], format!("/m/{token}").as_str());
    // The first account's entry does not know her: she is a member of the second one only.
    let (elsewhere, _, _) = crate::members::authorize_as(&app, "mia").await;
    assert_eq!(elsewhere.status(), StatusCode::OK);
    assert!(
        elsewhere
            .text()
            .await
            .expect("html")
            .contains("还没有推广码")
    );
    let unknown = app
        .client
        .get(app.url("/m/a/999"))
        .send()
        .await
        .expect("unknown");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}
