//! The `api_token` table: bearer tokens for the REST API, stored as SHA-256 hashes.

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
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into api_token (account_id, name, role, token_hash) values ($1, $2, $3, $4)
         returning id",
    )
    .bind(account_id)
    .bind(name)
    .bind(role)
    .bind(token_hash)
    .fetch_one(pool)
    .await
}

/// Finds a live token by hash and notes its use.
pub async fn authenticate(pool: &PgPool, token_hash: &str) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as(
        "update api_token set last_used_at = now()
         where token_hash = $1 and revoked_at is null
         returning id, account_id, name, role",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}
