//! Reporting queries: the leaderboard's roll-up sums, the daily roll-up rows of a period,
//! referral lists. SQL only, and no import of the referral domain: the read plan, the ranking
//! and the retention rules are the report service's (`referral/report_plan.rs`,
//! `referral/reports.rs`), which hands this module plain data.

use app::model::ReferrerKind;
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::{BoxStream, StreamExt};
use sqlx::PgPool;

use crate::db::Paged;

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
    fn column(self) -> &'static str {
        match self {
            Metric::Follows => "a.follows",
            Metric::Net => "a.follows - a.unfollows",
            Metric::Retained => "a.retained",
        }
    }
}

/// `[start, end)` of a roll-up table's key, added (`1`) or subtracted (`-1`).
pub type Span = (NaiveDate, NaiveDate, i32);

/// A day of `referrer_cum` (each referrer's running totals through that day), added (`1`) or
/// subtracted (`-1`).
pub type Edge = (NaiveDate, i32);

/// One leaderboard read, as plain data: which roll-up rows to sum (the report service's read
/// plan), what to rank by, and how many rows to return.
#[derive(Clone, Copy, Debug)]
pub struct BoardQuery<'a> {
    pub account_id: i64,
    /// Add `referrer_total`.
    pub total: bool,
    /// Ranges of `referrer_month.month`, `referrer_week.week` and `referrer_day.day`.
    pub months: &'a [Span],
    pub weeks: &'a [Span],
    pub days: &'a [Span],
    /// Days of `referrer_cum`; a day after the last filled one reads that one (nothing has
    /// happened since).
    pub cumulative: &'a [Edge],
    pub metric: Metric,
    /// `staff` | `member`; None for both.
    pub kind: Option<ReferrerKind>,
    pub limit: i64,
}

/// A referrer's sums over a [`BoardQuery`], highest `value` first.
#[derive(sqlx::FromRow)]
pub struct BoardRow {
    /// The metric ranked by.
    pub value: i64,
    pub referrer_id: i64,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub kind: ReferrerKind,
    pub follows: i64,
    pub unfollows: i64,
    pub retained: i64,
}

/// Moves the callbacks' pending roll-up deltas into the roll-ups (see [`super::rollup`]).
pub use super::rollup::fold;

/// The leaderboard's statement: `m` comes from a fixed list ([`Metric::column`]), never from
/// input. Each range, and each day of running totals, is one index-only range scan. The top rows are picked with a bounded sort
/// (`limit $10`; null for every row) and ranked by the caller: a rank only depends on the
/// rows listed before it.
fn board_sql(metric: Metric) -> String {
    let m = metric.column();
    format!(
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
            join referrer_day t on t.account_id = $1 and t.day >= p.lo and t.day < p.hi
            union all
            select t.referrer_id, p.sign * t.follows, p.sign * t.unfollows, p.sign * t.lost
            from unnest($14::date[], $15::int[]) as p(day, sign)
            join referrer_cum t on t.account_id = $1
             and t.day = least(p.day, (select max(day) from referrer_cum where account_id = $1))),
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
    )
}

/// A [`BoardQuery`]'s bind values, owned (so a streamed read can take them along).
struct BoardArgs {
    account_id: i64,
    total: bool,
    ranges: [(Vec<NaiveDate>, Vec<NaiveDate>, Vec<i32>); 3],
    cumulative: (Vec<NaiveDate>, Vec<i32>),
    kind: Option<&'static str>,
    /// None: every row.
    limit: Option<i64>,
}

impl BoardArgs {
    fn new(q: &BoardQuery<'_>, limit: Option<i64>) -> Self {
        let split = |r: &[Span]| {
            (
                r.iter().map(|x| x.0).collect(),
                r.iter().map(|x| x.1).collect(),
                r.iter().map(|x| x.2).collect(),
            )
        };
        BoardArgs {
            account_id: q.account_id,
            total: q.total,
            ranges: [split(q.months), split(q.weeks), split(q.days)],
            cumulative: q.cumulative.iter().copied().unzip(),
            kind: q.kind.map(ReferrerKind::as_str),
            limit,
        }
    }
}

/// Binds [`BoardArgs`] (by value) to the parameters of [`board_sql`].
macro_rules! bind_board {
    ($query:expr, $a:expr) => {{
        let a = $a;
        let [
            (m_lo, m_hi, m_sign),
            (w_lo, w_hi, w_sign),
            (d_lo, d_hi, d_sign),
        ] = a.ranges;
        let (c_day, c_sign) = a.cumulative;
        $query
            .bind(a.account_id)
            .bind(a.total)
            .bind(m_lo)
            .bind(m_hi)
            .bind(w_lo)
            .bind(w_hi)
            .bind(d_lo)
            .bind(d_hi)
            .bind(a.kind)
            .bind(a.limit)
            .bind(m_sign)
            .bind(w_sign)
            .bind(d_sign)
            .bind(c_day)
            .bind(c_sign)
    }};
}

// A few ten thousand index entries are summed: parallel workers only add their start-up
// (a one-day board at 10 M took 17 ms with two workers, 7 ms without).
const NO_PARALLEL: &str = "set local max_parallel_workers_per_gather = 0";

/// The referrers with any follow or unfollow in the rows `q` sums, the highest value first
/// (ties by referrer id, so the order is stable), at most `q.limit`. Call [`fold`] first.
pub async fn leaderboard(pool: &PgPool, q: &BoardQuery<'_>) -> sqlx::Result<Vec<BoardRow>> {
    let sql = board_sql(q.metric);
    let mut tx = pool.begin().await?;
    sqlx::query(NO_PARALLEL).execute(&mut *tx).await?;
    let query = sqlx::query_as::<_, BoardRow>(sqlx::AssertSqlSafe(sql));
    let rows: Vec<BoardRow> = bind_board!(query, BoardArgs::new(q, Some(q.limit)))
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(rows)
}

/// Rows a streamed board read may have fetched ahead of its consumer.
const STREAM_AHEAD: usize = 256;

/// Every row of the board `q` sums (no limit), in the order of [`leaderboard`], as a stream:
/// one statement whose rows are read from the connection as the consumer takes them, so the
/// memory held is a few hundred rows however many referrers there are. Dropping the stream
/// ends the read. Call [`fold`] first.
pub fn leaderboard_all(
    pool: &PgPool,
    q: &BoardQuery<'_>,
) -> BoxStream<'static, sqlx::Result<BoardRow>> {
    let (sql, args, pool) = (board_sql(q.metric), BoardArgs::new(q, None), pool.clone());
    let (send, receive) = tokio::sync::mpsc::channel(STREAM_AHEAD);
    // The rows borrow the transaction, so the read runs in a task of its own and hands them
    // over a bounded channel (a full channel pauses the read).
    tokio::spawn(async move {
        let read = async {
            let mut tx = pool.begin().await?;
            sqlx::query(NO_PARALLEL).execute(&mut *tx).await?;
            let query = sqlx::query_as::<_, BoardRow>(sqlx::AssertSqlSafe(sql));
            let mut rows = bind_board!(query, args).fetch(&mut *tx);
            while let Some(row) = rows.next().await {
                let failed = row.is_err();
                if send.send(row).await.is_err() || failed {
                    // The consumer went away (or was told of the error): stop reading.
                    return Ok(());
                }
            }
            drop(rows);
            tx.commit().await
        };
        if let Err(e) = read.await {
            let _ = send.send(Err(e)).await;
        }
    });
    futures_util::stream::unfold(receive, |mut receive| async move {
        receive.recv().await.map(|row| (row, receive))
    })
    .boxed()
}

/// One CST day's sums of a daily roll-up.
#[derive(sqlx::FromRow)]
pub struct DayRow {
    pub day: NaiveDate,
    pub scans: i64,
    pub scanners: i64,
    pub follows: i64,
    pub unfollows: i64,
    pub lost: i64,
    pub lost_7d: i64,
    pub lost_30d: i64,
}

/// The daily roll-up rows of the CST days `[from, to)`, overall (`account_day`) or for one
/// referrer (`referrer_day`); days without a row are absent. Call [`fold`] first.
pub async fn days(
    pool: &PgPool,
    account_id: i64,
    referrer_id: Option<i64>,
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<DayRow>> {
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
    Ok(rows)
}

/// A referral with its follower's openid and state and its referrer's name.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReferralRow {
    pub id: i64,
    pub openid: String,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub qr_code_id: i64,
    pub followed_at: DateTime<Utc>,
    /// When the follower unfollowed; only meaningful while `subscribed` is false.
    pub unfollowed_at: Option<DateTime<Utc>>,
    /// Whether the follower follows now.
    pub subscribed: bool,
    /// When a manager voided it (it counts nowhere then).
    pub voided_at: Option<DateTime<Utc>>,
    pub void_reason: Option<String>,
    /// The WeChat tag the follower is to carry, where WeChat stands on it and why it refused.
    pub wechat_tag: Option<String>,
    pub wechat_tag_state: Option<String>,
    pub wechat_tag_error: Option<String>,
}

/// The select of [`ReferralRow`]s; with `tags`, each follower's wanted WeChat tag and its
/// state (the referrer's page), else none (the export, which shows no tag, reads no tag row).
fn referral_select(tags: bool) -> String {
    let (tag_columns, tag_join) = if tags {
        (
            "wt.tag as wechat_tag, wt.state as wechat_tag_state, wt.error as wechat_tag_error",
            "left join lateral (
                 select t.tag, t.state, t.error from follower_wechat_tag t
                 where t.account_id = r.account_id and t.follower_id = r.follower_id
                   and t.wanted
                 limit 1) wt on true",
        )
    } else {
        (
            "null::text as wechat_tag, null::text as wechat_tag_state,
             null::text as wechat_tag_error",
            "",
        )
    };
    format!(
        "select r.id, f.openid, r.referrer_id, re.name as referrer_name,
            r.qr_code_id, r.followed_at, f.unfollowed_at, f.subscribed, r.voided_at,
            r.void_reason, {tag_columns}
        from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id
             join referrer re on re.account_id = r.account_id and re.id = r.referrer_id
             {tag_join}"
    )
}

/// A referrer's referrals, newest first.
pub async fn referrals_of(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    page: i64,
    per_page: i64,
) -> sqlx::Result<Paged<ReferralRow>> {
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
        "{} where r.account_id = $1 and r.referrer_id = $2
         order by r.followed_at desc, r.id desc limit $3 offset $4",
        referral_select(true)
    )))
    .bind(account_id)
    .bind(referrer_id)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(pool)
    .await?;
    Ok(Paged {
        rows,
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
) -> BoxStream<'static, sqlx::Result<ReferralRow>> {
    const BATCH: i64 = 2000;
    // (followed_at, id) of the last row sent; None before the first batch.
    let start: Option<(DateTime<Utc>, i64)> = None;
    let select = std::sync::Arc::new(referral_select(false));
    futures_util::stream::unfold(Some(start), move |cursor| {
        let pool = pool.clone();
        let select = select.clone();
        async move {
            let after = cursor?;
            let (after_time, after_id) = after.unwrap_or((from, 0));
            let rows = sqlx::query_as::<_, ReferralRow>(sqlx::AssertSqlSafe(format!(
                "{} where r.account_id = $1 and r.followed_at < $3
                   and (r.followed_at, r.id) > ($2, $4)
                   and r.followed_at >= $5
                 order by r.followed_at, r.id limit $6",
                select
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
                    let items: Vec<sqlx::Result<ReferralRow>> = rows.into_iter().map(Ok).collect();
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
pub async fn data_start(pool: &PgPool, account_id: i64) -> sqlx::Result<Option<NaiveDate>> {
    sqlx::query_scalar("select min(month) from referrer_month where account_id = $1")
        .bind(account_id)
        .fetch_one(pool)
        .await
}

/// `(referrer, day, follows)` of the referrers' day roll-ups in `[from, to]`.
pub async fn daily_follows(
    pool: &PgPool,
    account_id: i64,
    referrers: &[i64],
    from: NaiveDate,
    to: NaiveDate,
) -> sqlx::Result<Vec<(i64, NaiveDate, i64)>> {
    sqlx::query_as(
        "select referrer_id, day, follows::bigint from referrer_day
         where account_id = $1 and referrer_id = any($2) and day between $3 and $4",
    )
    .bind(account_id)
    .bind(referrers)
    .bind(from)
    .bind(to)
    .fetch_all(pool)
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
