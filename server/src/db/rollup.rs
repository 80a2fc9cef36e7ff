//! The roll-ups' fold and rebuild: the one definition of how the pending deltas and the
//! recorded rows become `referrer_day`, `referrer_week`, `referrer_month`, `referrer_total`,
//! `referrer_cum`, `account_day` and `scanner`. They are statements sent by the server rather than database
//! functions, so a change to them is a change to this file (migrations 9, 13 and 15 each
//! redefined the same functions; migration 18 dropped them). The triggers that queue the
//! deltas stay in the schema (migrations 8, 9 and 14).

use sqlx::{Acquire, PgPool, Postgres};

/// Folds (and a rebuild) run one at a time: concurrent ones would upsert the same roll-up
/// rows in different orders and deadlock. A delta committed meanwhile waits for the next fold.
const FOLD_LOCK: &str = "select pg_advisory_xact_lock(hashtext('tuijian.stats_fold'))";

/// The last day the running totals (`referrer_cum`) are to be filled through: today (CST), a
/// later day a pending delta is dated on, or a later day already filled.
const THROUGH: &str = "\
select greatest(cst_day(now()), (select max(day) from stats_delta),
                (select max(c.last) from account a
                 cross join lateral (select max(day) as last from referrer_cum
                                     where account_id = a.id) c))";

/// Gives every referrer of every account a running-totals row for each day after the
/// account's last filled day through `$1`, with the totals of that last day (nothing happened
/// in between, or the fold adds it next). Does work once a day per account: every referrer
/// with rows has one on the account's last filled day, so those rows are the ones to copy.
const FILL: &str = "\
insert into referrer_cum (account_id, referrer_id, day, follows, unfollows, lost)
select c.account_id, c.referrer_id, g.day::date, c.follows, c.unfollows, c.lost
from account a
cross join lateral (select max(day) as last from referrer_cum where account_id = a.id) m
join referrer_cum c on c.account_id = a.id and c.day = m.last
cross join lateral generate_series(m.last + 1, $1::date, interval '1 day') g(day)
where m.last < $1::date";

/// Moves every pending delta dated up to `$1` (the day [`FILL`] filled through) into the
/// roll-ups in one statement; returns how many rows it folded. A delta of day d adds to the
/// running totals of every day from d through `$1`; a later-dated one (a clock ahead of
/// ours) waits for a fold that has filled through its day.
const FOLD: &str = "\
with d as (delete from stats_delta where day <= $1::date returning *),
-- Each scanner's first day in this batch, per referrer and account-wide; the scanner rows
-- that are new return it, so no join is needed.
here as (insert into scanner (account_id, scope, openid, first_day)
         select account_id, referrer_id, openid, cst_day(min(scanned_at))
         from d where openid is not null group by 1, 2, 3
         on conflict do nothing returning account_id, scope, first_day),
anywhere as (insert into scanner (account_id, scope, openid, first_day)
             select account_id, -1, openid, cst_day(min(scanned_at))
             from d where openid is not null group by 1, 3
             on conflict do nothing returning account_id, first_day),
contrib as (
    select account_id, referrer_id, day, scans, 0 as scanners, 0 as account_scanners,
           follows, unfollows, lost, lost_7d, lost_30d
    from d
    union all
    select account_id, scope, first_day, 0, 1, 0, 0, 0, 0, 0, 0 from here
    union all
    select account_id, -1, first_day, 0, 0, 1, 0, 0, 0, 0, 0 from anywhere),
per_day as (
    select account_id, referrer_id, day, sum(scans) as scans, sum(scanners) as scanners,
           sum(follows) as follows, sum(unfollows) as unfollows, sum(lost) as lost,
           sum(lost_7d) as lost_7d, sum(lost_30d) as lost_30d
    from contrib where referrer_id >= 0 group by 1, 2, 3),
rd as (
    insert into referrer_day as t
    select account_id, referrer_id, day, scans, scanners, follows, unfollows, lost,
           lost_7d, lost_30d
    from per_day
    on conflict (account_id, referrer_id, day) do update set
    scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
    follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
    lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
    lost_30d = t.lost_30d + excluded.lost_30d),
rm as (
    insert into referrer_month as t
    select account_id, referrer_id, date_trunc('month', day)::date, sum(scans),
           sum(scanners), sum(follows), sum(unfollows), sum(lost), sum(lost_7d),
           sum(lost_30d)
    from per_day group by 1, 2, 3
    on conflict (account_id, referrer_id, month) do update set
    scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
    follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
    lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
    lost_30d = t.lost_30d + excluded.lost_30d),
rw as (
    insert into referrer_week as t
    select account_id, referrer_id, date_trunc('week', day)::date, sum(scans),
           sum(scanners), sum(follows), sum(unfollows), sum(lost), sum(lost_7d),
           sum(lost_30d)
    from per_day group by 1, 2, 3
    on conflict (account_id, referrer_id, week) do update set
    scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
    follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
    lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
    lost_30d = t.lost_30d + excluded.lost_30d),
rt as (
    insert into referrer_total as t
    select account_id, referrer_id, sum(scans), sum(scanners), sum(follows),
           sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d)
    from per_day group by 1, 2
    on conflict (account_id, referrer_id) do update set
    scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
    follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
    lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
    lost_30d = t.lost_30d + excluded.lost_30d),
rc as (
    insert into referrer_cum as t (account_id, referrer_id, day, follows, unfollows, lost)
    select p.account_id, p.referrer_id, g.day::date, sum(p.follows), sum(p.unfollows),
           sum(p.lost)
    from per_day p
    cross join lateral generate_series(p.day, $1::date, interval '1 day') g(day)
    where p.referrer_id > 0 and (p.follows, p.unfollows, p.lost) <> (0, 0, 0)
    group by 1, 2, 3
    on conflict (account_id, day, referrer_id) do update set
    follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
    lost = t.lost + excluded.lost),
ad as (
    insert into account_day as t (account_id, day, scans, scanners, follows, unfollows,
                                  lost, lost_7d, lost_30d)
    select account_id, day, sum(scans), sum(account_scanners), sum(follows),
           sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d)
    from contrib group by 1, 2
    on conflict (account_id, day) do update set
    scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
    follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
    lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
    lost_30d = t.lost_30d + excluded.lost_30d)
select count(*) from d
";

/// Rebuilds every roll-up from the recorded scans, referrals and followers, in order. A voided
/// referral counts nowhere (its scan still counts as a scan).
const REBUILD: [&str; 10] = [
    "\
truncate referrer_day, referrer_week, referrer_month, referrer_total, referrer_cum,
         account_day, scanner, stats_delta",
    "\
insert into scanner (account_id, scope, openid, first_day)
    select account_id, coalesce(referrer_id, 0), openid, cst_day(min(scanned_at))
    from scan group by 1, 2, 3
    union all
    select account_id, -1, openid, cst_day(min(scanned_at)) from scan group by 1, 3",
    "\
create temporary table contrib on commit drop as
    select s.account_id a, coalesce(s.referrer_id, 0) r, cst_day(s.scanned_at) d,
           1 scans, 0 scanners, 0 account_scanners, 0 follows, 0 unfollows, 0 lost,
           0 lost_7d, 0 lost_30d
    from scan s
    union all
    select account_id, coalesce(referrer_id, 0), cst_day(min(scanned_at)),
           0, 1, 0, 0, 0, 0, 0, 0
    from scan group by account_id, coalesce(referrer_id, 0), openid
    union all
    select account_id, -1, cst_day(min(scanned_at)), 0, 0, 1, 0, 0, 0, 0, 0
    from scan group by account_id, openid
    union all
    select account_id, referrer_id, cst_day(followed_at), 0, 0, 0, 1, 0, 0, 0, 0
    from referral where voided_at is null
    union all
    select r.account_id, r.referrer_id, cst_day(f.unfollowed_at), 0, 0, 0, 0, 1, 0, 0, 0
    from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id
    where not f.subscribed and f.unfollowed_at is not null and r.voided_at is null
    union all
    select r.account_id, r.referrer_id, cst_day(r.followed_at), 0, 0, 0, 0, 0, 1,
           (f.unfollowed_at < r.followed_at + interval '7 days')::integer,
           (f.unfollowed_at < r.followed_at + interval '30 days')::integer
    from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id
    where not f.subscribed and f.unfollowed_at is not null and r.voided_at is null",
    "\
insert into referrer_day
    select a, r, d, sum(scans), sum(scanners), sum(follows), sum(unfollows), sum(lost),
           sum(lost_7d), sum(lost_30d)
    from contrib where r >= 0 group by a, r, d",
    "\
insert into referrer_month
    select account_id, referrer_id, date_trunc('month', day)::date, sum(scans),
           sum(scanners), sum(follows), sum(unfollows), sum(lost), sum(lost_7d),
           sum(lost_30d)
    from referrer_day group by 1, 2, 3",
    "\
insert into referrer_week
    select account_id, referrer_id, date_trunc('week', day)::date, sum(scans),
           sum(scanners), sum(follows), sum(unfollows), sum(lost), sum(lost_7d),
           sum(lost_30d)
    from referrer_day group by 1, 2, 3",
    "\
insert into referrer_total
    select account_id, referrer_id, sum(scans), sum(scanners), sum(follows),
           sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d)
    from referrer_day group by 1, 2",
    // Running totals for every day from each referrer's first follow, unfollow or lost
    // referral through today (or the last day with data), as migration 32 first filled them.
    "\
insert into referrer_cum (account_id, referrer_id, day, follows, unfollows, lost)
select r.account_id, r.referrer_id, g.day::date,
       sum(coalesce(d.follows, 0)) over w, sum(coalesce(d.unfollows, 0)) over w,
       sum(coalesce(d.lost, 0)) over w
from (select account_id, referrer_id, min(day) as first from referrer_day
      where referrer_id > 0 and (follows, unfollows, lost) <> (0, 0, 0)
      group by 1, 2) r
cross join lateral generate_series(
    r.first,
    (select greatest(cst_day(now()), max(day)) from referrer_day),
    interval '1 day') g(day)
left join referrer_day d
    on d.account_id = r.account_id and d.referrer_id = r.referrer_id and d.day = g.day::date
window w as (partition by r.account_id, r.referrer_id order by g.day)",
    "\
insert into account_day
    select a, d, sum(scans), sum(account_scanners), sum(follows), sum(unfollows),
           sum(lost), sum(lost_7d), sum(lost_30d)
    from contrib group by a, d",
    // Dropped by hand: inside a caller's transaction this one is a savepoint, and `on commit
    // drop` would wait for the caller's commit (a second rebuild there would find it).
    "drop table contrib",
];

/// Moves the callbacks' pending roll-up deltas into the roll-ups; returns how many were
/// folded. Reports call it first, so they count everything committed. With nothing pending it
/// is one cheap read (no transaction, no lock, no statement over the roll-ups): most report
/// reads find the worker has folded already. The running totals' new days need no fold of
/// their own: a read of a day after an account's last filled day reads that day, and the next
/// fold with deltas fills the days between before adding to them.
pub async fn fold(pool: &PgPool) -> sqlx::Result<i64> {
    let pending: bool = sqlx::query_scalar("select exists(select 1 from stats_delta)")
        .fetch_one(pool)
        .await?;
    if !pending {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    sqlx::query(FOLD_LOCK).execute(&mut *tx).await?;
    let through: chrono::NaiveDate = sqlx::query_scalar(THROUGH).fetch_one(&mut *tx).await?;
    sqlx::query(FILL).bind(through).execute(&mut *tx).await?;
    let folded = sqlx::query_scalar(FOLD)
        .bind(through)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(folded)
}

/// Throws the roll-ups away and computes them again from the rows, in one transaction (the
/// pending deltas are dropped: the rows already hold what they would add). For repairs, the
/// benchmark's seeding and the tests that compare the kept roll-ups with a rebuild.
pub async fn rebuild<'c>(conn: impl Acquire<'c, Database = Postgres>) -> sqlx::Result<()> {
    let mut tx = conn.begin().await?;
    sqlx::query(FOLD_LOCK).execute(&mut *tx).await?;
    for statement in REBUILD {
        sqlx::query(statement).execute(&mut *tx).await?;
    }
    tx.commit().await
}
