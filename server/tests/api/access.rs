//! Every `/api/v1` route, found in the OpenAPI document, refuses calls without a token and
//! manager-only routes refuse the staff role.

use serde_json::Value;
use sqlx::PgPool;
use tuijian::referral::roles::Role;
use tuijian::referral::tokens;

use crate::common::spawn_app;

/// Routes that need more than the staff role.
const MANAGER_ROUTES: [&str; 6] = [
    "/leaderboard",
    "/leaderboard.csv",
    "/stats",
    "/stats.csv",
    "/stats/daily.csv",
    "/referrals.csv",
];

#[sqlx::test(migrations = "../migrations")]
async fn every_api_route_requires_a_token_and_the_right_role(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let staff = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("doc")
        .json()
        .await
        .expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    let mut checked = 0;
    for (path, item) in paths {
        let concrete = path.replace("{id}", "1");
        for method in item.as_object().expect("item").keys() {
            let m: reqwest::Method = method.to_uppercase().parse().expect("method");
            let url = app.url(&format!("/api/v1{concrete}"));
            let anonymous = app
                .client
                .request(m.clone(), &url)
                .json(&serde_json::json!({}))
                .send()
                .await
                .expect("request");
            assert_eq!(anonymous.status(), 401, "{method} {path} without a token");
            if MANAGER_ROUTES.contains(&path.as_str()) {
                let low = app
                    .client
                    .request(m, &url)
                    .bearer_auth(&staff)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(low.status(), 403, "{method} {path} as staff");
            }
            checked += 1;
        }
    }
    assert!(checked >= 15, "only {checked} routes found");
    let n: i64 = sqlx::query_scalar("select count(*) from referrer")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(n, 0);
}

/// Who may call each server function, with a body its arguments decode from. Every registered
/// server function must be listed (a new one fails this test until it is classified).
const SERVER_FNS: [(&str, Option<Role>, &str); 77] = [
    // Public: signing in, the shell, and members' pages (the unguessable key is the credential).
    ("/sfn/login", None, "username=nobody&password=nothing-here"),
    ("/sfn/logout", None, ""),
    ("/sfn/me", None, ""),
    ("/sfn/status", None, ""),
    ("/sfn/member/page", None, "token=x"),
    ("/sfn/member/name", None, "token=x&name=y"),
    (
        "/sfn/referrers/list",
        Some(Role::Staff),
        "query[page]=1&query[archived]=false",
    ),
    ("/sfn/referrers/create", Some(Role::Staff), "input[name]=x"),
    (
        "/sfn/referrers/update",
        Some(Role::Staff),
        "id=1&patch[name]=x",
    ),
    ("/sfn/referrers/archive", Some(Role::Staff), "id=1"),
    ("/sfn/referrers/detail", Some(Role::Staff), "id=1&page=1"),
    ("/sfn/referrers/reset-name", Some(Role::Staff), "id=1"),
    ("/sfn/referrers/binding-code", Some(Role::Staff), "id=1"),
    (
        "/sfn/qrcodes/create",
        Some(Role::Staff),
        "referrer_id=1&input[kind]=permanent",
    ),
    ("/sfn/qrcodes/quota", Some(Role::Staff), ""),
    ("/sfn/qrcodes/all", Some(Role::Staff), ""),
    ("/sfn/sandbox/codes", Some(Role::Staff), ""),
    (
        "/sfn/sandbox/simulate",
        Some(Role::Staff),
        "action=Follow&who=x",
    ),
    ("/sfn/sandbox/messages", Some(Role::Staff), "who=x"),
    ("/sfn/sandbox/user-tags", Some(Role::Staff), "who=x"),
    (
        "/sfn/reports/leaderboard",
        Some(Role::Manager),
        "query[period]=all",
    ),
    (
        "/sfn/reports/stats",
        Some(Role::Manager),
        "query[period]=all",
    ),
    ("/sfn/settings/load", Some(Role::Admin), ""),
    ("/sfn/setup/load", Some(Role::Admin), ""),
    ("/sfn/menu/load", Some(Role::Admin), ""),
    (
        "/sfn/menu/publish",
        Some(Role::Admin),
        r#"{"menu":{"buttons":[{"name":"x","kind":"click","key":"K"}]}}"#,
    ),
    ("/sfn/menu/delete", Some(Role::Admin), ""),
    ("/sfn/sandbox/menu", Some(Role::Staff), ""),
    (
        "/sfn/settings/greeting",
        Some(Role::Admin),
        "variant=plain&template=x",
    ),
    (
        "/sfn/settings/notify-template",
        Some(Role::Admin),
        r#"{"template_id":"x","fields":[{"key":"thing1","source":"referrer"}]}"#,
    ),
    (
        "/sfn/settings/add-user",
        Some(Role::Admin),
        "username=intruder&password=long-enough-1&role=Admin",
    ),
    (
        "/sfn/settings/mint-token",
        Some(Role::Admin),
        "name=x&role=Admin",
    ),
    (
        "/sfn/settings/member",
        Some(Role::Admin),
        "keywords[0]=x&menu_key=K",
    ),
    ("/sfn/accounts/mine", Some(Role::Staff), ""),
    ("/sfn/accounts/switch", Some(Role::Staff), "account_id=999"),
    (
        "/sfn/accounts/create",
        Some(Role::Admin),
        "input[name]=intruder-account",
    ),
    (
        "/sfn/accounts/update",
        Some(Role::Admin),
        "input[name]=intruder-account",
    ),
    (
        "/sfn/referrers/move-credit",
        Some(Role::Admin),
        "referral_id=1&to_referrer_id=2&reason=x",
    ),
    ("/sfn/settings/tokens", Some(Role::Admin), ""),
    ("/sfn/settings/revoke-token", Some(Role::Admin), "id=1"),
    ("/sfn/privacy/load", Some(Role::Admin), ""),
    (
        "/sfn/privacy/erase",
        Some(Role::Admin),
        "openid=oSBX_x&reason=asked",
    ),
    ("/sfn/privacy/retention", Some(Role::Admin), "days=30"),
    ("/sfn/reconcile/load", Some(Role::Manager), ""),
    ("/sfn/reconcile/start", Some(Role::Manager), "notify=false"),
    ("/sfn/reconcile/resume", Some(Role::Manager), "id=1"),
    ("/sfn/reconcile/cancel", Some(Role::Manager), "id=1"),
    (
        "/sfn/reconcile/schedule",
        Some(Role::Admin),
        r#"{"hour":4}"#,
    ),
    (
        "/sfn/review/load",
        Some(Role::Manager),
        r#"{"status":null,"kind":null,"page":null}"#,
    ),
    (
        "/sfn/review/confirm",
        Some(Role::Manager),
        "subject=referral&id=1",
    ),
    (
        "/sfn/review/void",
        Some(Role::Manager),
        "referral_id=1&reason=x",
    ),
    (
        "/sfn/review/restore",
        Some(Role::Manager),
        "referral_id=1&reason=x",
    ),
    (
        "/sfn/review/thresholds",
        Some(Role::Admin),
        r#"{"thresholds":{"quick_unfollow_hours":24,"cycle_follows":3,"burst_follows":20,"burst_minutes":10}}"#,
    ),
    ("/sfn/referrers/restore", Some(Role::Staff), "id=1"),
    (
        "/sfn/referrers/bulk-archive",
        Some(Role::Manager),
        r#"{"ids":[1]}"#,
    ),
    (
        "/sfn/referrers/bulk-restore",
        Some(Role::Manager),
        r#"{"ids":[1]}"#,
    ),
    (
        "/sfn/referrers/bulk-tag",
        Some(Role::Manager),
        r#"{"ids":[1],"tag":"x"}"#,
    ),
    (
        "/sfn/referrers/bulk-codes",
        Some(Role::Manager),
        r#"{"ids":[1],"input":{"kind":"permanent"}}"#,
    ),
    ("/sfn/users/list", Some(Role::Admin), ""),
    ("/sfn/users/role", Some(Role::Admin), "user_id=1&role=Admin"),
    (
        "/sfn/users/active",
        Some(Role::Admin),
        "user_id=1&active=false",
    ),
    (
        "/sfn/users/password",
        Some(Role::Admin),
        "user_id=1&password=long-enough-1",
    ),
    ("/sfn/webhooks/list", Some(Role::Admin), ""),
    (
        "/sfn/webhooks/create",
        Some(Role::Admin),
        r#"{"input":{"url":"http://127.0.0.1:9/intruder","events":["referral.created"],"allow_private":true}}"#,
    ),
    (
        "/sfn/webhooks/enabled",
        Some(Role::Admin),
        "id=1&enabled=false",
    ),
    ("/sfn/webhooks/rotate", Some(Role::Admin), "id=1"),
    ("/sfn/webhooks/delete", Some(Role::Admin), "id=1"),
    ("/sfn/webhooks/test", Some(Role::Admin), "id=1"),
    ("/sfn/webhooks/deliveries", Some(Role::Admin), "id=1"),
    (
        "/sfn/webhooks/redeliver",
        Some(Role::Admin),
        "id=1&event_id=evt_x",
    ),
    ("/sfn/campaigns/list", Some(Role::Manager), ""),
    ("/sfn/campaigns/create", Some(Role::Manager), CAMPAIGN),
    (
        "/sfn/campaigns/update",
        Some(Role::Manager),
        r#"{"id":1,"input":{"name":"intruder","keyword":"intruder","starts_on":"2026-01-01","ends_on":"2026-01-02","milestones":[{"goal":1,"reward_kind":"store","reward_name":"x"}]}}"#,
    ),
    ("/sfn/campaigns/board", Some(Role::Manager), "id=1"),
    ("/sfn/campaigns/stop", Some(Role::Manager), "id=1"),
    ("/sfn/campaigns/redeem", Some(Role::Staff), "id=1"),
    ("/sfn/campaigns/release", Some(Role::Manager), "id=1"),
];

/// A valid campaign (named `intruder`: none may be made by a refused call).
const CAMPAIGN: &str = r#"{"input":{"name":"intruder","keyword":"intruder","starts_on":"2026-01-01","ends_on":"2026-01-02","milestones":[{"goal":1,"reward_kind":"store","reward_name":"x"}]}}"#;

async fn call(
    app: &crate::common::TestApp,
    path: &str,
    body: &str,
    cookie: Option<&str>,
    origin: Option<&str>,
) -> (reqwest::StatusCode, Value) {
    let mut req = app
        .client
        .post(app.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body.to_owned());
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[sqlx::test(migrations = "../migrations")]
async fn every_server_function_checks_the_session_the_role_and_the_origin(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let registered: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    assert!(registered.len() >= SERVER_FNS.len(), "{registered:?}");
    for path in &registered {
        assert!(
            SERVER_FNS.iter().any(|(p, _, _)| p == path),
            "server function {path} is not classified in SERVER_FNS"
        );
    }
    let staff = crate::skeleton::signed_in(&pool, Role::Staff).await;
    let admin = crate::skeleton::signed_in(&pool, Role::Admin).await;
    for (path, role, body) in SERVER_FNS {
        assert!(
            registered.iter().any(|p| p == path),
            "{path} is not registered"
        );
        let Some(role) = role else { continue };
        let (status, err) = call(&app, path, body, None, None).await;
        assert_eq!(
            (status.as_u16(), err["code"].as_str()),
            (401, Some("unauthorized")),
            "{path} without a session: {err}"
        );
        let (status, err) = call(&app, path, body, Some(&staff), None).await;
        if role > Role::Staff {
            assert_eq!(
                (status.as_u16(), err["code"].as_str()),
                (403, Some("forbidden")),
                "{path} as staff: {err}"
            );
        } else {
            assert!(
                !matches!(err["code"].as_str(), Some("unauthorized" | "forbidden")),
                "{path} as staff should be allowed: {err}"
            );
        }
        let (status, err) =
            call(&app, path, body, Some(&admin), Some("https://evil.example")).await;
        assert_eq!(
            (status.as_u16(), err["code"].as_str()),
            (403, Some("cross_site")),
            "{path} from another site: {err}"
        );
    }
    // Nothing the refused calls asked for happened.
    let intruders: i64 =
        sqlx::query_scalar("select count(*) from app_user where username = 'intruder'")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(intruders, 0);
    let accounts: Vec<String> = sqlx::query_scalar("select name from account order by id")
        .fetch_all(&pool)
        .await
        .expect("accounts");
    assert_eq!(accounts, ["默认公众号"], "no account was added or renamed");
    let webhooks: i64 = sqlx::query_scalar("select count(*) from webhook_endpoint")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(webhooks, 0, "no webhook was added");
    let campaigns: i64 = sqlx::query_scalar("select count(*) from campaign")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(campaigns, 0, "no campaign was added");
}

/// A hand-made server-function call whose arguments cannot be read is the caller's mistake:
/// 400 with the reason, never a 5xx, and nothing happens.
#[sqlx::test(migrations = "../migrations")]
async fn undecodable_server_function_arguments_answer_400(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = crate::skeleton::signed_in(&pool, Role::Admin).await;
    let mut checked = 0;
    for (path, _, body) in SERVER_FNS {
        if body.is_empty() {
            continue;
        }
        // Missing arguments, and arguments of the wrong type or shape.
        let wrong = body
            .replace("id=1", "id=one")
            .replace("page]=1", "page]=first")
            .replace("archived]=false", "archived]=maybe")
            .replace("role=Admin", "role=Emperor")
            .replace("action=Follow", "action=Dance")
            .replace("kind]=permanent", "kind]=forever")
            .replace("period]=all", "period][x]=all")
            .replace("keywords[0]=x", "keywords=x");
        let mut bodies = vec![""];
        if wrong != body {
            bodies.push(&wrong);
        }
        for bad in bodies {
            let (status, err) = call(&app, path, bad, Some(&admin), None).await;
            assert_eq!(
                (status.as_u16(), err["code"].as_str()),
                (400, Some("bad_request")),
                "{path} with {bad:?}: {err}"
            );
            assert!(
                err["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("could not be read")),
                "{err}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} calls checked");
    for sql in [
        "select count(*) from referrer",
        "select count(*) from qr_code",
        "select count(*) from api_token",
    ] {
        let n: i64 = sqlx::query_scalar(sql)
            .fetch_one(&pool)
            .await
            .expect("count");
        assert_eq!(n, 0, "{sql}");
    }
    let users: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(users, 1, "only the signed-in admin");
}
