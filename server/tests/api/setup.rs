//! Going live: the setup page's checks and `tuijian doctor` report each misconfiguration with
//! its fix. "WeChat" is a second app in sandbox mode; the app under test is live against it
//! (`WECHAT_API_BASE`), with its own database, as a business's server would be.

use serde_json::Value;
use sqlx::PgPool;
use tuijian::referral::roles::Role;
use tuijian::sandbox::SANDBOX_SECRET;
use tuijian::sandbox::faults::Fault;
use tuijian::wechat::signature::sign;

use crate::common::{TestApp, eventually, settings, spawn_app, spawn_app_with};

const TOKEN: &str = "liveCallbackToken";

/// The live app's environment: `secret` as the AppSecret, `public_url` as `PUBLIC_URL`.
fn live_env(wechat: &TestApp, secret: &str, public_url: &str) -> Vec<(String, String)> {
    [
        ("WECHAT_APPID", tuijian::config::SANDBOX_APPID),
        ("WECHAT_APPSECRET", secret),
        ("WECHAT_TOKEN", TOKEN),
        ("WECHAT_API_BASE", &wechat.url("/sandbox/wx")),
        ("PUBLIC_URL", public_url),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn live_app(pool: &PgPool, env: &[(String, String)]) -> TestApp {
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    spawn_app_with(pool.clone(), settings(&vars)).await
}

/// The setup report as the dashboard loads it.
async fn report(app: &TestApp, cookie: &str) -> Value {
    let resp = app
        .client
        .post(app.url("/sfn/setup/load"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .send()
        .await
        .expect("setup/load");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("report")
}

fn check<'a>(report: &'a Value, kind: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} check in {report}"))
}

/// `(state, fix)` of a check.
fn finding(report: &Value, kind: &str) -> (String, String) {
    let c = check(report, kind);
    (
        c["state"].as_str().expect("state").to_owned(),
        c["fix"]["fix"].as_str().unwrap_or("-").to_owned(),
    )
}

/// WeChat's check of the callback URL, signed with `token`.
async fn url_check(app: &TestApp, token: &str) -> reqwest::StatusCode {
    // WeChat's checks carry a fresh timestamp (a stale refusal is not noted).
    let timestamp = chrono::Utc::now().timestamp().to_string();
    let (timestamp, nonce) = (timestamp.as_str(), "4242");
    let signature = sign(&[token, timestamp, nonce]);
    app.client
        .get(app.url(&format!(
            "/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}&echostr=e1"
        )))
        .send()
        .await
        .expect("url check")
        .status()
}

/// `tuijian doctor` against `database_url` with `env`: its exit status and output. (Waited
/// for asynchronously: the test's runtime goes on serving "WeChat" meanwhile.)
async fn doctor(database_url: &str, env: &[(String, String)]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tuijian"))
        .arg("doctor")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "error")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .await
        .expect("run tuijian doctor");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The URL of `pool`'s database, from the test cluster's `DATABASE_URL`.
pub fn url_of(pool: &PgPool) -> String {
    let admin = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (base, query) = admin.split_once('?').unwrap_or((&admin, ""));
    let (server, _) = base.rsplit_once('/').expect("a database in DATABASE_URL");
    let name = pool
        .connect_options()
        .get_database()
        .expect("database")
        .to_owned();
    format!("{server}/{name}?{query}")
}

#[sqlx::test(migrations = "../migrations")]
async fn setup_checks_and_the_doctor_name_each_misconfiguration_and_its_fix(pool: PgPool) {
    let wechat = spawn_app(pool.clone()).await;
    let live_pool = crate::secrets::second_database(&pool).await;
    let database_url = url_of(&live_pool);
    let admin = crate::skeleton::signed_in(&live_pool, Role::Admin).await;

    // Planted: an AppSecret WeChat refuses, and PUBLIC_URL an IP address over plain http.
    let env = live_env(&wechat, "Wr0ngS3cretWr0ngS3cret00", "http://203.0.113.9");
    let app = live_app(&live_pool, &env).await;
    let r = report(&app, &admin).await;
    assert_eq!(r["mode"], "Live", "{r}");
    assert_eq!(r["callback_url"], "http://203.0.113.9/wechat/callback");
    assert_eq!(
        finding(&r, "public_url"),
        ("fail".into(), "use_domain".into())
    );
    assert_eq!(
        finding(&r, "access_token"),
        ("fail".into(), "reset_secret_env".into())
    );
    assert_eq!(check(&r, "access_token")["errcode"], 40125);
    assert_eq!(
        finding(&r, "callback_verified"),
        ("fail".into(), "submit_server_config".into())
    );
    assert_eq!(
        finding(&r, "last_callback"),
        ("warn".into(), "send_test_message".into())
    );
    assert!(!r.to_string().contains("Wr0ngS3cret"), "no secret in {r}");
    assert!(!r.to_string().contains(TOKEN), "no Token in {r}");
    // The doctor says the same, with the fix, and fails.
    let (ok, out) = doctor(&database_url, &env).await;
    assert!(!ok, "{out}");
    assert!(
        out.contains("[fail] access_token      errcode 40125"),
        "{out}"
    );
    assert!(
        out.contains("fix: The AppSecret is wrong or was reset: reset it under 基本配置, put the new one in WECHAT_APPSECRET"),
        "{out}"
    );
    assert!(
        out.contains("fix: PUBLIC_URL must be a (registered) domain name"),
        "{out}"
    );

    // Without PUBLIC_URL (a live server would not even start): the doctor says what to set.
    let unset: Vec<(String, String)> = env
        .iter()
        .filter(|(k, _)| k != "PUBLIC_URL")
        .cloned()
        .collect();
    let (ok, out) = doctor(&database_url, &unset).await;
    assert!(!ok, "{out}");
    assert!(out.contains("[fail] public_url        not set"), "{out}");
    assert!(
        out.contains("fix: Set the PUBLIC_URL environment variable"),
        "{out}"
    );

    // WeChat checks the URL with another Token: the page says the Tokens differ.
    assert_eq!(url_check(&app, "someOtherToken").await, 401);
    let r = eventually(10, || async {
        let r = report(&app, &admin).await;
        (finding(&r, "callback_verified").1 == "token_mismatch").then_some(r)
    })
    .await;
    assert_eq!(check(&r, "callback_verified")["state"], "fail");

    // Not on the IP allowlist: WeChat's message names the address, the fix repeats it.
    wechat.state.sandbox_faults.add(&Fault {
        endpoint: "stable_token".into(),
        errcode: Some(40164),
        count: Some(2),
        latency_ms: None,
    });
    let r = report(&app, &admin).await;
    assert_eq!(check(&r, "access_token")["errcode"], 40164);
    assert_eq!(check(&r, "access_token")["fix"]["fix"], "allowlist_ip");
    assert_eq!(check(&r, "access_token")["fix"]["ip"], "127.0.0.1");
    assert_eq!(r["outbound_ip"], "127.0.0.1");
    let (ok, out) = doctor(&database_url, &env).await;
    assert!(!ok, "{out}");
    assert!(out.contains("errcode 40164"), "{out}");
    assert!(
        out.contains("outbound IP address (WeChat saw 127.0.0.1)"),
        "{out}"
    );

    // Fixed and restarted: the right secret, an https domain, the URL verified by WeChat and a
    // message received. Warnings (plaintext mode) do not fail the doctor.
    drop(app);
    let env = live_env(&wechat, SANDBOX_SECRET, "https://tuijian.example.com");
    let app = live_app(&live_pool, &env).await;
    assert_eq!(url_check(&app, TOKEN).await, 200);
    let text = "<xml><ToUserName><![CDATA[gh_live]]></ToUserName>\
        <FromUserName><![CDATA[oLIVE1]]></FromUserName><CreateTime>1700000001</CreateTime>\
        <MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>\
        <MsgId>1</MsgId></xml>";
    let (timestamp, nonce) = ("1700000001", "77");
    let signature = sign(&[TOKEN, timestamp, nonce]);
    let resp = app
        .client
        .post(app.url(&format!(
            "/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}"
        )))
        .body(text)
        .send()
        .await
        .expect("callback");
    assert_eq!(resp.status(), 200);
    let r = eventually(10, || async {
        let r = report(&app, &admin).await;
        (check(&r, "callback_verified")["state"] == "ok").then_some(r)
    })
    .await;
    for kind in ["public_url", "access_token", "last_callback"] {
        assert_eq!(check(&r, kind)["state"], "ok", "{kind}: {r}");
    }
    assert_eq!(
        finding(&r, "safe_mode"),
        ("warn".into(), "enable_safe_mode".into())
    );
    assert_eq!(r["oauth_domain"], "tuijian.example.com");
    let (ok, out) = doctor(&database_url, &env).await;
    assert!(ok, "{out}");
    assert!(out.contains("[ok  ] access_token"), "{out}");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_live_server_does_not_start_without_public_url(pool: PgPool) {
    let vars = [
        ("WECHAT_APPID", "wx2c2769f8efd9abc2"),
        ("WECHAT_APPSECRET", "0123456789abcdef0123"),
        ("WECHAT_TOKEN", TOKEN),
    ];
    let addr = "127.0.0.1:0".parse().expect("addr");
    let refused = tuijian::startup::AppState::new(pool.clone(), settings(&vars), addr).await;
    let message = format!("{:#}", refused.err().expect("refused to start"));
    assert!(
        message.contains("PUBLIC_URL is required in live mode"),
        "{message}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_setup_page_is_for_admins_only(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let manager = crate::skeleton::signed_in(&pool, Role::Manager).await;
    let resp = app
        .client
        .post(app.url("/sfn/setup/load"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &manager)
        .send()
        .await
        .expect("setup/load");
    assert_eq!(resp.status(), 403);
    // An admin of the sandbox: the simulator issues tokens, so only warnings remain.
    let admin = crate::skeleton::signed_in(&pool, Role::Admin).await;
    let r = report(&app, &admin).await;
    assert_eq!(r["mode"], "Sandbox");
    assert_eq!(check(&r, "access_token")["state"], "ok", "{r}");
    assert_eq!(
        finding(&r, "public_url"),
        ("warn".into(), "set_public_url".into())
    );
    assert_eq!(r["callback_url"], app.url("/wechat/callback"));
}
