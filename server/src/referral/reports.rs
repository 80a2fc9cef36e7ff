//! Reports: leaderboard, stats and referral lists, with their input rules. A report request
//! arrives as an [`app::model::ReportQuery`] from every door (REST query string, dashboard
//! filters) and is parsed and bounded here, once.

use app::model::{LeaderboardRow, Page, Referral, ReportQuery, Stats};
use chrono::Utc;
use futures_util::stream::BoxStream;
use sqlx::PgPool;

use crate::db::stats::{self, Metric};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::period::Period;
use crate::referral::roles::Role;

/// Default and largest number of leaderboard rows.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;
/// Default and largest page size of a referral list.
pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 200;

/// A report request, parsed.
#[derive(Debug, Clone)]
pub struct Filters {
    pub period: Period,
    /// True for "all time" (a daily series then starts at the first activity).
    pub all_time: bool,
    pub metric: Metric,
    /// `staff` | `member`; None for both.
    pub kind: Option<&'static str>,
    pub limit: i64,
}

impl Filters {
    /// Parses every filter; every problem is a field error naming the filter.
    pub fn parse(q: &ReportQuery) -> Result<Self, ServiceError> {
        let period = Period::parse(
            q.period.as_deref(),
            q.from.as_deref(),
            q.to.as_deref(),
            Utc::now(),
        )?;
        let metric = match q.metric.as_deref() {
            None | Some("") => Metric::Follows,
            Some(m) => Metric::parse(m).ok_or_else(|| {
                ServiceError::field(
                    "metric",
                    "指标须为 follows、net 或 retained / metric must be follows, net or retained",
                )
            })?,
        };
        let kind = match q.kind.as_deref() {
            None | Some("") | Some("all") => None,
            Some("staff") => Some("staff"),
            Some("member") => Some("member"),
            Some(_) => {
                return Err(ServiceError::field(
                    "kind",
                    "推荐人类型须为 staff 或 member / kind must be staff or member",
                ));
            }
        };
        Ok(Filters {
            period,
            all_time: matches!(q.period.as_deref(), None | Some("all")),
            metric,
            kind,
            limit: q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        })
    }
}

/// The ranked referrers of a period (manager).
pub async fn leaderboard(
    pool: &PgPool,
    actor: &Actor,
    q: &ReportQuery,
) -> Result<Vec<LeaderboardRow>, ServiceError> {
    actor.require(Role::Manager)?;
    let f = Filters::parse(q)?;
    Ok(stats::leaderboard(
        pool,
        actor.account_id,
        f.period.from,
        f.period.to,
        f.metric,
        f.kind,
        f.limit,
    )
    .await?)
}

/// The account's figures for a period (manager).
pub async fn stats(pool: &PgPool, actor: &Actor, q: &ReportQuery) -> Result<Stats, ServiceError> {
    actor.require(Role::Manager)?;
    figures(pool, actor.account_id, None, &Filters::parse(q)?).await
}

/// One referrer's figures for a period (staff: they see their referrers' own figures).
pub async fn referrer_stats(
    pool: &PgPool,
    actor: &Actor,
    referrer_id: i64,
    q: &ReportQuery,
) -> Result<Stats, ServiceError> {
    let f = Filters::parse(q)?;
    crate::referral::referrers::get(pool, actor, referrer_id).await?;
    figures(pool, actor.account_id, Some(referrer_id), &f).await
}

async fn figures(
    pool: &PgPool,
    account_id: i64,
    referrer_id: Option<i64>,
    f: &Filters,
) -> Result<Stats, ServiceError> {
    let mut period = f.period;
    if f.all_time {
        // "All time" as a daily series starts at the first referral or scan, not in 1970.
        if let Some(first) = stats::first_activity(pool, account_id).await? {
            period.from = period.from.max(crate::referral::period::day_start(first));
        } else {
            period.from = period.to - chrono::Duration::days(1);
        }
    }
    Ok(stats::stats(pool, account_id, referrer_id, period.from, period.to).await?)
}

/// A page of a referrer's referrals, newest first (staff).
pub async fn referrals_of(
    pool: &PgPool,
    actor: &Actor,
    referrer_id: i64,
    page: Option<i64>,
    per_page: Option<i64>,
) -> Result<Page<Referral>, ServiceError> {
    crate::referral::referrers::get(pool, actor, referrer_id).await?;
    let page = page.unwrap_or(1).clamp(1, 1_000_000);
    let per_page = per_page.unwrap_or(DEFAULT_PER_PAGE).clamp(1, MAX_PER_PAGE);
    Ok(stats::referrals_of(pool, actor.account_id, referrer_id, page, per_page).await?)
}

/// Every referral of a period, oldest first, read in batches as the stream is consumed
/// (manager; for exports of any size).
pub fn referrals_export(
    pool: &PgPool,
    actor: &Actor,
    q: &ReportQuery,
) -> Result<BoxStream<'static, Result<Referral, ServiceError>>, ServiceError> {
    use futures_util::StreamExt;
    actor.require(Role::Manager)?;
    let f = Filters::parse(q)?;
    Ok(
        stats::referrals_in(pool.clone(), actor.account_id, f.period.from, f.period.to)
            .map(|row| row.map_err(ServiceError::from))
            .boxed(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::Validation(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn report_filters_are_parsed_and_bounded_once() {
        let f = Filters::parse(&ReportQuery::default()).expect("defaults");
        assert!(f.all_time);
        assert_eq!(
            (f.metric, f.kind, f.limit),
            (Metric::Follows, None, DEFAULT_LIMIT)
        );
        let f = Filters::parse(&ReportQuery {
            period: Some("week".into()),
            metric: Some("net".into()),
            kind: Some("member".into()),
            limit: Some(5_000),
            ..ReportQuery::default()
        })
        .expect("week");
        assert!(!f.all_time);
        assert_eq!(
            (f.metric, f.kind, f.limit),
            (Metric::Net, Some("member"), MAX_LIMIT)
        );
        let bad = ReportQuery {
            metric: Some("likes".into()),
            ..ReportQuery::default()
        };
        assert_eq!(
            fields(Filters::parse(&bad).expect_err("metric")),
            ["metric"]
        );
        let bad = ReportQuery {
            kind: Some("robot".into()),
            ..ReportQuery::default()
        };
        assert_eq!(fields(Filters::parse(&bad).expect_err("kind")), ["kind"]);
    }
}
