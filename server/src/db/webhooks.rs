//! The webhook tables: endpoints, events (one id across every retry), delivery attempts. The
//! statements that emit events with their delivery jobs are in [`crate::db::webhook_events`].

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

/// The outbox kind of a delivery (see `referral::jobs::JobKind::Webhook`).
pub const JOB_KIND: &str = "webhook";

/// An endpoint as stored, secrets included (never serialised; `Debug` leaves them out).
#[derive(Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: i64,
    pub account_id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub allow_private: bool,
    pub enabled: bool,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for EndpointRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRow")
            .field("id", &self.id)
            .field("account_id", &self.account_id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("enabled", &self.enabled)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

const ENDPOINT_COLUMNS: &str = "id, account_id, url, events, allow_private, enabled, secret,
    previous_secret, previous_secret_until, consecutive_failures, disabled_reason, created_at";

/// Every endpoint of the account, oldest first.
pub async fn list(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<EndpointRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ENDPOINT_COLUMNS} from webhook_endpoint where account_id = $1 order by id"
    )))
    .bind(account_id)
    .fetch_all(pool)
    .await
}

pub async fn get(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<EndpointRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {ENDPOINT_COLUMNS} from webhook_endpoint where account_id = $1 and id = $2"
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Adds an endpoint unless the account already has `max` of them (None then); one statement,
/// serialised per account by an advisory lock so two creations cannot both pass the count.
pub async fn insert(
    conn: &mut PgConnection,
    account_id: i64,
    url: &str,
    events: &[String],
    allow_private: bool,
    secret: &str,
    max: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query("select pg_advisory_xact_lock(hashtext('webhook_endpoint'), $1::int)")
        .bind(account_id as i32)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar(
        "insert into webhook_endpoint (account_id, url, events, allow_private, secret)
         select $1, $2, $3, $4, $5
         where (select count(*) from webhook_endpoint where account_id = $1) < $6
         returning id",
    )
    .bind(account_id)
    .bind(url)
    .bind(events)
    .bind(allow_private)
    .bind(secret)
    .bind(max)
    .fetch_optional(&mut *conn)
    .await
}

/// Changes an endpoint's URL, events and address rule; false when there is no such endpoint.
pub async fn update(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    url: &str,
    events: &[String],
    allow_private: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update webhook_endpoint set url = $3, events = $4, allow_private = $5,
                updated_at = now()
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(url)
    .bind(events)
    .bind(allow_private)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Enables (clearing the failure count and the automatic reason) or disables an endpoint.
pub async fn set_enabled(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    enabled: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update webhook_endpoint set enabled = $3, updated_at = now(),
                consecutive_failures = case when $3 then 0 else consecutive_failures end,
                disabled_reason = null,
                disabled_at = case when $3 then null else now() end
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(enabled)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `secret` the endpoint's secret; the one it replaces keeps signing until `until`.
pub async fn rotate(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    secret: &str,
    until: DateTime<Utc>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update webhook_endpoint set previous_secret = secret, previous_secret_until = $4,
                secret = $3, updated_at = now()
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(secret)
    .bind(until)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Removes an endpoint and its delivery log; its queued deliveries fail when they come up.
pub async fn delete(conn: &mut PgConnection, account_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("delete from webhook_endpoint where account_id = $1 and id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether the event is in this endpoint's delivery log.
pub async fn event_for(
    pool: &PgPool,
    account_id: i64,
    endpoint_id: i64,
    event_id: &str,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (
            select 1 from webhook_delivery
            where account_id = $1 and endpoint_id = $2 and event_id = $3)",
    )
    .bind(account_id)
    .bind(endpoint_id)
    .bind(event_id)
    .fetch_one(pool)
    .await
}

/// What one delivery attempt needs (`Debug` leaves the secrets out).
#[derive(Clone, sqlx::FromRow)]
pub struct Target {
    pub url: String,
    pub allow_private: bool,
    pub enabled: bool,
    pub secret: String,
    /// The rotated-out secret while it still signs.
    pub previous_secret: Option<String>,
    pub event_type: String,
    pub data: Value,
    pub event_created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("url", &self.url)
            .field("allow_private", &self.allow_private)
            .field("enabled", &self.enabled)
            .field("event_type", &self.event_type)
            .field("secret", &"[redacted]")
            .finish_non_exhaustive()
    }
}

pub async fn target(
    pool: &PgPool,
    account_id: i64,
    endpoint_id: i64,
    event_id: &str,
) -> sqlx::Result<Option<Target>> {
    sqlx::query_as(
        "select w.url, w.allow_private, w.enabled, w.secret,
                case when w.previous_secret_until > now() then w.previous_secret end
                    as previous_secret,
                e.type as event_type, e.data, e.created_at as event_created_at
         from webhook_endpoint w
         join webhook_event e on e.account_id = w.account_id and e.id = $3
         where w.account_id = $1 and w.id = $2",
    )
    .bind(account_id)
    .bind(endpoint_id)
    .bind(event_id)
    .fetch_optional(pool)
    .await
}

/// One attempt's result, to log.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub account_id: i64,
    pub endpoint_id: i64,
    pub event_id: &'a str,
    pub attempt: i32,
    pub ok: bool,
    pub status_code: Option<i32>,
    pub error: Option<&'a str>,
    pub latency_ms: i32,
    pub response_excerpt: Option<&'a str>,
}

/// An endpoint the attempt just disabled: its URL and failure count.
#[derive(Debug, Clone)]
pub struct Disabled {
    pub url: String,
    pub failures: i32,
}

/// Logs an attempt and counts it on the endpoint (a success clears the count); at
/// `disable_after` consecutive failures an enabled endpoint is disabled with `reason` and
/// the audit log says so. Returns the endpoint when this attempt disabled it.
pub async fn record_attempt(
    pool: &PgPool,
    a: &Attempt<'_>,
    disable_after: i32,
    reason: &str,
) -> sqlx::Result<Option<Disabled>> {
    let mut tx = pool.begin().await?;
    let endpoint: Option<(bool, i32, String)> = sqlx::query_as(
        "select enabled, consecutive_failures, url from webhook_endpoint
         where account_id = $1 and id = $2 for update",
    )
    .bind(a.account_id)
    .bind(a.endpoint_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((enabled, failures, url)) = endpoint else {
        // Deleted meanwhile: nothing to log against.
        return Ok(None);
    };
    sqlx::query(
        "insert into webhook_delivery (account_id, endpoint_id, event_id, attempt, ok,
                                       status_code, error, latency_ms, response_excerpt)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(a.account_id)
    .bind(a.endpoint_id)
    .bind(a.event_id)
    .bind(a.attempt)
    .bind(a.ok)
    .bind(a.status_code)
    .bind(a.error)
    .bind(a.latency_ms)
    .bind(a.response_excerpt)
    .execute(&mut *tx)
    .await?;
    let failures = if a.ok { 0 } else { failures + 1 };
    let disable = enabled && !a.ok && failures >= disable_after;
    sqlx::query(
        "update webhook_endpoint set consecutive_failures = $3,
                enabled = enabled and not $4,
                disabled_reason = case when $4 then $5 else disabled_reason end,
                disabled_at = case when $4 then now() else disabled_at end
         where account_id = $1 and id = $2",
    )
    .bind(a.account_id)
    .bind(a.endpoint_id)
    .bind(failures)
    .bind(disable)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    if disable {
        crate::db::referrers::audit(
            &mut tx,
            a.account_id,
            "system",
            "webhook.disabled",
            a.endpoint_id,
            serde_json::json!({"url": url, "consecutive_failures": failures}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(disable.then_some(Disabled { url, failures }))
}

/// A logged attempt with its event's type.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub id: i64,
    pub event_id: String,
    pub event_type: String,
    pub attempt: i32,
    pub ok: bool,
    pub status_code: Option<i32>,
    pub error: Option<String>,
    pub latency_ms: i32,
    pub response_excerpt: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The endpoint's latest attempts, newest first.
pub async fn deliveries(
    pool: &PgPool,
    account_id: i64,
    endpoint_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryRow>> {
    sqlx::query_as(
        "select d.id, d.event_id, e.type as event_type, d.attempt, d.ok, d.status_code, d.error,
                d.latency_ms, d.response_excerpt, d.created_at
         from webhook_delivery d
         join webhook_event e on e.account_id = d.account_id and e.id = d.event_id
         where d.account_id = $1 and d.endpoint_id = $2
         order by d.id desc limit $3",
    )
    .bind(account_id)
    .bind(endpoint_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Deletes delivery attempts and events older than `days` (the retention job).
pub async fn purge(pool: &PgPool, days: i32) -> sqlx::Result<u64> {
    let log = sqlx::query(
        "delete from webhook_delivery where created_at < now() - make_interval(days => $1)",
    )
    .bind(days)
    .execute(pool)
    .await?
    .rows_affected();
    let events = sqlx::query(
        "delete from webhook_event e
         where e.created_at < now() - make_interval(days => $1)
           and not exists (select 1 from webhook_delivery d
                           where d.account_id = e.account_id and d.event_id = e.id)",
    )
    .bind(days)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(log + events)
}
