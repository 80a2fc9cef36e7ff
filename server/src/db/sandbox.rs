//! The sandbox tables: the simulated WeChat's own state.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::PgPool;

/// Token validity as the simulated WeChat sees it.
pub enum TokenState {
    /// A live token of this account.
    Valid {
        account_id: i64,
    },
    Expired,
    Invalid,
}

/// What an access token is worth. A token arrives without its account (as in WeChat, it
/// stands for one): it is found by its own index.
pub async fn token_state(pool: &PgPool, token: &str) -> sqlx::Result<TokenState> {
    let row: Option<(i64, bool, DateTime<Utc>)> = sqlx::query_as(
        "select account_id, revoked, expires_at from sandbox_token where token = $1",
    )
    .bind(token)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        None | Some((_, true, _)) => TokenState::Invalid,
        Some((_, false, exp)) if exp <= Utc::now() => TokenState::Expired,
        Some((account_id, ..)) => TokenState::Valid { account_id },
    })
}

/// The account's newest valid stable token, if any: (token, seconds left).
pub async fn current_stable_token(
    pool: &PgPool,
    account_id: i64,
) -> sqlx::Result<Option<(String, i64)>> {
    sqlx::query_as(
        "select token, extract(epoch from expires_at - now())::bigint
         from sandbox_token
         where account_id = $1 and kind = 'stable' and not revoked
           and expires_at > now() + interval '5 minutes'
         order by created_at desc limit 1",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await
}

/// Issues a token of the account; a classic token cuts the account's older classic tokens to
/// five more minutes.
pub async fn issue_token(
    pool: &PgPool,
    account_id: i64,
    token: &str,
    kind: &str,
    ttl: i64,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    if kind == "classic" {
        sqlx::query(
            "update sandbox_token set expires_at = least(expires_at, now() + interval '5 minutes')
             where account_id = $1 and kind = 'classic' and not revoked",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "insert into sandbox_token (account_id, token, kind, expires_at)
         values ($1, $2, $3, now() + make_interval(secs => $4))",
    )
    .bind(account_id)
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

/// Permanent codes the account has made (WeChat's quota is per account).
pub async fn permanent_codes(pool: &PgPool, account_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from sandbox_qrcode where account_id = $1 and expires_at is null",
    )
    .bind(account_id)
    .fetch_one(pool)
    .await
}

pub async fn insert_qrcode(
    pool: &PgPool,
    account_id: i64,
    ticket: &str,
    action: &str,
    scene: &str,
    url: &str,
    expire_seconds: Option<i64>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into sandbox_qrcode (account_id, ticket, action, scene, url, expires_at)
         values ($1, $2, $3, $4, $5,
                 case when $6::bigint is null then null
                      else now() + make_interval(secs => $6::bigint::double precision) end)",
    )
    .bind(account_id)
    .bind(ticket)
    .bind(action)
    .bind(scene)
    .bind(url)
    .bind(expire_seconds)
    .execute(pool)
    .await?;
    Ok(())
}

/// The url of a live ticket. Tickets arrive without their account (in the public
/// `showqrcode` address): they are found by their own index.
pub async fn qrcode_url(pool: &PgPool, ticket: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select url from sandbox_qrcode
         where ticket = $1 and (expires_at is null or expires_at > now())",
    )
    .bind(ticket)
    .fetch_optional(pool)
    .await
}

/// The scene and ticket of the account's QR code that encodes `url`, and whether it is still
/// valid.
pub async fn qrcode_by_url(
    pool: &PgPool,
    account_id: i64,
    url: &str,
) -> sqlx::Result<Option<(String, String, bool)>> {
    sqlx::query_as(
        "select scene, ticket, expires_at is null or expires_at > now() from sandbox_qrcode
         where account_id = $1 and url = $2",
    )
    .bind(account_id)
    .bind(url)
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
    /// The last message the user sent (a 48-hour window; other interactions give one minute).
    pub last_message_at: Option<DateTime<Utc>>,
    pub qr_scene_str: Option<String>,
    /// The follow came through an integer-scene code (QR_SCENE / QR_LIMIT_SCENE): its
    /// scene_id (WeChat then answers `qr_scene` and an empty `qr_scene_str`).
    pub qr_scene_id: Option<i64>,
    pub tagids: Vec<i64>,
}

const USER_COLUMNS: &str = "openid, name, unionid, subscribed, subscribe_time, \
     last_interaction_at, last_message_at, qr_scene_str, \
     (select q.scene::bigint from sandbox_qrcode q \
      where q.account_id = sandbox_user.account_id and q.scene = sandbox_user.qr_scene_str \
        and q.action in ('QR_SCENE', 'QR_LIMIT_SCENE') limit 1) as qr_scene_id, \
     tagids";

/// A simulated user of the account (openids are per Official Account, as in WeChat).
pub async fn user(
    pool: &PgPool,
    account_id: i64,
    openid: &str,
) -> sqlx::Result<Option<SandboxUser>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from sandbox_user where account_id = $1 and openid = $2"
    )))
    .bind(account_id)
    .bind(openid)
    .fetch_optional(pool)
    .await
}

pub async fn users(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<SandboxUser>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {USER_COLUMNS} from sandbox_user where account_id = $1
         order by created_at, openid"
    )))
    .bind(account_id)
    .fetch_all(pool)
    .await
}

/// Creates the simulated user on first use.
pub async fn ensure_user(
    pool: &PgPool,
    account_id: i64,
    openid: &str,
    name: &str,
) -> sqlx::Result<SandboxUser> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into sandbox_user (account_id, openid, name, unionid)
         values ($1, $2, $3, 'u' || md5($2))
         on conflict (account_id, openid) do update set name = sandbox_user.name
         returning {USER_COLUMNS}"
    )))
    .bind(account_id)
    .bind(openid)
    .bind(name)
    .fetch_one(pool)
    .await
}

/// The user follows (through `scene`, if any); any action opens the 48-hour window.
pub async fn record_follow(
    pool: &PgPool,
    account_id: i64,
    openid: &str,
    scene: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set subscribed = true, subscribe_time = now(), qr_scene_str = $3,
                last_interaction_at = now()
         where account_id = $1 and openid = $2",
    )
    .bind(account_id)
    .bind(openid)
    .bind(scene)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn record_unfollow(pool: &PgPool, account_id: i64, openid: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set subscribed = false, unsubscribe_time = now()
         where account_id = $1 and openid = $2",
    )
    .bind(account_id)
    .bind(openid)
    .execute(pool)
    .await?;
    Ok(())
}

/// The user sent a message: the customer-service window is open for 48 hours.
pub async fn record_message_sent(pool: &PgPool, account_id: i64, openid: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set last_interaction_at = now(), last_message_at = now()
         where account_id = $1 and openid = $2",
    )
    .bind(account_id)
    .bind(openid)
    .execute(pool)
    .await?;
    Ok(())
}

/// The user scanned or clicked (a follow is [`record_follow`]): the window is open for one
/// minute.
pub async fn record_interaction(pool: &PgPool, account_id: i64, openid: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set last_interaction_at = now()
         where account_id = $1 and openid = $2",
    )
    .bind(account_id)
    .bind(openid)
    .execute(pool)
    .await?;
    Ok(())
}

/// Moves a user's last interaction into the past (to exercise the 48-hour window).
pub async fn age_interaction(
    pool: &PgPool,
    account_id: i64,
    openid: &str,
    hours: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set last_interaction_at = now() - make_interval(hours => $3::int),
                last_message_at = least(last_message_at, now() - make_interval(hours => $3::int))
         where account_id = $1 and openid = $2",
    )
    .bind(account_id)
    .bind(openid)
    .bind(hours as i32)
    .execute(pool)
    .await?;
    Ok(())
}

/// The account's subscribed openids after `after`, in order.
pub async fn follower_page(
    pool: &PgPool,
    account_id: i64,
    after: &str,
    limit: i64,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select openid from sandbox_user
         where account_id = $1 and subscribed and openid > $2 order by openid limit $3",
    )
    .bind(account_id)
    .bind(after)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub async fn follower_count(pool: &PgPool, account_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from sandbox_user where account_id = $1 and subscribed")
        .bind(account_id)
        .fetch_one(pool)
        .await
}

pub async fn record_message(
    pool: &PgPool,
    account_id: i64,
    touser: &str,
    kind: &str,
    body: &Value,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into sandbox_message (account_id, touser, kind, body) values ($1, $2, $3, $4)
         returning id",
    )
    .bind(account_id)
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

pub async fn messages_to(
    pool: &PgPool,
    account_id: i64,
    touser: &str,
) -> sqlx::Result<Vec<SentMessage>> {
    sqlx::query_as(
        "select id, touser, kind, body, created_at from sandbox_message
         where account_id = $2 and touser = $1 order by id",
    )
    .bind(touser)
    .bind(account_id)
    .fetch_all(pool)
    .await
}

pub async fn create_tag(pool: &PgPool, account_id: i64, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into sandbox_tag (account_id, name) values ($1, $2)
         on conflict (account_id, name) do nothing returning id",
    )
    .bind(account_id)
    .bind(name)
    .fetch_optional(pool)
    .await
}

pub async fn tags(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<(i64, String, i64)>> {
    sqlx::query_as(
        "select t.id, t.name,
                (select count(*) from sandbox_user u
                 where u.account_id = t.account_id and t.id = any(u.tagids))
         from sandbox_tag t where t.account_id = $1 order by t.id",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
}

pub async fn tag_exists(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists(select 1 from sandbox_tag where account_id = $1 and id = $2)")
        .bind(account_id)
        .bind(id)
        .fetch_one(pool)
        .await
}

pub async fn tag_users(
    pool: &PgPool,
    account_id: i64,
    id: i64,
    openids: &[String],
) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set tagids = array_append(tagids, $2)
         where account_id = $1 and openid = any($3) and not ($2 = any(tagids))",
    )
    .bind(account_id)
    .bind(id)
    .bind(openids)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn untag_users(
    pool: &PgPool,
    account_id: i64,
    id: i64,
    openids: &[String],
) -> sqlx::Result<()> {
    sqlx::query(
        "update sandbox_user set tagids = array_remove(tagids, $2)
         where account_id = $1 and openid = any($3) and $2 = any(tagids)",
    )
    .bind(account_id)
    .bind(id)
    .bind(openids)
    .execute(pool)
    .await?;
    Ok(())
}

/// The tag ids of these simulated users, `(openid, tag ids)`, for those that exist.
pub async fn users_tags(
    pool: &PgPool,
    account_id: i64,
    openids: &[String],
) -> sqlx::Result<Vec<(String, Vec<i64>)>> {
    sqlx::query_as(
        "select openid, tagids from sandbox_user where account_id = $1 and openid = any($2)",
    )
    .bind(account_id)
    .bind(openids)
    .fetch_all(pool)
    .await
}

/// The names of the tags a simulated user carries, in the order they were put on.
pub async fn user_tag_names(
    pool: &PgPool,
    account_id: i64,
    openid: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select t.name from sandbox_user u
         cross join lateral unnest(u.tagids) with ordinality as x(id, n)
         join sandbox_tag t on t.account_id = u.account_id and t.id = x.id
         where u.account_id = $1 and u.openid = $2 order by x.n",
    )
    .bind(account_id)
    .bind(openid)
    .fetch_all(pool)
    .await
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

/// Stores uploaded temporary media of the account; returns its creation time.
pub async fn insert_media(
    pool: &PgPool,
    account_id: i64,
    media_id: &str,
    kind: &str,
    content: &[u8],
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "insert into sandbox_media (account_id, media_id, kind, content) values ($1, $2, $3, $4)
         returning created_at",
    )
    .bind(account_id)
    .bind(media_id)
    .bind(kind)
    .bind(content)
    .fetch_one(pool)
    .await
}

/// The account's temporary media still kept (3 days, as WeChat).
pub async fn media(
    pool: &PgPool,
    account_id: i64,
    media_id: &str,
) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "select content from sandbox_media
         where account_id = $1 and media_id = $2 and created_at > now() - interval '3 days'",
    )
    .bind(account_id)
    .bind(media_id)
    .fetch_optional(pool)
    .await
}

/// Temporary media still kept, by its id alone: what the public media address shows (it
/// carries no account; the id is found by its own index).
pub async fn media_by_id(pool: &PgPool, media_id: &str) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "select content from sandbox_media
         where media_id = $1 and created_at > now() - interval '3 days'
         limit 1",
    )
    .bind(media_id)
    .fetch_optional(pool)
    .await
}

/// Stores a web authorization code the simulated WeChat handed out for the account.
pub async fn insert_oauth_code(
    pool: &PgPool,
    account_id: i64,
    code: &str,
    openid: &str,
    scope: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into sandbox_oauth_code (account_id, code, openid, scope)
         values ($1, $2, $3, $4)",
    )
    .bind(account_id)
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

/// Marks the account's code used; tells whether it was used before or is older than 5
/// minutes.
pub async fn take_oauth_code(
    pool: &PgPool,
    account_id: i64,
    code: &str,
) -> sqlx::Result<Option<TakenCode>> {
    sqlx::query_as(
        "with old as (select account_id, code, used_at from sandbox_oauth_code
                      where account_id = $1 and code = $2 for update)
         update sandbox_oauth_code c set used_at = coalesce(c.used_at, now())
         from old where c.account_id = old.account_id and c.code = old.code
         returning c.openid, c.scope, old.used_at is not null as already_used,
                   c.created_at < now() - interval '5 minutes' as expired",
    )
    .bind(account_id)
    .bind(code)
    .fetch_optional(pool)
    .await
}

/// The simulated account's custom menu as `menu/create` received it, if it has one.
pub async fn menu(pool: &PgPool, account_id: i64) -> sqlx::Result<Option<Value>> {
    sqlx::query_scalar("select body from sandbox_menu where account_id = $1")
        .bind(account_id)
        .fetch_optional(pool)
        .await
}

/// Replaces the simulated account's custom menu.
pub async fn save_menu(pool: &PgPool, account_id: i64, body: &Value) -> sqlx::Result<()> {
    sqlx::query(
        "insert into sandbox_menu (account_id, body) values ($1, $2)
         on conflict (account_id) do update set body = excluded.body, created_at = now()",
    )
    .bind(account_id)
    .bind(body)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes the simulated account's custom menu; false when it had none.
pub async fn delete_menu(pool: &PgPool, account_id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("delete from sandbox_menu where account_id = $1")
        .bind(account_id)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}
