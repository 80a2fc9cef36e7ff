//! Member-get-member through the sandbox: a follower asks for a personal code (keyword or menu
//! click), gets it as an image with the link to their page sent afterwards (or the link at once
//! and the image later when the upload is slow), names themselves, and sees their friends on
//! their personal page. Archived members and the temporary-code fallback too.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tuijian::referral::members::{PERMANENT_RESERVE, plausible_token};
use tuijian::referral::qrcodes::PERMANENT_QUOTA;
use tuijian::sandbox::faults::Fault;
use tuijian::sandbox::simulate::{self, SimReply};

use crate::common::{
    TestApp, decode_qr, eventually, follow, inbox, sandbox_media, settle_jobs, spawn_app,
};

/// The member row of a simulated user: (referrer id, kind, page key, name, name chosen).
async fn member(pool: &PgPool, user: &str) -> (i64, String, String, String, bool) {
    sqlx::query_as(
        "select id, kind, member_token, name, name_chosen from referrer where openid = $1",
    )
    .bind(format!("oSBX_{user}"))
    .fetch_one(pool)
    .await
    .expect("member row")
}

/// The member's codes: (id, kind, url, expires in the future?).
async fn codes(pool: &PgPool, referrer_id: i64) -> Vec<(i64, String, String, Option<bool>)> {
    sqlx::query_as(
        "select id, kind, url, expires_at > now() from qr_code
         where account_id = 1 and referrer_id = $1 order by id",
    )
    .bind(referrer_id)
    .fetch_all(pool)
    .await
    .expect("codes")
}

/// Decodes the QR code in a PNG served by the sandbox for `media_id`.
async fn decode_media(app: &TestApp, media_id: &str) -> String {
    decode_qr(&sandbox_media(app, media_id).await)
}

async fn text(app: &TestApp, user: &str, content: &str) -> SimReply {
    simulate::text(&app.state.sim(), user, content)
        .await
        .expect("text delivered")
}

/// The member's personal page data through its server function.
async fn page(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let resp = app
        .client
        .post(app.url("/sfn/member/page"))
        .form(&[("token", token)])
        .send()
        .await
        .expect("page");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

fn link_in(body: &Value) -> Option<String> {
    let text = body["text"]["content"].as_str()?;
    let start = text.find("/m/")?;
    Some(text[start + 3..].split_whitespace().next()?.to_owned())
}

#[sqlx::test(migrations = "../migrations")]
async fn a_keyword_makes_one_member_code_sent_as_an_image_then_the_link(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    follow(&app, "mia").await;
    let reply = text(&app, "mia", "推广码").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.reply, None, "an image, not text");
    let media_id = reply.image_media_id.expect("image reply");

    let (referrer_id, kind, token, name, chosen) = member(&pool, "mia").await;
    assert_eq!(kind, "member");
    assert!(plausible_token(&token), "{token}");
    assert!(name.starts_with("会员·") && !chosen, "{name}");
    let made = codes(&pool, referrer_id).await;
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].1, "permanent");
    assert_eq!(decode_media(&app, &media_id).await, made[0].2);

    // The link follows as a customer-service message.
    let sent = eventually(10, || async {
        let msgs = inbox(&pool, "mia").await;
        (!msgs.is_empty()).then_some(msgs)
    })
    .await;
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0]["msgtype"], "text");
    assert_eq!(link_in(&sent[0]).as_deref(), Some(token.as_str()));

    // Asking again (other keyword) gives the same code and the cached image; no new member.
    let again = text(&app, "mia", "我的二维码").await;
    assert_eq!(again.image_media_id.as_deref(), Some(media_id.as_str()));
    assert_eq!(codes(&pool, referrer_id).await.len(), 1);
    let members: i64 = sqlx::query_scalar("select count(*) from referrer where kind = 'member'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(members, 1);
    settle_jobs(&pool).await;
    assert_eq!(inbox(&pool, "mia").await.len(), 2, "one link per request");

    // A WeChat re-delivery of the same message changes nothing and gets the same answer:
    // covered by the event key; ordinary text is still just acknowledged.
    let hello = text(&app, "mia", "你好").await;
    assert_eq!((hello.reply, hello.image_media_id), (None, None));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_slow_upload_answers_with_the_link_at_once_and_the_image_follows(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    follow(&app, "noah").await;
    app.state.sandbox_faults.add(&Fault {
        endpoint: "media/upload".into(),
        latency_ms: Some(4_000),
        ..Fault::default()
    });
    let reply = text(&app, "noah", "推广码").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.image_media_id, None);
    let (_, _, token, _, _) = member(&pool, "noah").await;
    let link = reply.reply.expect("a text reply with the link");
    assert!(link.contains(&format!("/m/{token}")), "{link}");
    assert!(link.contains("我叫"), "tells how to choose a name: {link}");
    app.state.sandbox_faults.clear();
    let image = eventually(15, || async {
        inbox(&pool, "noah")
            .await
            .into_iter()
            .find(|m| m["msgtype"] == "image")
    })
    .await;
    let media_id = image["image"]["media_id"].as_str().expect("media id");
    let (referrer_id, ..) = member(&pool, "noah").await;
    assert_eq!(
        decode_media(&app, media_id).await,
        codes(&pool, referrer_id).await[0].2
    );
    settle_jobs(&pool).await;
    let texts = inbox(&pool, "noah")
        .await
        .into_iter()
        .filter(|m| m["msgtype"] == "text")
        .count();
    assert_eq!(texts, 0, "the link was the passive reply; not sent twice");
}

#[sqlx::test(migrations = "../migrations")]
async fn friends_are_greeted_with_the_name_the_member_chose(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    follow(&app, "mia").await;
    text(&app, "mia", "推广码").await;
    let (referrer_id, _, token, staff_name, _) = member(&pool, "mia").await;
    let code_id = codes(&pool, referrer_id).await[0].0;

    // Before a name is chosen friends see a neutral fallback, never the staff label.
    let bob = simulate::scan(&sim, code_id, "bob").await.expect("scan");
    let greeting = bob.reply.expect("greeting");
    assert!(
        greeting.contains(tuijian::referral::greeting::REFERRER_FALLBACK),
        "{greeting}"
    );
    assert!(!greeting.contains(&staff_name), "{greeting}");

    let named = text(&app, "mia", "我叫 <b>小美</b>").await;
    assert!(named.reply.expect("confirmation").contains("小美"));
    let (_, _, _, name, chosen) = member(&pool, "mia").await;
    assert_eq!((name.as_str(), chosen), ("小美", true));
    let carol = simulate::scan(&sim, code_id, "carol").await.expect("scan");
    assert_eq!(
        carol.reply.as_deref(),
        Some("欢迎关注！您是小美推荐的客户。")
    );
    let bad = text(&app, "mia", "我叫 <img src=x>").await;
    assert!(bad.reply.expect("refusal").contains("名字不能为空"));
    assert_eq!(member(&pool, "mia").await.3, "小美", "unchanged");

    // The personal page: the member's own code, counts and masked referrals.
    simulate::unfollow(&sim, "bob").await.expect("unfollow");
    let (status, data) = page(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{data}");
    assert_eq!(data["name"], "小美");
    assert_eq!(
        (data["total"].as_i64(), data["still_following"].as_i64()),
        (Some(2), Some(1))
    );
    assert!(data["qr_svg"].as_str().is_some_and(|s| s.contains("<svg")));
    let latest = data["latest"].as_array().expect("latest");
    assert_eq!(latest.len(), 2);
    assert!(
        latest
            .iter()
            .all(|r| r["follower"].as_str().is_some_and(|f| f.contains("****"))),
        "{latest:?}"
    );

    // The member renames themselves on the page; markup is cleaned, limits hold.
    let renamed = app
        .client
        .post(app.url("/sfn/member/name"))
        .form(&[("token", token.as_str()), ("name", "<i>美美</i>")])
        .send()
        .await
        .expect("rename");
    assert_eq!(renamed.status(), StatusCode::OK);
    assert_eq!(renamed.json::<Value>().await.expect("json"), "美美");
    let too_long = app
        .client
        .post(app.url("/sfn/member/name"))
        .form(&[("token", token.as_str()), ("name", &"长".repeat(21))])
        .send()
        .await
        .expect("rename");
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(member(&pool, "mia").await.3, "美美");

    // Nobody reaches a page without its key; another member's key shows only theirs.
    // The last wrong key differs from the real one only in its last character.
    let last = if token.ends_with('A') { 'B' } else { 'A' };
    let one_off = format!("{}{last}", &token[..31]);
    for wrong in ["", "nope", &token[..31], &one_off] {
        let (status, _) = page(&app, wrong).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{wrong:?}");
        let rename = app
            .client
            .post(app.url("/sfn/member/name"))
            .form(&[("token", wrong), ("name", "hacker")])
            .send()
            .await
            .expect("rename");
        assert_eq!(rename.status(), StatusCode::NOT_FOUND);
    }
    follow(&app, "otto").await;
    text(&app, "otto", "推广码").await;
    let (_, _, otto_token, _, _) = member(&pool, "otto").await;
    let (_, otto) = page(&app, &otto_token).await;
    assert_eq!(
        (otto["total"].as_i64(), otto["name"].clone()),
        (Some(0), Value::Null)
    );

    // The page itself renders without a staff login.
    let html = app
        .client
        .get(app.url(&format!("/m/{token}")))
        .send()
        .await
        .expect("page html");
    assert_eq!(html.status(), StatusCode::OK);
    assert!(html.text().await.expect("html").contains("member-page"));

    // Staff can reset the chosen name: friends see the fallback again.
    tuijian::referral::members::reset_name(
        &pool,
        &tuijian::referral::actor::Actor::cli(1),
        referrer_id,
    )
    .await
    .expect("reset");
    let dave = simulate::scan(&sim, code_id, "dave").await.expect("scan");
    assert!(
        dave.reply
            .expect("greeting")
            .contains(tuijian::referral::greeting::REFERRER_FALLBACK)
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_menu_click_works_and_archived_members_keep_attributing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    follow(&app, "mia").await;
    let click = simulate::menu_click(&sim, "mia").await.expect("click");
    assert_eq!(click.sent, "CLICK");
    assert!(click.image_media_id.is_some(), "{click:?}");
    let (referrer_id, ..) = member(&pool, "mia").await;
    let code_id = codes(&pool, referrer_id).await[0].0;
    tuijian::referral::referrers::archive(
        &pool,
        &tuijian::referral::actor::Actor::cli(1),
        referrer_id,
    )
    .await
    .expect("archive");
    let reply = text(&app, "mia", "推广码").await;
    assert!(reply.reply.expect("text").contains("已停用"));
    assert_eq!(codes(&pool, referrer_id).await.len(), 1, "no new code");
    let bob = simulate::scan(&sim, code_id, "bob").await.expect("scan");
    assert!(bob.reply.is_some());
    let credited: i64 = sqlx::query_scalar(
        "select count(*) from referral where account_id = 1 and referrer_id = $1",
    )
    .bind(referrer_id)
    .fetch_one(&pool)
    .await
    .expect("count");
    assert_eq!(credited, 1, "an archived member's code keeps attributing");
}

#[sqlx::test(migrations = "../migrations")]
async fn near_the_permanent_quota_members_get_renewed_temporary_codes(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let staff: i64 = sqlx::query_scalar(
        "insert into referrer (account_id, name) values (1, 'bulk') returning id",
    )
    .fetch_one(&pool)
    .await
    .expect("referrer");
    sqlx::query(
        "insert into qr_code (account_id, referrer_id, kind, scene, ticket, url)
         select 1, $1, 'permanent', 'bulk_' || g, 't' || g, 'u' || g
         from generate_series(1, $2) g",
    )
    .bind(staff)
    .bind(PERMANENT_QUOTA - PERMANENT_RESERVE)
    .execute(&pool)
    .await
    .expect("bulk codes");
    follow(&app, "mia").await;
    assert!(text(&app, "mia", "推广码").await.image_media_id.is_some());
    let (referrer_id, ..) = member(&pool, "mia").await;
    let first = codes(&pool, referrer_id).await;
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].1.as_str(), first[0].3), ("temporary", Some(true)));

    // Still fresh: reused. Close to expiry: renewed with a new code; the old one still counts.
    text(&app, "mia", "推广码").await;
    assert_eq!(codes(&pool, referrer_id).await.len(), 1);
    sqlx::query(
        "update qr_code set expires_at = now() + interval '1 day' where account_id = 1 and id = $1",
    )
    .bind(first[0].0)
    .execute(&pool)
    .await
    .expect("age the code");
    let renewed = text(&app, "mia", "推广码").await;
    let media_id = renewed.image_media_id.expect("image");
    let now = codes(&pool, referrer_id).await;
    assert_eq!(now.len(), 2);
    assert_eq!(
        decode_media(&app, &media_id).await,
        now[1].2,
        "the new code"
    );
    let bob = simulate::scan(&sim_code(&app), first[0].0, "bob")
        .await
        .expect("scan the old code");
    assert!(bob.reply.expect("greeting").contains("推荐"));
}

fn sim_code(app: &TestApp) -> tuijian::sandbox::simulate::SimContext {
    app.state.sim()
}

/// Runs web authorization as `user` through the simulated authorize page; returns the final
/// response of the callback (redirects not followed).
pub(crate) async fn authorize_as(app: &TestApp, user: &str) -> (reqwest::Response, String, String) {
    authorize_at(app, "/m", "/m/oauth/callback", user).await
}

/// [`authorize_as`] from the entry `start`, expecting WeChat to send the visitor back to a URL
/// ending in `callback`.
pub(crate) async fn authorize_at(
    app: &TestApp,
    start: &str,
    callback: &str,
    user: &str,
) -> (reqwest::Response, String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let start = client.get(app.url(start)).send().await.expect("start");
    assert_eq!(start.status(), StatusCode::FOUND);
    let location = start.headers()["location"]
        .to_str()
        .expect("location")
        .to_owned();
    let cookie = start.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("cookie pair")
        .to_owned();
    let url = reqwest::Url::parse(&location).expect("authorize url");
    assert_eq!(url.path(), "/sandbox/oauth2/authorize");
    assert_eq!(url.fragment(), Some("wechat_redirect"));
    let keys: Vec<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    assert_eq!(
        keys,
        ["appid", "redirect_uri", "response_type", "scope", "state"],
        "WeChat wants this order"
    );
    let pairs: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(pairs["scope"], "snsapi_base");
    assert!(
        pairs["redirect_uri"].ends_with(callback),
        "{}",
        pairs["redirect_uri"]
    );
    let mut bare = url.clone();
    bare.set_fragment(None);
    let picker = client.get(bare.clone()).send().await.expect("picker");
    assert_eq!(picker.status(), StatusCode::OK);
    assert!(picker.text().await.expect("html").contains("oauth-user"));
    bare.query_pairs_mut().append_pair("user", user);
    let allowed = client.get(bare).send().await.expect("allow");
    assert_eq!(allowed.status(), StatusCode::FOUND);
    let back = allowed.headers()["location"]
        .to_str()
        .expect("back")
        .to_owned();
    let done = client
        .get(&back)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("callback");
    (done, back, cookie)
}

#[sqlx::test(migrations = "../migrations")]
async fn web_authorization_leads_each_member_to_their_own_page(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    follow(&app, "mia").await;
    text(&app, "mia", "推广码").await;
    let (_, _, token, _, _) = member(&pool, "mia").await;
    let (done, back, cookie) = authorize_as(&app, "mia").await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], format!("/m/{token}").as_str());

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // The code works once; without the state cookie nothing happens.
    let reused = client
        .get(&back)
        .header("cookie", &cookie)
        .send()
        .await
        .expect("reuse");
    assert_eq!(reused.status(), StatusCode::BAD_GATEWAY);
    let forged = client.get(&back).send().await.expect("no cookie");
    assert_eq!(forged.status(), StatusCode::BAD_REQUEST);
    let wrong_state = client
        .get(&back)
        .header("cookie", "tj_oauth_state=somethingelse")
        .send()
        .await
        .expect("wrong state");
    assert_eq!(wrong_state.status(), StatusCode::BAD_REQUEST);
    // Codes that cannot be ours are refused as WeChat refuses them, not as a failure.
    for code in ["a%00b", "%FF", &"x".repeat(500)] {
        let refused: Value = client
            .get(app.url(&format!(
                "/sandbox/wx/sns/oauth2/access_token?appid={}&secret={}\
                 &grant_type=authorization_code&code={code}",
                tuijian::config::SANDBOX_APPID,
                tuijian::sandbox::SANDBOX_SECRET
            )))
            .send()
            .await
            .expect("token")
            .json()
            .await
            .expect("json");
        assert_eq!(refused["errcode"], 40029, "{code}: {refused}");
    }

    // A follower without a code is told how to get one.
    follow(&app, "zoe").await;
    let (done, _, _) = authorize_as(&app, "zoe").await;
    assert_eq!(done.status(), StatusCode::OK);
    assert!(done.text().await.expect("html").contains("还没有推广码"));
}
