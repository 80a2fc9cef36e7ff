//! SQL for attribution inside the ingest transaction: followers, codes, scans, referrals,
//! greeting templates.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::events::NewEvent;

/// Records an unfollow (the follower keeps their referral).
pub async fn record_unfollow(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update follower set subscribed = false, unfollowed_at = $3
         where account_id = $1 and openid = $2",
    )
    .bind(account_id)
    .bind(openid)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A QR code with its referrer, looked up by scene.
#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub struct CodeRow {
    pub id: i64,
    pub referrer_id: i64,
    pub expires_at: Option<DateTime<Utc>>,
    /// None while a member has not chosen the name friends see.
    pub referrer_name: Option<String>,
    pub referrer_openid: Option<String>,
}

pub async fn code_by_scene(
    conn: &mut PgConnection,
    account_id: i64,
    scene: &str,
) -> sqlx::Result<Option<CodeRow>> {
    sqlx::query_as(
        "select q.id, q.referrer_id, q.expires_at,
                case when r.name_chosen then r.name end as referrer_name,
                r.openid as referrer_openid
         from qr_code q join referrer r on r.id = q.referrer_id
         where q.account_id = $1 and q.scene = $2",
    )
    .bind(account_id)
    .bind(scene)
    .fetch_optional(&mut *conn)
    .await
}

/// Whether this follower was referred, and the referrer's shown name (None while a member has
/// not chosen one).
pub async fn referrer_of(
    conn: &mut PgConnection,
    account_id: i64,
    follower_id: i64,
) -> sqlx::Result<Option<Option<String>>> {
    sqlx::query_scalar::<_, Option<String>>(
        "select case when r.name_chosen then r.name end
         from referral f join referrer r on r.id = f.referrer_id
         where f.account_id = $1 and f.follower_id = $2",
    )
    .bind(account_id)
    .bind(follower_id)
    .fetch_optional(&mut *conn)
    .await
}

/// A scan about to be logged.
#[derive(Debug)]
pub struct NewScan<'a> {
    pub account_id: i64,
    pub event_id: i64,
    pub openid: &'a str,
    pub scene: &'a str,
    pub qr_code_id: Option<i64>,
    pub referrer_id: Option<i64>,
    pub kind: &'a str,
    pub flag: Option<&'a str>,
    pub scanned_at: DateTime<Utc>,
}

pub async fn insert_scan(conn: &mut PgConnection, s: &NewScan<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into scan (account_id, event_id, openid, scene, qr_code_id, referrer_id, kind,
                           flag, scanned_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.account_id)
    .bind(s.event_id)
    .bind(s.openid)
    .bind(s.scene)
    .bind(s.qr_code_id)
    .bind(s.referrer_id)
    .bind(s.kind)
    .bind(s.flag)
    .bind(s.scanned_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The configured template for a greeting variant, if staff set one.
pub async fn greeting_template(
    conn: &mut PgConnection,
    account_id: i64,
    variant: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select template from greeting where account_id = $1 and variant = $2")
        .bind(account_id)
        .bind(variant)
        .fetch_optional(&mut *conn)
        .await
}

/// Everything a follow's decision needs, gathered in the round trip that claims its event:
/// the follower (created or marked following again, with its `user/info` job queued), its
/// existing referral, the scanned code and the account's greeting templates.
#[derive(Debug, sqlx::FromRow)]
pub struct FollowFacts {
    /// The newly stored event.
    pub event_id: i64,
    pub follower_id: i64,
    /// True when this follow created the follower.
    pub inserted: bool,
    /// The follower already has a referral (first touch wins).
    pub referred: bool,
    /// That referral's referrer's shown name (None while a member has not chosen one).
    pub referred_by: Option<String>,
    pub code: Option<sqlx::types::Json<CodeRow>>,
    /// Staff-set greeting templates by variant.
    pub templates: sqlx::types::Json<std::collections::HashMap<String, String>>,
}

/// Stores a `subscribe` event under its de-duplication key and, if it is new, records the
/// follow and gathers its facts (see [`FollowFacts`]), in one statement. `None` means the key
/// was stored before (a re-delivery; see [`crate::db::events::redelivered`]): nothing else was
/// written. `job` is the kind of the follow-up job that looks the follower up.
pub async fn claim_follow(
    conn: &mut PgConnection,
    event: &NewEvent<'_>,
    scene: Option<&str>,
    job: &str,
) -> sqlx::Result<Option<FollowFacts>> {
    sqlx::query_as(
        "with e as (
            insert into event (account_id, dedup_key, kind, openid, sent_at, event_key,
                               payload)
            values ($1, $6, $7, $2, $3, $8, $9)
            on conflict (account_id, dedup_key) do nothing
            returning id),
         f as (
            insert into follower (account_id, openid, first_followed_at, last_followed_at)
            select $1, $2, $3, $3 from e
            on conflict (account_id, openid) do update
               set subscribed = true,
                   last_followed_at = greatest(follower.last_followed_at,
                                               excluded.last_followed_at),
                   follow_count = follower.follow_count + 1
            returning id, (xmax = 0) as inserted),
         job as (
            insert into outbox (account_id, kind, payload)
            select $1, $5, jsonb_build_object('openid', $2::text, 'follower_id', f.id) from f)
         select e.id as event_id, f.id as follower_id, f.inserted,
                ref.follower_id is not null as referred, ref.name as referred_by,
                (select jsonb_build_object(
                            'id', q.id, 'referrer_id', q.referrer_id, 'expires_at', q.expires_at,
                            'referrer_name', case when r.name_chosen then r.name end,
                            'referrer_openid', r.openid)
                 from qr_code q join referrer r on r.id = q.referrer_id
                 where q.account_id = $1 and q.scene = $4) as code,
                (select coalesce(jsonb_object_agg(variant, template), '{}')
                 from greeting where account_id = $1) as templates
         from e cross join f
         left join lateral (
            select x.follower_id, case when r.name_chosen then r.name end as name
            from referral x join referrer r on r.id = x.referrer_id
            where x.account_id = $1 and x.follower_id = f.id) ref on true",
    )
    .bind(event.account_id)
    .bind(event.openid)
    .bind(event.sent_at)
    .bind(scene)
    .bind(job)
    .bind(event.dedup_key)
    .bind(event.kind)
    .bind(event.event_key)
    .bind(event.payload)
    .fetch_optional(&mut *conn)
    .await
}

/// The writes of a follow through a scene, done in one round trip.
#[derive(Debug)]
pub struct FollowWrites<'a> {
    pub account_id: i64,
    pub event_id: i64,
    pub follower_id: i64,
    pub openid: &'a str,
    pub scene: &'a str,
    pub code: Option<(i64, i64)>,
    /// Write a referral to `code`'s referrer (unless the follower has one by now).
    pub credit: bool,
    /// The scan's flag when no referral is written.
    pub flag: Option<&'a str>,
    pub at: DateTime<Utc>,
    /// The reply to store; stored only if the referral went as `credit` said.
    pub reply: &'a str,
    /// The kind of the job that notifies the referrer.
    pub job: &'a str,
}

/// Writes the referral (write-once), its notification job, the scan and the reply. Returns
/// the referral id; `None` with `credit` set means a concurrent follow won the referral: the
/// scan is flagged `already_referred` and the reply is left for the caller.
pub async fn record_follow(
    conn: &mut PgConnection,
    w: &FollowWrites<'_>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "with r as (
            insert into referral (account_id, follower_id, referrer_id, qr_code_id, event_id,
                                  followed_at)
            select $1, $3, $6, $5, $2, $9 where $7
            on conflict (account_id, follower_id) do nothing
            returning id),
         n as (
            insert into outbox (account_id, kind, payload)
            select $1, $11, jsonb_build_object('referral_id', r.id) from r),
         s as (
            insert into scan (account_id, event_id, openid, scene, qr_code_id, referrer_id,
                              kind, flag, scanned_at)
            select $1, $2, $4, $12, $5, $6, 'subscribe',
                   case when $7 and not exists (select 1 from r) then 'already_referred'
                        else $8 end,
                   $9),
         e as (
            update event set reply = $10
            where id = $2 and $7 = exists (select 1 from r))
         select (select id from r)",
    )
    .bind(w.account_id)
    .bind(w.event_id)
    .bind(w.follower_id)
    .bind(w.openid)
    .bind(w.code.map(|c| c.0))
    .bind(w.code.map(|c| c.1))
    .bind(w.credit)
    .bind(w.flag)
    .bind(w.at)
    .bind(w.reply)
    .bind(w.job)
    .bind(w.scene)
    .fetch_one(&mut *conn)
    .await
}
