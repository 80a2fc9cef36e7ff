//! Emitting webhook events: each statement stores the events of what happened together with
//! one delivery job (outbox kind `webhook`) per subscribed endpoint.
//!
//! Emitting is cheap when nobody listens: an event is written only when the account has an
//! enabled endpoint subscribed to its type (`where exists`, in the same statement), and each
//! event's source key makes emitting it again (a retried job) write nothing.

use serde_json::Value;
use sqlx::{PgConnection, PgPool};

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

/// The statement an unfollow runs (see `crate::db::attribution::record_unfollow`): marks the follower
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
