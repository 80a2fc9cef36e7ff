//! The walking skeleton: health, the server-rendered dashboard, server functions, the embedded
//! database.

use sqlx::PgPool;

use tuijian::referral::roles::Role;
use tuijian::referral::users;

use crate::common::spawn_app;

/// A `Cookie` header value of a fresh session of a new user with `role`.
pub async fn signed_in(pool: &PgPool, role: Role) -> String {
    let name = format!("user-{role}");
    users::create_user(pool, 1, &name, "password-123", role)
        .await
        .expect("user");
    let (_, cookie) = users::login(pool, 1, &name, "password-123")
        .await
        .expect("login");
    format!("tj_session={cookie}")
}

#[sqlx::test(migrations = "../migrations")]
async fn pages_redirect_to_login_without_a_session(pool: PgPool) {
    let app = spawn_app(pool).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    for path in ["/", "/referrers", "/leaderboard", "/referrers/1"] {
        let resp = client.get(app.url(path)).send().await.expect("request");
        assert_eq!(resp.status(), 303, "{path}");
        assert_eq!(resp.headers()["location"], "/login");
    }
    let login = client.get(app.url("/login")).send().await.expect("request");
    assert_eq!(login.status(), 200);
    let html = login.text().await.expect("body");
    assert!(html.contains("登录") && html.contains("/pkg/tuijian.js"));
}

#[sqlx::test(migrations = "../migrations")]
async fn healthz_is_ok_while_the_database_answers(pool: PgPool) {
    let app = spawn_app(pool).await;
    let resp = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["status"], "ok");
}

#[sqlx::test(migrations = "../migrations")]
async fn healthz_is_503_when_the_database_is_gone(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    pool.close().await;
    let resp = app
        .client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["database"], "unreachable");
}

#[sqlx::test(migrations = "../migrations")]
async fn dashboard_is_server_rendered_in_chinese_with_hydration_scripts(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let cookie = signed_in(&pool, Role::Admin).await;
    let resp = app
        .client
        .get(app.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().contains_key("x-request-id"));
    let html = resp.text().await.expect("body");
    assert!(html.contains(r#"<html lang="zh-CN">"#));
    for label in ["推荐人", "二维码", "排行榜", "统计", "设置"] {
        assert!(html.contains(label), "navigation lacks {label}");
    }
    assert!(html.contains("/pkg/tuijian.js"), "no hydration script");
    assert!(html.contains("/pkg/tuijian.css"), "no stylesheet");
    // The status resource is resolved on the server: sandbox mode, database OK.
    assert!(html.contains("沙盒模式"), "sandbox mode not shown");
    assert!(html.contains("正常"), "database state not shown");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_lang_cookie_renders_english(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let cookie = signed_in(&pool, Role::Staff).await;
    let html = app
        .client
        .get(app.url("/referrers"))
        .header("cookie", format!("lang=en; {cookie}"))
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    assert!(html.contains(">Referrers<"));
    assert!(html.contains("New referrer"));
}

#[sqlx::test(migrations = "../migrations")]
async fn status_server_function_reports_sandbox_mode(pool: PgPool) {
    let app = spawn_app(pool).await;
    let resp = app
        .client
        .post(app.url("/sfn/status"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["mode"], "Sandbox");
    assert_eq!(body["database_ok"], true);
}

#[sqlx::test(migrations = "../migrations")]
async fn unknown_pages_are_404(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let cookie = signed_in(&pool, Role::Staff).await;
    let resp = app
        .client
        .get(app.url("/no-such-page"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await.expect("body").contains("页面不存在"));
}

#[sqlx::test(migrations = "../migrations")]
async fn migrations_create_the_default_account(pool: PgPool) {
    let n: i64 = sqlx::query_scalar("select count(*) from account")
        .fetch_one(&pool)
        .await
        .expect("query");
    assert_eq!(n, 1);
}

/// The embedded cluster is created once, keeps its data across a stop and start, and its
/// database is the one the server uses.
#[tokio::test]
async fn embedded_database_keeps_data_across_restarts() {
    use tuijian::db::embedded::Embedded;
    let dir = std::env::temp_dir().join(format!("tuijian-embedded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let first = Embedded::start(&dir).await.expect("first start");
    let pool = PgPool::connect_with(first.connect_options())
        .await
        .expect("connect");
    sqlx::query("create table kept (v text)")
        .execute(&pool)
        .await
        .expect("create");
    sqlx::query("insert into kept values ('推荐')")
        .execute(&pool)
        .await
        .expect("insert");
    pool.close().await;
    first.stop().await;

    let second = Embedded::start(&dir).await.expect("second start");
    let pool = PgPool::connect_with(second.connect_options())
        .await
        .expect("reconnect");
    let v: String = sqlx::query_scalar("select v from kept")
        .fetch_one(&pool)
        .await
        .expect("data survived");
    assert_eq!(v, "推荐");
    pool.close().await;
    second.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// The page's HTML for a signed-in user.
pub(crate) async fn page_html(
    app: &crate::common::TestApp,
    cookie: &str,
    path: &str,
) -> (u16, String) {
    let resp = app
        .client
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("body"))
}

#[sqlx::test(migrations = "../migrations")]
async fn the_referrer_list_renders_its_search_sort_and_page_on_the_server(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let cookie = signed_in(&pool, Role::Staff).await;
    for i in 0..23 {
        let input = app::model::NewReferrer {
            name: format!("{}{i:02}", if i % 2 == 0 { "b陈列" } else { "a周转" }),
            ..Default::default()
        };
        tuijian::referral::referrers::create(
            &pool,
            &tuijian::referral::actor::Actor::cli(1),
            &input,
        )
        .await
        .expect("referrer");
    }
    let links = |html: &str| html.matches(r#"data-testid="referrer-link""#).count();

    // The search is applied by the server and kept in the form.
    let (status, html) = page_html(&app, &cookie, "/referrers?q=a%E5%91%A8%E8%BD%AC05").await;
    assert_eq!(status, 200);
    assert_eq!(links(&html), 1, "one referrer matches a周转05");
    assert!(html.contains(">a周转05<"));
    assert!(
        html.contains(r#"value="a周转05""#),
        "the search box keeps the query"
    );
    // The rows are plain server HTML: only the form and the filter are islands.
    let islands = html.matches("<leptos-island").count();
    assert!(islands >= 2, "the create form and the filter hydrate");
    let list = html
        .split(r#"data-live="referrers""#)
        .nth(1)
        .expect("list region");
    assert!(
        !list.contains("<leptos-island"),
        "the list is not an island"
    );

    // Sorting by name, 20 to a page; the pager links keep the sort.
    let (_, first) = page_html(&app, &cookie, "/referrers?sort=name").await;
    assert_eq!(links(&first), 20);
    assert!(first.contains(">a周转01<") && !first.contains(">b陈列22<"));
    assert!(first.contains(r#"href="/referrers?sort=name&amp;page=2""#));
    assert!(first.contains(r#"<option value="name" selected"#));
    let (_, second) = page_html(&app, &cookie, "/referrers?sort=name&page=2").await;
    assert_eq!(links(&second), 3, "23 referrers: 3 on the second page");
    assert!(second.contains(">b陈列22<"));
    assert!(second.contains(">2 / 2<"));

    // A page past the end says so and links back to the first.
    let (_, past) = page_html(&app, &cookie, "/referrers?sort=name&page=9").await;
    assert_eq!(links(&past), 0);
    assert!(past.contains(r#"href="/referrers?sort=name&amp;page=1""#));

    // An unknown sort is refused with the reason, as the REST API refuses it (one parser).
    let (status, refused) = page_html(&app, &cookie, "/referrers?sort=nope").await;
    assert_eq!(status, 422);
    assert!(refused.contains("sort must be newest, oldest or name"));

    // Nothing matches: the empty state, not an empty table.
    let (_, none) = page_html(&app, &cookie, "/referrers?q=nobody").await;
    assert_eq!(links(&none), 0);
    assert!(none.contains(r#"data-testid="referrers-empty""#));
}

#[sqlx::test(migrations = "../migrations")]
async fn a_page_the_role_may_not_read_answers_403_with_the_reason(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let cookie = signed_in(&pool, Role::Staff).await;
    let (status, html) = page_html(&app, &cookie, "/leaderboard?period=week").await;
    assert_eq!(status, 403);
    assert!(html.contains(r#"role="alert""#));
    assert!(html.contains("无权"));
    let (status, _) = page_html(&app, &cookie, "/referrers").await;
    assert_eq!(status, 200);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_leaderboard_page_reads_a_custom_period_from_the_address(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let cookie = signed_in(&pool, Role::Manager).await;
    let (status, html) = page_html(
        &app,
        &cookie,
        "/leaderboard?period=custom&from=2026-01-05&to=2026-02-10&metric=net",
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains(r#"<option value="custom" selected"#));
    assert!(html.contains(r#"<option value="net" selected"#));
    assert!(html.contains(r#"value="2026-01-05""#) && html.contains(r#"value="2026-02-10""#));
    assert!(
        html.contains("/api/v1/leaderboard.csv?period=custom&amp;from=2026-01-05&amp;to=2026-02-10&amp;metric=net"),
        "the export link carries the period"
    );
    assert!(html.contains(r#"data-testid="leaderboard-empty""#));

    // Dates are ignored for the presets; a custom period without them is refused with the reason.
    let (status, html) = page_html(&app, &cookie, "/leaderboard?period=week&from=2026-01-05").await;
    assert_eq!(status, 200);
    assert!(html.contains("/api/v1/leaderboard.csv?period=week&amp;metric=follows"));
    let (status, html) = page_html(&app, &cookie, "/leaderboard?period=custom&to=2026-02-10").await;
    assert_eq!(status, 422);
    assert!(html.contains("自定义时段须填写开始日期 / from is required for a custom period"));
}
