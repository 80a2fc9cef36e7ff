//! SQL of privacy: erasing a follower everywhere we keep their identifiers, and the retention
//! job's purges.

use sqlx::{PgConnection, PgPool};

/// What an erasure replaced.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Erased {
    /// The follower row kept for the counts (None: we never recorded them as a follower).
    pub follower_id: Option<i64>,
    pub events: u64,
    pub scans: u64,
    /// Other rows that named them (jobs, scanner sets, roll-up deltas, bindings, reports, audit
    /// entries, a referrer bound to them).
    pub others: u64,
}

impl Erased {
    pub fn anything(&self) -> bool {
        self.follower_id.is_some() || self.events + self.scans + self.others > 0
    }
}

/// Replaces `openid` by `tombstone` in every table of the account that holds it: the follower
/// (unionid and scene cleared), events (payload and reply emptied, de-duplication key
/// replaced), scans, first-scanner sets, pending roll-up deltas, outbox payloads, binding codes,
/// reconciliation reports and lists, audit details, webhook events and their logged answers; a
/// referrer bound to the openid is unbound.
/// Counts (referrals, scans, roll-ups) stay. `openid` must be made of letters, digits, `-` and
/// `_` only (so a textual replacement inside JSON is exact).
pub async fn erase(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    tombstone: &str,
) -> sqlx::Result<Erased> {
    let follower_id: Option<i64> = sqlx::query_scalar(
        "update follower set openid = $3, unionid = null, qr_scene_str = null,
                erased_at = now()
         where account_id = $1 and openid = $2 returning id",
    )
    .bind(account_id)
    .bind(openid)
    .bind(tombstone)
    .fetch_optional(&mut *conn)
    .await?;
    let mut others = 0;
    if let Some(follower_id) = follower_id {
        others += crate::db::wechat_tags::forget_follower(conn, account_id, follower_id).await?;
    }
    let events = sqlx::query(
        "update event set openid = $3, payload = '', reply = null,
                dedup_key = 'x' || chr(31) || id::text
         where account_id = $1 and openid = $2",
    )
    .bind(account_id)
    .bind(openid)
    .bind(tombstone)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let scans = run(
        conn,
        "update scan set openid = $3 where account_id = $1 and openid = $2",
        account_id,
        openid,
        tombstone,
    )
    .await?;
    for sql in [
        "update scanner set openid = $3 where account_id = $1 and openid = $2",
        "update stats_delta set openid = $3 where account_id = $1 and openid = $2",
        "update referrer_binding set used_by = $3 where account_id = $1 and used_by = $2",
        "update reconcile_change set openid = $3 where account_id = $1 and openid = $2",
        "update outbox set payload = replace(payload::text, $2, $3)::jsonb
         where account_id = $1 and strpos(payload::text, $2) > 0",
        "update audit_log set detail = replace(detail::text, $2, $3)::jsonb
         where account_id = $1 and strpos(detail::text, $2) > 0",
        "update webhook_event set data = replace(data::text, $2, $3)::jsonb
         where account_id = $1 and strpos(data::text, $2) > 0",
        "update webhook_delivery set response_excerpt = replace(response_excerpt, $2, $3)
         where account_id = $1 and strpos(response_excerpt, $2) > 0",
    ] {
        others += run(conn, sql, account_id, openid, tombstone).await?;
    }
    for sql in [
        "update referrer set openid = null, updated_at = now()
         where account_id = $1 and openid = $2",
        "delete from reconcile_seen where account_id = $1 and openid = $2",
    ] {
        others += sqlx::query(sql)
            .bind(account_id)
            .bind(openid)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(Erased {
        follower_id,
        events,
        scans,
        others,
    })
}

async fn run(
    conn: &mut PgConnection,
    sql: &'static str,
    account_id: i64,
    openid: &str,
    tombstone: &str,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(sql)
        .bind(account_id)
        .bind(openid)
        .bind(tombstone)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// An account's retention setting and the last purge.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RetentionRow {
    pub retention_days: i32,
    pub purged_at: Option<chrono::DateTime<chrono::Utc>>,
    pub purged_events: i64,
    /// Erased followers so far.
    pub erased: i64,
}

pub async fn retention(pool: &PgPool, account_id: i64) -> sqlx::Result<Option<RetentionRow>> {
    sqlx::query_as(
        "select a.retention_days, a.purged_at, a.purged_events,
                (select count(*) from follower f
                 where f.account_id = a.id and f.erased_at is not null) as erased
         from account a where a.id = $1",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await
}

pub async fn set_retention(pool: &PgPool, account_id: i64, days: i32) -> sqlx::Result<()> {
    sqlx::query("update account set retention_days = $2 where id = $1")
        .bind(account_id)
        .bind(days)
        .execute(pool)
        .await?;
    Ok(())
}

/// Events purged per statement, so a first purge of a large table holds no long locks.
pub const PURGE_BATCH: i64 = 5_000;

/// Empties the raw payloads (message text included) of the account's events received more
/// than its retention period ago, a batch at a time; returns how many.
pub async fn purge_payloads(pool: &PgPool, account_id: i64) -> sqlx::Result<u64> {
    let mut total = 0;
    loop {
        let n = sqlx::query(
            "update event set payload = ''
             where id in (
                select e.id from event e join account a on a.id = e.account_id
                where e.account_id = $1 and e.payload <> ''
                  and e.created_at < now() - make_interval(days => a.retention_days)
                limit $2)",
        )
        .bind(account_id)
        .bind(PURGE_BATCH)
        .execute(pool)
        .await?
        .rows_affected();
        total += n;
        if n < PURGE_BATCH as u64 {
            break;
        }
    }
    sqlx::query(
        "update account set purged_at = now(), purged_events = purged_events + $2 where id = $1",
    )
    .bind(account_id)
    .bind(total as i64)
    .execute(pool)
    .await?;
    Ok(total)
}

/// Deletes expired sessions, old sign-in attempts, finished outbox rows (done after 7 days,
/// failed after 30; kept notices are pending and stay) and webhook delivery logs older than
/// 30 days; returns how many rows.
pub async fn purge_expired(pool: &PgPool) -> sqlx::Result<u64> {
    let mut total = 0;
    for sql in [
        "delete from session where expires_at < now()",
        "delete from login_attempt where attempted_at < now() - interval '1 day'",
        "delete from outbox where status = 'done' and finished_at < now() - interval '7 days'",
        "delete from outbox where status = 'failed' and finished_at < now() - interval '30 days'",
    ] {
        total += sqlx::query(sql).execute(pool).await?.rows_affected();
    }
    // The webhook delivery log, and events no attempt of which is left, after 30 days.
    total += crate::db::webhooks::purge(pool, 30).await?;
    Ok(total)
}
