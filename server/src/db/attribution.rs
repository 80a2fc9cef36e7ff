//! SQL for attribution inside the ingest transaction: followers, codes, scans, referrals,
//! greeting templates.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A follower row after a follow was recorded.
#[derive(Debug, sqlx::FromRow)]
pub struct FollowerRow {
    pub id: i64,
    /// True when this follow created the row (first time we see this openid).
    pub inserted: bool,
    pub follow_count: i32,
}

/// Records a follow: creates the follower or marks them following again.
pub async fn upsert_follow(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<FollowerRow> {
    sqlx::query_as(
        "insert into follower (account_id, openid, first_followed_at, last_followed_at)
         values ($1, $2, $3, $3)
         on conflict (account_id, openid) do update
            set subscribed = true,
                last_followed_at = greatest(follower.last_followed_at, excluded.last_followed_at),
                follow_count = follower.follow_count + 1
         returning id, (xmax = 0) as inserted, follow_count",
    )
    .bind(account_id)
    .bind(openid)
    .bind(at)
    .fetch_one(&mut *conn)
    .await
}

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
#[derive(Debug, sqlx::FromRow)]
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

/// A referral about to be written.
#[derive(Debug)]
pub struct NewReferral {
    pub account_id: i64,
    pub follower_id: i64,
    pub referrer_id: i64,
    pub qr_code_id: i64,
    pub event_id: i64,
    pub followed_at: DateTime<Utc>,
}

/// Writes the referral unless the follower has one (write-once). Returns its id when written.
pub async fn insert_referral(
    conn: &mut PgConnection,
    r: &NewReferral,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into referral (account_id, follower_id, referrer_id, qr_code_id, event_id,
                               followed_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (account_id, follower_id) do nothing
         returning id",
    )
    .bind(r.account_id)
    .bind(r.follower_id)
    .bind(r.referrer_id)
    .bind(r.qr_code_id)
    .bind(r.event_id)
    .bind(r.followed_at)
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
