//! The `outbox` table: slow work recorded in the ingest transaction and done after the reply.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

/// Adds a job of `kind` with its `payload` (the domain's `referral::jobs::Job` encodes
/// both); it becomes due at once.
pub async fn enqueue(
    conn: &mut PgConnection,
    account_id: i64,
    kind: &str,
    payload: &Value,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into outbox (account_id, kind, payload) values ($1, $2, $3) returning id",
    )
    .bind(account_id)
    .bind(kind)
    .bind(payload)
    .fetch_one(&mut *conn)
    .await
}

/// A claimed job as stored (the domain decodes `kind` and `payload`).
#[derive(Debug, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub account_id: i64,
    pub kind: String,
    pub payload: Value,
    pub attempts: i32,
}

/// Claims up to `limit` due jobs for `lease` seconds: their next attempt moves past the lease,
/// so a crashed worker's jobs come back by themselves; `skip locked` keeps instances apart.
pub async fn claim_due(pool: &PgPool, limit: i64, lease_secs: i64) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as(
        "update outbox set attempts = attempts + 1,
                next_attempt_at = now() + make_interval(secs => $2)
         where (account_id, id) in (
             select account_id, id from outbox
             where status = 'pending' and next_attempt_at <= now()
             order by next_attempt_at
             limit $1
             for update skip locked)
         returning id, account_id, kind, payload, attempts",
    )
    .bind(limit)
    .bind(lease_secs as f64)
    .fetch_all(pool)
    .await
}

/// Marks a job done.
pub async fn complete(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set status = 'done', finished_at = now()
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks several jobs done in one statement; `jobs` are `(account_id, id)`.
pub async fn complete_all(pool: &PgPool, jobs: &[(i64, i64)]) -> sqlx::Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let (accounts, ids): (Vec<i64>, Vec<i64>) = jobs.iter().copied().unzip();
    sqlx::query(
        "update outbox set status = 'done', finished_at = now()
         where (account_id, id) in (select * from unnest($1::bigint[], $2::bigint[]))",
    )
    .bind(accounts)
    .bind(ids)
    .execute(pool)
    .await?;
    Ok(())
}

/// Schedules another attempt after a transient error.
pub async fn retry_at(
    pool: &PgPool,
    account_id: i64,
    id: i64,
    at: DateTime<Utc>,
    errcode: Option<i64>,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set next_attempt_at = $3, last_errcode = $4, last_error = $5
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(at)
    .bind(errcode.map(|c| c as i32))
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives up on a job after a permanent error.
pub async fn fail(
    pool: &PgPool,
    account_id: i64,
    id: i64,
    errcode: Option<i64>,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set status = 'failed', finished_at = now(), last_errcode = $3,
                last_error = $4
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(errcode.map(|c| c as i32))
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// How many jobs are pending (the outbox depth, for `/metrics`).
pub async fn pending_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from outbox where status = 'pending'")
        .fetch_one(pool)
        .await
}

/// Makes an outbox job due now (the callback finished its part). Jobs are keyed by
/// `(account_id, id)`; without the account, the id is looked up under every account (one
/// descent of the primary key each). The caller knows the account and is to pass it.
pub async fn make_due(pool: &PgPool, account_id: i64, job_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update outbox set next_attempt_at = now()
         where account_id = $2 and id = $1 and status = 'pending'",
    )
    .bind(job_id)
    .bind(account_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Adds a job that becomes due after `delay_secs`.
pub async fn enqueue_later(
    conn: &mut PgConnection,
    account_id: i64,
    kind: &str,
    payload: &Value,
    delay_secs: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into outbox (account_id, kind, payload, next_attempt_at)
         values ($1, $2, $3, now() + make_interval(secs => $4)) returning id",
    )
    .bind(account_id)
    .bind(kind)
    .bind(payload)
    .bind(delay_secs as f64)
    .fetch_one(&mut *conn)
    .await
}
