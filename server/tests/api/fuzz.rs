//! A schema-driven fuzzer of the REST API: it reads the OpenAPI document from a live server
//! seeded with data and calls every operation, with inputs made from the document (valid
//! ones, and broken ones: no token, a staff token, unknown and malformed ids, mistyped query
//! parameters, missing, malformed and mistyped bodies). Every answer must be a status the
//! operation documents, never a 5xx, and a JSON success must match its documented schema.

use std::collections::BTreeSet;

use app::model::Role;
use reqwest::Method;
use serde_json::{Map, Value, json};
use sqlx::PgPool;
use tuijian::sandbox::simulate;

use crate::common::{TestApp, referrer_with_code, settle_jobs, spawn_app};

/// The document's schema at `$ref` (or the schema itself).
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/")
            .map(|p| p.split('/').fold(doc, |v, k| &v[k]))
            .map_or(schema, |s| resolve(doc, s)),
        None => schema,
    }
}

/// The first type a schema allows that is not `null`.
fn type_of(schema: &Value) -> Option<&str> {
    match &schema["type"] {
        Value::String(t) => Some(t.as_str()),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    }
}

/// A value the schema accepts (as far as a schema can say: names get sensible values).
fn sample(doc: &Value, schema: &Value, name: &str, ids: &Ids) -> Value {
    if let Some(v) = known(name, ids) {
        return v;
    }
    let schema = resolve(doc, schema);
    if let Some(first) = schema["oneOf"]
        .as_array()
        .or_else(|| schema["anyOf"].as_array())
        .and_then(|a| {
            a.iter().find(|s| {
                type_of(resolve(doc, s)) != Some("null") && resolve(doc, s)["type"] != "null"
            })
        })
    {
        return sample(doc, first, name, ids);
    }
    if let Some(all) = schema["allOf"].as_array() {
        return all
            .first()
            .map_or(Value::Null, |s| sample(doc, s, name, ids));
    }
    if let Some(e) = schema["enum"].as_array().and_then(|e| e.first()) {
        return e.clone();
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    match type_of(schema) {
        Some("integer") => json!(schema["minimum"].as_i64().unwrap_or(1).max(1)),
        Some("number") => json!(1.0),
        Some("boolean") => json!(false),
        Some("array") => json!([]),
        Some("string") => match schema["format"].as_str() {
            Some("date") => json!("2026-12-01"),
            Some("date-time") => json!("2026-12-01T00:00:00Z"),
            _ => json!("fuzz"),
        },
        Some("object") | None => {
            let mut out = Map::new();
            let required: BTreeSet<&str> = schema["required"]
                .as_array()
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = schema["properties"].as_object() {
                for (k, s) in props {
                    if required.contains(k.as_str()) {
                        out.insert(k.clone(), sample(doc, s, k, ids));
                    }
                }
            }
            Value::Object(out)
        }
        Some(_) => Value::Null,
    }
}

/// The seeded rows the calls name.
struct Ids {
    referrer: i64,
    code: i64,
    referral: i64,
}

/// Values for parameters and fields whose meaning the schema does not carry.
fn known(name: &str, ids: &Ids) -> Option<Value> {
    Some(match name {
        "period" => json!("month"),
        "metric" => json!("follows"),
        "from" => json!("2026-11-01"),
        "to" => json!("2026-11-30"),
        "ids" => json!(ids.code.to_string()),
        "format" => json!("png"),
        "status" => json!("open"),
        "sort" => json!("newest"),
        "name" => json!("模糊测试"),
        "reason" => json!("fuzz"),
        "subject" => json!("referral"),
        _ => return None,
    })
}

/// What `{id}` means in a path.
fn id_for(path: &str, ids: &Ids) -> i64 {
    if path.starts_with("/qrcodes/") {
        ids.code
    } else if path.starts_with("/referrals/") {
        ids.referral
    } else {
        ids.referrer
    }
}

/// One call: what it is, the request's parts.
struct Case {
    what: String,
    path: String,
    query: Vec<(String, String)>,
    token: Option<String>,
    body: Option<Body>,
}

enum Body {
    Json(Value),
    Raw(&'static str, &'static str),
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[allow(clippy::too_many_lines)]
fn cases(doc: &Value, path: &str, op: &Value, ids: &Ids, admin: &str, staff: &str) -> Vec<Case> {
    let params: Vec<&Value> = op["parameters"]
        .as_array()
        .map(|p| p.iter().map(|p| resolve(doc, p)).collect())
        .unwrap_or_default();
    let query: Vec<(String, String)> = params
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == true)
        .map(|p| {
            let name = p["name"].as_str().unwrap_or_default();
            (
                name.to_owned(),
                text_of(&sample(doc, &p["schema"], name, ids)),
            )
        })
        .collect();
    let concrete = path.replace("{id}", &id_for(path, ids).to_string());
    let body_schema = op["requestBody"]["content"]["application/json"]["schema"].clone();
    let body = (!body_schema.is_null()).then(|| Body::Json(sample(doc, &body_schema, "", ids)));
    let secured = op.get("security").is_some();
    let base = |what: &str, path: &str, token: Option<&str>, body: Option<Body>| Case {
        what: what.to_owned(),
        path: path.to_owned(),
        query: query.clone(),
        token: token.map(str::to_owned),
        body,
    };
    let json_body =
        || (!body_schema.is_null()).then(|| Body::Json(sample(doc, &body_schema, "", ids)));
    let mut out = vec![
        base("valid", &concrete, Some(admin), body),
        base("as staff", &concrete, Some(staff), json_body()),
    ];
    if secured {
        out.push(base("no token", &concrete, None, json_body()));
        out.push(base(
            "bad token",
            &concrete,
            Some("not-a-token"),
            json_body(),
        ));
    }
    if path.contains("{id}") {
        out.push(base(
            "unknown id",
            &path.replace("{id}", "999999999"),
            Some(admin),
            json_body(),
        ));
        out.push(base(
            "malformed id",
            &path.replace("{id}", "abc"),
            Some(admin),
            json_body(),
        ));
    }
    for p in params.iter().filter(|p| p["in"] == "query") {
        let name = p["name"].as_str().unwrap_or_default();
        for (label, bad) in [("mistyped", "%%%not-a-value"), ("empty", "")] {
            let mut c = base(
                &format!("{label} {name}"),
                &concrete,
                Some(admin),
                json_body(),
            );
            c.query.retain(|(k, _)| k != name);
            c.query.push((name.to_owned(), bad.to_owned()));
            out.push(c);
        }
        let schema = resolve(doc, &p["schema"]);
        if type_of(schema) == Some("integer") {
            let mut c = base(&format!("huge {name}"), &concrete, Some(admin), json_body());
            c.query.retain(|(k, _)| k != name);
            c.query
                .push((name.to_owned(), "99999999999999999999".into()));
            out.push(c);
        }
    }
    if !body_schema.is_null() {
        out.push(base(
            "empty object",
            &concrete,
            Some(admin),
            Some(Body::Json(json!({}))),
        ));
        out.push(base(
            "array body",
            &concrete,
            Some(admin),
            Some(Body::Json(json!([1, 2]))),
        ));
        out.push(base(
            "mistyped fields",
            &concrete,
            Some(admin),
            Some(Body::Json(mistyped(doc, &body_schema))),
        ));
        out.push(base(
            "malformed json",
            &concrete,
            Some(admin),
            Some(Body::Raw("application/json", "{\"name\": ")),
        ));
        out.push(base(
            "form body",
            &concrete,
            Some(admin),
            Some(Body::Raw("application/x-www-form-urlencoded", "name=x")),
        ));
    }
    out
}

/// The body with every field of the wrong type (strings for numbers and the other way).
fn mistyped(doc: &Value, schema: &Value) -> Value {
    let schema = resolve(doc, schema);
    let mut out = Map::new();
    if let Some(props) = schema["properties"].as_object() {
        for (k, s) in props {
            let wrong = match type_of(resolve(doc, s)) {
                Some("string") => json!(12345),
                Some("array") => json!("not a list"),
                Some("boolean") => json!("yes"),
                _ => json!("not a number"),
            };
            out.insert(k.clone(), wrong);
        }
    }
    Value::Object(out)
}

async fn send(app: &TestApp, method: &Method, c: &Case) -> (u16, String, Value) {
    let mut req = app
        .client
        .request(method.clone(), app.url(&format!("/api/v1{}", c.path)))
        .query(&c.query);
    if let Some(t) = &c.token {
        req = req.bearer_auth(t);
    }
    req = match &c.body {
        Some(Body::Json(v)) => req.json(v),
        Some(Body::Raw(ct, text)) => req.header("content-type", *ct).body(*text),
        None => req,
    };
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = if ct.starts_with("application/json") {
        resp.json().await.unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    (status, ct, body)
}

/// Checks `body` against the response schema of `status` (when it is JSON).
fn schema_problem(doc: &Value, op: &Value, status: u16, ct: &str, body: &Value) -> Option<String> {
    if !ct.starts_with("application/json") {
        return None;
    }
    let schema =
        op["responses"][status.to_string()]["content"]["application/json"]["schema"].clone();
    if schema.is_null() {
        return None;
    }
    // The document's components travel with the schema, so its `$ref`s resolve.
    let mut root = json!({ "components": doc["components"].clone() });
    if let (Value::Object(r), Value::Object(s)) = (&mut root, schema) {
        for (k, v) in s {
            r.insert(k, v);
        }
    }
    let validator = match jsonschema::validator_for(&root) {
        Ok(v) => v,
        Err(e) => return Some(format!("the documented schema does not compile: {e}")),
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .take(3)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

#[sqlx::test(migrations = "../migrations")]
async fn the_fuzzer_finds_no_undocumented_status_no_schema_mismatch_and_no_5xx(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    // Seed: a referrer with a code, a follower credited through it (flagged: they left at
    // once), a second code.
    let (referrer, code) = referrer_with_code(&app, "模糊").await;
    let sim = app.state.sim();
    simulate::scan(&sim, code, "fuzzed").await.expect("scan");
    simulate::scan(&sim, code, "gone").await.expect("scan");
    simulate::unfollow(&sim, "gone").await.expect("unfollow");
    settle_jobs(&pool).await;
    let referral: i64 = sqlx::query_scalar("select min(id) from referral")
        .fetch_one(&pool)
        .await
        .expect("referral");
    let ids = Ids {
        referrer,
        code,
        referral,
    };
    let mint = |role| {
        let pool = pool.clone();
        async move {
            tuijian::referral::tokens::mint(&pool, 1, &format!("fuzz-{role}"), role)
                .await
                .expect("mint")
        }
    };
    let (admin, staff) = (mint(Role::Admin).await, mint(Role::Staff).await);
    let doc: Value = app
        .client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .expect("openapi")
        .json()
        .await
        .expect("json");

    // Every operation, the broken calls first and the valid ones after, archiving last.
    let mut ops: Vec<(String, Method, Value)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (name, method) in [
            ("get", Method::GET),
            ("post", Method::POST),
            ("put", Method::PUT),
            ("patch", Method::PATCH),
            ("delete", Method::DELETE),
        ] {
            if let Some(op) = item.get(name) {
                ops.push((path.clone(), method, op.clone()));
            }
        }
    }
    ops.sort_by_key(|(_, m, _)| *m == Method::DELETE);
    assert!(ops.len() >= 20, "{} operations", ops.len());
    let mut problems = Vec::new();
    let mut calls = 0;
    for valid_pass in [false, true] {
        for (path, method, op) in &ops {
            let documented: BTreeSet<String> = op["responses"]
                .as_object()
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default();
            for case in cases(&doc, path, op, &ids, &admin, &staff) {
                if (case.what == "valid") != valid_pass {
                    continue;
                }
                calls += 1;
                let (status, ct, body) = send(&app, method, &case).await;
                let label = format!("{method} {path} ({}): {status}", case.what);
                if status >= 500 {
                    problems.push(format!("{label} — a server error: {body}"));
                } else if !documented.contains(&status.to_string())
                    && !documented.contains("default")
                {
                    problems.push(format!("{label} — not documented ({documented:?}): {body}"));
                } else if let Some(p) = schema_problem(&doc, op, status, &ct, &body) {
                    problems.push(format!("{label} — does not match its schema: {p}"));
                }
            }
        }
    }
    assert!(calls > 150, "{calls} calls");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
