//! `/wechat/callback` end to end against real PostgreSQL, in plaintext and safe mode.

use std::time::Duration;

use reqwest::StatusCode;
use sqlx::PgPool;
use tuijian::wechat::crypto::MsgCrypt;
use tuijian::wechat::message::parse_encrypted_reply;
use tuijian::wechat::signature::sign;

use crate::common::{TestApp, eventually, settings, spawn_app_with};

const TOKEN: &str = "test-token";
const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
const SANDBOX_APPID: &str = tuijian::config::SANDBOX_APPID;

async fn plaintext_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, settings(&[("WECHAT_TOKEN", TOKEN)])).await
}

async fn safe_app(pool: PgPool) -> TestApp {
    spawn_app_with(
        pool,
        settings(&[
            ("WECHAT_TOKEN", TOKEN),
            ("WECHAT_ENCODING_AES_KEY", AES_KEY),
        ]),
    )
    .await
}

fn subscribe_xml(openid: &str, create_time: i64, scene: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_{scene}]]></EventKey>\
         <Ticket><![CDATA[TICKET]]></Ticket></xml>"
    )
}

fn text_xml(openid: &str, msg_id: u64, content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

/// The signed query string of a plaintext callback.
fn signed_query(timestamp: &str, nonce: &str) -> String {
    let signature = sign(&[TOKEN, timestamp, nonce]);
    format!("signature={signature}&timestamp={timestamp}&nonce={nonce}&openid=x")
}

async fn post(app: &TestApp, query: &str, body: impl Into<reqwest::Body>) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/wechat/callback?{query}")))
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .expect("request")
}

async fn post_plain(app: &TestApp, xml: &str) -> reqwest::Response {
    post(app, &signed_query("1700000000", "424242"), xml.to_owned()).await
}

/// Encrypts `xml` as WeChat does in safe mode and posts it with both signatures.
async fn post_safe(app: &TestApp, crypt: &MsgCrypt, xml: &str) -> reqwest::Response {
    let (timestamp, nonce) = ("1700000001", "777");
    let encrypt = crypt.encrypt(xml);
    let msg_signature = sign(&[TOKEN, timestamp, nonce, &encrypt]);
    let query = format!(
        "{}&encrypt_type=aes&msg_signature={msg_signature}",
        signed_query(timestamp, nonce)
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_sandbox]]></ToUserName>\
         <Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    post(app, &query, body).await
}

async fn event_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from event")
        .fetch_one(pool)
        .await
        .expect("count events")
}

/// Content of a plaintext text reply.
fn reply_content(xml: &str) -> String {
    let start = xml.find("<Content><![CDATA[").expect("Content") + "<Content><![CDATA[".len();
    let end = xml[start..].find("]]></Content>").expect("Content end") + start;
    xml[start..end].to_owned()
}

#[sqlx::test(migrations = "../migrations")]
async fn url_check_echoes_echostr_for_the_official_example(pool: PgPool) {
    let app = spawn_app_with(pool, settings(&[("WECHAT_TOKEN", "AAAAA")])).await;
    let resp = app
        .client
        .get(app.url(
            "/wechat/callback?signature=f464b24fc39322e44b38aa78f5edd27bd1441696\
             &echostr=4375120948345356249&timestamp=1714036504&nonce=1514711492",
        ))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.expect("body"), "4375120948345356249");
}

#[sqlx::test(migrations = "../migrations")]
async fn url_check_refuses_forged_and_missing_signatures(pool: PgPool) {
    let app = spawn_app_with(pool, settings(&[("WECHAT_TOKEN", "AAAAA")])).await;
    let cases = [
        "signature=f464b24fc39322e44b38aa78f5edd27bd1441697&echostr=1&timestamp=1714036504&nonce=1514711492",
        "echostr=1&timestamp=1714036504&nonce=1514711492",
        "signature=f464b24fc39322e44b38aa78f5edd27bd1441696&echostr=1&nonce=1514711492",
        "signature=&echostr=1&timestamp=1714036504&nonce=1514711492",
        "",
    ];
    for query in cases {
        let resp = app
            .client
            .get(app.url(&format!("/wechat/callback?{query}")))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "query {query:?}");
        assert_ne!(resp.text().await.expect("body"), "1");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn plaintext_follow_through_a_scene_is_greeted_and_stored(pool: PgPool) {
    let app = plaintext_app(pool.clone()).await;
    let resp = post_plain(&app, &subscribe_xml("o_follower", 1700000000, "ref_1")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let xml = resp.text().await.expect("body");
    assert!(
        xml.contains("<ToUserName><![CDATA[o_follower]]></ToUserName>"),
        "{xml}"
    );
    assert!(
        xml.contains("<FromUserName><![CDATA[gh_sandbox]]></FromUserName>"),
        "{xml}"
    );
    assert!(xml.contains("<MsgType><![CDATA[text]]></MsgType>"), "{xml}");
    assert!(reply_content(&xml).starts_with("欢迎关注"), "{xml}");
    let (kind, openid, key): (String, String, Option<String>) =
        sqlx::query_as("select kind, openid, event_key from event")
            .fetch_one(&pool)
            .await
            .expect("one event");
    assert_eq!(
        (kind.as_str(), openid.as_str(), key.as_deref()),
        ("subscribe", "o_follower", Some("ref_1"))
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn messages_and_other_events_are_acknowledged_with_success(pool: PgPool) {
    let app = plaintext_app(pool.clone()).await;
    let plain_follow = "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o_a]]>\
        </FromUserName><CreateTime>1700000005</CreateTime><MsgType><![CDATA[event]]></MsgType>\
        <Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>";
    let unfollow = "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o_a]]>\
        </FromUserName><CreateTime>1700000006</CreateTime><MsgType><![CDATA[event]]></MsgType>\
        <Event><![CDATA[UNSUBSCRIBE]]></Event></xml>";
    let click = "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o_a]]>\
        </FromUserName><CreateTime>1700000007</CreateTime><MsgType><![CDATA[event]]></MsgType>\
        <Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[MENU_1]]></EventKey></xml>";
    let image = "<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[o_a]]>\
        </FromUserName><CreateTime>1700000008</CreateTime><MsgType><![CDATA[image]]></MsgType>\
        <PicUrl><![CDATA[http://x/y.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId>\
        <MsgId>99</MsgId></xml>";
    let text = text_xml("o_a", 6054768590064713728, "你好 ]]> 😀");
    let greeted = post_plain(&app, plain_follow)
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(reply_content(&greeted), "欢迎关注！");
    for xml in [unfollow, click, image, text.as_str()] {
        let resp = post_plain(&app, xml).await;
        assert_eq!(resp.status(), StatusCode::OK, "{xml}");
        assert_eq!(resp.text().await.expect("body"), "success", "{xml}");
    }
    let kinds: Vec<String> = sqlx::query_scalar("select kind from event order by id")
        .fetch_all(&pool)
        .await
        .expect("events");
    assert_eq!(
        kinds,
        ["subscribe", "unsubscribe", "other", "other", "text"]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn retried_callback_returns_the_first_reply_and_is_stored_once(pool: PgPool) {
    let app = plaintext_app(pool.clone()).await;
    let xml = subscribe_xml("o_retry", 1700000100, "ref_9");
    let first = post_plain(&app, &xml).await.text().await.expect("first");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = post_plain(&app, &xml).await.text().await.expect("second");
    assert_eq!(
        first, second,
        "a retry must get the stored reply byte for byte"
    );
    let (n, redeliveries): (i64, i32) =
        sqlx::query_as("select count(*), max(redeliveries) from event")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!((n, redeliveries), (1, 1));
}

#[sqlx::test(migrations = "../migrations")]
async fn three_concurrent_deliveries_store_one_event(pool: PgPool) {
    let app = plaintext_app(pool.clone()).await;
    let xml = subscribe_xml("o_concurrent", 1700000200, "ref_3");
    let (a, b, c) = tokio::join!(
        post_plain(&app, &xml),
        post_plain(&app, &xml),
        post_plain(&app, &xml)
    );
    let mut bodies = Vec::new();
    for resp in [a, b, c] {
        assert_eq!(resp.status(), StatusCode::OK);
        bodies.push(resp.text().await.expect("body"));
    }
    assert!(bodies.iter().all(|b| b == &bodies[0]), "{bodies:?}");
    assert!(reply_content(&bodies[0]).starts_with("欢迎关注"));
    assert_eq!(event_count(&pool).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_plaintext_input_is_refused_and_stores_nothing(pool: PgPool) {
    let app = plaintext_app(pool.clone()).await;
    let good = subscribe_xml("o_bad", 1700000300, "ref_1");
    let forged = format!(
        "signature={}&timestamp=1700000000&nonce=424242",
        sign(&["wrong-token", "1700000000", "424242"])
    );
    let xxe = "<?xml version=\"1.0\"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\
        <xml><ToUserName>gh</ToUserName><FromUserName>&xxe;</FromUserName>\
        <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>";
    let laughs = "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;&lol;&lol;\">]>\
        <xml><Content>&lol2;</Content></xml>";
    let lower_doctype = "<!doctype xml><xml></xml>";
    let huge = format!("<xml><Content>{}</Content></xml>", "a".repeat(70 * 1024));
    let valid_query = signed_query("1700000000", "424242");
    let cases: Vec<(&str, String, Vec<u8>, StatusCode)> = vec![
        ("forged signature", forged, good.clone().into_bytes(), StatusCode::UNAUTHORIZED),
        ("no signature", "timestamp=1&nonce=2".into(), good.clone().into_bytes(), StatusCode::UNAUTHORIZED),
        ("no query", String::new(), good.clone().into_bytes(), StatusCode::UNAUTHORIZED),
        ("external entity", valid_query.clone(), xxe.into(), StatusCode::BAD_REQUEST),
        ("entity expansion", valid_query.clone(), laughs.into(), StatusCode::BAD_REQUEST),
        ("lower-case doctype", valid_query.clone(), lower_doctype.into(), StatusCode::BAD_REQUEST),
        ("over 64 KiB", valid_query.clone(), huge.into_bytes(), StatusCode::PAYLOAD_TOO_LARGE),
        ("not XML", valid_query.clone(), b"hello".to_vec(), StatusCode::BAD_REQUEST),
        ("not UTF-8", valid_query.clone(), vec![0xff, 0xfe, b'<', b'x'], StatusCode::BAD_REQUEST),
        ("truncated", valid_query.clone(), good.as_bytes()[..good.len() / 2].to_vec(), StatusCode::BAD_REQUEST),
        ("no sender", valid_query.clone(), b"<xml><ToUserName>a</ToUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>".to_vec(), StatusCode::BAD_REQUEST),
        ("empty body", valid_query.clone(), Vec::new(), StatusCode::BAD_REQUEST),
        ("encrypted without a key", format!("{valid_query}&encrypt_type=aes&msg_signature=abc"), good.clone().into_bytes(), StatusCode::BAD_REQUEST),
    ];
    for (name, query, body, status) in cases {
        let resp = post(&app, &query, body).await;
        assert_eq!(resp.status(), status, "{name}");
        let text = resp.text().await.expect("body");
        assert!(
            !text.contains("success") && !text.contains("<xml>"),
            "{name}: {text}"
        );
    }
    assert_eq!(event_count(&pool).await, 0, "bad input must store nothing");
}

#[sqlx::test(migrations = "../migrations")]
async fn safe_mode_follow_gets_an_encrypted_greeting(pool: PgPool) {
    let app = safe_app(pool.clone()).await;
    let crypt = MsgCrypt::new(AES_KEY, SANDBOX_APPID).expect("key");
    let resp = post_safe(&app, &crypt, &subscribe_xml("o_safe", 1700000400, "ref_7")).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.expect("body");
    let envelope = parse_encrypted_reply(&body).expect("encrypted envelope");
    assert_eq!(
        envelope.msg_signature,
        sign(&[
            TOKEN,
            &envelope.timestamp,
            &envelope.nonce,
            &envelope.encrypt
        ]),
        "reply signature"
    );
    let xml = crypt.decrypt(&envelope.encrypt).expect("reply decrypts");
    assert!(
        xml.contains("<ToUserName><![CDATA[o_safe]]></ToUserName>"),
        "{xml}"
    );
    assert!(reply_content(&xml).starts_with("欢迎关注"), "{xml}");
    assert_eq!(event_count(&pool).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn safe_mode_retries_and_concurrency_store_one_event(pool: PgPool) {
    let app = safe_app(pool.clone()).await;
    let crypt = MsgCrypt::new(AES_KEY, SANDBOX_APPID).expect("key");
    let xml = subscribe_xml("o_safe_retry", 1700000500, "ref_8");
    let (a, b, c) = tokio::join!(
        post_safe(&app, &crypt, &xml),
        post_safe(&app, &crypt, &xml),
        post_safe(&app, &crypt, &xml)
    );
    let mut contents = Vec::new();
    for resp in [a, b, c] {
        assert_eq!(resp.status(), StatusCode::OK);
        let envelope = parse_encrypted_reply(&resp.text().await.expect("body")).expect("env");
        contents.push(crypt.decrypt(&envelope.encrypt).expect("decrypt"));
    }
    assert!(contents.iter().all(|c| c == &contents[0]));
    assert_eq!(event_count(&pool).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_safe_mode_input_is_refused_and_stores_nothing(pool: PgPool) {
    let app = safe_app(pool.clone()).await;
    let crypt = MsgCrypt::new(AES_KEY, SANDBOX_APPID).expect("key");
    let other_app = MsgCrypt::new(AES_KEY, "wx0000000000000000").expect("key");
    let xml = subscribe_xml("o_safe_bad", 1700000600, "ref_1");
    let (timestamp, nonce) = ("1700000001", "777");
    let base = signed_query(timestamp, nonce);
    let encrypt = crypt.encrypt(&xml);
    let envelope = |e: &str| {
        format!(
            "<xml><ToUserName><![CDATA[gh]]></ToUserName><Encrypt><![CDATA[{e}]]></Encrypt></xml>"
        )
    };
    let good_sig = sign(&[TOKEN, timestamp, nonce, &encrypt]);
    let foreign = other_app.encrypt(&xml);
    let foreign_sig = sign(&[TOKEN, timestamp, nonce, &foreign]);
    let garbage = "bm90IGEgY2lwaGVydGV4dA==";
    let garbage_sig = sign(&[TOKEN, timestamp, nonce, garbage]);
    let hostile = crypt.encrypt("<!DOCTYPE x [<!ENTITY a \"b\">]><xml/>");
    let hostile_sig = sign(&[TOKEN, timestamp, nonce, &hostile]);
    let cases: Vec<(&str, String, String, StatusCode)> = vec![
        (
            "forged msg_signature",
            format!(
                "{base}&encrypt_type=aes&msg_signature={}",
                sign(&["x", timestamp, nonce, &encrypt])
            ),
            envelope(&encrypt),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "missing msg_signature",
            format!("{base}&encrypt_type=aes"),
            envelope(&encrypt),
            StatusCode::UNAUTHORIZED,
        ),
        (
            "wrong appid",
            format!("{base}&encrypt_type=aes&msg_signature={foreign_sig}"),
            envelope(&foreign),
            StatusCode::BAD_REQUEST,
        ),
        (
            "not a ciphertext",
            format!("{base}&encrypt_type=aes&msg_signature={garbage_sig}"),
            envelope(garbage),
            StatusCode::BAD_REQUEST,
        ),
        (
            "hostile plaintext inside",
            format!("{base}&encrypt_type=aes&msg_signature={hostile_sig}"),
            envelope(&hostile),
            StatusCode::BAD_REQUEST,
        ),
        (
            "no Encrypt element",
            format!("{base}&encrypt_type=aes&msg_signature={good_sig}"),
            xml.clone(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "plaintext downgrade",
            base.clone(),
            xml.clone(),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (name, query, body, status) in cases {
        let resp = post(&app, &query, body).await;
        assert_eq!(resp.status(), status, "{name}");
    }
    assert_eq!(event_count(&pool).await, 0, "bad input must store nothing");
}

/// The official WXBizMsgCrypt sample (vector A): a compatible-mode text message produced by
/// Tencent's own encryptor is accepted and stored under FromUserName + MsgId.
#[sqlx::test(migrations = "../migrations")]
async fn official_sample_message_is_accepted(pool: PgPool) {
    let app = spawn_app_with(
        pool.clone(),
        settings(&[
            ("WECHAT_APPID", "wx2c2769f8efd9abc2"),
            ("WECHAT_APPSECRET", "unused-in-this-test"),
            ("PUBLIC_URL", "https://tuijian.example.com"),
            ("WECHAT_TOKEN", "spamtest"),
            (
                "WECHAT_ENCODING_AES_KEY",
                "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG",
            ),
        ]),
    )
    .await;
    let encrypt = "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQHFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDYsVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGpy0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE=";
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>\n\
         <FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>\n\
         <CreateTime>1409735668</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n\
         <Content><![CDATA[abcdteT]]></Content>\n<MsgId>6054768590064713728</MsgId>\n\
         <Encrypt><![CDATA[{encrypt}]]></Encrypt>\n</xml>"
    );
    let query = "signature=16120ec1b8dbb870f510d87ce6bc2463eae6ca1a&timestamp=1409735669\
        &nonce=1320562132&openid=oyORnuP8q7ou2gfYjqLzSIWZf0rs&encrypt_type=aes\
        &msg_signature=5d197aaffba7e9b25a30732f161a50dee96bd5fa";
    let resp = post(&app, query, body).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.expect("body"), "success");
    let (openid, kind, payload): (String, String, String) =
        sqlx::query_as("select openid, kind, payload from event")
            .fetch_one(&pool)
            .await
            .expect("stored");
    assert_eq!(
        (openid.as_str(), kind.as_str()),
        ("oyORnuP8q7ou2gfYjqLzSIWZf0rs", "text")
    );
    assert!(payload.contains("<Content><![CDATA[abcdteT]]></Content>"));
}

/// wechatpy's vector C2: a message encrypted by another independent implementation.
#[sqlx::test(migrations = "../migrations")]
async fn wechatpy_encrypted_message_is_accepted(pool: PgPool) {
    let token = "123456";
    let app = spawn_app_with(
        pool.clone(),
        settings(&[
            ("WECHAT_APPID", "wx49f0ab532d5d035a"),
            ("WECHAT_APPSECRET", "unused-in-this-test"),
            ("PUBLIC_URL", "https://tuijian.example.com"),
            ("WECHAT_TOKEN", token),
            (
                "WECHAT_ENCODING_AES_KEY",
                "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
            ),
        ]),
    )
    .await;
    let encrypt = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";
    let (timestamp, nonce) = ("1411525903", "461056294");
    let query = format!(
        "signature={}&timestamp={timestamp}&nonce={nonce}&encrypt_type=aes\
         &msg_signature=74d92dfeb87ba7c714f89d98870ae5eb62dff26d",
        sign(&[token, timestamp, nonce])
    );
    let body = format!(
        "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[1]]></AgentID></xml>"
    );
    let resp = post(&app, &query, body).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.text().await.expect("body"), "success");
    let openid: String = sqlx::query_scalar("select openid from event")
        .fetch_one(&pool)
        .await
        .expect("stored");
    assert_eq!(openid, "messense");
}

/// A database that does not answer in time: 503 (so WeChat delivers again), nothing stored,
/// and the re-delivery succeeds once the database is back.
#[sqlx::test(migrations = "../migrations")]
async fn slow_database_means_503_and_a_later_retry_succeeds(pool: PgPool) {
    let app = spawn_app_with(
        pool.clone(),
        settings(&[
            ("WECHAT_TOKEN", TOKEN),
            ("TUIJIAN_CALLBACK_DEADLINE_MS", "300"),
        ]),
    )
    .await;
    let xml = subscribe_xml("o_slow", 1700000700, "ref_5");
    let mut blocker = pool.begin().await.expect("begin");
    sqlx::query("lock table event in access exclusive mode")
        .execute(&mut *blocker)
        .await
        .expect("lock");
    let started = std::time::Instant::now();
    let resp = post_plain(&app, &xml).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(started.elapsed() < Duration::from_secs(2), "answered late");
    // The write waiting for the lock ends with its statement timeout (the callback's deadline);
    // unlock only after that, so the count below sees what stays rather than a race.
    eventually(5, || async {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity
              where datname = current_database() and wait_event_type = 'Lock'",
        )
        .fetch_one(&pool)
        .await
        .expect("activity");
        (waiting == 0).then_some(())
    })
    .await;
    blocker.rollback().await.expect("unlock");
    assert_eq!(
        event_count(&pool).await,
        0,
        "a timed-out event must not be stored"
    );
    let retry = post_plain(&app, &xml).await;
    assert_eq!(retry.status(), StatusCode::OK);
    assert!(reply_content(&retry.text().await.expect("body")).starts_with("欢迎关注"));
    assert_eq!(event_count(&pool).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn database_down_means_503_never_success(pool: PgPool) {
    let app = plaintext_app(pool.clone()).await;
    pool.close().await;
    let resp = post_plain(&app, &subscribe_xml("o_down", 1700000800, "ref_1")).await;
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_ne!(resp.text().await.expect("body"), "success");
}
