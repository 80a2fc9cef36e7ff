//! Bearer-token authentication for `/api/v1`.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use crate::referral::roles::Role;
use crate::referral::{tokens, users};
use crate::rest::error::ApiError;
use crate::startup::AppState;

/// The authenticated caller of a REST request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: i64,
    pub role: Role,
    /// For the audit log: `token:<name>`.
    pub actor: String,
}

impl Caller {
    /// Refuses the call unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::forbidden(needed.as_str()))
        }
    }
}

impl FromRequestParts<AppState> for Caller {
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
        Ok(Caller {
            account_id: row.account_id,
            role,
            actor: format!("token:{}", row.name),
        })
    }
}

/// The dashboard's session cookie also opens the API for reading (downloads, CSV); changes
/// through the API need a bearer token, so a cross-site form can never change anything.
async fn dashboard_session(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
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
    Ok(Caller {
        account_id: user.account_id,
        role: user.role,
        actor: format!("user:{}", user.username),
    })
}
