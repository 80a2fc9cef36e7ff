//! The access-token cache: a copy in memory, the shared copy in a [`TokenStore`] (PostgreSQL in
//! this server), and a refresh that happens once however many callers need it.
//!
//! Rules (wechat-protocol.md §6.3): refresh ahead of expiry; a token WeChat rejects
//! (40001/40014/42001) is replaced only if it is still the stored one, so a caller holding an
//! old token never throws away the fresh one another caller just fetched; and nothing of the
//! store (no transaction, no lock) is held open while WeChat is asked for a token: a refresh
//! is claimed, fetched, then recorded (see [`TokenStore::refresh`]).

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{Mutex, RwLock};

use super::client::{AccessToken, ApiError};

/// Tokens are treated as expired this long before WeChat says so.
pub const REFRESH_MARGIN_SECS: i64 = 200;

/// A token with its expiry.
#[derive(Clone)]
pub struct StoredToken {
    pub token: SecretString,
    pub expires_at: DateTime<Utc>,
}

impl std::fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredToken")
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl StoredToken {
    /// Usable now, with the safety margin.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        self.expires_at - Duration::seconds(REFRESH_MARGIN_SECS) > now
    }

    pub fn from_response(t: AccessToken, now: DateTime<Utc>) -> Self {
        StoredToken {
            token: t.token,
            expires_at: now + Duration::seconds(t.expires_in),
        }
    }

    fn same_as(&self, token: &str) -> bool {
        self.token.expose_secret() == token
    }
}

/// Fetches a new token from WeChat.
pub type Fetch = Arc<dyn Fn() -> BoxFuture<'static, Result<StoredToken, ApiError>> + Send + Sync>;

/// Why a token could not be had.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token store: {0}")]
    Store(String),
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Where the shared token lives.
#[async_trait::async_trait]
pub trait TokenStore: Send + Sync {
    /// The stored token, if any.
    async fn load(&self) -> Result<Option<StoredToken>, TokenError>;

    /// Once for every instance sharing the store: re-reads the stored token and returns it if
    /// it is fresh and differs from `stale`; otherwise claims the refresh (a lease in the
    /// store), calls `fetch` with nothing of the store held open (no transaction, no lock),
    /// and stores and returns the new token. A token is replaced only while it is still the
    /// one the claim saw, so a token another instance stored meanwhile is never overwritten.
    /// While another instance holds the claim, waits (for a bounded time) for its token, or
    /// for its claim to end, then claims. A failed `fetch` gives the claim back and is
    /// returned.
    async fn refresh(&self, stale: Option<&str>, fetch: Fetch) -> Result<StoredToken, TokenError>;
}

/// A process-wide token cache over a shared store.
pub struct TokenCache {
    store: Arc<dyn TokenStore>,
    fetch: Fetch,
    memory: RwLock<Option<StoredToken>>,
    /// One refresh in flight per process; the store's claim covers other processes.
    refreshing: Mutex<()>,
}

impl TokenCache {
    pub fn new(store: Arc<dyn TokenStore>, fetch: Fetch) -> Self {
        TokenCache {
            store,
            fetch,
            memory: RwLock::new(None),
            refreshing: Mutex::new(()),
        }
    }

    async fn fresh_in_memory(&self) -> Option<SecretString> {
        let memory = self.memory.read().await;
        memory
            .as_ref()
            .filter(|t| t.is_fresh(Utc::now()))
            .map(|t| t.token.clone())
    }

    /// A valid token: from memory, else from the store, else freshly fetched (once).
    pub async fn get(&self) -> Result<SecretString, TokenError> {
        if let Some(t) = self.fresh_in_memory().await {
            return Ok(t);
        }
        let _guard = self.refreshing.lock().await;
        if let Some(t) = self.fresh_in_memory().await {
            return Ok(t);
        }
        let stored = self.store.load().await?;
        let token = match stored {
            Some(t) if t.is_fresh(Utc::now()) => t,
            other => {
                let stale = other.as_ref().map(|t| t.token.expose_secret().to_owned());
                self.store
                    .refresh(stale.as_deref(), self.fetch.clone())
                    .await?
            }
        };
        let secret = token.token.clone();
        *self.memory.write().await = Some(token);
        Ok(secret)
    }

    /// WeChat rejected `failed`: replace it if it is still the current token, then return the
    /// token to retry with.
    pub async fn replace(&self, failed: &str) -> Result<SecretString, TokenError> {
        let _guard = self.refreshing.lock().await;
        {
            let memory = self.memory.read().await;
            if let Some(t) = memory.as_ref()
                && !t.same_as(failed)
                && t.is_fresh(Utc::now())
            {
                return Ok(t.token.clone());
            }
        }
        let token = self.store.refresh(Some(failed), self.fetch.clone()).await?;
        let secret = token.token.clone();
        *self.memory.write().await = Some(token);
        Ok(secret)
    }
}
