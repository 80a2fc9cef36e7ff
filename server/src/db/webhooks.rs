//! The webhook tables: endpoints, events (one id across every retry), delivery attempts; and
//! the statements that emit events together with their delivery jobs (outbox kind `webhook`).
//!
//! Emitting is cheap when nobody listens: an event is written only when the account has an
//! enabled endpoint subscribed to its type (`where exists`, in the same statement), and each
//! event's source key makes emitting it again (a retried job) write nothing.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

/// The outbox kind of a delivery (see `referral::jobs::JobKind::Webhook`).
pub const JOB_KIND: &str = "webhook";

/// An endpoint as stored, secrets included (never serialised).
#[derive(Debug, Clone, sqlx::FromRow)]
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

/// The tail shared by the emitting statements: given candidate events `c(account_id, type,
/// source_key, data)`, stores those some enabled endpoint of the account subscribes to (once
/// per source key) and queues one delivery job per subscribed endpoint.
const EMIT: &str = "
     e as (
        insert into webhook_event (account_id, id, type, source_key, data)
        select c.account_id, 'evt_' || replace(gen_random_uuid()::text, '-', ''), c.type,
               c.source_key, c.data
        from c
        where exists (select 1 from webhook_endpoint w
                      where w.account_id = c.account_id and w.enabled and c.type = any(w.events))
        on conflict (account_id, source_key) do nothing
        returning account_id, id, type)
     insert into outbox (account_id, kind, payload)
     select e.account_id, 'webhook', jsonb_build_object('endpoint_id', w.id, 'event_id', e.id)
     from e join webhook_endpoint w
       on w.account_id = e.account_id and w.enabled and e.type = any(w.events)";

/// A follow-up job (one per follow) as the emitter needs it.
#[derive(Debug, Clone, Copy)]
pub struct FollowUpRef {
    pub account_id: i64,
    pub job_id: i64,
    pub follower_id: i64,
    /// The referral this follow made (None: it credited nobody new).
    pub referral_id: Option<i64>,
}

/// `referral.created` for follows that made a referral, `referral.restored` for follows of
/// an already referred follower who follows again (now following, followed before); one
/// statement for a batch of follow-ups.
pub async fn emit_follow_ups(pool: &PgPool, jobs: &[FollowUpRef]) -> sqlx::Result<u64> {
    if jobs.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "with i as (
            select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
                as i(account_id, job_id, follower_id, referral_id)
            where exists (select 1 from webhook_endpoint w
                          where w.account_id = i.account_id and w.enabled)),
         c as (
            select r.account_id,
                   case when i.referral_id = r.id then 'referral.created'
                        else 'referral.restored' end as type,
                   case when i.referral_id = r.id then 'created:' || r.id
                        else 'restored:' || i.job_id end as source_key,
                   jsonb_build_object(
                       'referral_id', r.id, 'referrer_id', r.referrer_id,
                       'referrer_name', rr.name, 'referrer_kind', rr.kind,
                       'qr_code_id', r.qr_code_id, 'follower_openid', f.openid,
                       'followed_at', case when i.referral_id = r.id then r.followed_at
                                           else f.last_followed_at end) as data
            from i
            join follower f on f.account_id = i.account_id and f.id = i.follower_id
            join referral r on r.account_id = i.account_id and r.follower_id = i.follower_id
            join referrer rr on rr.account_id = r.account_id and rr.id = r.referrer_id
            where i.referral_id = r.id
               or (i.referral_id is null and f.subscribed and f.follow_count > 1)),
         {EMIT}"
    );
    let column = |f: fn(&FollowUpRef) -> Option<i64>| jobs.iter().map(f).collect::<Vec<_>>();
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(column(|j| Some(j.account_id)))
        .bind(column(|j| Some(j.job_id)))
        .bind(column(|j| Some(j.follower_id)))
        .bind(column(|j| j.referral_id))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// `notification.failed` for these `(account_id, referral_id)` whose recorded notice did not
/// go out (`failed` or kept `pending`), with its last channel and error; at most once per
/// referral.
pub async fn emit_failed_notices(pool: &PgPool, referrals: &[(i64, i64)]) -> sqlx::Result<u64> {
    if referrals.is_empty() {
        return Ok(0);
    }
    let sql = format!(
        "with i as (
            select * from unnest($1::bigint[], $2::bigint[]) as i(account_id, referral_id)
            where exists (select 1 from webhook_endpoint w
                          where w.account_id = i.account_id and w.enabled)),
         c as (
            select r.account_id, 'notification.failed' as type, 'notice:' || r.id as source_key,
                   jsonb_build_object(
                       'referral_id', r.id, 'referrer_id', r.referrer_id,
                       'referrer_name', rr.name, 'channel', n.channel,
                       'errcode', n.errcode, 'error', n.errmsg) as data
            from i
            join notification n on n.account_id = i.account_id and n.referral_id = i.referral_id
                               and n.status in ('failed', 'pending')
            join referral r on r.account_id = i.account_id and r.id = i.referral_id
            join referrer rr on rr.account_id = r.account_id and rr.id = r.referrer_id),
         {EMIT}"
    );
    let (accounts, ids): (Vec<i64>, Vec<i64>) = referrals.iter().copied().unzip();
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(accounts)
        .bind(ids)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// `member.code_created` for a member's new code.
pub async fn emit_member_code(pool: &PgPool, account_id: i64, code_id: i64) -> sqlx::Result<u64> {
    let sql = format!(
        "with c as (
            select q.account_id, 'member.code_created' as type,
                   'member_code:' || q.id as source_key,
                   jsonb_build_object(
                       'referrer_id', r.id, 'member_name', r.name,
                       'member_openid', r.openid, 'qr_code_id', q.id, 'code_kind', q.kind,
                       'expires_at', q.expires_at) as data
            from qr_code q
            join referrer r on r.account_id = q.account_id and r.id = q.referrer_id
            where q.account_id = $1 and q.id = $2 and r.kind = 'member' and r.openid is not null),
         {EMIT}"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(account_id)
        .bind(code_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

/// The statement an unfollow runs (see `attribution::record_unfollow`): marks the follower
/// unfollowed and emits `referral.lost` when they were referred (once per follow period).
pub const UNFOLLOW: &str = "
    with u as (
        update follower set subscribed = false, unfollowed_at = $3
        where account_id = $1 and openid = $2 and last_followed_at <= $3
        returning account_id, id, openid, last_followed_at, unfollowed_at),
     c as (
        select u.account_id, 'referral.lost' as type,
               'lost:' || u.id || ':' || extract(epoch from u.last_followed_at) as source_key,
               jsonb_build_object(
                   'referral_id', r.id, 'referrer_id', r.referrer_id, 'referrer_name', rr.name,
                   'follower_openid', u.openid, 'unfollowed_at', u.unfollowed_at) as data
        from u
        join referral r on r.account_id = u.account_id and r.follower_id = u.id
        join referrer rr on rr.account_id = r.account_id and rr.id = r.referrer_id
        where exists (select 1 from webhook_endpoint w
                      where w.account_id = u.account_id and w.enabled
                        and 'referral.lost' = any(w.events))),";

/// The full unfollow statement.
pub fn unfollow_statement() -> String {
    format!("{UNFOLLOW}{EMIT}")
}

/// A test event for one endpoint (whatever it subscribes to); its id.
pub async fn emit_test(
    conn: &mut PgConnection,
    account_id: i64,
    endpoint_id: i64,
    data: &Value,
) -> sqlx::Result<String> {
    let id: String = sqlx::query_scalar(
        "insert into webhook_event (account_id, id, type, source_key, data)
         select $1, e, $2, 'test:' || e, $3
         from (select 'evt_' || replace(gen_random_uuid()::text, '-', '') as e) g
         returning id",
    )
    .bind(account_id)
    .bind(app::webhooks::TEST_EVENT)
    .bind(data)
    .fetch_one(&mut *conn)
    .await?;
    enqueue(conn, account_id, endpoint_id, &id).await?;
    Ok(id)
}

/// Queues a delivery of a stored event to an endpoint (a test or a redelivery).
pub async fn enqueue(
    conn: &mut PgConnection,
    account_id: i64,
    endpoint_id: i64,
    event_id: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into outbox (account_id, kind, payload)
         values ($1, 'webhook', jsonb_build_object('endpoint_id', $2::bigint, 'event_id', $3::text))",
    )
    .bind(account_id)
    .bind(endpoint_id)
    .bind(event_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the event was ever delivered (or meant) to this endpoint: it is in its log, or it
/// is of a type the endpoint takes.
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

/// What one delivery attempt needs.
#[derive(Debug, Clone, sqlx::FromRow)]
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
