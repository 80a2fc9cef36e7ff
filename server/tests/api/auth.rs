//! Dashboard sign-in: sessions, throttling, roles on server functions, cross-site refusal.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tuijian::referral::roles::Role;
use tuijian::referral::users;

use crate::common::{TestApp, spawn_app};
use crate::skeleton::signed_in;

async fn sfn(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    body: &str,
) -> (StatusCode, Value, Option<String>) {
    let mut req = app
        .client
        .post(app.url(&format!("/sfn/{path}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let set_cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, resp.json().await.unwrap_or(Value::Null), set_cookie)
}

#[sqlx::test(migrations = "../migrations")]
async fn login_sets_an_http_only_session_cookie_and_logout_ends_it(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    users::create_user(&pool, 1, "ops", "long-password", Role::Manager)
        .await
        .expect("user");
    let (status, user, set_cookie) =
        sfn(&app, "login", None, "username=ops&password=long-password").await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(user["role"], "Manager");
    let set_cookie = set_cookie.expect("a session cookie");
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Lax"));
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP here: {set_cookie}"
    );
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    let (_, me, _) = sfn(&app, "me", Some(&cookie), "").await;
    assert_eq!(me["username"], "ops");
    let (status, _, cleared) = sfn(&app, "logout", Some(&cookie), "").await;
    assert_eq!(status, StatusCode::OK);
    assert!(cleared.expect("cleared").contains("Max-Age=0"));
    let (_, me, _) = sfn(&app, "me", Some(&cookie), "").await;
    assert_eq!(me, Value::Null, "the session is gone");
}

#[sqlx::test(migrations = "../migrations")]
async fn failed_logins_are_throttled(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    users::create_user(&pool, 1, "target", "right-password", Role::Admin)
        .await
        .expect("user");
    for _ in 0..5 {
        let (status, err, cookie) =
            sfn(&app, "login", None, "username=target&password=wrong").await;
        assert_ne!(status, StatusCode::OK);
        assert_eq!(err["code"], "invalid_login");
        assert!(cookie.is_none());
    }
    let (_, err, cookie) = sfn(
        &app,
        "login",
        None,
        "username=target&password=right-password",
    )
    .await;
    assert_eq!(err["code"], "throttled", "even the right password waits");
    assert!(cookie.is_none());
}

#[sqlx::test(migrations = "../migrations")]
async fn hostile_usernames_are_wrong_logins_not_server_errors(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let long = "x".repeat(5_000);
    for username in ["ta%00rget", "%01", long.as_str()] {
        let (status, err, cookie) = sfn(
            &app,
            "login",
            None,
            &format!("username={username}&password=wrong"),
        )
        .await;
        assert!(!status.is_server_error(), "{username}: {status} {err}");
        assert_eq!(err["code"], "invalid_login", "{username}");
        assert!(cookie.is_none());
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn server_functions_check_the_session_and_the_role(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let staff = signed_in(&pool, Role::Staff).await;
    let (_, err, _) = sfn(&app, "qrcodes/quota", None, "").await;
    assert_eq!(err["code"], "unauthorized");
    let (_, quota, _) = sfn(&app, "qrcodes/quota", Some(&staff), "").await;
    assert_eq!(quota["limit"], 100_000);
    let (_, err, _) = sfn(&app, "reports/stats", Some(&staff), "query[period]=all").await;
    assert_eq!(err["code"], "forbidden", "stats need a manager");
    let (_, err, _) = sfn(
        &app,
        "reports/leaderboard",
        Some(&staff),
        "query[period]=all",
    )
    .await;
    assert_eq!(err["code"], "forbidden");
    let manager = signed_in(&pool, Role::Manager).await;
    let (status, rows, _) = sfn(
        &app,
        "reports/leaderboard",
        Some(&manager),
        "query[period]=all",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rows}");
    assert_eq!(rows, Value::Array(vec![]));
}

/// Behind HTTPS (`PUBLIC_URL` https://…) the session cookie is `Secure`, set and cleared.
#[sqlx::test(migrations = "../migrations")]
async fn over_https_the_session_cookie_is_secure(pool: PgPool) {
    let app = crate::common::spawn_app_with(
        pool.clone(),
        crate::common::settings(&[("PUBLIC_URL", "https://tuijian.example.com")]),
    )
    .await;
    users::create_user(&pool, 1, "ops", "long-password", Role::Manager)
        .await
        .expect("user");
    let (status, _, set_cookie) =
        sfn(&app, "login", None, "username=ops&password=long-password").await;
    assert_eq!(status, StatusCode::OK);
    let set_cookie = set_cookie.expect("a session cookie");
    assert!(set_cookie.ends_with("; Secure"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    let (_, _, cleared) = sfn(&app, "logout", Some(&cookie), "").await;
    let cleared = cleared.expect("cleared");
    assert!(
        cleared.contains("Max-Age=0") && cleared.ends_with("; Secure"),
        "{cleared}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn cross_site_calls_are_refused(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let staff = signed_in(&pool, Role::Staff).await;
    let resp = app
        .client
        .post(app.url("/sfn/referrers/archive"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &staff)
        .header("origin", "https://evil.example")
        .body("id=1")
        .send()
        .await
        .expect("request");
    let body: Value = resp.json().await.expect("json");
    assert_eq!(body["code"], "cross_site");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_dashboard_cookie_reads_but_never_writes_the_api(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let staff = signed_in(&pool, Role::Staff).await;
    let read = app
        .client
        .get(app.url("/api/v1/referrers"))
        .header("cookie", &staff)
        .send()
        .await
        .expect("request");
    assert_eq!(read.status(), StatusCode::OK);
    let write = app
        .client
        .post(app.url("/api/v1/referrers"))
        .header("cookie", &staff)
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .expect("request");
    assert_eq!(write.status(), StatusCode::UNAUTHORIZED);
}
