//! WeChat's API for the callback cells: canned answers at once. In production the follow-up
//! calls (`user/info`, notifications) are served on WeChat's machines; the server's built-in
//! sandbox would put that side of every call on this machine's cores too and measure it as
//! ours. The outbox worker still claims, calls and settles every job over HTTP.

use std::collections::HashMap;

use axum::extract::Query;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

/// Serves the stand-in on a free local port; returns its base URL (the `WECHAT_API_BASE`).
pub async fn spawn() -> anyhow::Result<String> {
    let token =
        || async { Json(json!({"access_token": "bench-access-token", "expires_in": 7200})) };
    let ok = || async { Json(json!({"errcode": 0, "errmsg": "ok"})) };
    let app = Router::new()
        .route("/cgi-bin/stable_token", post(token))
        .route("/cgi-bin/token", get(token))
        .route("/cgi-bin/user/info", get(user_info))
        .route("/cgi-bin/user/info/batchget", post(user_info_batch))
        .route("/cgi-bin/message/custom/send", post(ok))
        .route("/cgi-bin/message/template/send", post(ok));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}"))
}

async fn user_info(Query(q): Query<HashMap<String, String>>) -> Json<Value> {
    Json(info(q.get("openid").map_or("", String::as_str)))
}

async fn user_info_batch(Json(body): Json<Value>) -> Json<Value> {
    let list: Vec<Value> = body["user_list"]
        .as_array()
        .map(|users| {
            users
                .iter()
                .map(|u| info(u["openid"].as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    Json(json!({ "user_info_list": list }))
}

fn info(openid: &str) -> Value {
    json!({
        "subscribe": 1,
        "openid": openid,
        "subscribe_time": chrono::Utc::now().timestamp(),
        "subscribe_scene": "ADD_SCENE_QR_CODE",
        "qr_scene": 0,
        "qr_scene_str": "",
    })
}
