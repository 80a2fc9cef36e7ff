//! The `api_token` table: bearer tokens for the REST API, stored as SHA-256 hashes.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// A token that authenticated a request.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub role: String,
}

pub async fn insert(
    pool: &PgPool,
    account_id: i64,
    name: &str,
    role: &str,
    token_hash: &str,
    expires_at: Option<DateTime<Utc>>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into api_token (account_id, name, role, token_hash, expires_at)
         values ($1, $2, $3, $4, $5)
         returning id",
    )
    .bind(account_id)
    .bind(name)
    .bind(role)
    .bind(token_hash)
    .bind(expires_at)
    .fetch_one(pool)
    .await
}

/// Revokes a live token of the account; its name, or None when the account has no such live
/// token.
pub async fn revoke(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "update api_token set revoked_at = now()
         where account_id = $1 and id = $2 and revoked_at is null
         returning name",
    )
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Whether the account has a token with this id (live or not).
pub async fn exists(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from api_token where account_id = $1 and id = $2)")
        .bind(account_id)
        .bind(id)
        .fetch_one(pool)
        .await
}

/// Finds a live token by hash and notes its use.
pub async fn authenticate(pool: &PgPool, token_hash: &str) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as(
        "update api_token set last_used_at = now()
         where token_hash = $1 and revoked_at is null
           and (expires_at is null or expires_at > now())
         returning id, account_id, name, role",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}
