//! `/api/v1/referrers`.

use app::model::{NewReferrer, Page, Referrer, ReferrerPatch};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::http::rest::ApiQuery;
use crate::http::rest::error::{ApiError, ErrorBody};
use crate::http::rest::{ApiJson, Id};
use crate::referral::actor::Actor;
use crate::referral::referrers::{self, ListInput};
use crate::startup::AppState;

/// Query of the referrer list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ListParams {
    /// Search in name, phone, note and tags.
    q: Option<String>,
    /// 1-based page number.
    page: Option<i64>,
    /// Items per page (1–200, default 20).
    per_page: Option<i64>,
    /// `newest` (default), `oldest` or `name`.
    sort: Option<String>,
    /// Include archived referrers.
    archived: Option<bool>,
}

/// A page of referrers (OpenAPI shape of `Page<Referrer>`).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ReferrerPage {
    items: Vec<Referrer>,
    total: i64,
    page: i64,
    per_page: i64,
}

#[utoipa::path(get, path = "/referrers", tag = "referrers",
    params(ListParams),
    responses((status = 200, body = ReferrerPage), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_referrers(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<Page<Referrer>>, ApiError> {
    let input = ListInput {
        q: p.q,
        page: p.page,
        per_page: p.per_page,
        sort: p.sort,
        archived: p.archived.unwrap_or(false),
    };
    Ok(Json(referrers::list(&state.pool, &actor, &input).await?))
}

#[utoipa::path(post, path = "/referrers", tag = "referrers",
    request_body = NewReferrer,
    responses((status = 201, body = Referrer), (status = 422, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_referrer(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<NewReferrer>,
) -> Result<(StatusCode, Json<Referrer>), ApiError> {
    let r = referrers::create(&state.pool, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/referrers/{id}", tag = "referrers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Referrer), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_referrer(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Referrer>, ApiError> {
    Ok(Json(referrers::get(&state.pool, &actor, id).await?))
}

#[utoipa::path(patch, path = "/referrers/{id}", tag = "referrers",
    params(("id" = i64, Path)), request_body = ReferrerPatch,
    responses((status = 200, body = Referrer), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_referrer(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(patch): ApiJson<ReferrerPatch>,
) -> Result<Json<Referrer>, ApiError> {
    let r = referrers::update(&state.pool, &actor, id, &patch).await?;
    Ok(Json(r))
}

/// Archives the referrer (history and codes are kept).
#[utoipa::path(delete, path = "/referrers/{id}", tag = "referrers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Referrer), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn archive_referrer(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Referrer>, ApiError> {
    let r = referrers::archive(&state.pool, &actor, id).await?;
    Ok(Json(r))
}

/// Restores an archived referrer: it is listed again and can get new codes (restoring one
/// that is not archived changes nothing).
#[utoipa::path(post, path = "/referrers/{id}/restore", tag = "referrers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Referrer), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn restore_referrer(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Referrer>, ApiError> {
    let r = referrers::restore(&state.pool, &actor, id).await?;
    Ok(Json(r))
}
