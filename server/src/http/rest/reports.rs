//! `/api/v1/leaderboard`, `/api/v1/stats`, `/api/v1/referrers/{id}/referrals|stats`,
//! `/api/v1/referrals.csv`, `/api/v1/leaderboard.csv`.

use app::model::{LeaderboardRow, Page, Referral, ReportQuery, Stats};
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::http::rest::ApiQuery;
use crate::http::rest::Id;
use crate::http::rest::error::{ApiError, ErrorBody};
use crate::http::rest::exports::{Cell, CsvEncoder, csv_stream};
use crate::referral::actor::Actor;
use crate::referral::reports;
use crate::startup::AppState;

/// Period and ranking filters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
pub struct ReportParams {
    /// `day`, `week`, `month`, `all` (default) or `custom` (China Standard Time).
    period: Option<String>,
    /// First day of a custom period, `YYYY-MM-DD`.
    from: Option<String>,
    /// Last day of a custom period (inclusive), `YYYY-MM-DD`.
    to: Option<String>,
    /// Leaderboard: `follows` (default), `net` or `retained`.
    metric: Option<String>,
    /// Leaderboard: only `staff` or `member` referrers.
    kind: Option<String>,
    /// Leaderboard: rows to return (1–1000, default 100; the CSV has every row).
    limit: Option<i64>,
}

impl From<ReportParams> for ReportQuery {
    fn from(p: ReportParams) -> Self {
        ReportQuery {
            period: p.period,
            from: p.from,
            to: p.to,
            metric: p.metric,
            kind: p.kind,
            limit: p.limit,
        }
    }
}

/// The leaderboard answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Leaderboard {
    items: Vec<LeaderboardRow>,
}

#[utoipa::path(get, path = "/leaderboard", tag = "reports", params(ReportParams),
    responses((status = 200, body = Leaderboard), (status = 422, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_leaderboard(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Json<Leaderboard>, ApiError> {
    let items = reports::leaderboard(&state.pool, &actor, &p.into()).await?;
    Ok(Json(Leaderboard { items }))
}

#[utoipa::path(get, path = "/stats", tag = "reports", params(ReportParams),
    responses((status = 200, body = Stats), (status = 422, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_stats(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Json<Stats>, ApiError> {
    Ok(Json(reports::stats(&state.pool, &actor, &p.into()).await?))
}

#[utoipa::path(get, path = "/referrers/{id}/stats", tag = "reports",
    params(("id" = i64, Path), ReportParams),
    responses((status = 200, body = Stats), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn get_referrer_stats(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Json<Stats>, ApiError> {
    Ok(Json(
        reports::referrer_stats(&state.pool, &actor, id, &p.into()).await?,
    ))
}

/// Paging of a referral list.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct PageParams {
    /// 1-based page number.
    page: Option<i64>,
    /// Items per page (1–200, default 20).
    per_page: Option<i64>,
}

/// A page of referrals.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ReferralPage {
    items: Vec<Referral>,
    total: i64,
    page: i64,
    per_page: i64,
}

#[utoipa::path(get, path = "/referrers/{id}/referrals", tag = "reports",
    params(("id" = i64, Path), PageParams),
    responses((status = 200, body = ReferralPage), (status = 404, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn list_referrals(
    State(state): State<AppState>,
    actor: Actor,
    Id(id): Id,
    ApiQuery(p): ApiQuery<PageParams>,
) -> Result<Json<Page<Referral>>, ApiError> {
    let page = reports::referrals_of(&state.pool, &actor, id, p.page, p.per_page).await?;
    Ok(Json(page))
}

/// CSV of the referrals in a period (UTF-8 with BOM so spreadsheet programs read Chinese),
/// streamed: the server holds one batch of rows at a time, whatever the export's size.
#[utoipa::path(get, path = "/referrals.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_referrals(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let rows = reports::referrals_export(&state.pool, &actor, &p.into())?;
    let header = [
        "referral_id",
        "referrer_id",
        "referrer_name",
        "openid",
        "qr_code_id",
        "followed_at",
        "unfollowed_at",
        "still_following",
        "voided",
    ];
    Ok(csv_stream(
        "referrals.csv",
        &header,
        rows,
        |r: &Referral, enc: &mut CsvEncoder| {
            enc.row(&[
                Cell::Int(r.id),
                Cell::Int(r.referrer_id),
                Cell::Text(&r.referrer_name),
                Cell::Text(&r.openid),
                Cell::Int(r.qr_code_id),
                Cell::Text(&r.followed_at),
                Cell::Text(r.unfollowed_at.as_deref().unwrap_or("")),
                Cell::Text(if r.still_following { "yes" } else { "no" }),
                Cell::Text(if r.voided { "yes" } else { "no" }),
            ])
        },
    ))
}

/// CSV of the whole leaderboard with the same filters as `GET /leaderboard`: every ranked
/// referrer of the period (`limit` does not apply), streamed from the database.
#[utoipa::path(get, path = "/leaderboard.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_leaderboard(
    State(state): State<AppState>,
    actor: Actor,
    ApiQuery(p): ApiQuery<ReportParams>,
) -> Result<Response, ApiError> {
    let rows = reports::leaderboard_export(&state.pool, &actor, &p.into()).await?;
    let header = [
        "rank",
        "referrer_id",
        "name",
        "kind",
        "follows",
        "unfollows",
        "net_follows",
        "retained",
    ];
    Ok(csv_stream(
        "leaderboard.csv",
        &header,
        rows,
        |r: &LeaderboardRow, enc: &mut CsvEncoder| {
            enc.row(&[
                Cell::Int(r.rank),
                Cell::Int(r.referrer_id),
                Cell::Text(&r.name),
                Cell::Text(r.kind.as_str()),
                Cell::Int(r.follows),
                Cell::Int(r.unfollows),
                Cell::Int(r.net_follows),
                Cell::Int(r.retained),
            ])
        },
    ))
}
