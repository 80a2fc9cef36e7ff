//! `GET /m`: the way into a member's personal page from inside WeChat (a menu item of type
//! VIEW, or any link), without the signed link: WeChat web authorization with `snsapi_base`
//! tells us the visitor's openid without a prompt, and we send them to their own page.
//!
//! `GET /m` → WeChat's authorize page (a random `state` is kept in a short-lived HttpOnly cookie)
//! → `GET /m/oauth/callback?code&state` → `sns/oauth2/access_token` gives the openid → 303 to
//! `/m/<key>` of the member bound to it. In sandbox mode the simulator plays the authorize page.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::referral::members;
use crate::startup::AppState;
use crate::wechat::client::oauth_authorize_url;

/// Holds the `state` of an authorization in progress.
pub const STATE_COOKIE: &str = "tj_oauth_state";
/// WeChat's web authorization page.
pub const WECHAT_AUTHORIZE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";

fn authorize_base(state: &AppState) -> String {
    if state.settings.wechat.is_sandbox() {
        format!("{}/sandbox/oauth2/authorize", state.public_url)
    } else {
        WECHAT_AUTHORIZE.to_owned()
    }
}

/// `GET /m`: starts web authorization.
pub async fn start(State(state): State<AppState>) -> Response {
    let nonce = members::new_token();
    let redirect = format!("{}/m/oauth/callback", state.public_url);
    let url = oauth_authorize_url(
        &authorize_base(&state),
        state.wechat.appid(),
        &redirect,
        "snsapi_base",
        &nonce,
    );
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (
                header::SET_COOKIE,
                format!("{STATE_COOKIE}={nonce}; Path=/m; HttpOnly; SameSite=Lax; Max-Age=600"),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// `GET /m/oauth/callback`: WeChat sends the visitor back with a one-time `code`.
pub async fn finish(
    State(state): State<AppState>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let expected = cookie(&headers, STATE_COOKIE).unwrap_or_default();
    let given = q.state.as_deref().unwrap_or_default();
    let state_ok = !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()));
    if !state_ok {
        return message(
            StatusCode::BAD_REQUEST,
            "链接已过期",
            "请回到公众号，重新打开「我的推广码」页面。",
        );
    }
    let Some(code) = q.code.filter(|c| !c.is_empty() && c.len() <= 128) else {
        return message(
            StatusCode::BAD_REQUEST,
            "需要授权",
            "打开个人页面需要微信确认您的身份。请回到公众号重新打开。",
        );
    };
    let openid = match state.wechat.oauth_openid(&code).await {
        Ok(id) => id.openid,
        Err(e) => {
            tracing::warn!(error = %e, "web authorization failed");
            return message(
                StatusCode::BAD_GATEWAY,
                "微信授权失败",
                "请稍后回到公众号重新打开页面。",
            );
        }
    };
    let found = match state.pool.acquire().await {
        Ok(mut conn) => crate::db::members::by_openid(&mut conn, state.account_id, &openid).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(Some(member)) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, format!("/m/{}", member.token)),
                (
                    header::SET_COOKIE,
                    format!("{STATE_COOKIE}=; Path=/m; HttpOnly; SameSite=Lax; Max-Age=0"),
                ),
            ],
        )
            .into_response(),
        Ok(None) => message(
            StatusCode::OK,
            "还没有推广码",
            "请在公众号里发送「推广码」，即可获得您的专属推广码和个人页面。",
        ),
        Err(e) => {
            tracing::error!(error = %e, "member lookup failed");
            message(
                StatusCode::SERVICE_UNAVAILABLE,
                "暂时无法打开",
                "请稍后重试。",
            )
        }
    }
}

/// A small mobile page with a title and a sentence (both fixed texts of ours).
fn message(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:480px;margin:3rem auto;padding:0 1rem\">\
         <h1 data-testid=\"member-auth-title\">{title}</h1><p>{text}</p></body></html>"
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        html,
    )
        .into_response()
}
