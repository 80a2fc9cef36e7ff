//! The REST API under `/api/v1`: JSON, bearer tokens, OpenAPI at `/api/v1/openapi.json`.

pub mod auth;
pub mod campaigns;
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
        (name = "campaigns", description = "Fission campaigns (任务宝): posters, milestones, \
            coupon stock, the board and rewards"),
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
    let (routes, mut api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
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
        .routes(routes!(
            campaigns::list_campaigns,
            campaigns::create_campaign
        ))
        .routes(routes!(campaigns::get_campaign, campaigns::update_campaign))
        .routes(routes!(campaigns::stop_campaign))
        .routes(routes!(
            campaigns::set_background,
            campaigns::get_background
        ))
        .routes(routes!(campaigns::poster_preview))
        .routes(routes!(campaigns::add_coupons))
        .routes(routes!(campaigns::campaign_board))
        .routes(routes!(campaigns::export_rewards))
        .routes(routes!(campaigns::redeem_reward))
        .routes(routes!(campaigns::release_reward))
        .split_for_parts();
    StandardResponses.modify(&mut api);
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
                let code = match status {
                    StatusCode::UNPROCESSABLE_ENTITY => "validation_failed",
                    StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
                    StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    _ => "bad_request",
                };
                Err(ApiError::new(status, code, rejection.body_text()))
            }
        }
    }
}

/// A query string read into `T`, refused with our error body (400) when it does not parse:
/// an integer that is not one, a boolean that is neither `true` nor `false`.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| ApiQuery(value))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

/// Adds the answers every operation can give, where they apply, to each operation of the
/// document (with the error body): 400 (a malformed id, query or body), 401 (no valid token),
/// 403 (the token's role is not enough), 404 (no such row, for paths with an id), 413, 415
/// and 422 (for operations with a body; 422 also for query parameters) and 503 (the database
/// is unreachable). What an operation documents itself stays.
struct StandardResponses;

impl Modify for StandardResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
        let error = |description: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        ContentBuilder::new()
                            .schema(Some(Ref::from_schema_name("ErrorBody")))
                            .build(),
                    )
                    .build(),
            )
        };
        for (path, item) in &mut openapi.paths.paths {
            let with_id = path.contains('{');
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                let has_body = op.request_body.is_some();
                let has_query = op.parameters.as_ref().is_some_and(|ps| {
                    ps.iter().any(|p| {
                        matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query))
                    })
                });
                let mut add = |status: &str, description: &str, applies: bool| {
                    if applies {
                        op.responses
                            .responses
                            .entry(status.to_owned())
                            .or_insert_with(|| error(description));
                    }
                };
                add("400", "Malformed id, query parameter or body", true);
                add("401", "No valid bearer token", op.security.is_some());
                add(
                    "403",
                    "The token's role is not enough",
                    op.security.is_some(),
                );
                add("404", "No such row in this account", with_id);
                add("413", "The body is too large", has_body);
                add("415", "The body is not JSON", has_body);
                add(
                    "422",
                    "Invalid input; `fields` names them",
                    has_body || has_query,
                );
                add("503", "The database is unreachable; try again", true);
            }
        }
    }
}
