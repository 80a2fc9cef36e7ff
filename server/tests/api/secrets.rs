//! Secrets never leak: a full flow in live mode with known secret values (AppSecret, callback
//! Token, EncodingAESKey, the access token WeChat issues, an API token, a password and a
//! session), logs captured at debug level, and every log line and response body scanned.
//!
//! "WeChat" here is a second app in sandbox mode; the app under test talks to it as to the
//! real API (`WECHAT_API_BASE`), with its own database.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{Value, json};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tuijian::referral::roles::Role;
use tuijian::referral::{tokens, users};
use tuijian::sandbox::SANDBOX_SECRET;
use tuijian::wechat::crypto::MsgCrypt;
use tuijian::wechat::signature::sign;

use crate::common::{TestApp, settings, settle_jobs, spawn_app, spawn_app_with};

const TOKEN: &str = "cbTokenS3cr3tValue";
const AES_KEY: &str = "S3cr3tAesKeyS3cr3tAesKeyS3cr3tAesKeyS3cr3tK";
const PASSWORD: &str = "pw-S3cr3t-horse-battery";
const WRONG_PASSWORD: &str = "pw-Wr0ng-S3cr3t-guess";

/// A `Write` into a shared buffer, for the log subscriber.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")).into_owned()
    }
}

/// Every log line of this test process from the first call on, at debug level. The capture is
/// the global subscriber: a thread-scoped one (`set_default`) misses events whose callsite
/// interest another test thread cached first, which made this test flaky under load. Other
/// tests' lines land here too, so their leaks would be caught as well.
fn captured_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug,sqlx=info"))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        logs
    })
    .clone()
}

/// A second, freshly migrated database in the same cluster as `pool`.
pub async fn second_database(pool: &PgPool) -> PgPool {
    let name = format!("secrets_live_{}", rand::random::<u32>());
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(pool)
        .await
        .expect("create database");
    let options = pool.connect_options().as_ref().clone().database(&name);
    let live = PgPoolOptions::new()
        .max_connections(5)
        .connect_with(options)
        .await
        .expect("connect");
    tuijian::db::migrate(&live).await.expect("migrate");
    live
}

async fn body(resp: reqwest::Response, bodies: &mut Vec<String>) -> Value {
    let text = resp.text().await.expect("body");
    bodies.push(text.clone());
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn callback(app: &TestApp, xml: &str, bodies: &mut Vec<String>) -> String {
    let crypt = MsgCrypt::new(AES_KEY, tuijian::config::SANDBOX_APPID).expect("key");
    let (timestamp, nonce) = ("1700000000", "31337");
    let encrypt = crypt.encrypt(xml);
    let signature = sign(&[TOKEN, timestamp, nonce]);
    let msg_signature = sign(&[TOKEN, timestamp, nonce, &encrypt]);
    let url = app.url(&format!(
        "/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}\
         &encrypt_type=aes&msg_signature={msg_signature}"
    ));
    let envelope = format!("<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>");
    let text = app
        .client
        .post(url)
        .body(envelope)
        .send()
        .await
        .expect("callback")
        .text()
        .await
        .expect("reply");
    bodies.push(text.clone());
    text
}

#[sqlx::test(migrations = "../migrations")]
async fn secrets_never_appear_in_logs_or_responses(pool: PgPool) {
    let logs = captured_logs();
    // "WeChat": the sandbox of another app. The app under test: live mode against it.
    let wechat = spawn_app(pool.clone()).await;
    let live_pool = second_database(&pool).await;
    let app = spawn_app_with(
        live_pool.clone(),
        settings(&[
            ("WECHAT_APPID", tuijian::config::SANDBOX_APPID),
            ("WECHAT_APPSECRET", SANDBOX_SECRET),
            ("WECHAT_TOKEN", TOKEN),
            ("WECHAT_ENCODING_AES_KEY", AES_KEY),
            ("WECHAT_API_BASE", &wechat.url("/sandbox/wx")),
            ("PUBLIC_URL", "https://tuijian.example.com"),
        ]),
    )
    .await;
    let mut bodies = Vec::new();

    users::create_user(&live_pool, 1, "boss", PASSWORD, Role::Admin)
        .await
        .expect("admin");
    let api_token = tokens::mint(&live_pool, 1, "integration", Role::Admin)
        .await
        .expect("token");

    // Referrer and code through the REST API (the code is made by "WeChat").
    let created = app
        .client
        .post(app.url("/api/v1/referrers"))
        .bearer_auth(&api_token)
        .json(&json!({"name": "张三", "openid": "oSBX_zhang"}))
        .send()
        .await
        .expect("create");
    let referrer = body(created, &mut bodies).await;
    let id = referrer["id"].as_i64().expect("referrer id");
    let code = app
        .client
        .post(app.url(&format!("/api/v1/referrers/{id}/qrcodes")))
        .bearer_auth(&api_token)
        .json(&json!({"kind": "permanent"}))
        .send()
        .await
        .expect("code");
    let code = body(code, &mut bodies).await;
    let scene = code["scene"].as_str().expect("scene").to_owned();

    // The follow arrives encrypted; the outbox then calls user/info and notifies the referrer.
    let sim = wechat.state.sim();
    for user in ["zhang", "li"] {
        let openid = format!("oSBX_{user}");
        tuijian::db::sandbox::ensure_user(
            &wechat.state.pool,
            wechat.state.account_id,
            &openid,
            user,
        )
        .await
        .expect("sim user");
    }
    tuijian::db::sandbox::record_follow(
        &wechat.state.pool,
        wechat.state.account_id,
        "oSBX_li",
        Some(&scene),
    )
    .await
    .expect("follow");
    drop(sim);
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_live]]></ToUserName>\
         <FromUserName><![CDATA[oSBX_li]]></FromUserName><CreateTime>1700000000</CreateTime>\
         <MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>\
         <EventKey><![CDATA[qrscene_{scene}]]></EventKey></xml>"
    );
    let reply = callback(&app, &xml, &mut bodies).await;
    assert!(reply.contains("<Encrypt>"), "{reply}");
    settle_jobs(&live_pool).await;

    // A failed and a good dashboard login, then what an admin can read.
    for password in [WRONG_PASSWORD, PASSWORD] {
        let resp = app
            .client
            .post(app.url("/sfn/login"))
            .form(&[("username", "boss"), ("password", password)])
            .send()
            .await
            .expect("login");
        let cookie = resp
            .headers()
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or_default().to_owned());
        body(resp, &mut bodies).await;
        if let Some(cookie) = cookie {
            let settings = app
                .client
                .post(app.url("/sfn/settings/load"))
                .header("cookie", &cookie)
                .send()
                .await
                .expect("settings");
            let settings = body(settings, &mut bodies).await;
            assert_eq!(settings["wechat"]["appsecret_set"], true, "{settings}");
            let session = cookie.split_once('=').map(|(_, v)| v.to_owned());
            let logs_now = logs.text();
            if let Some(session) = session {
                assert!(
                    !logs_now.contains(&session),
                    "the session cookie was logged"
                );
            }
        }
    }
    for path in ["/api/v1/referrers", "/api/v1/openapi.json", "/healthz"] {
        let resp = app
            .client
            .get(app.url(path))
            .bearer_auth(&api_token)
            .send()
            .await
            .expect("read");
        body(resp, &mut bodies).await;
    }

    let issued: Vec<String> = sqlx::query_scalar("select token from sandbox_token")
        .fetch_all(&wechat.state.pool)
        .await
        .expect("issued tokens");
    assert!(!issued.is_empty(), "the app fetched an access token");
    let logs = logs.text();
    assert!(
        logs.contains("/wechat/callback") && logs.contains("outbox"),
        "logs were captured: {}",
        &logs[..logs.len().min(2000)]
    );
    let mut secrets: Vec<(&str, String)> = vec![
        ("AppSecret", SANDBOX_SECRET.to_owned()),
        ("callback Token", TOKEN.to_owned()),
        ("EncodingAESKey", AES_KEY.to_owned()),
        ("password", PASSWORD.to_owned()),
        ("wrong password", WRONG_PASSWORD.to_owned()),
        ("API token", api_token.clone()),
    ];
    secrets.extend(issued.into_iter().map(|t| ("access token", t)));
    for (what, secret) in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "the {what} appears in the logs"
        );
        for b in &bodies {
            assert!(
                !b.contains(secret.as_str()),
                "the {what} appears in a response: {b}"
            );
        }
    }
}
