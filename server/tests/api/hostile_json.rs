//! Hostile input on the REST API: generated JSON (huge numbers, long and odd strings, deep
//! nesting, wrong types), raw bytes that are not UTF-8 and random query strings. Never a 5xx,
//! never a panic, and a refused request changes nothing.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use tuijian::referral::roles::Role;
use tuijian::referral::tokens;

use crate::common::{TestApp, spawn_app};

const KEYS: [&str; 9] = [
    "name",
    "phone",
    "note",
    "openid",
    "tags",
    "kind",
    "expire_seconds",
    "label",
    "x",
];

fn odd_string() -> impl Strategy<Value = String> {
    prop_oneof![
        ".{0,40}",
        "[\\x00-\\x1f<>&\"'{}]{0,20}",
        Just("a".repeat(70_000)),
        Just("推".repeat(65)),
        Just("\u{202e}\u{200b}\u{feff}".to_owned()),
        Just("permanent".to_owned()),
        Just("temporary".to_owned()),
    ]
}

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        Just(json!(u64::MAX)),
        Just(json!(1e308)),
        Just(json!(-0.0)),
        Just(json!(59)),
        Just(json!(2_592_001)),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        odd_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS.to_vec()), inner), 0..6).prop_map(
                |pairs| {
                    let map: Map<String, Value> =
                        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                    Value::Object(map)
                }
            ),
        ]
    })
}

/// What a refused request must leave untouched.
async fn footprint(pool: &PgPool) -> (i64, i64, i64) {
    sqlx::query_as(
        "select (select count(*) from referrer), (select count(*) from qr_code),
                (select count(*) from audit_log)",
    )
    .fetch_one(pool)
    .await
    .expect("counts")
}

async fn send(
    app: &TestApp,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Vec<u8>,
) -> reqwest::StatusCode {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("request")
        .status()
}

#[sqlx::test(migrations = "../migrations")]
async fn hostile_json_never_errors_and_refusals_change_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let token = tokens::mint(&pool, 1, "fuzz", Role::Admin)
        .await
        .expect("token");
    let existing = send(
        &app,
        &token,
        reqwest::Method::POST,
        "/api/v1/referrers",
        br#"{"name":"fuzz target"}"#.to_vec(),
    )
    .await;
    assert_eq!(existing, reqwest::StatusCode::CREATED);

    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    let bodies = prop_oneof![
        4 => json_value().prop_map(|v| serde_json::to_vec(&v).expect("json")),
        1 => prop::collection::vec(any::<u8>(), 0..300),
        1 => Just(vec![0xff, 0xfe, b'{', b'"', 0xc3, 0x28, b'"', b'}']),
    ];
    let queries = prop::collection::vec(
        (
            prop::sample::select(vec![
                "q", "page", "per_page", "sort", "archived", "period", "from", "to", "metric",
            ]),
            prop_oneof![
                Just("99999999999999999999".to_owned()),
                Just("-1".to_owned()),
                Just("%FF%FE".to_owned()),
                Just("a%00b".to_owned()),
                "[a-z0-9%]{0,12}",
            ],
        ),
        0..4,
    );
    let targets = [
        (reqwest::Method::POST, "/api/v1/referrers"),
        (reqwest::Method::PATCH, "/api/v1/referrers/1"),
        (reqwest::Method::POST, "/api/v1/referrers/1/qrcodes"),
        (reqwest::Method::PATCH, "/api/v1/referrers/99999999999"),
    ];
    let mut refused = 0;
    for case in 0..64 {
        let body = bodies.new_tree(&mut runner).expect("generate").current();
        let (method, path) = &targets[case % targets.len()];
        let before = footprint(&pool).await;
        let status = send(&app, &token, method.clone(), path, body.clone()).await;
        assert!(
            !status.is_server_error(),
            "{method} {path} answered {status} for {}",
            String::from_utf8_lossy(&body)
        );
        if status.is_client_error() {
            refused += 1;
            assert_eq!(
                footprint(&pool).await,
                before,
                "a refused {method} {path} changed something: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let query = queries.new_tree(&mut runner).expect("generate").current();
        let query = query
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        for path in ["/api/v1/referrers", "/api/v1/leaderboard", "/api/v1/stats"] {
            let status = app
                .client
                .get(app.url(&format!("{path}?{query}")))
                .bearer_auth(&token)
                .send()
                .await
                .expect("request")
                .status();
            assert!(
                !status.is_server_error(),
                "GET {path}?{query} answered {status}"
            );
        }
    }
    assert!(
        refused > 32,
        "most generated bodies are refused ({refused})"
    );
}
