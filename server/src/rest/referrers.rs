//! `/api/v1/referrers`.

use app::model::{NewReferrer, Page, Referrer, ReferrerPatch};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use crate::db::referrers::{ReferrerQuery, ReferrerSort};
use crate::referral::referrers;
use crate::referral::roles::Role;
use crate::rest::ApiJson;
use crate::rest::auth::Caller;
use crate::rest::error::{ApiError, ErrorBody};
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
    responses((status = 200, body = ReferrerPage), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_referrers(
    State(state): State<AppState>,
    caller: Caller,
    Query(p): Query<ListParams>,
) -> Result<Json<Page<Referrer>>, ApiError> {
    caller.require(Role::Staff)?;
    let sort = match p.sort.as_deref() {
        None => ReferrerSort::default(),
        Some(s) => ReferrerSort::parse(s)
            .ok_or_else(|| ApiError::bad_request("sort must be newest, oldest or name"))?,
    };
    let query = ReferrerQuery {
        q: p.q,
        page: p.page.unwrap_or(1),
        per_page: p.per_page.unwrap_or(20),
        sort,
        include_archived: p.archived.unwrap_or(false),
    };
    Ok(Json(
        referrers::list(&state.pool, caller.account_id, &query).await?,
    ))
}

#[utoipa::path(post, path = "/referrers", tag = "referrers",
    request_body = NewReferrer,
    responses((status = 201, body = Referrer), (status = 422, body = ErrorBody),
              (status = 409, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_referrer(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<NewReferrer>,
) -> Result<(StatusCode, Json<Referrer>), ApiError> {
    caller.require(Role::Staff)?;
    let r = referrers::create(&state.pool, caller.account_id, &caller.actor, &input).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[utoipa::path(get, path = "/referrers/{id}", tag = "referrers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Referrer), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_referrer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Referrer>, ApiError> {
    caller.require(Role::Staff)?;
    Ok(Json(
        referrers::get(&state.pool, caller.account_id, id).await?,
    ))
}

#[utoipa::path(patch, path = "/referrers/{id}", tag = "referrers",
    params(("id" = i64, Path)), request_body = ReferrerPatch,
    responses((status = 200, body = Referrer), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_referrer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
    ApiJson(patch): ApiJson<ReferrerPatch>,
) -> Result<Json<Referrer>, ApiError> {
    caller.require(Role::Staff)?;
    let r = referrers::update(&state.pool, caller.account_id, &caller.actor, id, &patch).await?;
    Ok(Json(r))
}

/// Archives the referrer (history and codes are kept).
#[utoipa::path(delete, path = "/referrers/{id}", tag = "referrers",
    params(("id" = i64, Path)),
    responses((status = 200, body = Referrer), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn archive_referrer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<i64>,
) -> Result<Json<Referrer>, ApiError> {
    caller.require(Role::Staff)?;
    let r = referrers::archive(&state.pool, caller.account_id, &caller.actor, id).await?;
    Ok(Json(r))
}
