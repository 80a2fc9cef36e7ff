//! `/api/v1/referrers` and API tokens.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tuijian::referral::roles::Role;
use tuijian::referral::tokens;

use crate::common::{TestApp, spawn_app};

async fn token(pool: &PgPool, role: Role) -> String {
    tokens::mint(pool, 1, &format!("test-{role}"), role)
        .await
        .expect("mint token")
}

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, app.url(&format!("/api/v1{path}")));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[sqlx::test(migrations = "../migrations")]
async fn staff_create_read_update_archive_a_referrer(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let t = token(&pool, Role::Staff).await;
    let t = Some(t.as_str());
    let (status, created) = call(
        &app,
        reqwest::Method::POST,
        "/referrers",
        t,
        Some(json!({"name": " 张三 ", "phone": "138 0013 8000", "tags": ["门店A"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["name"], "张三");
    assert_eq!(created["kind"], "staff");
    assert_eq!(created["archived"], false);
    let id = created["id"].as_i64().expect("id");

    let (status, got) = call(
        &app,
        reqwest::Method::GET,
        &format!("/referrers/{id}"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got, created);

    let (status, patched) = call(
        &app,
        reqwest::Method::PATCH,
        &format!("/referrers/{id}"),
        t,
        Some(json!({"note": "金牌销售", "phone": null})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["note"], "金牌销售");
    assert_eq!(patched["phone"], Value::Null);
    assert_eq!(patched["name"], "张三", "absent fields stay");

    let (status, archived) = call(
        &app,
        reqwest::Method::DELETE,
        &format!("/referrers/{id}"),
        t,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(archived["archived"], true);
    let (_, list) = call(&app, reqwest::Method::GET, "/referrers", t, None).await;
    assert_eq!(list["total"], 0, "archived referrers are hidden by default");
    let (_, list) = call(
        &app,
        reqwest::Method::GET,
        "/referrers?archived=true",
        t,
        None,
    )
    .await;
    assert_eq!(list["total"], 1);

    let actions: Vec<String> = sqlx::query_scalar("select action from audit_log order by id")
        .fetch_all(&pool)
        .await
        .expect("audit");
    assert_eq!(
        actions,
        ["referrer.create", "referrer.update", "referrer.archive"]
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn list_searches_sorts_and_pages(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let t = token(&pool, Role::Staff).await;
    let t = Some(t.as_str());
    for name in ["Carol", "alice", "Bob", "张伟", "100%_real"] {
        let (s, _) = call(
            &app,
            reqwest::Method::POST,
            "/referrers",
            t,
            Some(json!({"name": name})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED);
    }
    let (_, page) = call(
        &app,
        reqwest::Method::GET,
        "/referrers?sort=name&per_page=2&page=2",
        t,
        None,
    )
    .await;
    assert_eq!(page["total"], 5);
    let names: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|r| r["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Bob", "Carol"]);
    let (_, found) = call(&app, reqwest::Method::GET, "/referrers?q=ALI", t, None).await;
    assert_eq!(found["total"], 1);
    let (_, literal) = call(&app, reqwest::Method::GET, "/referrers?q=%25_", t, None).await;
    assert_eq!(literal["total"], 1, "% and _ are matched literally");
    // The same rule as the dashboard's list (one parser in the service): a field error.
    let (status, err) = call(&app, reqwest::Method::GET, "/referrers?sort=nope", t, None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "validation_failed");
    assert_eq!(err["error"]["fields"][0]["field"], "sort");
}

#[sqlx::test(migrations = "../migrations")]
async fn invalid_input_is_refused_with_field_errors_and_changes_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let raw_token = token(&pool, Role::Staff).await;
    let t = Some(raw_token.as_str());
    let (status, err) = call(
        &app,
        reqwest::Method::POST,
        "/referrers",
        t,
        Some(json!({"name": "", "phone": "abc"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(err["error"]["code"], "validation_failed");
    let fields: Vec<&str> = err["error"]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .map(|f| f["field"].as_str().expect("field"))
        .collect();
    assert_eq!(fields, ["name", "phone"]);

    let raw = app
        .client
        .post(app.url("/api/v1/referrers"))
        .bearer_auth(&raw_token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("request");
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: Value = raw.json().await.expect("json error body");
    assert_eq!(body["error"]["code"], "bad_request");

    let (status, _) = call(
        &app,
        reqwest::Method::POST,
        "/referrers",
        t,
        Some(json!({"name": 12})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = call(&app, reqwest::Method::GET, "/referrers/999", t, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let n: i64 = sqlx::query_scalar("select count(*) from referrer")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(n, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_bound_openid_belongs_to_one_referrer(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let t = token(&pool, Role::Staff).await;
    let t = Some(t.as_str());
    let body = json!({"name": "甲", "openid": "o_same"});
    let (s1, _) = call(
        &app,
        reqwest::Method::POST,
        "/referrers",
        t,
        Some(body.clone()),
    )
    .await;
    let (s2, err) = call(&app, reqwest::Method::POST, "/referrers", t, Some(body)).await;
    assert_eq!((s1, s2), (StatusCode::CREATED, StatusCode::CONFLICT));
    assert_eq!(err["error"]["code"], "openid_taken");
}

#[sqlx::test(migrations = "../migrations")]
async fn calls_without_a_valid_token_are_refused(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let revoked = token(&pool, Role::Admin).await;
    sqlx::query("update api_token set revoked_at = now()")
        .execute(&pool)
        .await
        .expect("revoke");
    for bad in [
        None,
        Some("tj_nonsense"),
        Some("Basic abc"),
        Some(revoked.as_str()),
    ] {
        for (method, path) in [
            (reqwest::Method::GET, "/referrers"),
            (reqwest::Method::POST, "/referrers"),
            (reqwest::Method::GET, "/referrers/1"),
            (reqwest::Method::PATCH, "/referrers/1"),
            (reqwest::Method::DELETE, "/referrers/1"),
        ] {
            let (status, body) =
                call(&app, method.clone(), path, bad, Some(json!({"name": "x"}))).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {bad:?}"
            );
            assert_eq!(body["error"]["code"], "unauthorized");
        }
    }
    let n: i64 = sqlx::query_scalar("select count(*) from referrer")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(n, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn openapi_document_lists_the_routes(pool: PgPool) {
    let app = spawn_app(pool).await;
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    assert!(doc["paths"]["/referrers"]["post"].is_object());
    assert!(doc["paths"]["/referrers/{id}"]["patch"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // The typed kinds are listed schemas of plain strings (no dangling `$ref`).
    let schemas = &doc["components"]["schemas"];
    for (name, values) in [
        ("ReferrerKind", ["staff", "member"]),
        ("CodeKind", ["permanent", "temporary"]),
    ] {
        assert_eq!(schemas[name]["type"], "string", "{name}");
        assert_eq!(schemas[name]["enum"], serde_json::json!(values), "{name}");
    }
    assert_eq!(
        schemas["Referrer"]["properties"]["kind"]["$ref"],
        "#/components/schemas/ReferrerKind"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn stored_tokens_are_hashes_only(pool: PgPool) {
    let t = token(&pool, Role::Manager).await;
    assert!(t.starts_with("tj_"));
    let stored: String = sqlx::query_scalar("select token_hash from api_token")
        .fetch_one(&pool)
        .await
        .expect("row");
    assert_ne!(stored, t);
    assert!(!stored.contains(&t[3..]));
    assert_eq!(stored, tokens::hash(&t));
}
