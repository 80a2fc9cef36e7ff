//! SQL the outbox jobs need: follower details, referral notification context, outcomes.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// What `user/info` told us about one follower.
#[derive(Debug)]
pub struct UserInfoRow<'a> {
    pub account_id: i64,
    pub follower_id: i64,
    pub unionid: Option<&'a str>,
    pub subscribe_scene: Option<&'a str>,
    pub qr_scene_str: Option<&'a str>,
}

/// Stores what `user/info` (or `user/info/batchget`) told us about followers, in one statement.
pub async fn save_user_infos(pool: &PgPool, rows: &[UserInfoRow<'_>]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let accounts: Vec<i64> = rows.iter().map(|r| r.account_id).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.follower_id).collect();
    let unionids: Vec<Option<&str>> = rows.iter().map(|r| r.unionid).collect();
    let scenes: Vec<Option<&str>> = rows.iter().map(|r| r.subscribe_scene).collect();
    let qr_scenes: Vec<Option<&str>> = rows.iter().map(|r| r.qr_scene_str).collect();
    sqlx::query(
        "update follower f set unionid = coalesce(v.unionid, f.unionid),
                subscribe_scene = coalesce(v.scene, f.subscribe_scene),
                qr_scene_str = coalesce(nullif(v.qr_scene, ''), f.qr_scene_str),
                info_fetched_at = now()
         from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])
              as v(account_id, id, unionid, scene, qr_scene)
         where f.account_id = v.account_id and f.id = v.id",
    )
    .bind(&accounts)
    .bind(&ids)
    .bind(&unionids)
    .bind(&scenes)
    .bind(&qr_scenes)
    .execute(pool)
    .await?;
    Ok(())
}

/// Everything needed to tell a referrer about a new follower.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotifyContext {
    pub referral_id: i64,
    pub account_id: i64,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub referrer_openid: Option<String>,
    pub follower_openid: String,
    pub followed_at: DateTime<Utc>,
    pub template_id: Option<String>,
    /// The template's key mapping (JSON text), if one was saved.
    pub template_fields: Option<String>,
    /// The referrer's personal page key, if they have one.
    pub member_token: Option<String>,
    /// When the referrer last sent the account a message (opens WeChat's customer-service
    /// window for 48 hours).
    pub last_message: Option<DateTime<Utc>>,
    /// When the referrer last followed, scanned or clicked the menu (one minute).
    pub last_action: Option<DateTime<Utc>>,
    pub total_referrals: i64,
}

/// The stored callbacks that open a follower's customer-service window, as a condition on
/// `event e`: any message (its de-duplication key starts with `m`; 48 hours), a follow, a scan
/// and the menu events WeChat counts (a CLICK and the two scan-code pushes; an event's
/// de-duplication key names it in its fourth part, see `Inbound::dedup_key`; one minute).
/// Template delivery reports, VIEW clicks, locations and unfollows do not.
pub const INTERACTION: &str = "(e.kind in ('subscribe', 'scan', 'text')
     or (e.kind = 'other' and (e.dedup_key like 'm%'
         or split_part(e.dedup_key, chr(31), 4) in ('click', 'scancode_push', 'scancode_waitmsg'))))";

/// The contexts of several referrals, `(account_id, referral id)`, in one query.
pub async fn notify_contexts(
    pool: &PgPool,
    referrals: &[(i64, i64)],
) -> sqlx::Result<Vec<NotifyContext>> {
    let (accounts, ids): (Vec<i64>, Vec<i64>) = referrals.iter().copied().unzip();
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select r.id as referral_id, r.account_id, r.referrer_id, re.name as referrer_name,
                re.openid as referrer_openid, f.openid as follower_openid, r.followed_at,
                a.notify_template_id as template_id,
                a.notify_template_fields::text as template_fields,
                re.member_token,
                (select max(e.sent_at) from event e
                  where e.account_id = r.account_id and e.openid = re.openid
                    and {INTERACTION} and e.dedup_key like 'm%') as last_message,
                (select max(e.sent_at) from event e
                  where e.account_id = r.account_id and e.openid = re.openid
                    and {INTERACTION} and e.dedup_key not like 'm%') as last_action,
                (select count(*) from referral x
                  where x.account_id = r.account_id and x.referrer_id = r.referrer_id
                    and x.voided_at is null)
                  as total_referrals
         from unnest($1::bigint[], $2::bigint[]) as k(account_id, id)
              join referral r on r.account_id = k.account_id and r.id = k.id
              join referrer re on re.account_id = r.account_id and re.id = r.referrer_id
              join follower f on f.account_id = r.account_id and f.id = r.follower_id
              join account a on a.id = r.account_id"
    )))
    .bind(accounts)
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// How telling a referrer went.
#[derive(Debug)]
pub struct Notification<'a> {
    pub account_id: i64,
    pub referral_id: i64,
    pub referrer_id: i64,
    pub channel: &'a str,
    pub status: &'a str,
    pub errcode: Option<i64>,
    pub errmsg: Option<String>,
    /// When what the notice was decided on was read: a kept notice waits for an interaction
    /// stored after this.
    pub decided_at: DateTime<Utc>,
}

/// Records how telling the referrers went (once per referral; a retry updates it), in one
/// statement.
pub async fn record_notifications(pool: &PgPool, rows: &[&Notification<'_>]) -> sqlx::Result<()> {
    // One row per referral (the last one given): an upsert may not touch a row twice.
    let mut seen = std::collections::HashSet::new();
    let mut rows: Vec<&Notification<'_>> = rows
        .iter()
        .rev()
        .filter(|r| seen.insert((r.account_id, r.referral_id)))
        .copied()
        .collect();
    rows.reverse();
    if rows.is_empty() {
        return Ok(());
    }
    let column = |f: fn(&Notification<'_>) -> i64| rows.iter().map(|r| f(r)).collect::<Vec<_>>();
    sqlx::query(
        "insert into notification (account_id, referral_id, referrer_id, channel, status,
                                   errcode, errmsg, created_at)
         select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[],
                              $5::text[], $6::int[], $7::text[], $8::timestamptz[])
         on conflict (account_id, referral_id) do update
            set channel = excluded.channel, status = excluded.status,
                errcode = excluded.errcode, errmsg = excluded.errmsg,
                created_at = excluded.created_at",
    )
    .bind(column(|r| r.account_id))
    .bind(column(|r| r.referral_id))
    .bind(column(|r| r.referrer_id))
    .bind(rows.iter().map(|r| r.channel).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.errcode.map(|c| c as i32))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.errmsg.as_deref()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.decided_at).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    Ok(())
}

/// One attempt to tell a referrer (every attempt is kept; the referrer's page lists them).
#[derive(Debug)]
pub struct Attempt<'a> {
    pub account_id: i64,
    pub referral_id: i64,
    pub referrer_id: i64,
    pub channel: &'a str,
    /// `sent` | `failed`.
    pub status: &'a str,
    pub errcode: Option<i64>,
    pub errmsg: Option<String>,
}

/// Logs attempts, in one statement.
pub async fn record_attempts(pool: &PgPool, rows: &[Attempt<'_>]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids = |f: fn(&Attempt<'_>) -> i64| rows.iter().map(f).collect::<Vec<_>>();
    sqlx::query(
        "insert into notice_attempt (account_id, referral_id, referrer_id, channel, status,
                                     errcode, errmsg)
         select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::text[],
                              $6::int[], $7::text[])",
    )
    .bind(ids(|r| r.account_id))
    .bind(ids(|r| r.referral_id))
    .bind(ids(|r| r.referrer_id))
    .bind(rows.iter().map(|r| r.channel).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.status).collect::<Vec<_>>())
    .bind(
        rows.iter()
            .map(|r| r.errcode.and_then(|c| i32::try_from(c).ok()))
            .collect::<Vec<_>>(),
    )
    .bind(rows.iter().map(|r| r.errmsg.as_deref()).collect::<Vec<_>>())
    .execute(pool)
    .await?;
    Ok(())
}

/// Pending notices whose referrer interacted with the account after the notice was kept (a
/// callback stored since; WeChat's CreateTime has whole seconds only):
/// marks them `queued` and returns `(account_id, referral_id)` of each, for the caller to
/// queue their delivery in the same transaction.
pub async fn take_reopened(conn: &mut sqlx::PgConnection) -> sqlx::Result<Vec<(i64, i64)>> {
    // A queued notice whose job ended without a word (its account gone, the database away
    // past the last retry) waits again; every job is settled well within two hours.
    sqlx::query(
        "update notification set status = 'pending'
         where status = 'queued' and created_at < now() - interval '2 hours'",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update notification n set status = 'queued', created_at = now()
         from referrer re
         where n.status = 'pending' and re.account_id = n.account_id and re.id = n.referrer_id
           and re.openid is not null
           and exists (select 1 from event e
                       where e.account_id = n.account_id and e.openid = re.openid
                         and e.created_at > n.created_at and {INTERACTION})
         returning n.account_id, n.referral_id"
    )))
    .fetch_all(conn)
    .await
}

/// A logged attempt as stored.
#[derive(Debug, sqlx::FromRow)]
pub struct AttemptRow {
    pub channel: String,
    pub status: String,
    pub errcode: Option<i32>,
    pub created_at: DateTime<Utc>,
}

/// A referrer's notices still waiting (`pending`), then the latest attempts, newest first.
pub async fn attempts_of(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<AttemptRow>> {
    sqlx::query_as(
        "select channel, status, errcode, created_at from (
             (select channel, status, errcode, created_at, id as seq from notice_attempt
               where account_id = $1 and referrer_id = $2 order by id desc limit $3)
             union all
             (select channel, status, errcode, created_at, 9223372036854775807 from notification
               where account_id = $1 and referrer_id = $2 and status in ('pending', 'queued')
               order by created_at desc limit $3)) listed
         order by seq desc, created_at desc limit $3",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
