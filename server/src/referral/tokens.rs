//! API tokens: minted once, shown once, stored only as a hash.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::db::api_tokens::{self, TokenRow};
use crate::referral::roles::Role;

/// Prefix that makes leaked tokens easy to recognise (secret scanners).
pub const PREFIX: &str = "tj_";

/// The hash stored for a token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token that does not expire and returns it; only its hash is kept.
pub async fn mint(pool: &PgPool, account_id: i64, name: &str, role: Role) -> sqlx::Result<String> {
    mint_until(pool, account_id, name, role, None).await
}

/// Creates a token valid until `expires_at` (None: until revoked) and returns it.
pub async fn mint_until(
    pool: &PgPool,
    account_id: i64,
    name: &str,
    role: Role,
    expires_at: Option<DateTime<Utc>>,
) -> sqlx::Result<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    api_tokens::insert(
        pool,
        account_id,
        name,
        role.as_str(),
        &hash(&token),
        expires_at,
    )
    .await?;
    Ok(token)
}

/// The token's row and role, if it is valid.
pub async fn authenticate(pool: &PgPool, token: &str) -> sqlx::Result<Option<(TokenRow, Role)>> {
    if !token.starts_with(PREFIX) || token.len() > 100 {
        return Ok(None);
    }
    let row = api_tokens::authenticate(pool, &hash(token)).await?;
    Ok(row.and_then(|r| Role::parse(&r.role).map(|role| (r, role))))
}
