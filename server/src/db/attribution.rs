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

/// Everything a follow's decision needs, read in one round trip before anything is written:
/// the follower (if known) and its referral, the scanned code and the account's greeting
/// templates.
#[derive(Debug, sqlx::FromRow)]
pub struct FollowFacts {
    /// True when the follower is known (this is a follow again).
    pub known: bool,
    /// The follower already has a referral (first touch wins).
    pub referred: bool,
    /// That referral's referrer's shown name (None while a member has not chosen one).
    pub referred_by: Option<String>,
    pub code: Option<sqlx::types::Json<CodeRow>>,
    /// Staff-set greeting templates by variant.
    pub templates: sqlx::types::Json<std::collections::HashMap<String, String>>,
}

/// Reads the facts of a follow of `openid` through `scene` (see [`FollowFacts`]).
pub async fn follow_facts(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    scene: Option<&str>,
) -> sqlx::Result<FollowFacts> {
    sqlx::query_as(
        "select f.id is not null as known,
                ref.follower_id is not null as referred, ref.name as referred_by,
                (select jsonb_build_object(
                            'id', q.id, 'referrer_id', q.referrer_id, 'expires_at', q.expires_at,
                            'referrer_name', case when r.name_chosen then r.name end,
                            'referrer_openid', r.openid)
                 from qr_code q join referrer r on r.id = q.referrer_id
                 where q.account_id = $1 and q.scene = $3) as code,
                (select coalesce(jsonb_object_agg(variant, template), '{}')
                 from greeting where account_id = $1) as templates
         from (select 1) one
         left join follower f on f.account_id = $1 and f.openid = $2
         left join lateral (
            select x.follower_id, case when r.name_chosen then r.name end as name
            from referral x join referrer r on r.id = x.referrer_id
            where x.account_id = $1 and x.follower_id = f.id) ref on true",
    )
    .bind(account_id)
    .bind(openid)
    .bind(scene)
    .fetch_one(&mut *conn)
    .await
}

/// A decided follow, written in one statement (one transaction).
#[derive(Debug)]
pub struct FollowWrites<'a> {
    pub event: &'a NewEvent<'a>,
    /// The scanned scene, if any (a scan row is logged for it).
    pub scene: Option<&'a str>,
    pub code: Option<(i64, i64)>,
    /// Write a referral to `code`'s referrer (unless the follower has one by now).
    pub credit: bool,
    /// The scan's flag when no referral is written.
    pub flag: Option<&'a str>,
    /// The reply to store with the event.
    pub reply: &'a str,
    /// The kind of the follow-up job (`user/info`, then telling the referrer).
    pub job: &'a str,
}

/// What a follow wrote.
#[derive(Debug, sqlx::FromRow)]
pub struct FollowRecorded {
    pub event_id: i64,
    pub follower_id: i64,
    /// The referral written, if any.
    pub referral_id: Option<i64>,
}

/// Stores a `subscribe` event under its de-duplication key with its reply and, if the key is
/// new, the follower (created or following again), the referral (write-once), the scan and
/// one follow-up job, all in one statement. `None` means the key was stored before (a
/// re-delivery; see [`crate::db::events::redelivered`]) and nothing was written. With `credit`
/// set and no referral returned, a concurrent follow of the same person won the referral: the
/// scan is flagged `already_referred`, and the stored reply is for the caller to correct.
pub async fn record_follow(
    conn: &mut PgConnection,
    w: &FollowWrites<'_>,
) -> sqlx::Result<Option<FollowRecorded>> {
    let e = w.event;
    sqlx::query_as(
        "with e as (
            insert into event (account_id, dedup_key, kind, openid, sent_at, event_key,
                               payload, reply)
            values ($1, $2, $3, $4, $5, $6, $7, $8)
            on conflict (account_id, dedup_key) do nothing
            returning id),
         f as (
            insert into follower (account_id, openid, first_followed_at, last_followed_at)
            select $1, $4, $5, $5 from e
            on conflict (account_id, openid) do update
               set subscribed = true,
                   last_followed_at = greatest(follower.last_followed_at,
                                               excluded.last_followed_at),
                   follow_count = follower.follow_count + 1
            returning id),
         r as (
            insert into referral (account_id, follower_id, referrer_id, qr_code_id, event_id,
                                  followed_at)
            select $1, f.id, $11, $10, e.id, $5 from e cross join f where $12
            on conflict (account_id, follower_id) do nothing
            returning id),
         j as (
            insert into outbox (account_id, kind, payload)
            select $1, $14, jsonb_build_object('openid', $4::text, 'follower_id', f.id,
                                               'referral_id', (select id from r))
            from f),
         s as (
            insert into scan (account_id, event_id, openid, scene, qr_code_id, referrer_id,
                              kind, flag, scanned_at)
            select $1, e.id, $4, $9, $10, $11, 'subscribe',
                   case when $12 and not exists (select 1 from r) then 'already_referred'
                        else $13 end,
                   $5
            from e where $9::text is not null
            returning flag),
         -- The scan's roll-up delta (what the `scan_rollup` trigger appends for other
         -- scans): a scan without a flag made a referral, so it counts the follow too.
         d as (
            insert into stats_delta (account_id, referrer_id, day, openid, scanned_at, scans,
                                     follows)
            select $1, coalesce($11, 0), cst_day($5), $4, $5, 1,
                   (s.flag is null and $11::bigint is not null)::integer
            from s)
         select e.id as event_id, f.id as follower_id, (select id from r) as referral_id
         from e cross join f",
    )
    .bind(e.account_id)
    .bind(e.dedup_key)
    .bind(e.kind)
    .bind(e.openid)
    .bind(e.sent_at)
    .bind(e.event_key)
    .bind(e.payload)
    .bind(w.reply)
    .bind(w.scene)
    .bind(w.code.map(|c| c.0))
    .bind(w.code.map(|c| c.1))
    .bind(w.credit)
    .bind(w.flag)
    .bind(w.job)
    .fetch_optional(&mut *conn)
    .await
}
