//! Bearer-token authentication for `/api/v1`.

use app::model::CurrentUser;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::http::rest::error::ApiError;
use crate::referral::actor::Actor;
use crate::referral::{tokens, users};
use crate::startup::AppState;

/// The account a route names (`/api/v1/accounts/{account}/…`); None on the unscoped paths.
fn path_account(params: &RawPathParams) -> Result<Option<i64>, ApiError> {
    match params.iter().find(|(k, _)| *k == "account") {
        None => Ok(None),
        Some((_, raw)) => raw.parse::<i64>().map(Some).map_err(|_| no_such_account()),
    }
}

fn no_such_account() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "没有这个公众号 / No such account",
    )
}

/// The caller of a REST request, from its bearer token (or, for reading, the dashboard's
/// session cookie), in the account the path names. An unscoped path (`/api/v1/…`) means the
/// first account for a token and the account a dashboard session is open in. A token works
/// in its own account only. The services check the role.
impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|_| no_such_account())?;
        let account = path_account(&params)?;
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = bearer else {
            return dashboard_session(parts, state, account).await;
        };
        let (row, role) = tokens::authenticate(&state.pool, token)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        if row.account_id != account.unwrap_or(state.account_id) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "此令牌属于另一个公众号 / This token belongs to another account",
            ));
        }
        Ok(Actor::token(row.account_id, role, &row.name))
    }
}

/// The dashboard's session cookie also opens the API for reading (downloads, CSV); changes
/// through the API need a bearer token, so a cross-site form can never change anything.
async fn dashboard_session(
    parts: &Parts,
    state: &AppState,
    account: Option<i64>,
) -> Result<Actor, ApiError> {
    if parts.method != axum::http::Method::GET {
        return Err(ApiError::unauthorized());
    }
    let cookie = parts
        .headers
        .get(axum::http::header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(users::cookie_value)
        .ok_or_else(ApiError::unauthorized)?;
    let user = users::session_user(&state.pool, cookie)
        .await?
        .ok_or_else(ApiError::unauthorized)?;
    let Some(account) = account.filter(|a| *a != user.account_id) else {
        return Ok(Actor::user(&user));
    };
    // Another account the user works in: their role there.
    let role = users::roles_of(&state.pool, user.id)
        .await?
        .into_iter()
        .find(|(a, _)| *a == account)
        .map(|(_, role)| role)
        .ok_or_else(no_such_account)?;
    Ok(Actor::user(&CurrentUser {
        account_id: account,
        role,
        ..user
    }))
}
