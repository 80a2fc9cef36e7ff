//! Dashboard users, sessions and login attempts.

use app::model::{CurrentUser, Role};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// A user row with its password hash (never serialised).
#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub account_id: i64,
    pub username: String,
    pub password_hash: String,
    pub role: String,
}

impl UserRow {
    pub fn current(&self) -> Option<CurrentUser> {
        Role::parse(&self.role).map(|role| CurrentUser {
            id: self.id,
            account_id: self.account_id,
            username: self.username.clone(),
            role,
        })
    }
}

/// Creates a user, or replaces the password and role of an existing one.
pub async fn upsert(
    pool: &PgPool,
    account_id: i64,
    username: &str,
    password_hash: &str,
    role: Role,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into app_user (account_id, username, password_hash, role) values ($1, $2, $3, $4)
         on conflict (account_id, username) do update
            set password_hash = excluded.password_hash, role = excluded.role, disabled_at = null
         returning id",
    )
    .bind(account_id)
    .bind(username)
    .bind(password_hash)
    .bind(role.as_str())
    .fetch_one(pool)
    .await
}

pub async fn count(pool: &PgPool, account_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from app_user where account_id = $1")
        .bind(account_id)
        .fetch_one(pool)
        .await
}

pub async fn by_username(
    pool: &PgPool,
    account_id: i64,
    username: &str,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(
        "select id, account_id, username, password_hash, role from app_user
         where account_id = $1 and username = $2 and disabled_at is null",
    )
    .bind(account_id)
    .bind(username)
    .fetch_optional(pool)
    .await
}

/// Failed attempts for `username` since `since`.
pub async fn recent_failures(
    pool: &PgPool,
    account_id: i64,
    username: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from login_attempt
         where account_id = $1 and username = $2 and not succeeded and attempted_at > $3
           and attempted_at > coalesce((select max(attempted_at) from login_attempt
                                        where account_id = $1 and username = $2 and succeeded),
                                       '-infinity')",
    )
    .bind(account_id)
    .bind(username)
    .bind(since)
    .fetch_one(pool)
    .await
}

pub async fn record_attempt(
    pool: &PgPool,
    account_id: i64,
    username: &str,
    succeeded: bool,
) -> sqlx::Result<()> {
    sqlx::query("insert into login_attempt (account_id, username, succeeded) values ($1, $2, $3)")
        .bind(account_id)
        .bind(username)
        .bind(succeeded)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn create_session(
    pool: &PgPool,
    account_id: i64,
    user_id: i64,
    id_hash: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into session (id_hash, account_id, user_id, expires_at) values ($1, $2, $3, $4)",
    )
    .bind(id_hash)
    .bind(account_id)
    .bind(user_id)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The user of a live session (and notes the visit).
pub async fn session_user(pool: &PgPool, id_hash: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(
        "with s as (update session set last_seen_at = now()
                    where id_hash = $1 and expires_at > now() returning user_id)
         select u.id, u.account_id, u.username, u.password_hash, u.role
         from s join app_user u on u.id = s.user_id where u.disabled_at is null",
    )
    .bind(id_hash)
    .fetch_optional(pool)
    .await
}

pub async fn delete_session(pool: &PgPool, id_hash: &str) -> sqlx::Result<()> {
    sqlx::query("delete from session where id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}
