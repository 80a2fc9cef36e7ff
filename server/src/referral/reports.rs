//! Reports: leaderboard, stats and referral lists, with their input rules. A report request
//! arrives as an [`app::model::ReportQuery`] from every door (REST query string, dashboard
//! filters) and is parsed and bounded here, once. The service plans which roll-up rows to
//! read ([`crate::referral::report_plan`]), has [`crate::db::stats`] run the SQL, then ranks
//! the rows and applies the retention rules.

use app::model::{
    DailyPoint, LeaderboardRow, Page, PeriodName, Referral, ReferrerKind, ReportQuery, Stats,
};
use chrono::{NaiveDate, Utc};
use futures_util::stream::BoxStream;
use sqlx::PgPool;

use crate::db::stats::{self, BoardQuery, BoardRow, DayRow, Metric};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::period::{Period, local_date};
use crate::referral::report_plan::Plan;
use crate::referral::roles::Role;
use crate::referral::views;

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
    /// None for both kinds.
    pub kind: Option<ReferrerKind>,
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
            Some(m) => parse_metric(m).ok_or_else(|| {
                ServiceError::field(
                    "metric",
                    "指标须为 follows、net 或 retained / metric must be follows, net or retained",
                )
            })?,
        };
        let kind = match q.kind.as_deref() {
            None | Some("") | Some("all") => None,
            Some(k) => Some(ReferrerKind::parse(k).ok_or_else(|| {
                ServiceError::field(
                    "kind",
                    "推荐人类型须为 staff 或 member / kind must be staff or member",
                )
            })?),
        };
        Ok(Filters {
            period,
            all_time: matches!(
                q.period.as_deref().map(PeriodName::parse),
                None | Some(Some(PeriodName::All))
            ),
            metric,
            kind,
            limit: q.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        })
    }
}

/// What the leaderboard ranks by, from its query value (`new_follows` and `net_follows` are
/// accepted too).
fn parse_metric(s: &str) -> Option<Metric> {
    match s {
        "follows" | "new_follows" => Some(Metric::Follows),
        "net" | "net_follows" => Some(Metric::Net),
        "retained" => Some(Metric::Retained),
        _ => None,
    }
}

/// The ranked referrers of a period (manager): those active in it, by the metric. Equal
/// values share a rank ("1224"); ties are listed by referrer id so the order is stable.
pub async fn leaderboard(
    pool: &PgPool,
    actor: &Actor,
    q: &ReportQuery,
) -> Result<Vec<LeaderboardRow>, ServiceError> {
    let (f, plan) = board_plan(pool, actor, q).await?;
    let rows = stats::leaderboard(pool, &board_query(actor, &f, &plan)).await?;
    let mut ranker = Ranker::default();
    let mut board: Vec<LeaderboardRow> = rows.into_iter().map(|r| ranker.row(r)).collect();
    add_trends(pool, actor.account_id, &mut board).await?;
    Ok(board)
}

/// Days in a leaderboard row's trend.
pub const TREND_DAYS: i64 = 14;

/// Fills each row's trend: its new follows on each of the last [`TREND_DAYS`] days (one read
/// of the day roll-ups for all the rows).
async fn add_trends(
    pool: &PgPool,
    account_id: i64,
    board: &mut [LeaderboardRow],
) -> Result<(), ServiceError> {
    if board.is_empty() {
        return Ok(());
    }
    let today = local_date(Utc::now());
    let from = today - chrono::Duration::days(TREND_DAYS - 1);
    let ids: Vec<i64> = board.iter().map(|r| r.referrer_id).collect();
    let days = stats::daily_follows(pool, account_id, &ids, from, today).await?;
    for row in board.iter_mut() {
        row.trend = trend(&days, row.referrer_id, from);
    }
    Ok(())
}

/// One referrer's follows per day from `from`, [`TREND_DAYS`] of them (a day without a row
/// counts zero).
fn trend(days: &[(i64, NaiveDate, i64)], referrer_id: i64, from: NaiveDate) -> Vec<i64> {
    let mut out = vec![0; TREND_DAYS as usize];
    for (r, day, follows) in days {
        if *r != referrer_id {
            continue;
        }
        if let Ok(i) = usize::try_from((*day - from).num_days())
            && let Some(slot) = out.get_mut(i)
        {
            *slot += follows;
        }
    }
    out
}

/// Every ranked referrer of a period (manager), as [`leaderboard`] ranks them but without a
/// limit, streamed from the database (for the CSV download of any size).
pub async fn leaderboard_export(
    pool: &PgPool,
    actor: &Actor,
    q: &ReportQuery,
) -> Result<BoxStream<'static, Result<LeaderboardRow, ServiceError>>, ServiceError> {
    use futures_util::StreamExt;
    let (f, plan) = board_plan(pool, actor, q).await?;
    let mut ranker = Ranker::default();
    Ok(stats::leaderboard_all(pool, &board_query(actor, &f, &plan))
        .map(move |row| row.map(|r| ranker.row(r)).map_err(ServiceError::from))
        .boxed())
}

/// The checks and the read plan of a leaderboard request.
async fn board_plan(
    pool: &PgPool,
    actor: &Actor,
    q: &ReportQuery,
) -> Result<(Filters, Plan), ServiceError> {
    actor.require(Role::Manager)?;
    let f = Filters::parse(q)?;
    // Fold first: the plan's "first month with data" and the sums count everything committed.
    stats::fold(pool).await?;
    let today = local_date(Utc::now());
    let plan = Plan::new(
        local_date(f.period.from),
        local_date(f.period.to),
        today,
        stats::data_start(pool, actor.account_id).await?,
    );
    Ok((f, plan))
}

fn board_query<'a>(actor: &Actor, f: &Filters, plan: &'a Plan) -> BoardQuery<'a> {
    BoardQuery {
        account_id: actor.account_id,
        total: plan.total,
        months: &plan.months,
        weeks: &plan.weeks,
        days: &plan.days,
        cumulative: &plan.cumulative,
        metric: f.metric,
        kind: f.kind,
        limit: f.limit,
    }
}

/// Standard competition ranks ("1224") of rows listed from the highest value: a row shares
/// the rank of the row before it when their values are equal.
#[derive(Default)]
struct Ranker {
    listed: i64,
    last: Option<(i64, i64)>,
}

impl Ranker {
    /// The rank of the next value.
    fn next(&mut self, value: i64) -> i64 {
        self.listed += 1;
        let rank = match self.last {
            Some((v, r)) if v == value => r,
            _ => self.listed,
        };
        self.last = Some((value, rank));
        rank
    }

    fn row(&mut self, r: BoardRow) -> LeaderboardRow {
        LeaderboardRow {
            rank: self.next(r.value),
            referrer_id: r.referrer_id,
            name: r.name,
            kind: r.kind,
            follows: r.follows,
            unfollows: r.unfollows,
            net_follows: r.follows - r.unfollows,
            retained: r.retained,
            trend: Vec::new(),
        }
    }
}

/// Ranks of values listed from the highest (see [`Ranker`]).
#[cfg(test)]
fn ranks(values: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut ranker = Ranker::default();
    values.into_iter().map(|v| ranker.next(v)).collect()
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

/// Figures for a period, overall or for one referrer, with a daily series (CST dates), summed
/// from the daily roll-ups.
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
    stats::fold(pool).await?;
    let (from, to) = (local_date(period.from), local_date(period.to));
    let rows = stats::days(pool, account_id, referrer_id, from, to).await?;
    Ok(sum_days(rows, from, to, local_date(Utc::now())))
}

/// Adds up the days `[from, to)` (a day without a row counts zero), with one point per day.
/// Retention after 7 and 30 days counts the referrals of days that ended at least that long
/// before `today`.
fn sum_days(rows: Vec<DayRow>, from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Stats {
    let by_day: std::collections::HashMap<NaiveDate, DayRow> =
        rows.into_iter().map(|r| (r.day, r)).collect();
    let mut stats = Stats {
        scans: 0,
        unique_scanners: 0,
        new_follows: 0,
        unfollows: 0,
        net_follows: 0,
        still_following: 0,
        retained_7d: 0,
        retained_30d: 0,
        daily: Vec::new(),
        first_day: from.to_string(),
        last_day: to
            .pred_opt()
            .filter(|d| *d >= from)
            .unwrap_or(from)
            .to_string(),
        time_zone: app::time::ZONE.into(),
    };
    for day in from.iter_days().take_while(|d| *d < to) {
        let Some(r) = by_day.get(&day) else {
            stats.daily.push(DailyPoint {
                date: day.to_string(),
                scans: 0,
                follows: 0,
                unfollows: 0,
            });
            continue;
        };
        stats.scans += r.scans;
        stats.unique_scanners += r.scanners;
        stats.new_follows += r.follows;
        stats.unfollows += r.unfollows;
        stats.still_following += r.follows - r.lost;
        let age = (today - day).num_days();
        if age > 7 {
            stats.retained_7d += r.follows - r.lost_7d;
        }
        if age > 30 {
            stats.retained_30d += r.follows - r.lost_30d;
        }
        stats.daily.push(DailyPoint {
            date: day.to_string(),
            scans: r.scans,
            follows: r.follows,
            unfollows: r.unfollows,
        });
    }
    stats.net_follows = stats.new_follows - stats.unfollows;
    stats
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
    let rows = stats::referrals_of(pool, actor.account_id, referrer_id, page, per_page).await?;
    Ok(views::page(rows))
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
            .map(|row| row.map(Referral::from).map_err(ServiceError::from))
            .boxed(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trend_has_a_value_for_each_of_the_last_days() {
        let from = d("2026-11-20");
        let days = [
            (7, d("2026-11-20"), 2),
            (7, d("2026-12-03"), 5),
            (8, d("2026-11-25"), 9),
            (7, d("2026-12-04"), 1),
        ];
        let t = trend(&days, 7, from);
        assert_eq!(t.len(), 14);
        assert_eq!((t[0], t[13]), (2, 5));
        assert_eq!(
            t.iter().sum::<i64>(),
            7,
            "other referrers and later days left out"
        );
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

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
            (Metric::Net, Some(ReferrerKind::Member), MAX_LIMIT)
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

    #[test]
    fn ranks_share_places_for_equal_values() {
        assert_eq!(ranks([9, 7, 7, 5, 5, 5, 1]), vec![1, 2, 2, 4, 4, 4, 7]);
        assert_eq!(ranks([3, 3]), vec![1, 1]);
        assert_eq!(ranks([-1, -2]), vec![1, 2]);
        assert!(ranks([]).is_empty());
    }

    fn row(day: &str, follows: i64, lost: i64, lost_7d: i64) -> DayRow {
        DayRow {
            day: d(day),
            scans: follows + 1,
            scanners: follows,
            follows,
            unfollows: lost,
            lost,
            lost_7d,
            lost_30d: lost,
        }
    }

    #[test]
    fn days_add_up_and_retention_counts_only_old_enough_days() {
        let rows = vec![
            row("2026-10-01", 10, 4, 1),
            row("2026-11-16", 5, 2, 2),
            row("2026-11-17", 3, 0, 0),
        ];
        let s = sum_days(rows, d("2026-10-01"), d("2026-11-25"), d("2026-11-24"));
        assert_eq!(s.daily.len(), 55);
        // The period says its days (both included) and their zone.
        assert_eq!(
            (
                s.first_day.as_str(),
                s.last_day.as_str(),
                s.time_zone.as_str()
            ),
            ("2026-10-01", "2026-11-24", "Asia/Shanghai")
        );
        assert_eq!(s.daily[0].follows, 10);
        assert_eq!(s.daily[1].follows, 0);
        assert_eq!((s.new_follows, s.unfollows, s.net_follows), (18, 6, 12));
        assert_eq!((s.scans, s.unique_scanners), (21, 18));
        assert_eq!(s.still_following, 12);
        // 11-16 ended more than 7 days before today, 11-17 did not.
        assert_eq!(s.retained_7d, (10 - 1) + (5 - 2));
        assert_eq!(s.retained_30d, 10 - 4);
    }
}
