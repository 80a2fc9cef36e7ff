//! Reporting queries: leaderboard, period stats with a daily series, referral lists.

use app::model::{DailyPoint, LeaderboardRow, Page, Referral, Stats};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use futures_util::stream::{BoxStream, StreamExt};
use sqlx::PgPool;

use crate::db::referrers::rfc3339;
use crate::referral::period::{local_date, week_start};

/// What the leaderboard ranks by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Referrals made in the period.
    Follows,
    /// Referrals in the period minus unfollows in the period.
    Net,
    /// Referrals in the period whose follower still follows.
    Retained,
}

impl Metric {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "follows" | "new_follows" => Some(Metric::Follows),
            "net" | "net_follows" => Some(Metric::Net),
            "retained" => Some(Metric::Retained),
            _ => None,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Metric::Follows => "a.follows",
            Metric::Net => "a.follows - a.unfollows",
            Metric::Retained => "a.retained",
        }
    }
}

#[derive(sqlx::FromRow)]
struct BoardRow {
    /// The metric ranked by.
    value: i64,
    referrer_id: i64,
    name: String,
    kind: String,
    follows: i64,
    unfollows: i64,
    retained: i64,
}

/// Which roll-up rows add up to a period of whole CST days `[from, to)` (see the
/// `stats_rollup` and `week_rollup` migrations): the all-time totals, or signed ranges of
/// months, weeks (Monday to Sunday) and days. A part of a month or week is read either by its
/// finer units, or as the whole unit minus the finer units outside the period, whichever reads
/// fewer rows (2 September to 30 November: September minus 1 September, then October and
/// November, instead of three weeks and eight days), and a long period may be read as the
/// all-time totals minus what lies outside it. Each list holds `(start, end, sign)` ranges of
/// its table's key; the rows of a range are added (`1`) or subtracted (`-1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Add `referrer_total` (the period covers everything, or what lies outside it is
    /// subtracted).
    pub total: bool,
    /// The end read up to (past today, the end of today's month or week).
    pub to: NaiveDate,
    pub months: Vec<Span>,
    pub weeks: Vec<Span>,
    pub days: Vec<Span>,
}

/// `[start, end)` of a roll-up table's key, added (`1`) or subtracted (`-1`).
pub type Span = (NaiveDate, NaiveDate, i32);

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn next_month(d: NaiveDate) -> NaiveDate {
    month_start(d) + chrono::Months::new(1)
}

fn next_week(d: NaiveDate) -> NaiveDate {
    week_start(d) + chrono::Days::new(7)
}

/// The roll-up units, coarsest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grain {
    Month,
    Week,
    Day,
}

impl Grain {
    fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Grain::Month => month_start(d),
            Grain::Week => week_start(d),
            Grain::Day => d,
        }
    }

    /// The start of the unit after the one holding `d`.
    fn next(self, d: NaiveDate) -> NaiveDate {
        match self {
            Grain::Month => next_month(d),
            Grain::Week => next_week(d),
            Grain::Day => d + chrono::Days::new(1),
        }
    }

    fn finer(self) -> Grain {
        match self {
            Grain::Month => Grain::Week,
            Grain::Week | Grain::Day => Grain::Day,
        }
    }
}

/// Signed ranges, and how many rows per referrer they read (units before `data_end` only:
/// nothing is recorded after today).
#[derive(Default)]
struct Cover {
    /// The all-time totals are added.
    total: bool,
    spans: Vec<(Grain, NaiveDate, NaiveDate, i32)>,
    cost: usize,
}

impl Cover {
    /// The all-time totals (one row per referrer).
    fn totals() -> Cover {
        Cover {
            total: true,
            spans: Vec::new(),
            cost: 1,
        }
    }

    fn unit(grain: Grain, lo: NaiveDate, hi: NaiveDate, data_end: NaiveDate) -> Cover {
        let mut cost = 0;
        let mut at = lo;
        while at < hi && at < data_end {
            cost += 1;
            at = grain.next(at);
        }
        Cover {
            total: false,
            spans: vec![(grain, lo, hi, 1)],
            cost,
        }
    }

    fn add(mut self, other: Cover) -> Cover {
        self.total |= other.total;
        self.spans.extend(other.spans);
        self.cost += other.cost;
        self
    }

    /// `other` holds no totals.
    fn subtract(self, other: Cover) -> Cover {
        let negated = Cover {
            total: false,
            spans: other
                .spans
                .into_iter()
                .map(|(g, lo, hi, sign)| (g, lo, hi, -sign))
                .collect(),
            cost: other.cost,
        };
        self.add(negated)
    }

    /// The cheaper of two covers (`self` on a tie).
    fn or(self, other: Cover) -> Cover {
        if other.cost < self.cost { other } else { self }
    }
}

/// Signed ranges of `grain` and finer units adding up to exactly `[from, to)`.
fn cover(grain: Grain, from: NaiveDate, to: NaiveDate, data_end: NaiveDate) -> Cover {
    if from >= to {
        return Cover::default();
    }
    if grain == Grain::Day {
        return Cover::unit(Grain::Day, from, to, data_end);
    }
    let first = if grain.start(from) == from {
        from
    } else {
        grain.next(from)
    };
    let end = grain.start(to);
    if first < end {
        return Cover::unit(grain, first, end, data_end)
            .add(part(grain, from, first, data_end))
            .add(part(grain, end, to, data_end));
    }
    // No whole unit: within one unit, or across one boundary.
    let inside = cover(grain.finer(), from, to, data_end);
    let boundary = grain.next(from);
    if boundary < to {
        inside.or(part(grain, from, boundary, data_end).add(part(grain, boundary, to, data_end)))
    } else {
        inside.or(outside(grain, from, to, data_end))
    }
}

/// `[from, to)` within one unit of `grain`: by finer units, or the unit minus the rest.
fn part(grain: Grain, from: NaiveDate, to: NaiveDate, data_end: NaiveDate) -> Cover {
    if from >= to {
        return Cover::default();
    }
    cover(grain.finer(), from, to, data_end).or(outside(grain, from, to, data_end))
}

/// The unit of `grain` holding `[from, to)`, minus its finer units outside it.
fn outside(grain: Grain, from: NaiveDate, to: NaiveDate, data_end: NaiveDate) -> Cover {
    let (start, next) = (grain.start(from), grain.next(from));
    Cover::unit(grain, start, next, data_end)
        .subtract(cover(grain.finer(), start, from, data_end))
        .subtract(cover(grain.finer(), to, next, data_end))
}

impl Plan {
    /// `today` is the current CST date: nothing is recorded after it, so a period reaching
    /// past it may be read up to the end of its month or week. `data_start`, the first day
    /// anything was recorded, lets a long period be read as the all-time totals minus what
    /// lies outside it, when that reads fewer rows.
    pub fn new(
        from: NaiveDate,
        to: NaiveDate,
        today: NaiveDate,
        data_start: Option<NaiveDate>,
    ) -> Self {
        let to = if to > today {
            to.max(next_month(today)).max(next_week(today))
        } else {
            to
        };
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 2).expect("a date");
        let mut plan = Plan {
            total: from <= epoch && to > today,
            to,
            months: Vec::new(),
            weeks: Vec::new(),
            days: Vec::new(),
        };
        if plan.total {
            return plan;
        }
        let data_end = today + chrono::Days::new(1);
        let inside = cover(Grain::Month, from, to, data_end);
        let chosen = match data_start {
            Some(start) => {
                let before = if start < from {
                    cover(Grain::Month, month_start(start), from, data_end)
                } else {
                    Cover::default()
                };
                let after = cover(Grain::Month, to, data_end.max(to), data_end);
                inside.or(Cover::totals().subtract(before).subtract(after))
            }
            None => inside,
        };
        plan.total = chosen.total;
        let mut spans = chosen.spans;
        spans.sort_by_key(|&(grain, lo, _, sign)| (grain as u8, lo, sign));
        for (grain, lo, hi, sign) in spans {
            let list = match grain {
                Grain::Month => &mut plan.months,
                Grain::Week => &mut plan.weeks,
                Grain::Day => &mut plan.days,
            };
            // Adjacent ranges of one sign are read as one.
            match list.last_mut() {
                Some(last) if last.1 == lo && last.2 == sign => last.1 = hi,
                _ => list.push((lo, hi, sign)),
            }
        }
        plan
    }
}

/// Standard competition ranks ("1224") of values listed from the highest: a row shares the
/// rank of the row before it when their values are equal.
fn ranks(values: impl IntoIterator<Item = i64>) -> Vec<i64> {
    let mut out: Vec<i64> = Vec::new();
    let mut previous = None;
    for (i, v) in values.into_iter().enumerate() {
        let rank = match (previous, out.last()) {
            (Some(p), Some(&r)) if p == v => r,
            _ => i as i64 + 1,
        };
        out.push(rank);
        previous = Some(v);
    }
    out
}

/// Moves the callbacks' pending roll-up deltas into the roll-ups (see migration 9); returns
/// how many were folded. Reports call it first, so they count everything committed.
pub async fn fold(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select stats_fold()")
        .fetch_one(pool)
        .await
}

/// Ranks referrers active in `[from, to)`. Equal values share a rank ("1224"); ties are
/// listed by referrer id so the order is stable.
pub async fn leaderboard(
    pool: &PgPool,
    account_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    metric: Metric,
    kind: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<LeaderboardRow>> {
    fold(pool).await?;
    let plan = Plan::new(
        local_date(from),
        local_date(to),
        local_date(Utc::now()),
        data_start(pool, account_id).await?,
    );
    let m = metric.column();
    let starts = |r: &[Span]| r.iter().map(|x| x.0).collect::<Vec<_>>();
    let ends = |r: &[Span]| r.iter().map(|x| x.1).collect::<Vec<_>>();
    let signs = |r: &[Span]| r.iter().map(|x| x.2).collect::<Vec<_>>();
    // `m` comes from a fixed list above, never from input. Each range is one index-only
    // range scan. The top rows are picked with a bounded sort and ranked in Rust: a rank only
    // depends on the rows listed before it.
    let sql = format!(
        "with src as (
            select referrer_id, follows, unfollows, lost from referrer_total
            where account_id = $1 and $2
            union all
            select t.referrer_id, p.sign * t.follows, p.sign * t.unfollows, p.sign * t.lost
            from unnest($3::date[], $4::date[], $11::int[]) as p(lo, hi, sign)
            join referrer_month t on t.account_id = $1 and t.month >= p.lo and t.month < p.hi
            union all
            select t.referrer_id, p.sign * t.follows, p.sign * t.unfollows, p.sign * t.lost
            from unnest($5::date[], $6::date[], $12::int[]) as p(lo, hi, sign)
            join referrer_week t on t.account_id = $1 and t.week >= p.lo and t.week < p.hi
            union all
            select t.referrer_id, p.sign * t.follows, p.sign * t.unfollows, p.sign * t.lost
            from unnest($7::date[], $8::date[], $13::int[]) as p(lo, hi, sign)
            join referrer_day t on t.account_id = $1 and t.day >= p.lo and t.day < p.hi),
         agg as (
            select referrer_id, sum(follows)::bigint as follows,
                   sum(unfollows)::bigint as unfollows, sum(follows - lost)::bigint as retained
            from src where referrer_id > 0 group by referrer_id),
         top as (
            select a.*, {m} as value from agg a
            where (a.follows <> 0 or a.unfollows <> 0)
              and ($9::text is null
                   or exists (select 1 from referrer re
                              where re.account_id = $1 and re.id = a.referrer_id
                                and re.kind = $9))
            order by value desc, a.referrer_id asc
            limit $10)
         select t.value, t.referrer_id, re.name, re.kind, t.follows, t.unfollows, t.retained
         from top t join referrer re on re.account_id = $1 and re.id = t.referrer_id
         order by t.value desc, t.referrer_id asc"
    );
    // A few ten thousand index entries are summed: parallel workers only add their start-up
    // (a one-day board at 10 M took 17 ms with two workers, 7 ms without).
    let mut tx = pool.begin().await?;
    sqlx::query("set local max_parallel_workers_per_gather = 0")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<BoardRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(plan.total)
        .bind(starts(&plan.months))
        .bind(ends(&plan.months))
        .bind(starts(&plan.weeks))
        .bind(ends(&plan.weeks))
        .bind(starts(&plan.days))
        .bind(ends(&plan.days))
        .bind(kind)
        .bind(limit)
        .bind(signs(&plan.months))
        .bind(signs(&plan.weeks))
        .bind(signs(&plan.days))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    let ranks = ranks(rows.iter().map(|r| r.value));
    Ok(rows
        .into_iter()
        .zip(ranks)
        .map(|(r, rank)| LeaderboardRow {
            rank,
            referrer_id: r.referrer_id,
            name: r.name,
            kind: r.kind,
            follows: r.follows,
            unfollows: r.unfollows,
            net_follows: r.follows - r.unfollows,
            retained: r.retained,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: NaiveDate,
    scans: i64,
    scanners: i64,
    follows: i64,
    unfollows: i64,
    lost: i64,
    lost_7d: i64,
    lost_30d: i64,
}

/// Figures for `[from, to)`, overall or for one referrer, with a daily series (CST dates),
/// summed from the daily roll-ups. Retention after 7 and 30 days counts the referrals of
/// days that ended at least that long ago.
pub async fn stats(
    pool: &PgPool,
    account_id: i64,
    referrer_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Stats> {
    fold(pool).await?;
    let (from, to) = (local_date(from), local_date(to));
    let columns = "day, sum(scans)::bigint as scans, sum(scanners)::bigint as scanners,
        sum(follows)::bigint as follows, sum(unfollows)::bigint as unfollows,
        sum(lost)::bigint as lost, sum(lost_7d)::bigint as lost_7d,
        sum(lost_30d)::bigint as lost_30d";
    let rows: Vec<DayRow> = match referrer_id {
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "select {columns} from account_day
                 where account_id = $1 and day >= $2 and day < $3 group by day"
            )))
            .bind(account_id)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        }
        Some(id) => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "select {columns} from referrer_day
                 where account_id = $1 and referrer_id = $4 and day >= $2 and day < $3
                 group by day"
            )))
            .bind(account_id)
            .bind(from)
            .bind(to)
            .bind(id)
            .fetch_all(pool)
            .await?
        }
    };
    Ok(sum_days(rows, from, to, local_date(Utc::now())))
}

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

#[derive(sqlx::FromRow)]
struct ReferralRow {
    id: i64,
    openid: String,
    referrer_id: i64,
    referrer_name: String,
    qr_code_id: i64,
    followed_at: DateTime<Utc>,
    unfollowed_at: Option<DateTime<Utc>>,
    subscribed: bool,
}

impl From<ReferralRow> for Referral {
    fn from(r: ReferralRow) -> Self {
        Referral {
            id: r.id,
            openid: r.openid,
            referrer_id: r.referrer_id,
            referrer_name: r.referrer_name,
            qr_code_id: r.qr_code_id,
            followed_at: rfc3339(r.followed_at),
            unfollowed_at: if r.subscribed {
                None
            } else {
                r.unfollowed_at.map(rfc3339)
            },
            still_following: r.subscribed,
        }
    }
}

const REFERRAL_SELECT: &str = "select r.id, f.openid, r.referrer_id, re.name as referrer_name,
        r.qr_code_id, r.followed_at, f.unfollowed_at, f.subscribed
    from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id
         join referrer re on re.account_id = r.account_id and re.id = r.referrer_id";

/// A referrer's referrals, newest first.
pub async fn referrals_of(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    page: i64,
    per_page: i64,
) -> sqlx::Result<Page<Referral>> {
    let per_page = per_page.clamp(1, 200);
    let page = page.max(1);
    let total: i64 = sqlx::query_scalar(
        "select count(*) from referral where account_id = $1 and referrer_id = $2",
    )
    .bind(account_id)
    .bind(referrer_id)
    .fetch_one(pool)
    .await?;
    let rows: Vec<ReferralRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{REFERRAL_SELECT} where r.account_id = $1 and r.referrer_id = $2
         order by r.followed_at desc, r.id desc limit $3 offset $4"
    )))
    .bind(account_id)
    .bind(referrer_id)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(pool)
    .await?;
    Ok(Page {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        page,
        per_page,
    })
}

/// Every referral in `[from, to)`, oldest first, as a stream fetched in keyset-paged batches,
/// so an export of any size holds one batch in memory.
pub fn referrals_in(
    pool: PgPool,
    account_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BoxStream<'static, sqlx::Result<Referral>> {
    const BATCH: i64 = 2000;
    // (followed_at, id) of the last row sent; None before the first batch.
    let start: Option<(DateTime<Utc>, i64)> = None;
    futures_util::stream::unfold(Some(start), move |cursor| {
        let pool = pool.clone();
        async move {
            let after = cursor?;
            let (after_time, after_id) = after.unwrap_or((from, 0));
            let rows = sqlx::query_as::<_, ReferralRow>(sqlx::AssertSqlSafe(format!(
                "{REFERRAL_SELECT} where r.account_id = $1 and r.followed_at < $3
                   and (r.followed_at, r.id) > ($2, $4)
                   and r.followed_at >= $5
                 order by r.followed_at, r.id limit $6"
            )))
            .bind(account_id)
            .bind(after_time)
            .bind(to)
            .bind(if after.is_some() { after_id } else { i64::MIN })
            .bind(from)
            .bind(BATCH)
            .fetch_all(&pool)
            .await;
            match rows {
                Ok(rows) => {
                    let next = rows.last().map(|r| Some((r.followed_at, r.id)));
                    let done = (rows.len() as i64) < BATCH;
                    let items: Vec<sqlx::Result<Referral>> =
                        rows.into_iter().map(|r| Ok(r.into())).collect();
                    let state = if done { None } else { next };
                    Some((futures_util::stream::iter(items), state))
                }
                Err(e) => Some((futures_util::stream::iter(vec![Err(e)]), None)),
            }
        }
    })
    .flatten()
    .boxed()
}

/// The first month anything was rolled up for the account, if any (from the month roll-up's
/// index).
async fn data_start(pool: &PgPool, account_id: i64) -> sqlx::Result<Option<NaiveDate>> {
    sqlx::query_scalar("select min(month) from referrer_month where account_id = $1")
        .bind(account_id)
        .fetch_one(pool)
        .await
}

/// When the first scan or referral happened, if any.
pub async fn first_activity(pool: &PgPool, account_id: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "select least((select min(scanned_at) from scan where account_id = $1),
                      (select min(followed_at) from referral where account_id = $1))",
    )
    .bind(account_id)
    .fetch_one(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn plans_read_whole_units_and_subtract_where_that_reads_less() {
        let today = d("2026-11-24");
        let r = |a: &str, b: &str| (d(a), d(b), 1);
        let minus = |a: &str, b: &str| (d(a), d(b), -1);
        // This month so far: the month row (nothing exists after today).
        let month = Plan::new(d("2026-11-01"), d("2026-11-25"), today, None);
        assert!(!month.total);
        assert_eq!(month.to, d("2026-12-01"));
        assert_eq!(month.months, [r("2026-11-01", "2026-12-01")]);
        assert!(month.weeks.is_empty() && month.days.is_empty());
        // This week so far (Monday 23rd to Tuesday 24th): the week row, then days up to the
        // end of the month, which hold nothing yet.
        let week = Plan::new(d("2026-11-23"), d("2026-11-25"), today, None);
        assert!(week.months.is_empty());
        assert_eq!(week.weeks, [r("2026-11-23", "2026-11-30")]);
        assert_eq!(week.days, [r("2026-11-30", "2026-12-01")]);
        // A week across the turn of the month (today Wednesday 30 December): read up to its
        // Sunday, so the week row is used.
        let turn = Plan::new(d("2026-12-28"), d("2026-12-31"), d("2026-12-30"), None);
        assert_eq!(turn.to, d("2027-01-04"));
        assert_eq!(turn.weeks, [r("2026-12-28", "2027-01-04")]);
        assert!(turn.days.is_empty());
        // Today on a Monday: today's week row holds only today.
        let monday = Plan::new(d("2026-11-30"), d("2026-12-01"), d("2026-11-30"), None);
        assert_eq!(monday.weeks, [r("2026-11-30", "2026-12-07")]);
        // Today on a Tuesday: the day row (and the empty rest of the week).
        let day = Plan::new(today, d("2026-11-25"), today, None);
        assert!(day.months.is_empty() && day.weeks.is_empty());
        assert_eq!(day.days, [r("2026-11-24", "2026-12-01")]);
        // Wednesday to Tuesday in the past: the first week minus its Monday and Tuesday (two
        // rows, not five), the next week, and two days.
        let past = Plan::new(d("2026-02-04"), d("2026-02-18"), today, None);
        assert_eq!(past.weeks, [r("2026-02-02", "2026-02-16")]);
        assert_eq!(
            past.days,
            [
                minus("2026-02-02", "2026-02-04"),
                r("2026-02-16", "2026-02-18")
            ]
        );
        // A custom past period: whole months, then the cheapest way to the edges: a week and
        // a day before March; after it, the week of 23 February minus 1 March.
        let custom = Plan::new(d("2026-02-15"), d("2026-06-10"), today, None);
        assert_eq!(custom.to, d("2026-06-10"));
        assert_eq!(custom.months, [r("2026-03-01", "2026-06-01")]);
        assert_eq!(
            custom.weeks,
            [r("2026-02-16", "2026-03-02"), r("2026-06-01", "2026-06-08")]
        );
        assert_eq!(
            custom.days,
            [
                r("2026-02-15", "2026-02-16"),
                minus("2026-03-01", "2026-03-02"),
                r("2026-06-08", "2026-06-10")
            ]
        );
        // The last 90 days: September minus its first day, then October and November.
        let quarter = Plan::new(d("2026-09-02"), d("2026-12-01"), d("2026-11-30"), None);
        assert_eq!(quarter.months, [r("2026-09-01", "2026-12-01")]);
        assert!(quarter.weeks.is_empty());
        assert_eq!(
            quarter.days,
            [
                minus("2026-09-01", "2026-09-02"),
                r("2026-12-01", "2026-12-07")
            ]
        );
        // Within one past week: the week minus its Monday.
        let short = Plan::new(d("2026-02-03"), d("2026-02-09"), today, None);
        assert!(short.months.is_empty());
        assert_eq!(short.weeks, [r("2026-02-02", "2026-02-09")]);
        assert_eq!(short.days, [minus("2026-02-02", "2026-02-03")]);
        // All time: the totals only.
        let all = Plan::new(d("1970-01-01"), d("2026-11-25"), today, None);
        assert!(all.total && all.months.is_empty() && all.weeks.is_empty() && all.days.is_empty());
        assert!(!Plan::new(d("1970-01-01"), d("2026-11-20"), today, None).total);
    }

    /// Every plan counts each day up to today once if it is in the period, else not at all
    /// (from the first day with data on, when the plan may use the all-time totals).
    #[test]
    fn plans_count_each_day_of_the_period_once() {
        let base = d("2025-11-20");
        let starts = [
            None,
            Some(base),
            Some(d("2025-12-01")),
            Some(d("2026-01-13")),
        ];
        let lengths = [
            1u64, 2, 3, 5, 6, 7, 8, 12, 13, 20, 27, 31, 36, 45, 62, 90, 120, 380,
        ];
        for data_start in starts {
            for today_offset in [0u64, 3, 40, 70, 400] {
                let today = base + chrono::Days::new(today_offset);
                for start in 0..75u64 {
                    for len in lengths {
                        let from = base + chrono::Days::new(start);
                        let to = from + chrono::Days::new(len);
                        let plan = Plan::new(from, to, today, data_start);
                        let mut day = data_start.unwrap_or(from - chrono::Days::new(70));
                        while day <= today && day < to + chrono::Days::new(70) {
                            let count: i32 = i32::from(plan.total)
                                + [&plan.months, &plan.weeks, &plan.days]
                                    .into_iter()
                                    .flatten()
                                    .filter(|(lo, hi, _)| *lo <= day && day < *hi)
                                    .map(|(_, _, sign)| sign)
                                    .sum::<i32>();
                            let expected = i32::from(from <= day && day < to);
                            assert_eq!(
                                count, expected,
                                "{day} in {from}..{to} (today {today}, data from \
                                 {data_start:?}): {plan:?}"
                            );
                            day = day + chrono::Days::new(1);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn long_periods_read_the_totals_minus_the_rest() {
        // A year of data; 5 December to today: the totals minus November and four days of
        // December 2025 (six rows per referrer instead of sixteen).
        let today = d("2026-11-30");
        let data = Some(d("2025-11-01"));
        let year = Plan::new(d("2025-12-05"), d("2026-12-01"), today, data);
        assert!(year.total);
        assert_eq!(year.months, [(d("2025-11-01"), d("2025-12-01"), -1)]);
        assert!(year.weeks.is_empty());
        assert_eq!(year.days, [(d("2025-12-01"), d("2025-12-05"), -1)]);
        // The last 90 days are cheaper inside.
        let quarter = Plan::new(d("2026-09-02"), d("2026-12-01"), today, data);
        assert!(!quarter.total);
        assert_eq!(quarter.months, [(d("2026-09-01"), d("2026-12-01"), 1)]);
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
