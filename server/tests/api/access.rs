//! Every `/api/v1` route, found in the OpenAPI document, refuses calls without a token and
//! manager-only routes refuse the staff role.

use serde_json::Value;
use sqlx::PgPool;
use tuijian::referral::roles::Role;
use tuijian::referral::tokens;

use crate::common::spawn_app;

/// Routes that need more than the staff role.
const MANAGER_ROUTES: [&str; 4] = [
    "/leaderboard",
    "/leaderboard.csv",
    "/stats",
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
