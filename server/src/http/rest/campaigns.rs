//! `/api/v1/campaigns` (manager tokens): fission campaigns, their poster background and
//! preview, coupon stock, board, rewards export; `/api/v1/campaign-rewards/{id}/…` to confirm
//! in-store rewards (staff) and release rewards held for review (manager).

use app::campaigns::{Campaign, CampaignBoard, CampaignInput, Reward};
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::http::rest::error::{ApiError, ErrorBody};
use crate::http::rest::{ApiJson, ApiQuery, Id};
use crate::referral::actor::Actor;
use crate::referral::campaigns;
use crate::startup::AppState;

#[utoipa::path(get, path = "/campaigns", tag = "campaigns",
    responses((status = 200, body = Vec<Campaign>)),
    security(("bearer" = [])))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<Campaign>>, ApiError> {
    Ok(Json(campaigns::list(&state.pool, &actor).await?))
}

#[utoipa::path(post, path = "/campaigns", tag = "campaigns", request_body = CampaignInput,
    responses((status = 201, body = Campaign),
              (status = 422, body = ErrorBody, description = "invalid fields, or a keyword in use")),
    security(("bearer" = [])))]
pub async fn create_campaign(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<CampaignInput>,
) -> Result<(StatusCode, Json<Campaign>), ApiError> {
    let created = campaigns::create(&state.pool, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_campaign(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(campaigns::get(&state.pool, &actor, id).await?))
}

#[utoipa::path(put, path = "/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    request_body = CampaignInput,
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody,
               description = "`campaign_rewarded`: milestones cannot change once rewards are out")),
    security(("bearer" = [])))]
pub async fn update_campaign(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<CampaignInput>,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(
        campaigns::update(&state.pool, &actor, id, &input).await?,
    ))
}

#[utoipa::path(post, path = "/campaigns/{id}/stop", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`campaign_ended`")),
    security(("bearer" = [])))]
pub async fn stop_campaign(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Campaign>, ApiError> {
    Ok(Json(campaigns::stop(&state.pool, &actor, id).await?))
}

/// The body's content type must be one of `allowed`.
fn content_type(headers: &HeaderMap, allowed: &[&str]) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if allowed.contains(&essence.as_str()) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        format!("the body must be {}", allowed.join(" or ")),
    ))
}

#[utoipa::path(put, path = "/campaigns/{id}/background", tag = "campaigns",
    params(("id" = i64, Path)),
    request_body(content = Vec<u8>, content_type = "image/png",
                 description = "a PNG or JPEG (`image/jpeg`), at most 4 MiB and 2400 px a side"),
    responses((status = 200, body = Campaign), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody,
               description = "not an image, too large, or the layout does not fit it")),
    security(("bearer" = [])))]
pub async fn set_background(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Campaign>, ApiError> {
    content_type(&headers, &["image/png", "image/jpeg"])?;
    Ok(Json(
        campaigns::set_background(&state.pool, &actor, id, &body).await?,
    ))
}

#[utoipa::path(get, path = "/campaigns/{id}/background", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/png", body = Vec<u8>,
               description = "the uploaded background as uploaded (PNG or JPEG)"),
              (status = 404, body = ErrorBody, description = "no such campaign, or none uploaded")),
    security(("bearer" = [])))]
pub async fn get_background(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let bytes = campaigns::background(&state.pool, &actor, id).await?;
    let content_type = if bytes.starts_with(&[0x89, b'P', b'N', b'G']) {
        "image/png"
    } else {
        "image/jpeg"
    };
    Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response())
}

#[utoipa::path(get, path = "/campaigns/{id}/poster-preview.png", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/png", body = Vec<u8>,
               description = "the poster as a member named 小王 gets it (a sample code)"),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn poster_preview(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let png = campaigns::preview(&state.pool, &actor, id).await?;
    Ok(([(header::CONTENT_TYPE, "image/png")], png).into_response())
}

/// Which milestone the coupons are for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct CouponParams {
    /// The milestone's id (its reward must be a coupon).
    milestone: i64,
}

/// What an upload added.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CouponsAdded {
    /// New codes in the stock.
    pub added: u64,
    /// Codes the stock had already (skipped).
    pub duplicates: u64,
}

#[utoipa::path(post, path = "/campaigns/{id}/coupons", tag = "campaigns",
    params(("id" = i64, Path), CouponParams),
    request_body(content = String, content_type = "text/csv",
                 description = "one code per row in the first column; a `code` header row is skipped"),
    responses((status = 200, body = CouponsAdded), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody,
               description = "malformed CSV, no codes, or the milestone's reward is not a coupon")),
    security(("bearer" = [])))]
pub async fn add_coupons(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiQuery(p): ApiQuery<CouponParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<CouponsAdded>, ApiError> {
    content_type(&headers, &["text/csv", "text/plain"])?;
    let text = std::str::from_utf8(&body).map_err(|_| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "the CSV must be UTF-8",
        )
    })?;
    let (added, duplicates) =
        campaigns::add_coupons(&state.pool, &actor, id, p.milestone, text).await?;
    Ok(Json(CouponsAdded { added, duplicates }))
}

#[utoipa::path(get, path = "/campaigns/{id}/board", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = CampaignBoard), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn campaign_board(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<CampaignBoard>, ApiError> {
    Ok(Json(campaigns::board(&state.pool, &actor, id).await?))
}

#[utoipa::path(get, path = "/campaigns/{id}/rewards.csv", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "text/csv", body = String,
               description = "every reward: member, goal, reward, status, code, times (Beijing)"),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_rewards(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Response, ApiError> {
    use crate::http::rest::exports::{Cell, csv_stream};
    let rewards = campaigns::all_rewards(&state.pool, &actor, id).await?;
    let header = [
        "reward_id",
        "referrer_id",
        "member",
        "goal",
        "reward",
        "kind",
        "status",
        "code",
        "earned_at",
        "redeemed_at",
    ];
    let rows = futures_util::stream::iter(rewards.into_iter().map(Ok));
    Ok(csv_stream(
        &format!("campaign-{id}-rewards.csv"),
        &header,
        rows,
        |r: &Reward, enc| {
            enc.row(&[
                Cell::Int(r.id),
                Cell::Int(r.referrer_id),
                Cell::Text(&r.member),
                Cell::Int(i64::from(r.goal)),
                Cell::Text(&r.reward_name),
                Cell::Text(r.reward_kind.as_str()),
                Cell::Text(&r.status),
                Cell::Text(r.code.as_deref().unwrap_or("")),
                Cell::Text(&r.created_at),
                Cell::Text(r.redeemed_at.as_deref().unwrap_or("")),
            ]);
        },
    ))
}

#[utoipa::path(post, path = "/campaign-rewards/{id}/redeem", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = Reward), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody,
               description = "`not_redeemable`: only an issued in-store reward")),
    security(("bearer" = [])))]
pub async fn redeem_reward(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Reward>, ApiError> {
    Ok(Json(campaigns::redeem(&state.pool, &actor, id).await?))
}

#[utoipa::path(post, path = "/campaign-rewards/{id}/release", tag = "campaigns",
    params(("id" = i64, Path)),
    responses((status = 200, body = Reward), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`not_held`")),
    security(("bearer" = [])))]
pub async fn release_reward(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Reward>, ApiError> {
    Ok(Json(campaigns::release(&state.pool, &actor, id).await?))
}
