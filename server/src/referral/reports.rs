//! Reports: leaderboard, stats and referral lists, with their input rules.

use app::model::{LeaderboardRow, Page, Referral, Stats};
use chrono::Utc;
use sqlx::PgPool;

use crate::db::stats::{self, Metric};
use crate::referral::error::ServiceError;
use crate::referral::period::Period;

/// Parsed report filters.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub metric: Option<String>,
    /// `staff` | `member`
    pub kind: Option<String>,
    pub limit: Option<i64>,
}

impl Filters {
    pub fn period(&self) -> Result<Period, ServiceError> {
        Period::parse(
            self.period.as_deref(),
            self.from.as_deref(),
            self.to.as_deref(),
            Utc::now(),
        )
    }

    fn metric(&self) -> Result<Metric, ServiceError> {
        match self.metric.as_deref() {
            None => Ok(Metric::Follows),
            Some(m) => Metric::parse(m).ok_or_else(|| {
                ServiceError::field(
                    "metric",
                    "指标须为 follows、net 或 retained / metric must be follows, net or retained",
                )
            }),
        }
    }

    fn kind(&self) -> Result<Option<&str>, ServiceError> {
        match self.kind.as_deref() {
            None | Some("") | Some("all") => Ok(None),
            Some(k @ ("staff" | "member")) => Ok(Some(k)),
            Some(_) => Err(ServiceError::field(
                "kind",
                "推荐人类型须为 staff 或 member / kind must be staff or member",
            )),
        }
    }
}

pub async fn leaderboard(
    pool: &PgPool,
    account_id: i64,
    f: &Filters,
) -> Result<Vec<LeaderboardRow>, ServiceError> {
    let period = f.period()?;
    let limit = f.limit.unwrap_or(100).clamp(1, 1000);
    Ok(stats::leaderboard(
        pool,
        account_id,
        period.from,
        period.to,
        f.metric()?,
        f.kind()?,
        limit,
    )
    .await?)
}

/// Overall stats, or one referrer's.
pub async fn stats(
    pool: &PgPool,
    account_id: i64,
    referrer_id: Option<i64>,
    f: &Filters,
) -> Result<Stats, ServiceError> {
    let mut period = f.period()?;
    if f.period.as_deref().unwrap_or("all") == "all" {
        // "All time" as a daily series starts at the first referral or scan, not in 1970.
        if let Some(first) = stats::first_activity(pool, account_id).await? {
            period.from = period.from.max(crate::referral::period::day_start(first));
        } else {
            period.from = period.to - chrono::Duration::days(1);
        }
    }
    Ok(stats::stats(pool, account_id, referrer_id, period.from, period.to).await?)
}

pub async fn referrals_of(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    page: i64,
    per_page: i64,
) -> Result<Page<Referral>, ServiceError> {
    crate::referral::referrers::get(pool, account_id, referrer_id).await?;
    Ok(stats::referrals_of(pool, account_id, referrer_id, page, per_page).await?)
}
