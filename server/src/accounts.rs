//! The Official Accounts this server serves, as the callback, the worker and the services use
//! them: each with its callback settings (Token, safe-mode cipher) and its WeChat API client
//! (its own access-token row). Read from the `account` table and kept in memory; a change made
//! through this process applies at once (`invalidate`), one made by another instance within
//! [`RELOAD_AFTER`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use sqlx::PgPool;
use tokio::sync::RwLock;

use crate::config::{SANDBOX_APPID, SANDBOX_TOKEN, Settings};
use crate::db::accounts::{self as store, AccountRow};
use crate::db::token::PgTokenStore;
use crate::http::callback::CallbackConfig;
use crate::wechat::api::WechatApi;
use crate::wechat::client::Client;

/// How long an account's settings are used before they are read again.
pub const RELOAD_AFTER: Duration = Duration::from_secs(30);

/// Who plays WeChat for an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The built-in simulator (`/sandbox/wx`).
    Sandbox,
    /// WeChat itself (`WECHAT_API_BASE`).
    Live,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sandbox" => Some(Mode::Sandbox),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Sandbox => "sandbox",
            Mode::Live => "live",
        }
    }
}

/// One account, ready to receive callbacks and call WeChat.
pub struct Account {
    pub id: i64,
    pub name: String,
    pub appid: String,
    /// The original id (`gh_…`), when known.
    pub original_id: Option<String>,
    pub mode: Mode,
    pub callback: Arc<CallbackConfig>,
    pub api: Arc<WechatApi>,
    /// The row it was built from, to tell whether a reload changed anything.
    fingerprint: String,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("id", &self.id)
            .field("appid", &self.appid)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// Why an account cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("no account {0}")]
    Unknown(i64),
    #[error("account {id} is not configured: {reason}")]
    Misconfigured { id: i64, reason: String },
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// The simulated AppID and original id of a sandbox account.
pub fn sandbox_appid(id: i64) -> String {
    if id == 1 {
        SANDBOX_APPID.to_owned()
    } else {
        format!("wxsandbox{id:08}")
    }
}

pub fn sandbox_original_id(id: i64) -> String {
    format!("gh_sandbox{id:06}")
}

struct Cached {
    loaded: Instant,
    account: Arc<Account>,
}

/// Every account of this deployment.
pub struct Accounts {
    pool: PgPool,
    settings: Arc<Settings>,
    self_url: String,
    first: i64,
    cache: RwLock<HashMap<i64, Cached>>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("first", &self.first)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// Applies the `WECHAT_*` variables to the first account and checks it can be used, so a
    /// bad configuration stops start-up.
    pub async fn start(
        pool: PgPool,
        settings: Arc<Settings>,
        self_url: String,
    ) -> anyhow::Result<Self> {
        let accounts = Self::open(pool, settings, self_url).await?;
        configure_first(&accounts.pool, &accounts.settings, accounts.first).await?;
        if accounts.public_url().is_none() {
            let live = store::all(&accounts.pool).await?;
            if let Some(a) = live.iter().find(|a| a.mode == Mode::Live.as_str()) {
                anyhow::bail!(
                    "PUBLIC_URL is required in live mode (account {} \"{}\" is live): set it to \
                     the https address followers reach this server at, e.g. \
                     PUBLIC_URL=https://tuijian.example.com",
                    a.id,
                    a.name
                );
            }
        }
        accounts
            .get(accounts.first)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(accounts)
    }

    /// The registry without start-up's configuration of the first account (the command line).
    pub async fn open(
        pool: PgPool,
        settings: Arc<Settings>,
        self_url: String,
    ) -> sqlx::Result<Self> {
        let first = crate::db::events::default_account(&pool).await?;
        Ok(Accounts {
            pool,
            settings,
            self_url,
            first,
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// The deployment's first account (the one `/wechat/callback` and `/api/v1/…` mean).
    pub fn first_id(&self) -> i64 {
        self.first
    }

    /// `PUBLIC_URL`, which a live account needs (WeChat sends followers to it).
    pub fn public_url(&self) -> Option<&str> {
        self.settings.public_url.as_deref()
    }

    /// An account, read again when its copy is older than [`RELOAD_AFTER`].
    pub async fn get(&self, id: i64) -> Result<Arc<Account>, AccountError> {
        if let Some(c) = self.cache.read().await.get(&id)
            && c.loaded.elapsed() < RELOAD_AFTER
        {
            return Ok(c.account.clone());
        }
        let row = store::get(&self.pool, id)
            .await?
            .ok_or(AccountError::Unknown(id))?;
        let mut cache = self.cache.write().await;
        let fingerprint = fingerprint(&row);
        // Unchanged: keep the same client (and its access token in memory).
        let account = match cache.get(&id) {
            Some(c) if c.account.fingerprint == fingerprint => c.account.clone(),
            _ => Arc::new(self.build(&row, fingerprint)?),
        };
        cache.insert(
            id,
            Cached {
                loaded: Instant::now(),
                account: account.clone(),
            },
        );
        Ok(account)
    }

    /// The account's WeChat API.
    pub async fn api(&self, id: i64) -> Result<Arc<WechatApi>, AccountError> {
        Ok(self.get(id).await?.api.clone())
    }

    /// Forgets an account's copy, after it changed.
    pub async fn invalidate(&self, id: i64) {
        self.cache.write().await.remove(&id);
    }

    fn build(&self, row: &AccountRow, fingerprint: String) -> Result<Account, AccountError> {
        let misconfigured = |reason: String| AccountError::Misconfigured { id: row.id, reason };
        let mode = Mode::parse(&row.mode)
            .ok_or_else(|| misconfigured(format!("unknown mode {}", row.mode)))?;
        let appid = match (&row.appid, mode) {
            (Some(appid), _) => appid.clone(),
            (None, Mode::Sandbox) => sandbox_appid(row.id),
            (None, Mode::Live) => return Err(misconfigured("no AppID".into())),
        };
        let token = row
            .token
            .clone()
            .ok_or_else(|| misconfigured("no callback Token".into()))?;
        let callback = CallbackConfig::new(
            SecretString::from(token),
            row.encoding_aes_key.as_deref(),
            &appid,
            self.settings.callback_deadline,
        )
        .map_err(|e| misconfigured(format!("EncodingAESKey: {e}")))?;
        let (base, secret) = match mode {
            Mode::Sandbox => (
                format!("{}/sandbox/wx", self.self_url),
                SecretString::from(crate::sandbox::SANDBOX_SECRET),
            ),
            Mode::Live => (
                self.settings.wechat.api_base.clone(),
                SecretString::from(
                    row.appsecret
                        .clone()
                        .ok_or_else(|| misconfigured("no AppSecret".into()))?,
                ),
            ),
        };
        let client = Client::new(&base).map_err(|e| misconfigured(e.to_string()))?;
        let store = Arc::new(PgTokenStore::new(self.pool.clone(), row.id));
        let api = WechatApi::new(
            client,
            store,
            appid.clone(),
            secret,
            self.settings.wechat.classic_token,
        );
        Ok(Account {
            id: row.id,
            name: row.name.clone(),
            appid,
            original_id: row.original_id.clone(),
            mode,
            callback: Arc::new(callback),
            api: Arc::new(api),
            fingerprint,
        })
    }
}

/// What a reload compares (secrets included, never shown).
fn fingerprint(row: &AccountRow) -> String {
    format!(
        "{}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{:?}\u{0}{}",
        row.name,
        row.appid,
        row.original_id,
        row.token,
        row.encoding_aes_key,
        row.appsecret,
        row.mode
    )
}

/// The first account follows the `WECHAT_*` variables at every start: with `WECHAT_APPID` set
/// it is that live account; without, the sandbox's simulated account (Token `WECHAT_TOKEN` or
/// the sandbox default, safe mode when `WECHAT_ENCODING_AES_KEY` is set).
async fn configure_first(pool: &PgPool, settings: &Settings, id: i64) -> anyhow::Result<()> {
    use secrecy::ExposeSecret;
    let w = &settings.wechat;
    let expose = |s: &Option<SecretString>| s.as_ref().map(|s| s.expose_secret().to_owned());
    let (appid, mode) = if w.is_sandbox() {
        (SANDBOX_APPID.to_owned(), Mode::Sandbox)
    } else {
        (w.effective_appid().to_owned(), Mode::Live)
    };
    let token = expose(&w.token).unwrap_or_else(|| SANDBOX_TOKEN.to_owned());
    let original_id = w.is_sandbox().then(|| sandbox_original_id(id));
    store::configure(
        pool,
        id,
        &appid,
        original_id.as_deref(),
        &token,
        expose(&w.encoding_aes_key).as_deref(),
        expose(&w.appsecret).as_deref(),
        mode.as_str(),
    )
    .await?;
    Ok(())
}
