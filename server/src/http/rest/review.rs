//! `/api/v1/review` and `/api/v1/referrals/{id}/void|restore`: abuse review for integrators
//! (managers' tokens; the thresholds need an admin's).

use app::review::{AbuseThresholds, ReviewItem};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::http::rest::ApiQuery;
use crate::http::rest::error::{ApiError, ErrorBody};
use crate::http::rest::{ApiJson, Id};
use crate::referral::abuse;
use crate::referral::actor::Actor;
use crate::startup::AppState;

/// Query of the review queue.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct QueueParams {
    /// `open` (default: waiting for review), `confirmed`, `voided` or `all`.
    status: Option<String>,
    /// Only items with this flag: `self_scan`, `quick_unfollow`, `cycles`, `burst`,
    /// `expired_code` or `scene_mismatch`.
    kind: Option<String>,
    /// 1-based page number (50 items a page).
    page: Option<i64>,
}

/// A page of the review queue.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ReviewPage {
    items: Vec<ReviewItem>,
    total: i64,
    page: i64,
    per_page: i64,
}

/// Why a referral is voided or restored.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// Required, at most 200 characters; kept in the audit log.
    reason: String,
}

/// Which item is confirmed.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Confirmation {
    /// `referral` or `scan`.
    subject: String,
    id: i64,
}

/// The flagged referrals and scans, with their evidence (the account's new events are swept
/// first).
#[utoipa::path(get, path = "/review", tag = "review", params(QueueParams),
    responses((status = 200, body = ReviewPage), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_review(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<QueueParams>,
) -> Result<Json<ReviewPage>, ApiError> {
    let data = abuse::queue(
        &state.pool,
        &actor,
        p.status.as_deref(),
        p.kind.as_deref(),
        p.page,
    )
    .await?;
    Ok(Json(ReviewPage {
        items: data.items.items,
        total: data.items.total,
        page: data.items.page,
        per_page: data.items.per_page,
    }))
}

/// Confirms an item: its open flags close and a referral keeps counting.
#[utoipa::path(post, path = "/review/confirm", tag = "review", request_body = Confirmation,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn confirm_item(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(c): ApiJson<Confirmation>,
) -> Result<StatusCode, ApiError> {
    let subject = abuse::subject(&c.subject, c.id)?;
    abuse::confirm(&state.pool, &actor, subject).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Voids a referral: it stays recorded but leaves every leaderboard and stat.
#[utoipa::path(post, path = "/referrals/{id}/void", tag = "review",
    params(("id" = i64, Path)), request_body = Decision,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn void_referral(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(d): ApiJson<Decision>,
) -> Result<StatusCode, ApiError> {
    abuse::void(&state.pool, &actor, id, &d.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Restores a voided referral: it counts again.
#[utoipa::path(post, path = "/referrals/{id}/restore", tag = "review",
    params(("id" = i64, Path)), request_body = Decision,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn restore_referral(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(d): ApiJson<Decision>,
) -> Result<StatusCode, ApiError> {
    abuse::restore(&state.pool, &actor, id, &d.reason).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// When the flags are raised.
#[utoipa::path(get, path = "/review/thresholds", tag = "review",
    responses((status = 200, body = AbuseThresholds), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_thresholds(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<AbuseThresholds>, ApiError> {
    Ok(Json(abuse::thresholds(&state.pool, &actor).await?))
}

/// Changes when the flags are raised (admins).
#[utoipa::path(put, path = "/review/thresholds", tag = "review", request_body = AbuseThresholds,
    responses((status = 200, body = AbuseThresholds), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_thresholds(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(t): ApiJson<AbuseThresholds>,
) -> Result<Json<AbuseThresholds>, ApiError> {
    abuse::set_thresholds(&state.pool, &actor, &t).await?;
    Ok(Json(abuse::thresholds(&state.pool, &actor).await?))
}
