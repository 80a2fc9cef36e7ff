//! `GET /m`: the way into a member's personal page from inside WeChat (a menu item of type
//! VIEW, or any link), without the signed link: WeChat web authorization with `snsapi_base`
//! tells us the visitor's openid without a prompt, and we send them to their own page.
//!
//! `GET /m` → WeChat's authorize page (a random `state` is kept in a short-lived HttpOnly cookie)
//! → `GET /m/oauth/callback?code&state` → `sns/oauth2/access_token` gives the openid → 303 to
//! `/m/<key>` of the member bound to it. In sandbox mode the simulator plays the authorize page.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::referral::members;
use crate::startup::AppState;
use crate::wechat::api::WechatApi;
use crate::wechat::client::oauth_authorize_url;

/// Holds the `state` of an authorization in progress.
pub const STATE_COOKIE: &str = "tj_oauth_state";
/// WeChat's web authorization page.
pub const WECHAT_AUTHORIZE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";

/// WeChat's authorize page, or the simulator's for a sandbox account.
/// Cookies are `Secure` when followers reach the server over HTTPS.
fn secure(state: &AppState) -> bool {
    state.public_url.starts_with("https://")
}

fn authorize_base(state: &AppState, sandbox: bool) -> String {
    if sandbox {
        format!("{}/sandbox/oauth2/authorize", state.public_url)
    } else {
        WECHAT_AUTHORIZE.to_owned()
    }
}

/// `GET /m`: starts web authorization for the first account.
pub async fn start(State(state): State<AppState>) -> Response {
    let redirect = format!("{}/m/oauth/callback", state.public_url);
    authorize(
        &state,
        &state.wechat,
        state.settings.wechat.is_sandbox(),
        &redirect,
    )
}

/// `GET /m/a/{account}`: starts web authorization for one account (its menu's VIEW item).
pub async fn start_for_account(
    State(state): State<AppState>,
    Path(account): Path<i64>,
) -> Response {
    match state.accounts.get(account).await {
        Ok(a) => {
            let redirect = format!("{}/m/oauth/callback/{account}", state.public_url);
            let sandbox = a.mode == crate::accounts::Mode::Sandbox;
            authorize(&state, &a.api, sandbox, &redirect)
        }
        Err(e) => unknown_account(e),
    }
}

fn unknown_account(e: crate::accounts::AccountError) -> Response {
    tracing::warn!(error = %e, "member web authorization for an unusable account");
    message(
        StatusCode::NOT_FOUND,
        "链接无效",
        "请回到公众号，重新打开「我的推广码」页面。",
    )
}

/// Sends the visitor to the authorize page of the account `api` belongs to.
fn authorize(state: &AppState, api: &WechatApi, sandbox: bool, redirect: &str) -> Response {
    let nonce = members::new_token();
    let url = oauth_authorize_url(
        &authorize_base(state, sandbox),
        api.appid(),
        redirect,
        "snsapi_base",
        &nonce,
    );
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, url),
            (
                header::SET_COOKIE,
                app::api::set_cookie(STATE_COOKIE, &nonce, "/m", 600, secure(state)),
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

/// `GET /m/oauth/callback`: WeChat sends the visitor back with a one-time `code` (the first
/// account).
pub async fn finish(
    State(state): State<AppState>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    let (api, account) = (state.wechat.clone(), state.account_id);
    come_back(&state, &api, account, q, &headers).await
}

/// `GET /m/oauth/callback/{account}`: the same for one account.
pub async fn finish_for_account(
    State(state): State<AppState>,
    Path(account): Path<i64>,
    Query(q): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Response {
    match state.accounts.api(account).await {
        Ok(api) => come_back(&state, &api, account, q, &headers).await,
        Err(e) => unknown_account(e),
    }
}

/// The member bound to the visitor's openid in `account`, from the authorization `code`.
async fn come_back(
    state: &AppState,
    api: &WechatApi,
    account: i64,
    q: CallbackQuery,
    headers: &HeaderMap,
) -> Response {
    let expected = cookie(headers, STATE_COOKIE).unwrap_or_default();
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
    let openid = match api.oauth_openid(&code).await {
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
        Ok(mut conn) => crate::db::members::by_openid(&mut conn, account, &openid).await,
        Err(e) => Err(e),
    };
    match found {
        Ok(Some(member)) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, format!("/m/{}", member.token)),
                (
                    header::SET_COOKIE,
                    app::api::set_cookie(STATE_COOKIE, "", "/m", 0, secure(state)),
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

/// `/m/{token}/campaigns/{id}/poster.png`: a member's campaign poster (the page's key is the
/// credential).
pub async fn poster(
    State(state): State<AppState>,
    Path((token, campaign_id)): Path<(String, i64)>,
) -> Response {
    match state.members().poster_for_page(&token, campaign_id).await {
        Ok(png) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            png,
        )
            .into_response(),
        Err(e) => {
            let e = app::model::AppError::from(e);
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, e.message).into_response()
        }
    }
}
