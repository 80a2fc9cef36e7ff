//! Reporting queries: leaderboard, period stats with a daily series, referral lists.

use app::model::{DailyPoint, LeaderboardRow, Page, Referral, Stats};
use chrono::{DateTime, NaiveDate, Utc};
use futures_util::stream::{BoxStream, StreamExt};
use sqlx::PgPool;

use crate::db::referrers::rfc3339;

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
            Metric::Follows => "follows",
            Metric::Net => "follows - unfollows",
            Metric::Retained => "retained",
        }
    }
}

#[derive(sqlx::FromRow)]
struct BoardRow {
    rank: i64,
    referrer_id: i64,
    name: String,
    kind: String,
    follows: i64,
    unfollows: i64,
    retained: i64,
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
    let m = metric.column();
    // `m` comes from a fixed list above, never from input.
    let sql = format!(
        "with fo as (
            select r.referrer_id, count(*) as follows,
                   count(*) filter (where f.subscribed) as retained
            from referral r join follower f on f.id = r.follower_id
            where r.account_id = $1 and r.followed_at >= $2 and r.followed_at < $3
            group by r.referrer_id),
         uf as (
            select r.referrer_id, count(*) as unfollows
            from follower f join referral r on r.account_id = f.account_id and r.follower_id = f.id
            where f.account_id = $1 and not f.subscribed
              and f.unfollowed_at >= $2 and f.unfollowed_at < $3
            group by r.referrer_id),
         agg as (
            select referrer_id, coalesce(fo.follows, 0) as follows,
                   coalesce(uf.unfollows, 0) as unfollows, coalesce(fo.retained, 0) as retained
            from fo full join uf using (referrer_id))
         select rank() over (order by {m} desc) as rank, a.referrer_id, re.name, re.kind,
                a.follows, a.unfollows, a.retained
         from agg a join referrer re on re.id = a.referrer_id
         where ($4::text is null or re.kind = $4)
         order by {m} desc, a.referrer_id asc
         limit $5"
    );
    let rows: Vec<BoardRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(from)
        .bind(to)
        .bind(kind)
        .bind(limit)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| LeaderboardRow {
            rank: r.rank,
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
struct Totals {
    scans: i64,
    unique_scanners: i64,
    new_follows: i64,
    unfollows: i64,
    still_following: i64,
    retained_7d: i64,
    retained_30d: i64,
}

#[derive(sqlx::FromRow)]
struct DayRow {
    day: NaiveDate,
    scans: i64,
    follows: i64,
    unfollows: i64,
}

/// Figures for `[from, to)`, overall or for one referrer, with a daily series (CST dates).
pub async fn stats(
    pool: &PgPool,
    account_id: i64,
    referrer_id: Option<i64>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> sqlx::Result<Stats> {
    let totals: Totals = sqlx::query_as(
        "select
            (select count(*) from scan s where s.account_id = $1
               and s.scanned_at >= $2 and s.scanned_at < $3
               and ($4::bigint is null or s.referrer_id = $4)) as scans,
            (select count(distinct s.openid) from scan s where s.account_id = $1
               and s.scanned_at >= $2 and s.scanned_at < $3
               and ($4::bigint is null or s.referrer_id = $4)) as unique_scanners,
            count(*) as new_follows,
            (select count(*) from follower f
               join referral r on r.account_id = f.account_id and r.follower_id = f.id
               where f.account_id = $1 and not f.subscribed
                 and f.unfollowed_at >= $2 and f.unfollowed_at < $3
                 and ($4::bigint is null or r.referrer_id = $4)) as unfollows,
            count(*) filter (where f.subscribed) as still_following,
            count(*) filter (where r.followed_at <= now() - interval '7 days'
                and (f.subscribed or f.unfollowed_at >= r.followed_at + interval '7 days'))
                as retained_7d,
            count(*) filter (where r.followed_at <= now() - interval '30 days'
                and (f.subscribed or f.unfollowed_at >= r.followed_at + interval '30 days'))
                as retained_30d
         from referral r join follower f on f.id = r.follower_id
         where r.account_id = $1 and r.followed_at >= $2 and r.followed_at < $3
           and ($4::bigint is null or r.referrer_id = $4)",
    )
    .bind(account_id)
    .bind(from)
    .bind(to)
    .bind(referrer_id)
    .fetch_one(pool)
    .await?;
    let days: Vec<DayRow> = sqlx::query_as(
        "with d as (
            select generate_series(($2 at time zone 'Asia/Shanghai')::date,
                                   ($3 at time zone 'Asia/Shanghai')::date - 1,
                                   interval '1 day')::date as day),
         s as (select (scanned_at at time zone 'Asia/Shanghai')::date as day, count(*) as n
               from scan where account_id = $1 and scanned_at >= $2 and scanned_at < $3
                 and ($4::bigint is null or referrer_id = $4) group by 1),
         f as (select (followed_at at time zone 'Asia/Shanghai')::date as day, count(*) as n
               from referral where account_id = $1 and followed_at >= $2 and followed_at < $3
                 and ($4::bigint is null or referrer_id = $4) group by 1),
         u as (select (fo.unfollowed_at at time zone 'Asia/Shanghai')::date as day, count(*) as n
               from follower fo
               join referral r on r.account_id = fo.account_id and r.follower_id = fo.id
               where fo.account_id = $1 and not fo.subscribed
                 and fo.unfollowed_at >= $2 and fo.unfollowed_at < $3
                 and ($4::bigint is null or r.referrer_id = $4) group by 1)
         select d.day, coalesce(s.n, 0) as scans, coalesce(f.n, 0) as follows,
                coalesce(u.n, 0) as unfollows
         from d left join s using (day) left join f using (day) left join u using (day)
         order by d.day",
    )
    .bind(account_id)
    .bind(from)
    .bind(to)
    .bind(referrer_id)
    .fetch_all(pool)
    .await?;
    Ok(Stats {
        scans: totals.scans,
        unique_scanners: totals.unique_scanners,
        new_follows: totals.new_follows,
        unfollows: totals.unfollows,
        net_follows: totals.new_follows - totals.unfollows,
        still_following: totals.still_following,
        retained_7d: totals.retained_7d,
        retained_30d: totals.retained_30d,
        daily: days
            .into_iter()
            .map(|d| DailyPoint {
                date: d.day.to_string(),
                scans: d.scans,
                follows: d.follows,
                unfollows: d.unfollows,
            })
            .collect(),
    })
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
    from referral r join follower f on f.id = r.follower_id
         join referrer re on re.id = r.referrer_id";

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
