//! `/api/v1/webhooks` (admin tokens): endpoints, secret rotation, test events, the delivery
//! log and redelivery. The bodies the endpoints receive are the `WebhookEventBody` schema and
//! the `…Data` schemas of the document.

use app::webhooks::{
    QueuedEvent, WebhookDelivery, WebhookEndpoint, WebhookInput, WebhookWithSecret,
};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use crate::http::rest::error::{ApiError, ErrorBody};
use crate::http::rest::{ApiJson, Id};
use crate::referral::actor::Actor;
use crate::referral::webhooks;
use crate::startup::AppState;

#[utoipa::path(get, path = "/webhooks", tag = "webhooks",
    responses((status = 200, body = Vec<WebhookEndpoint>), (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    actor: Actor,
) -> Result<Json<Vec<WebhookEndpoint>>, ApiError> {
    Ok(Json(webhooks::list(&state.pool, &actor).await?))
}

#[utoipa::path(post, path = "/webhooks", tag = "webhooks", request_body = WebhookInput,
    responses((status = 201, body = WebhookWithSecret,
               description = "the endpoint and its secret, shown this once"),
              (status = 409, body = ErrorBody, description = "`webhook_limit`: 10 per account"),
              (status = 422, body = ErrorBody,
               description = "bad URL, no or unknown events, or a non-public address")),
    security(("bearer" = [])))]
pub async fn create_webhook(
    State(state): State<AppState>,
    actor: Actor,
    ApiJson(input): ApiJson<WebhookInput>,
) -> Result<(StatusCode, Json<WebhookWithSecret>), ApiError> {
    let created = webhooks::create(&state.pool, &actor, &input).await?;
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_webhook(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(webhooks::get(&state.pool, &actor, id).await?))
}

#[utoipa::path(put, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    request_body = WebhookInput,
    responses((status = 200, body = WebhookEndpoint), (status = 404, body = ErrorBody),
              (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn update_webhook(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<WebhookInput>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(
        webhooks::update(&state.pool, &actor, id, &input).await?,
    ))
}

#[utoipa::path(delete, path = "/webhooks/{id}", tag = "webhooks", params(("id" = i64, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<StatusCode, ApiError> {
    webhooks::delete(&state.pool, &actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whether the endpoint takes deliveries.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EnabledInput {
    pub enabled: bool,
}

#[utoipa::path(post, path = "/webhooks/{id}/enabled", tag = "webhooks",
    params(("id" = i64, Path)), request_body = EnabledInput,
    responses((status = 200, body = WebhookEndpoint,
               description = "enabling clears the failure count"),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn set_webhook_enabled(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<EnabledInput>,
) -> Result<Json<WebhookEndpoint>, ApiError> {
    Ok(Json(
        webhooks::set_enabled(&state.pool, &actor, id, input.enabled).await?,
    ))
}

#[utoipa::path(post, path = "/webhooks/{id}/rotate", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 200, body = WebhookWithSecret,
               description = "the new secret, shown this once; the previous one signs too for 24 hours"),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn rotate_webhook_secret(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<WebhookWithSecret>, ApiError> {
    Ok(Json(webhooks::rotate(&state.pool, &actor, id).await?))
}

#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 202, body = QueuedEvent, description = "a `webhook.test` event is queued"),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`webhook_disabled`")),
    security(("bearer" = [])))]
pub async fn test_webhook(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<(StatusCode, Json<QueuedEvent>), ApiError> {
    let queued = webhooks::send_test(&state.pool, &actor, id).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}

#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<WebhookDelivery>,
               description = "the latest 100 attempts, newest first"),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_webhook_deliveries(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Vec<WebhookDelivery>>, ApiError> {
    Ok(Json(webhooks::deliveries(&state.pool, &actor, id).await?))
}

/// Which event to deliver again.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RedeliverInput {
    /// An event of the endpoint's delivery log (`evt_…`).
    pub event_id: String,
}

#[utoipa::path(post, path = "/webhooks/{id}/redeliver", tag = "webhooks",
    params(("id" = i64, Path)), request_body = RedeliverInput,
    responses((status = 202, body = QueuedEvent, description = "queued again, with the same event id"),
              (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "`webhook_disabled`")),
    security(("bearer" = [])))]
pub async fn redeliver_webhook_event(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<RedeliverInput>,
) -> Result<(StatusCode, Json<QueuedEvent>), ApiError> {
    let queued = webhooks::redeliver(&state.pool, &actor, id, &input.event_id).await?;
    Ok((StatusCode::ACCEPTED, Json(queued)))
}
