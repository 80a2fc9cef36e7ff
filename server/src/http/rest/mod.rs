//! The REST API under `/api/v1`: JSON, bearer tokens, OpenAPI at `/api/v1/openapi.json`.

pub mod auth;
pub mod error;
pub mod exports;
pub mod qrcodes;
pub mod referrers;
pub mod reports;
pub mod review;
pub mod webhooks;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::routing::get;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::rest::error::ApiError;
use crate::startup::AppState;

#[derive(OpenApi)]
#[openapi(
    info(title = "Tuijian API", description = "Referrers, QR codes, referrals and stats."),
    modifiers(&BearerAuth),
    servers(
        (url = "/api/v1", description = "The first account"),
        (url = "/api/v1/accounts/{account}", description = "Any account, by its id",
         variables(("account" = (default = "1", description = "The account's id"))))
    ),
    tags(
        (name = "referrers", description = "People and channels who bring followers"),
        (name = "qrcodes", description = "Parametric follow QR codes"),
        (name = "reports", description = "Leaderboard, stats and referral exports"),
        (name = "review", description = "Abuse review: flagged referrals, void and restore"),
        (name = "webhooks", description = "Outbound webhooks (admin): endpoints, secrets, \
            deliveries. Each delivery is a POST of a `WebhookEventBody` whose `data` is the \
            `…Data` schema of its `type`, signed in `X-Tuijian-Signature` (see the README).")
    ),
    components(schemas(
        crate::webhooks::payload::WebhookEventBody,
        crate::webhooks::payload::ReferralCreatedData,
        crate::webhooks::payload::ReferralLostData,
        crate::webhooks::payload::ReferralRestoredData,
        crate::webhooks::payload::MemberCodeCreatedData,
        crate::webhooks::payload::NotificationFailedData,
        crate::webhooks::payload::WebhookTestData
    ))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The `/api/v1` router (nest it under `/api/v1`): every route for the first account, and
/// the same routes under `/accounts/{account}` for any account.
pub fn router() -> Router<AppState> {
    let (routes, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(
            referrers::list_referrers,
            referrers::create_referrer
        ))
        .routes(routes!(
            referrers::get_referrer,
            referrers::update_referrer,
            referrers::archive_referrer
        ))
        .routes(routes!(referrers::restore_referrer))
        .routes(routes!(qrcodes::create_qrcode, qrcodes::list_qrcodes))
        .routes(routes!(qrcodes::quota))
        .routes(routes!(qrcodes::get_qrcode))
        .routes(routes!(qrcodes::qrcode_png))
        .routes(routes!(qrcodes::qrcode_svg))
        .routes(routes!(exports::export_qrcodes))
        .routes(routes!(reports::get_leaderboard))
        .routes(routes!(reports::export_leaderboard))
        .routes(routes!(reports::get_stats))
        .routes(routes!(exports::export_stats))
        .routes(routes!(exports::export_daily))
        .routes(routes!(reports::get_referrer_stats))
        .routes(routes!(reports::list_referrals))
        .routes(routes!(reports::export_referrals))
        .routes(routes!(review::list_review))
        .routes(routes!(review::confirm_item))
        .routes(routes!(review::void_referral))
        .routes(routes!(review::restore_referral))
        .routes(routes!(review::get_thresholds, review::set_thresholds))
        .routes(routes!(webhooks::list_webhooks, webhooks::create_webhook))
        .routes(routes!(
            webhooks::get_webhook,
            webhooks::update_webhook,
            webhooks::delete_webhook
        ))
        .routes(routes!(webhooks::set_webhook_enabled))
        .routes(routes!(webhooks::rotate_webhook_secret))
        .routes(routes!(webhooks::test_webhook))
        .routes(routes!(webhooks::list_webhook_deliveries))
        .routes(routes!(webhooks::redeliver_webhook_event))
        .split_for_parts();
    let not_found =
        || async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such API route") };
    routes
        .clone()
        .nest("/accounts/{account}", routes.fallback(not_found))
        .route(
            "/openapi.json",
            get(move || async move { Json(api.clone()) }),
        )
        .fallback(not_found)
}

/// The `{id}` of a route (read by name, so it works under `/accounts/{account}/…` too); a
/// value that is not an integer is a 400 with our error body.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(e.body_text()))?;
        let raw = params
            .iter()
            .find(|(k, _)| *k == "id")
            .map(|(_, v)| v)
            .ok_or_else(|| ApiError::bad_request("the route has no id"))?;
        raw.parse()
            .map(Id)
            .map_err(|_| ApiError::bad_request(format!("id must be an integer, got {raw:?}")))
    }
}

/// `Json` whose rejections (malformed JSON, wrong content type, wrong shape) use our error
/// body: 400 for syntax, 415 for the content type, 422 for the shape.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    Json<T>: FromRequest<S, Rejection = JsonRejection>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => {
                let status = rejection.status();
                let code = if status == StatusCode::UNPROCESSABLE_ENTITY {
                    "validation_failed"
                } else {
                    "bad_request"
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}
