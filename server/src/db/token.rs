//! The `access_token` table: the [`TokenStore`] shared by every instance.
//!
//! A refresh is claimed, not locked, so nothing is held open while WeChat answers: one short
//! statement takes the account's lease (`refresh_claimed_until`) when no live lease exists
//! and the stored token still needs replacing; the claimer calls WeChat with no transaction
//! or lock open, then stores the new token and clears the lease in one statement, provided the
//! lease is still its own. The other instances poll the row until the new token is there, or
//! until the lease is gone (the claimer failed or crashed), when one of them claims it.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::PgPool;
use tokio::time::Instant;

use crate::wechat::token::{Fetch, REFRESH_MARGIN_SECS, StoredToken, TokenError, TokenStore};

/// How long a claimed refresh is reserved for its claimer: longer than one token call can
/// take (the client's 10 s timeout), short enough that a crashed claimer delays the others
/// only this long.
pub const CLAIM_LEASE_SECS: i64 = 15;
/// How often a waiting instance looks for the claimer's token.
const POLL: Duration = Duration::from_millis(100);
/// How long a refresh waits for other instances' claims before giving up (two leases: one
/// claimer that fails, then one more).
const WAIT_LIMIT: Duration = Duration::from_secs(2 * CLAIM_LEASE_SECS as u64);

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

/// The account's row as a refresh sees it.
#[derive(sqlx::FromRow)]
struct State {
    token: Option<String>,
    expires_at: Option<DateTime<Utc>>,
    /// Another refresh holds a live lease.
    claimed: bool,
}

impl State {
    /// The stored token, when it is fresh and not the `stale` one.
    fn usable(&self, stale: Option<&str>) -> Option<StoredToken> {
        let (Some(token), Some(expires_at)) = (&self.token, self.expires_at) else {
            return None;
        };
        let stored = StoredToken {
            token: SecretString::from(token.clone()),
            expires_at,
        };
        (stale != Some(token.as_str()) && stored.is_fresh(Utc::now())).then_some(stored)
    }
}

/// A refresh lease this instance holds, identified by its end (a new lease can only be taken
/// after the previous one ended, so no two leases of an account end at the same instant).
/// Dropped without [`Claim::disarm`] (the refresh was cancelled), it is given back in the
/// background so the other instances need not wait for it to run out.
struct Claim {
    pool: PgPool,
    account_id: i64,
    until: DateTime<Utc>,
    armed: bool,
}

const RELEASE: &str = "update access_token set refresh_claimed_until = null
     where account_id = $1 and refresh_claimed_until = $2";

impl Claim {
    fn disarm(&mut self) {
        self.armed = false;
    }

    /// Gives the lease back (the fetch failed); the lease ends by itself if this fails.
    async fn release(mut self) {
        self.armed = false;
        let released = sqlx::query(RELEASE)
            .bind(self.account_id)
            .bind(self.until)
            .execute(&self.pool)
            .await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "token refresh lease not released; it runs out by itself");
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let (pool, account_id, until) = (self.pool.clone(), self.account_id, self.until);
            runtime.spawn(async move {
                let _ = sqlx::query(RELEASE)
                    .bind(account_id)
                    .bind(until)
                    .execute(&pool)
                    .await;
            });
        }
    }
}

impl PgTokenStore {
    async fn state(&self) -> Result<Option<State>, TokenError> {
        sqlx::query_as(
            "select token, expires_at, coalesce(refresh_claimed_until > now(), false) as claimed
             from access_token where account_id = $1",
        )
        .bind(self.account_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_err)
    }

    /// Takes the lease, in one statement, if no live lease exists and the stored token is not
    /// a fresh one other than `stale`; makes the account's row when it has none.
    async fn claim(&self, stale: Option<&str>) -> Result<Option<Claim>, TokenError> {
        let fresh_until = Utc::now() + chrono::Duration::seconds(REFRESH_MARGIN_SECS);
        let until: Option<DateTime<Utc>> = sqlx::query_scalar(
            "insert into access_token as t (account_id, refresh_claimed_until)
             values ($1, now() + make_interval(secs => $4))
             on conflict (account_id) do update
                set refresh_claimed_until = excluded.refresh_claimed_until
                where (t.refresh_claimed_until is null or t.refresh_claimed_until <= now())
                  and not (t.token is not null and t.token is distinct from $2
                           and t.expires_at > $3)
             returning refresh_claimed_until",
        )
        .bind(self.account_id)
        .bind(stale)
        .bind(fresh_until)
        .bind(CLAIM_LEASE_SECS as f64)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_err)?;
        Ok(until.map(|until| Claim {
            pool: self.pool.clone(),
            account_id: self.account_id,
            until,
            armed: true,
        }))
    }

    /// Stores `fresh` and ends the lease, if the lease is still `claim`'s; false when it ran
    /// out and another refresh took over (whose token is then not overwritten).
    async fn record(&self, claim: &Claim, fresh: &StoredToken) -> Result<bool, TokenError> {
        let done = sqlx::query(
            "update access_token
                set token = $2, expires_at = $3, fetched_at = now(), refresh_claimed_until = null
             where account_id = $1 and refresh_claimed_until = $4",
        )
        .bind(self.account_id)
        .bind(fresh.token.expose_secret())
        .bind(fresh.expires_at)
        .bind(claim.until)
        .execute(&self.pool)
        .await
        .map_err(store_err)?;
        Ok(done.rows_affected() == 1)
    }
}

#[async_trait]
impl TokenStore for PgTokenStore {
    async fn load(&self) -> Result<Option<StoredToken>, TokenError> {
        let row: Option<Row> = sqlx::query_as(
            "select token, expires_at from access_token
             where account_id = $1 and token is not null",
        )
        .bind(self.account_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(store_err)?;
        Ok(row.map(Into::into))
    }

    async fn refresh(&self, stale: Option<&str>, fetch: Fetch) -> Result<StoredToken, TokenError> {
        let deadline = Instant::now() + WAIT_LIMIT;
        let mut claim = loop {
            let state = self.state().await?;
            if let Some(token) = state.as_ref().and_then(|s| s.usable(stale)) {
                return Ok(token);
            }
            if !state.is_some_and(|s| s.claimed) {
                if let Some(claim) = self.claim(stale).await? {
                    break claim;
                }
                // Another refresh claimed or stored in between: look again.
            } else {
                tokio::time::sleep(POLL).await;
            }
            if Instant::now() >= deadline {
                return Err(TokenError::Store(
                    "another instance's token refresh did not finish".into(),
                ));
            }
        };
        // Nothing of the store is held open while WeChat answers.
        let fresh = match fetch().await {
            Ok(fresh) => fresh,
            Err(e) => {
                claim.release().await;
                return Err(e.into());
            }
        };
        let recorded = self.record(&claim, &fresh).await;
        if recorded.is_ok() {
            claim.disarm();
        }
        if recorded? {
            tracing::info!(account_id = self.account_id, "access token refreshed");
            return Ok(fresh);
        }
        // Our lease ran out and another refresh took over: its token stays; ours is valid
        // too and serves when the stored one is not usable yet.
        tracing::warn!(
            account_id = self.account_id,
            "token refresh lease ran out before the token was stored; not overwriting"
        );
        Ok(self
            .state()
            .await?
            .and_then(|s| s.usable(stale))
            .unwrap_or(fresh))
    }
}
