//! `/api/v1/referrers/{id}/qrcodes`, `/api/v1/qrcodes/{id}` and their images.

use app::model::{NewQrCode, QrCode};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::http::rest::ApiQuery;
use crate::http::rest::error::{ApiError, ErrorBody};
use crate::http::rest::{ApiJson, Id};
use crate::referral::actor::Actor;
use crate::referral::qrcodes::{self, Quota};
use crate::startup::AppState;

#[utoipa::path(post, path = "/referrers/{id}/qrcodes", tag = "qrcodes",
    params(("id" = i64, Path)), request_body = NewQrCode,
    responses((status = 201, body = QrCode), (status = 404, body = ErrorBody),
              (status = 409, body = ErrorBody, description = "archived referrer or quota used up"),
              (status = 422, body = ErrorBody), (status = 502, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_qrcode(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiJson(input): ApiJson<NewQrCode>,
) -> Result<(StatusCode, Json<QrCode>), ApiError> {
    let code = qrcodes::create(&state.pool, &state.accounts, &actor, id, &input).await?;
    Ok((StatusCode::CREATED, Json(code)))
}

#[utoipa::path(get, path = "/referrers/{id}/qrcodes", tag = "qrcodes",
    params(("id" = i64, Path)),
    responses((status = 200, body = Vec<QrCode>), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_qrcodes(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<Vec<QrCode>>, ApiError> {
    Ok(Json(qrcodes::of_referrer(&state.pool, &actor, id).await?))
}

#[utoipa::path(get, path = "/qrcodes/{id}", tag = "qrcodes",
    params(("id" = i64, Path)),
    responses((status = 200, body = QrCode), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_qrcode(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Json<QrCode>, ApiError> {
    Ok(Json(qrcodes::get(&state.pool, &actor, id).await?))
}

/// Image size.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct ImageParams {
    /// Width in pixels (PNG only; 128–2048, default 512).
    size: Option<u32>,
}

#[utoipa::path(get, path = "/qrcodes/{id}/image.png", tag = "qrcodes",
    params(("id" = i64, Path), ImageParams),
    responses((status = 200, content_type = "image/png", body = Vec<u8>),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn qrcode_png(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiQuery(p): ApiQuery<ImageParams>,
) -> Result<Response, ApiError> {
    let png = qrcodes::png(&state.pool, &actor, id, p.size).await?;
    Ok(image_response(
        "image/png",
        png,
        &format!("qrcode-{id}.png"),
    ))
}

#[utoipa::path(get, path = "/qrcodes/{id}/image.svg", tag = "qrcodes",
    params(("id" = i64, Path)),
    responses((status = 200, content_type = "image/svg+xml", body = String),
              (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn qrcode_svg(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
) -> Result<Response, ApiError> {
    let svg = qrcodes::svg(&state.pool, &actor, id).await?;
    Ok(image_response(
        "image/svg+xml",
        svg.into_bytes(),
        &format!("qrcode-{id}.svg"),
    ))
}

#[utoipa::path(get, path = "/qrcodes/quota", tag = "qrcodes",
    responses((status = 200, body = Quota)),
    security(("bearer" = [])))]
pub async fn quota(State(state): State<AppState>, actor: Actor) -> Result<Json<Quota>, ApiError> {
    Ok(Json(qrcodes::quota(&state.pool, &actor).await?))
}

fn image_response(content_type: &'static str, body: Vec<u8>, filename: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{filename}\""),
            ),
        ],
        body,
    )
        .into_response()
}
