//! Bearer-token authentication for `/api/v1`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::referral::actor::Actor;
use crate::referral::{tokens, users};
use crate::rest::error::ApiError;
use crate::startup::AppState;

/// The caller of a REST request, from its bearer token (or, for reading, the dashboard's
/// session cookie). The services check the role.
impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let Some(token) = bearer else {
            return dashboard_session(parts, state).await;
        };
        let (row, role) = tokens::authenticate(&state.pool, token)
            .await?
            .ok_or_else(ApiError::unauthorized)?;
        Ok(Actor::token(row.account_id, role, &row.name))
    }
}

/// The dashboard's session cookie also opens the API for reading (downloads, CSV); changes
/// through the API need a bearer token, so a cross-site form can never change anything.
async fn dashboard_session(parts: &Parts, state: &AppState) -> Result<Actor, ApiError> {
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
    Ok(Actor::user(&user))
}
