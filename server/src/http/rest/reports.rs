//! `/api/v1/leaderboard`, `/api/v1/stats`, `/api/v1/referrers/{id}/referrals|stats`,
//! `/api/v1/referrals.csv`.

use app::model::{LeaderboardRow, Page, Referral, ReportQuery, Stats};
use axum::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use crate::http::rest::Id;
use crate::http::rest::error::{ApiError, ErrorBody};
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
    /// Leaderboard: rows to return (1–1000, default 100).
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
    Query(p): Query<ReportParams>,
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
    Query(p): Query<ReportParams>,
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
    Query(p): Query<ReportParams>,
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
    Query(p): Query<PageParams>,
) -> Result<Json<Page<Referral>>, ApiError> {
    let page = reports::referrals_of(&state.pool, &actor, id, p.page, p.per_page).await?;
    Ok(Json(page))
}

/// CSV of the referrals in a period (UTF-8 with BOM so spreadsheet programs read Chinese).
#[utoipa::path(get, path = "/referrals.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 403, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_referrals(
    State(state): State<AppState>,
    actor: Actor,
    Query(p): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let rows = reports::referrals_export(&state.pool, &actor, &p.into())?;
    let header_row = csv_line(&[
        "referral_id",
        "referrer_id",
        "referrer_name",
        "openid",
        "qr_code_id",
        "followed_at",
        "unfollowed_at",
        "still_following",
    ]);
    let rows = rows.map(|row| match row {
        Ok(r) => Ok(csv_line(&[
            &r.id.to_string(),
            &r.referrer_id.to_string(),
            &r.referrer_name,
            &r.openid,
            &r.qr_code_id.to_string(),
            &r.followed_at,
            r.unfollowed_at.as_deref().unwrap_or(""),
            if r.still_following { "yes" } else { "no" },
        ])),
        Err(e) => {
            tracing::error!(error = %e, "CSV export interrupted");
            Err(std::io::Error::other("export interrupted"))
        }
    });
    let head = futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(format!("\u{feff}{header_row}"))
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"referrals.csv\"",
            ),
        ],
        Body::from_stream(head.chain(rows)),
    )
        .into_response())
}

/// CSV of the leaderboard with the same filters as `GET /leaderboard`.
#[utoipa::path(get, path = "/leaderboard.csv", tag = "reports", params(ReportParams),
    responses((status = 200, content_type = "text/csv", body = String),
              (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn export_leaderboard(
    State(state): State<AppState>,
    actor: Actor,
    Query(p): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let rows = reports::leaderboard(&state.pool, &actor, &p.into()).await?;
    let mut body = String::from("\u{feff}");
    body.push_str(&csv_line(&[
        "rank",
        "referrer_id",
        "name",
        "kind",
        "follows",
        "unfollows",
        "net_follows",
        "retained",
    ]));
    for r in rows {
        body.push_str(&csv_line(&[
            &r.rank.to_string(),
            &r.referrer_id.to_string(),
            &r.name,
            r.kind.as_str(),
            &r.follows.to_string(),
            &r.unfollows.to_string(),
            &r.net_follows.to_string(),
            &r.retained.to_string(),
        ]));
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leaderboard.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}

/// One CSV record (RFC 4180 quoting by the csv crate), ending in CRLF. Cells that a
/// spreadsheet would run as a formula are prefixed with a quote.
pub fn csv_line(fields: &[&str]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let safe: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.starts_with(['=', '+', '-', '@', '\t', '\r']) {
                format!("'{f}")
            } else {
                (*f).to_owned()
            }
        })
        .collect();
    // Writing to a Vec cannot fail.
    let _ = writer.write_record(&safe);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::csv_line;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(
            csv_line(&["a", "b,c", "\"q\""]),
            "a,\"b,c\",\"\"\"q\"\"\"\r\n"
        );
        assert_eq!(csv_line(&["=1+1", "张三"]), "'=1+1,张三\r\n");
    }
}
