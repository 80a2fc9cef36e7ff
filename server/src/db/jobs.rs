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
    pub total_referrals: i64,
}

/// The contexts of several referrals, `(account_id, referral id)`, in one query.
pub async fn notify_contexts(
    pool: &PgPool,
    referrals: &[(i64, i64)],
) -> sqlx::Result<Vec<NotifyContext>> {
    let (accounts, ids): (Vec<i64>, Vec<i64>) = referrals.iter().copied().unzip();
    sqlx::query_as(
        "select r.id as referral_id, r.account_id, r.referrer_id, re.name as referrer_name,
                re.openid as referrer_openid, f.openid as follower_openid, r.followed_at,
                a.notify_template_id as template_id,
                (select count(*) from referral x
                  where x.account_id = r.account_id and x.referrer_id = r.referrer_id)
                  as total_referrals
         from unnest($1::bigint[], $2::bigint[]) as k(account_id, id)
              join referral r on r.account_id = k.account_id and r.id = k.id
              join referrer re on re.account_id = r.account_id and re.id = r.referrer_id
              join follower f on f.account_id = r.account_id and f.id = r.follower_id
              join account a on a.id = r.account_id",
    )
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
                                   errcode, errmsg)
         select * from unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[],
                              $5::text[], $6::int[], $7::text[])
         on conflict (account_id, referral_id) do update
            set channel = excluded.channel, status = excluded.status,
                errcode = excluded.errcode, errmsg = excluded.errmsg, created_at = now()",
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
    .execute(pool)
    .await?;
    Ok(())
}
