//! The `access_token` table: the [`TokenStore`] shared by every instance.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;

use crate::wechat::token::{Fetch, StoredToken, TokenError, TokenStore};

/// Advisory-lock namespace for token refreshes (the account id is the second key).
const LOCK_NAMESPACE: i32 = 0x7475_6a31;

/// The PostgreSQL token store of one account.
pub struct PgTokenStore {
    pool: PgPool,
    account_id: i64,
}

impl PgTokenStore {
    pub fn new(pool: PgPool, account_id: i64) -> Self {
        PgTokenStore { pool, account_id }
    }
}

fn store_err(e: sqlx::Error) -> TokenError {
    TokenError::Store(e.to_string())
}

#[derive(sqlx::FromRow)]
struct Row {
    token: String,
    expires_at: DateTime<Utc>,
}

impl From<Row> for StoredToken {
    fn from(r: Row) -> Self {
        StoredToken {
            token: SecretString::from(r.token),
            expires_at: r.expires_at,
        }
    }
}

#[async_trait]
impl TokenStore for PgTokenStore {
    async fn load(&self) -> Result<Option<StoredToken>, TokenError> {
        let row: Option<Row> =
            sqlx::query_as("select token, expires_at from access_token where account_id = $1")
                .bind(self.account_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(store_err)?;
        Ok(row.map(Into::into))
    }

    async fn refresh(&self, stale: Option<&str>, fetch: Fetch) -> Result<StoredToken, TokenError> {
        let mut tx = self.pool.begin().await.map_err(store_err)?;
        // Held until commit or rollback: other instances wait here, then see our token.
        sqlx::query("select pg_advisory_xact_lock($1, $2::int)")
            .bind(LOCK_NAMESPACE)
            .bind(self.account_id as i32)
            .execute(&mut *tx)
            .await
            .map_err(store_err)?;
        let current: Option<Row> =
            sqlx::query_as("select token, expires_at from access_token where account_id = $1")
                .bind(self.account_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(store_err)?;
        if let Some(row) = current {
            let token: StoredToken = row.into();
            let superseded = stale != Some(token.token.expose_secret());
            if superseded && token.is_fresh(Utc::now()) {
                tx.commit().await.map_err(store_err)?;
                return Ok(token);
            }
        }
        let fresh = fetch().await?;
        sqlx::query(
            "insert into access_token (account_id, token, expires_at) values ($1, $2, $3)
             on conflict (account_id) do update
                set token = excluded.token, expires_at = excluded.expires_at,
                    fetched_at = now()",
        )
        .bind(self.account_id)
        .bind(fresh.token.expose_secret())
        .bind(fresh.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(store_err)?;
        tx.commit().await.map_err(store_err)?;
        tracing::info!(account_id = self.account_id, "access token refreshed");
        Ok(fresh)
    }
}
