//! SQL the outbox jobs need: follower details, referral notification context, outcomes.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Stores what `user/info` told us about a follower.
pub async fn save_user_info(
    pool: &PgPool,
    follower_id: i64,
    unionid: Option<&str>,
    subscribe_scene: Option<&str>,
    qr_scene_str: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update follower set unionid = coalesce($2, unionid),
                subscribe_scene = coalesce($3, subscribe_scene),
                qr_scene_str = coalesce(nullif($4, ''), qr_scene_str),
                info_fetched_at = now()
         where id = $1",
    )
    .bind(follower_id)
    .bind(unionid)
    .bind(subscribe_scene)
    .bind(qr_scene_str)
    .execute(pool)
    .await?;
    Ok(())
}

/// What `user/info` told us about one follower.
#[derive(Debug)]
pub struct UserInfoRow<'a> {
    pub follower_id: i64,
    pub unionid: Option<&'a str>,
    pub subscribe_scene: Option<&'a str>,
    pub qr_scene_str: Option<&'a str>,
}

/// Stores what `user/info/batchget` told us about several followers, in one statement.
pub async fn save_user_infos(pool: &PgPool, rows: &[UserInfoRow<'_>]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.follower_id).collect();
    let unionids: Vec<Option<&str>> = rows.iter().map(|r| r.unionid).collect();
    let scenes: Vec<Option<&str>> = rows.iter().map(|r| r.subscribe_scene).collect();
    let qr_scenes: Vec<Option<&str>> = rows.iter().map(|r| r.qr_scene_str).collect();
    sqlx::query(
        "update follower f set unionid = coalesce(v.unionid, f.unionid),
                subscribe_scene = coalesce(v.scene, f.subscribe_scene),
                qr_scene_str = coalesce(nullif(v.qr_scene, ''), f.qr_scene_str),
                info_fetched_at = now()
         from unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
              as v(id, unionid, scene, qr_scene)
         where f.id = v.id",
    )
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
    pub total_referrals: i64,
}

pub async fn notify_context(
    pool: &PgPool,
    referral_id: i64,
) -> sqlx::Result<Option<NotifyContext>> {
    sqlx::query_as(
        "select r.id as referral_id, r.account_id, r.referrer_id, re.name as referrer_name,
                re.openid as referrer_openid, f.openid as follower_openid, r.followed_at,
                a.notify_template_id as template_id,
                (select count(*) from referral x
                  where x.account_id = r.account_id and x.referrer_id = r.referrer_id)
                  as total_referrals
         from referral r join referrer re on re.id = r.referrer_id
              join follower f on f.id = r.follower_id
              join account a on a.id = r.account_id
         where r.id = $1",
    )
    .bind(referral_id)
    .fetch_optional(pool)
    .await
}

/// Records how telling the referrer went (once per referral; a retry updates it).
#[allow(clippy::too_many_arguments)]
pub async fn record_notification(
    pool: &PgPool,
    account_id: i64,
    referral_id: i64,
    referrer_id: i64,
    channel: &str,
    status: &str,
    errcode: Option<i64>,
    errmsg: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into notification (account_id, referral_id, referrer_id, channel, status,
                                   errcode, errmsg)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (account_id, referral_id) do update
            set channel = excluded.channel, status = excluded.status,
                errcode = excluded.errcode, errmsg = excluded.errmsg, created_at = now()",
    )
    .bind(account_id)
    .bind(referral_id)
    .bind(referrer_id)
    .bind(channel)
    .bind(status)
    .bind(errcode.map(|c| c as i32))
    .bind(errmsg)
    .execute(pool)
    .await?;
    Ok(())
}
