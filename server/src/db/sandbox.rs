//! The sandbox tables: the simulated WeChat's own state.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

/// Token validity as the simulated WeChat sees it.
pub enum TokenState {
    Valid,
    Expired,
    Invalid,
}

pub async fn token_state(pool: &PgPool, token: &str) -> sqlx::Result<TokenState> {
    let row: Option<(bool, DateTime<Utc>)> =
        sqlx::query_as("select revoked, expires_at from sandbox_token where token = $1")
            .bind(token)
            .fetch_optional(pool)
            .await?;
    Ok(match row {
        None | Some((true, _)) => TokenState::Invalid,
        Some((false, exp)) if exp <= Utc::now() => TokenState::Expired,
        Some(_) => TokenState::Valid,
    })
}

/// The newest valid stable token, if any: (token, seconds left).
pub async fn current_stable_token(pool: &PgPool) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as(
        "select token, extract(epoch from expires_at - now())::bigint
         from sandbox_token
         where kind = 'stable' and not revoked and expires_at > now() + interval '5 minutes'
         order by created_at desc limit 1",
    )
    .fetch_optional(pool)
    .await
}

/// Issues a token; a classic token cuts older classic tokens to five more minutes.
pub async fn issue_token(pool: &PgPool, token: &str, kind: &str, ttl: i64) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    if kind == "classic" {
        sqlx::query(
            "update sandbox_token set expires_at = least(expires_at, now() + interval '5 minutes')
             where kind = 'classic' and not revoked",
        )
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "insert into sandbox_token (token, kind, expires_at)
         values ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(token)
    .bind(kind)
    .bind(ttl as f64)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Revokes every issued token (a fault knob: the next call gets 40001).
pub async fn revoke_tokens(pool: &PgPool) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("update sandbox_token set revoked = true where not revoked")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// How many tokens the simulated WeChat has issued.
pub async fn tokens_issued(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from sandbox_token")
        .fetch_one(pool)
        .await
}

pub async fn permanent_codes(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from sandbox_qrcode where expires_at is null")
        .fetch_one(pool)
        .await
}

pub async fn insert_qrcode(
    pool: &PgPool,
    ticket: &str,
    action: &str,
    scene: &str,
    url: &str,
    expire_seconds: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into sandbox_qrcode (ticket, action, scene, url, expires_at)
         values ($1, $2, $3, $4,
                 case when $5::bigint is null then null
                      else now() + make_interval(secs => $5::bigint::double precision) end)",
    )
    .bind(ticket)
    .bind(action)
    .bind(scene)
    .bind(url)
    .bind(expire_seconds)
    .execute(pool)
    .await?;
    Ok(())
}

/// The url of a live ticket.
pub async fn qrcode_url(pool: &PgPool, ticket: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select url from sandbox_qrcode
         where ticket = $1 and (expires_at is null or expires_at > now())",
    )
    .bind(ticket)
    .fetch_optional(pool)
    .await
}

/// A simulated user.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SandboxUser {
    pub openid: String,
    pub name: String,
    pub unionid: String,
    pub subscribed: bool,
    pub subscribe_time: Option<DateTime<Utc>>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    pub qr_scene_str: Option<String>,
    pub tagids: Vec<i64>,
}

const USER_COLUMNS: &str = "openid, name, unionid, subscribed, subscribe_time, \
     last_interaction_at, qr_scene_str, tagids";

pub async fn user(pool: &PgPool, openid: &str) -> sqlx::Result<Option<SandboxUser>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from sandbox_user where openid = $1"
    )))
    .bind(openid)
    .fetch_optional(pool)
    .await
}

pub async fn users(pool: &PgPool) -> sqlx::Result<Vec<SandboxUser>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from sandbox_user order by created_at, openid"
    )))
    .fetch_all(pool)
    .await
}

/// Creates the simulated user on first use.
pub async fn ensure_user(pool: &PgPool, openid: &str, name: &str) -> sqlx::Result<SandboxUser> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into sandbox_user (openid, name, unionid) values ($1, $2, 'u' || md5($1))
         on conflict (openid) do update set name = sandbox_user.name
         returning {USER_COLUMNS}"
    )))
    .bind(openid)
    .bind(name)
    .fetch_one(pool)
    .await
}

/// The user follows (through `scene`, if any); any action opens the 48-hour window.
pub async fn record_follow(pool: &PgPool, openid: &str, scene: Option<&str>) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set subscribed = true, subscribe_time = now(), qr_scene_str = $2,
                last_interaction_at = now()
         where openid = $1",
    )
    .bind(openid)
    .bind(scene)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn record_unfollow(pool: &PgPool, openid: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set subscribed = false, unsubscribe_time = now() where openid = $1",
    )
    .bind(openid)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn record_interaction(pool: &PgPool, openid: &str) -> sqlx::Result<()> {
    sqlx::query("update sandbox_user set last_interaction_at = now() where openid = $1")
        .bind(openid)
        .execute(pool)
        .await?;
    Ok(())
}

/// Moves a user's last interaction into the past (to exercise the 48-hour window).
pub async fn age_interaction(pool: &PgPool, openid: &str, hours: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set last_interaction_at = now() - make_interval(hours => $2::int)
         where openid = $1",
    )
    .bind(openid)
    .bind(hours as i32)
    .execute(pool)
    .await?;
    Ok(())
}

/// Subscribed openids after `after`, in order.
pub async fn follower_page(pool: &PgPool, after: &str, limit: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select openid from sandbox_user where subscribed and openid > $1 order by openid limit $2",
    )
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn follower_count(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from sandbox_user where subscribed")
        .fetch_one(pool)
        .await
}

pub async fn record_message(
    pool: &PgPool,
    touser: &str,
    kind: &str,
    body: &Value,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into sandbox_message (touser, kind, body) values ($1, $2, $3) returning id",
    )
    .bind(touser)
    .bind(kind)
    .bind(body)
    .fetch_one(pool)
    .await
}

/// A message a simulated user received.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct SentMessage {
    pub id: i64,
    pub touser: String,
    pub kind: String,
    pub body: Value,
    pub created_at: DateTime<Utc>,
}

pub async fn messages_to(pool: &PgPool, touser: &str) -> sqlx::Result<Vec<SentMessage>> {
    sqlx::query_as(
        "select id, touser, kind, body, created_at from sandbox_message
         where touser = $1 order by id",
    )
    .bind(touser)
    .fetch_all(pool)
    .await
}

pub async fn create_tag(pool: &PgPool, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into sandbox_tag (name) values ($1) on conflict (name) do nothing returning id",
    )
    .bind(name)
    .fetch_optional(pool)
    .await
}

pub async fn tags(pool: &PgPool) -> sqlx::Result<Vec<(i64, String, i64)>> {
    sqlx::query_as(
        "select t.id, t.name,
                (select count(*) from sandbox_user u where t.id = any(u.tagids))
         from sandbox_tag t order by t.id",
    )
    .fetch_all(pool)
    .await
}

pub async fn tag_exists(pool: &PgPool, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists(select 1 from sandbox_tag where id = $1)")
        .bind(id)
        .fetch_one(pool)
        .await
}

pub async fn tag_users(pool: &PgPool, id: i64, openids: &[String]) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set tagids = array_append(tagids, $1)
         where openid = any($2) and not ($1 = any(tagids))",
    )
    .bind(id)
    .bind(openids)
    .execute(pool)
    .await?;
    Ok(())
}

/// Scene and ticket of one of our QR codes (what a simulated user scans).
pub async fn our_code(
    pool: &PgPool,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query_as("select scene, ticket from qr_code where account_id = $1 and id = $2")
        .bind(account_id)
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Stores uploaded temporary media; returns its creation time.
pub async fn insert_media(
    pool: &PgPool,
    media_id: &str,
    kind: &str,
    content: &[u8],
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "insert into sandbox_media (media_id, kind, content) values ($1, $2, $3)
         returning created_at",
    )
    .bind(media_id)
    .bind(kind)
    .bind(content)
    .fetch_one(pool)
    .await
}

/// Temporary media still kept (3 days, as WeChat).
pub async fn media(pool: &PgPool, media_id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "select content from sandbox_media
         where media_id = $1 and created_at > now() - interval '3 days'",
    )
    .bind(media_id)
    .fetch_optional(pool)
    .await
}

/// Stores a web authorization code the simulated WeChat handed out.
pub async fn insert_oauth_code(
    pool: &PgPool,
    code: &str,
    openid: &str,
    scope: &str,
) -> sqlx::Result<()> {
    sqlx::query("insert into sandbox_oauth_code (code, openid, scope) values ($1, $2, $3)")
        .bind(code)
        .bind(openid)
        .bind(scope)
        .execute(pool)
        .await?;
    Ok(())
}

/// A web authorization code being redeemed.
#[derive(Debug, sqlx::FromRow)]
pub struct TakenCode {
    pub openid: String,
    pub scope: String,
    pub already_used: bool,
    pub expired: bool,
}

/// Marks a code used; tells whether it was used before or is older than 5 minutes.
pub async fn take_oauth_code(pool: &PgPool, code: &str) -> sqlx::Result<Option<TakenCode>> {
    sqlx::query_as(
        "with old as (select code, used_at from sandbox_oauth_code where code = $1 for update)
         update sandbox_oauth_code c set used_at = coalesce(c.used_at, now())
         from old where c.code = old.code
         returning c.openid, c.scope, old.used_at is not null as already_used,
                   c.created_at < now() - interval '5 minutes' as expired",
    )
    .bind(code)
    .fetch_optional(pool)
    .await
}
