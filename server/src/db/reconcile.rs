//! SQL of reconciliation runs (see `referral::reconcile`): the run with its cursor and counts,
//! the openids WeChat listed, and the report of what changed.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// One run as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RunRow {
    pub id: i64,
    pub account_id: i64,
    pub started_by: String,
    pub notify: bool,
    pub phase: String,
    pub status: String,
    pub cursor: String,
    pub wechat_total: Option<i64>,
    pub listed: i64,
    pub to_check: i64,
    pub checked: i64,
    pub recovered: i64,
    pub recorded: i64,
    pub unattributed: i64,
    pub lost: i64,
    pub api_calls: i32,
    pub error: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One line of a run's report.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChangeRow {
    pub openid: String,
    pub change: String,
    pub referrer_id: Option<i64>,
    pub referrer_name: Option<String>,
    pub scene: Option<String>,
    pub at: DateTime<Utc>,
}

/// Starts a run unless one is active for the account (then `None`).
pub async fn create(
    pool: &PgPool,
    account_id: i64,
    started_by: &str,
    notify: bool,
) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(
        "insert into reconcile_run (account_id, started_by, notify) values ($1, $2, $3)
         on conflict (account_id) where status = 'active' do nothing
         returning *",
    )
    .bind(account_id)
    .bind(started_by)
    .bind(notify)
    .fetch_optional(pool)
    .await
}

pub async fn get(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as("select * from reconcile_run where account_id = $1 and id = $2")
        .bind(account_id)
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The account's latest runs, newest first.
pub async fn recent(pool: &PgPool, account_id: i64, limit: i64) -> sqlx::Result<Vec<RunRow>> {
    sqlx::query_as("select * from reconcile_run where account_id = $1 order by id desc limit $2")
        .bind(account_id)
        .bind(limit)
        .fetch_all(pool)
        .await
}

/// Takes the lease of an active run nobody drives (optionally of one account, optionally one
/// run) for `lease_secs`.
pub async fn claim(
    pool: &PgPool,
    account_id: Option<i64>,
    run_id: Option<i64>,
    lease_secs: i64,
) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(
        "update reconcile_run set lease_until = now() + make_interval(secs => $3),
                updated_at = now()
         where id = (select id from reconcile_run
                     where status = 'active' and (lease_until is null or lease_until < now())
                       and ($1::bigint is null or account_id = $1)
                       and ($2::bigint is null or id = $2)
                     order by id limit 1 for update skip locked)
         returning *",
    )
    .bind(account_id)
    .bind(run_id)
    .bind(lease_secs as f64)
    .fetch_optional(pool)
    .await
}

/// Gives the lease back (the run stays as it is, for anyone to continue).
pub async fn release(pool: &PgPool, id: i64) -> sqlx::Result<()> {
    sqlx::query("update reconcile_run set lease_until = null where id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Re-reads a run this process drives and extends its lease; `None` when it is no longer
/// active (cancelled meanwhile).
pub async fn renew(pool: &PgPool, id: i64, lease_secs: i64) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(
        "update reconcile_run set lease_until = now() + make_interval(secs => $2)
         where id = $1 and status = 'active' returning *",
    )
    .bind(id)
    .bind(lease_secs as f64)
    .fetch_optional(pool)
    .await
}

/// Locks the run for a step taken from `run` as read: false when the run has moved on since
/// (another driver took the step, or it was cancelled), and the step must write nothing.
pub async fn lock_at(conn: &mut PgConnection, run: &RunRow) -> sqlx::Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>(
        "select id from reconcile_run
         where id = $1 and status = 'active' and phase = $2 and cursor = $3
         for update",
    )
    .bind(run.id)
    .bind(&run.phase)
    .bind(&run.cursor)
    .fetch_optional(&mut *conn)
    .await?
    .is_some())
}

/// Stores one page of `user/get`: its openids, the next cursor, WeChat's total. The last page
/// (`next` empty) moves the run to the check phase and counts what is left to check.
pub async fn add_listed(
    conn: &mut PgConnection,
    run: &RunRow,
    openids: &[String],
    next: &str,
    total: i64,
) -> sqlx::Result<()> {
    let added = sqlx::query(
        "insert into reconcile_seen (account_id, run_id, openid)
         select $3, $1, unnest($2::text[])
         on conflict do nothing",
    )
    .bind(run.id)
    .bind(openids)
    .bind(run.account_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    sqlx::query(
        "update reconcile_run set listed = listed + $2, cursor = $3, wechat_total = $4,
                api_calls = api_calls + 1, updated_at = now(),
                phase = case when $3 = '' then 'check' else phase end,
                to_check = case when $3 = '' then
                    (select count(*) from reconcile_seen s
                     where s.account_id = $5 and s.run_id = $1 and not exists (
                        select 1 from follower f
                        where f.account_id = $5 and f.openid = s.openid and f.subscribed))
                    else to_check end
         where id = $1",
    )
    .bind(run.id)
    .bind(added as i64)
    .bind(next)
    .bind(total)
    .bind(run.account_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The next listed followers after the cursor whom we do not know as following.
pub async fn next_to_check(pool: &PgPool, run: &RunRow, limit: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select s.openid from reconcile_seen s
         where s.account_id = $3 and s.run_id = $1 and s.openid > $2
           and not exists (select 1 from follower f
                           where f.account_id = $3 and f.openid = s.openid and f.subscribed)
         order by s.openid limit $4",
    )
    .bind(run.id)
    .bind(&run.cursor)
    .bind(run.account_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// What we know of a listed follower before recording anything.
#[derive(Debug, sqlx::FromRow)]
pub struct Known {
    pub openid: String,
    pub subscribed: bool,
    pub last_followed_at: DateTime<Utc>,
    pub unfollowed_at: Option<DateTime<Utc>>,
}

/// Our followers among `openids`.
pub async fn known(
    conn: &mut PgConnection,
    account_id: i64,
    openids: &[String],
) -> sqlx::Result<Vec<Known>> {
    sqlx::query_as(
        "select openid, subscribed, last_followed_at, unfollowed_at from follower
         where account_id = $1 and openid = any($2)",
    )
    .bind(account_id)
    .bind(openids)
    .fetch_all(&mut *conn)
    .await
}

/// A line of the report to write.
#[derive(Debug)]
pub struct NewChange<'a> {
    pub openid: &'a str,
    pub change: &'a str,
    pub referrer_id: Option<i64>,
    pub scene: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Writes a checked batch's report lines, marks its recovered referrals and moves the cursor.
pub async fn checked(
    conn: &mut PgConnection,
    run: &RunRow,
    changes: &[NewChange<'_>],
    referral_ids: &[i64],
    batch: usize,
    unattributed: i64,
    cursor: &str,
) -> sqlx::Result<()> {
    let openids: Vec<&str> = changes.iter().map(|c| c.openid).collect();
    let kinds: Vec<&str> = changes.iter().map(|c| c.change).collect();
    let referrers: Vec<Option<i64>> = changes.iter().map(|c| c.referrer_id).collect();
    let scenes: Vec<Option<&str>> = changes.iter().map(|c| c.scene).collect();
    let ats: Vec<DateTime<Utc>> = changes.iter().map(|c| c.at).collect();
    sqlx::query(
        "insert into reconcile_change (run_id, account_id, openid, change, referrer_id, scene, at)
         select $1, $2, * from unnest($3::text[], $4::text[], $5::bigint[], $6::text[],
                                      $7::timestamptz[])
         on conflict do nothing",
    )
    .bind(run.id)
    .bind(run.account_id)
    .bind(&openids)
    .bind(&kinds)
    .bind(&referrers)
    .bind(&scenes)
    .bind(&ats)
    .execute(&mut *conn)
    .await?;
    sqlx::query("update referral set recovered_by = $1 where account_id = $2 and id = any($3)")
        .bind(run.id)
        .bind(run.account_id)
        .bind(referral_ids)
        .execute(&mut *conn)
        .await?;
    let count = |kind: &str| changes.iter().filter(|c| c.change == kind).count() as i64;
    sqlx::query(
        "update reconcile_run set checked = checked + $2, recovered = recovered + $3,
                recorded = recorded + $4, unattributed = unattributed + $5,
                cursor = $6, api_calls = api_calls + 1, updated_at = now()
         where id = $1",
    )
    .bind(run.id)
    .bind(batch as i64)
    .bind(count("recovered"))
    .bind(count("recorded"))
    .bind(unattributed)
    .bind(cursor)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves a run from checking to marking the lost.
pub async fn to_lost_phase(pool: &PgPool, id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update reconcile_run set phase = 'lost', cursor = '', updated_at = now()
         where id = $1 and status = 'active' and phase = 'check'",
    )
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks as lost (unfollowed now) every follower we think follows whom WeChat did not list,
/// except those who followed after the run started (WeChat's list predates them), writes
/// their report lines and finishes the run, in one transaction. Only once: a run finished
/// meanwhile (its list of openids is gone) marks nobody.
pub async fn finish_with_lost(pool: &PgPool, run: &RunRow) -> sqlx::Result<i64> {
    let mut tx = pool.begin().await?;
    if !lock_at(&mut tx, run).await? {
        return Ok(0);
    }
    let lost: i64 = sqlx::query_scalar(
        "with gone as (
            update follower f set subscribed = false, unfollowed_at = now()
            where f.account_id = $2 and f.subscribed and f.last_followed_at < $3
              and not exists (select 1 from reconcile_seen s
                              where s.account_id = $2 and s.run_id = $1
                                and s.openid = f.openid)
            returning f.id, f.openid, f.unfollowed_at),
         written as (
            insert into reconcile_change (run_id, account_id, openid, change, referrer_id, at)
            select $1, $2, g.openid, 'lost', r.referrer_id, g.unfollowed_at
            from gone g left join referral r on r.account_id = $2 and r.follower_id = g.id
            on conflict do nothing
            returning 1)
         select count(*) from written",
    )
    .bind(run.id)
    .bind(run.account_id)
    .bind(run.created_at)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "update reconcile_run set lost = $2, status = 'done', lease_until = null,
                finished_at = now(), updated_at = now()
         where id = $1",
    )
    .bind(run.id)
    .bind(lost)
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from reconcile_seen where account_id = $1 and run_id = $2")
        .bind(run.account_id)
        .bind(run.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(lost)
}

/// Stops a run on an error it cannot get past by itself (resumable by [`resume`]).
pub async fn fail(pool: &PgPool, id: i64, error: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update reconcile_run set status = 'failed', error = $2, lease_until = null,
                updated_at = now()
         where id = $1 and status = 'active'",
    )
    .bind(id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Makes a failed run active again, from its cursor; `None` when it is not failed or another
/// run is active.
pub async fn resume(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<RunRow>> {
    let resumed = sqlx::query_as(
        "update reconcile_run set status = 'active', error = null, updated_at = now()
         where account_id = $1 and id = $2 and status = 'failed'
           and not exists (select 1 from reconcile_run
                           where account_id = $1 and status = 'active')
         returning *",
    )
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await;
    match resumed {
        // Another run became active at the same moment.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        other => other,
    }
}

/// Cancels an active or failed run (what it recorded stays); whether it was.
pub async fn cancel(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "update reconcile_run set status = 'cancelled', lease_until = null,
                finished_at = now(), updated_at = now()
         where account_id = $1 and id = $2 and status in ('active', 'failed')",
    )
    .bind(account_id)
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        > 0;
    if done {
        sqlx::query("delete from reconcile_seen where account_id = $1 and run_id = $2")
            .bind(account_id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// A run's report lines (recovered first, then the others), at most `limit`.
pub async fn changes(
    pool: &PgPool,
    account_id: i64,
    run_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<ChangeRow>> {
    sqlx::query_as(
        "select c.openid, c.change, c.referrer_id, r.name as referrer_name, c.scene, c.at
         from reconcile_change c
         left join referrer r on r.account_id = c.account_id and r.id = c.referrer_id
         where c.account_id = $1 and c.run_id = $2
         order by case c.change when 'recovered' then 0 when 'recorded' then 1 else 2 end,
                  c.at, c.openid
         limit $3",
    )
    .bind(account_id)
    .bind(run_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Live accounts whose nightly run is due at `now` (their hour has come, Beijing time, and no
/// run started since), each with a new run started by `schedule`.
pub async fn start_scheduled(pool: &PgPool, now: DateTime<Utc>) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(
        "insert into reconcile_run (account_id, started_by)
         select a.id, 'schedule' from account a
         cross join lateral (
            select (date_trunc('day', $1 at time zone 'Asia/Shanghai')
                    + make_interval(hours => a.reconcile_hour)) at time zone 'Asia/Shanghai'
                   as due) d
         where a.mode = 'live' and a.reconcile_hour is not null and $1 >= d.due
           and not exists (select 1 from reconcile_run x
                           where x.account_id = a.id
                             and (x.status = 'active' or x.created_at >= d.due))
         on conflict (account_id) where status = 'active' do nothing
         returning account_id",
    )
    .bind(now)
    .fetch_all(pool)
    .await
}

/// The nightly hour of an account (Beijing time), if any.
pub async fn schedule_hour(pool: &PgPool, account_id: i64) -> sqlx::Result<Option<i16>> {
    sqlx::query_scalar("select reconcile_hour from account where id = $1")
        .bind(account_id)
        .fetch_optional(pool)
        .await
        .map(Option::flatten)
}

/// Sets (or with `None` turns off) an account's nightly hour.
pub async fn set_schedule_hour(
    pool: &PgPool,
    account_id: i64,
    hour: Option<i16>,
) -> sqlx::Result<()> {
    sqlx::query("update account set reconcile_hour = $2 where id = $1")
        .bind(account_id)
        .bind(hour)
        .execute(pool)
        .await?;
    Ok(())
}
