//! The simulated WeChat web authorization: an authorize page where one picks the simulated user
//! who "opens the link in WeChat", and `sns/oauth2/access_token` turning the one-time code into
//! that user's openid (codes live 5 minutes and work once, as WeChat's).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;

use crate::db::sandbox as store;
use crate::sandbox::SANDBOX_SECRET;
use crate::sandbox::api::err;
use crate::sandbox::simulate::openid_for;
use crate::startup::AppState;

#[derive(Debug, Deserialize)]
pub struct AuthorizeQuery {
    appid: Option<String>,
    redirect_uri: Option<String>,
    response_type: Option<String>,
    scope: Option<String>,
    state: Option<String>,
    /// Chosen on the simulated page: who is opening the link.
    user: Option<String>,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>模拟微信网页授权</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:480px;margin:2rem auto;padding:0 1rem\">\
         {body}</body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        html,
    )
        .into_response()
}

/// The simulated account with this AppID (each sandbox account is its own Official Account).
async fn sandbox_account(state: &AppState, appid: Option<&str>) -> Option<i64> {
    let appid = appid?;
    match crate::db::accounts::by_appid(&state.pool, appid).await {
        Ok(Some(a)) if a.mode == "sandbox" => Some(a.id),
        _ => None,
    }
}

/// `GET /sandbox/oauth2/authorize`: WeChat's authorize page, played by the simulator.
pub async fn authorize(State(state): State<AppState>, Query(q): Query<AuthorizeQuery>) -> Response {
    let Some(account) = sandbox_account(&state, q.appid.as_deref()).await else {
        return page(StatusCode::BAD_REQUEST, "<h1>appid 参数错误</h1>");
    };
    let appid = q.appid.clone().unwrap_or_default();
    let scope = q.scope.as_deref().unwrap_or_default();
    if q.response_type.as_deref() != Some("code")
        || !matches!(scope, "snsapi_base" | "snsapi_userinfo")
    {
        return page(
            StatusCode::BAD_REQUEST,
            "<h1>scope 参数错误或没有 scope 权限</h1>",
        );
    }
    let Some(redirect) = q
        .redirect_uri
        .as_deref()
        .and_then(|r| reqwest::Url::parse(r).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
    else {
        return page(StatusCode::BAD_REQUEST, "<h1>redirect_uri 参数错误</h1>");
    };
    let state_param = q.state.clone().unwrap_or_default();
    let Some(user) = q.user.as_deref().filter(|u| !u.is_empty()) else {
        // Who opens the link? Pick a simulated user (as WeChat knows who is signed in).
        let users = store::users(&state.pool, account).await.unwrap_or_default();
        let hidden = [
            ("appid", appid.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("response_type", "code"),
            ("scope", scope),
            ("state", state_param.as_str()),
        ]
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                escape(v)
            )
        })
        .collect::<String>();
        let options = users
            .iter()
            .map(|u| format!("<option value=\"{}\">", escape(&u.name)))
            .collect::<String>();
        let body = format!(
            "<h1>模拟微信网页授权</h1><p>沙盒模式：选择在微信里打开此链接的模拟用户。</p>\
             <form method=\"get\">{hidden}\
             <label for=\"user\">模拟用户</label> \
             <input id=\"user\" name=\"user\" list=\"users\" data-testid=\"oauth-user\" required> \
             <datalist id=\"users\">{options}</datalist> \
             <button type=\"submit\" data-testid=\"oauth-allow\">确认</button></form>"
        );
        return page(StatusCode::OK, &body);
    };
    let Ok(openid) = openid_for(user) else {
        return page(StatusCode::BAD_REQUEST, "<h1>用户名无效</h1>");
    };
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    let code = URL_SAFE_NO_PAD.encode(bytes);
    if store::insert_oauth_code(&state.pool, account, &code, &openid, scope)
        .await
        .is_err()
    {
        return page(StatusCode::SERVICE_UNAVAILABLE, "<h1>系统繁忙</h1>");
    }
    let mut back = redirect;
    back.query_pairs_mut()
        .append_pair("code", &code)
        .append_pair("state", &state_param);
    (StatusCode::FOUND, [(header::LOCATION, back.to_string())]).into_response()
}

#[derive(Debug, Deserialize)]
pub struct AccessTokenQuery {
    appid: Option<String>,
    secret: Option<String>,
    code: Option<String>,
    grant_type: Option<String>,
}

/// `GET /sns/oauth2/access_token`: a one-time code → the user's openid.
pub async fn access_token(
    State(state): State<AppState>,
    Query(q): Query<AccessTokenQuery>,
) -> Response {
    let Some(account) = sandbox_account(&state, q.appid.as_deref()).await else {
        return err(40013, "invalid appid");
    };
    if q.secret.as_deref() != Some(SANDBOX_SECRET) {
        return err(40125, "invalid appsecret");
    }
    if q.grant_type.as_deref() != Some("authorization_code") {
        return err(40002, "invalid grant_type");
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return err(41008, "missing code");
    };
    // Codes we hand out are short base64url strings; anything else cannot be one.
    if code.len() > 64
        || !code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return err(40029, "invalid code");
    }
    match store::take_oauth_code(&state.pool, account, &code).await {
        Ok(Some(taken)) if taken.already_used => err(40163, "code been used"),
        Ok(Some(taken)) if taken.expired => err(40029, "invalid code"),
        Ok(Some(taken)) => {
            let mut bytes = [0u8; 32];
            rand::rng().fill_bytes(&mut bytes);
            Json(json!({
                "access_token": URL_SAFE_NO_PAD.encode(&bytes[..16]),
                "expires_in": 7200,
                "refresh_token": URL_SAFE_NO_PAD.encode(&bytes[16..]),
                "openid": taken.openid,
                "scope": taken.scope,
                "is_snapshotuser": 0,
            }))
            .into_response()
        }
        Ok(None) => err(40029, "invalid code"),
        Err(_) => err(-1, "system error"),
    }
}
