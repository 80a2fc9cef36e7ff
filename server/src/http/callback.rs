//! `GET`/`POST /wechat/callback`: WeChat's calls to us. Verify → limit → refuse hostile XML →
//! decrypt → parse → ingest → reply, well inside WeChat's 5-second window.
//!
//! When the database is slow or down we answer 503 instead of `success`: the event was not
//! stored (its transaction is rolled back), so WeChat must deliver it again. Answering
//! `success` would lose the referral for good.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::config::{ConfigError, Settings};
use crate::referral;
use crate::referral::ingest::Ingested;
use crate::referral::members;
use crate::startup::AppState;
use crate::wechat::crypto::MsgCrypt;
use crate::wechat::message::{self, Inbound};
use crate::wechat::signature;

/// Larger bodies are refused with 413 (WeChat's messages are a few KiB at most).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the callback needs from the configuration, prepared once at start-up.
pub struct CallbackConfig {
    token: SecretString,
    crypt: Option<MsgCrypt>,
    deadline: Duration,
}

impl CallbackConfig {
    /// Fails when the token is missing or the EncodingAESKey is not a valid key.
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let wechat = &settings.wechat;
        let token = wechat.token.clone().ok_or(ConfigError {
            var: "WECHAT_TOKEN",
            reason: "required to verify callbacks".into(),
        })?;
        let crypt = match &wechat.encoding_aes_key {
            Some(key) => Some(
                MsgCrypt::new(key.expose_secret(), wechat.effective_appid()).map_err(|e| {
                    ConfigError {
                        var: "WECHAT_ENCODING_AES_KEY",
                        reason: e.to_string(),
                    }
                })?,
            ),
            None => None,
        };
        Ok(CallbackConfig {
            token,
            crypt,
            deadline: settings.callback_deadline,
        })
    }

    /// One account's callback settings: its Token, its EncodingAESKey (safe mode) with the
    /// AppID the messages are encrypted for.
    pub fn new(
        token: SecretString,
        aes_key: Option<&str>,
        appid: &str,
        deadline: Duration,
    ) -> Result<Self, String> {
        let crypt = match aes_key {
            Some(key) => Some(MsgCrypt::new(key, appid).map_err(|e| e.to_string())?),
            None => None,
        };
        Ok(CallbackConfig {
            token,
            crypt,
            deadline,
        })
    }

    /// The callback Token (for the sandbox simulator, which signs like WeChat).
    pub(crate) fn token(&self) -> &str {
        self.token.expose_secret()
    }

    /// The safe-mode cipher, when an EncodingAESKey is configured.
    pub(crate) fn crypt(&self) -> Option<&MsgCrypt> {
        self.crypt.as_ref()
    }

    /// Whether callbacks are expected encrypted (an EncodingAESKey is configured).
    pub fn safe_mode(&self) -> bool {
        self.crypt.is_some()
    }
}

/// The query string WeChat sends.
#[derive(Debug, Default, Deserialize)]
pub struct CallbackQuery {
    signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    echostr: Option<String>,
    encrypt_type: Option<String>,
    msg_signature: Option<String>,
}

/// Why a callback was refused; the body says only the category, the log says the detail.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    #[error("signature check failed: {0}")]
    Unauthorized(String),
    #[error("body larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("not stored: {0}")]
    Unavailable(String),
    #[error("no such account: {0}")]
    UnknownAccount(String),
}

impl IntoResponse for CallbackError {
    fn into_response(self) -> Response {
        let (status, body) = match &self {
            CallbackError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "invalid signature"),
            CallbackError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "body too large"),
            CallbackError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad request"),
            CallbackError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
            }
            CallbackError::UnknownAccount(_) => (StatusCode::NOT_FOUND, "no such account"),
        };
        if status.is_server_error() {
            tracing::error!(error = %self, "callback not stored; WeChat will deliver it again");
        } else {
            tracing::warn!(error = %self, "callback refused");
        }
        (status, body).into_response()
    }
}

/// `GET /wechat/callback`: the URL check. Answers the raw `echostr` (never decrypted: an
/// Official Account sends it in plaintext even in safe mode).
pub async fn verify_url(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, CallbackError> {
    answer_url_check(&state, state.account_id, &state.callback, query).await
}

/// `GET /wechat/callback/{account}`: the URL check of one account.
pub async fn verify_account_url(
    State(state): State<AppState>,
    Path(account): Path<i64>,
    Query(query): Query<CallbackQuery>,
) -> Result<Response, CallbackError> {
    let account = known_account(&state, account).await?;
    answer_url_check(&state, account.id, &account.callback, query).await
}

/// The account a callback URL names; an unknown one is refused like a bad signature (nothing
/// is said about which accounts exist).
async fn known_account(
    state: &AppState,
    id: i64,
) -> Result<Arc<crate::accounts::Account>, CallbackError> {
    match state.accounts.get(id).await {
        Ok(account) => Ok(account),
        Err(crate::accounts::AccountError::Database(e)) => Err(CallbackError::Unavailable(
            format!("account {id} could not be read: {e}"),
        )),
        Err(e) => Err(CallbackError::UnknownAccount(e.to_string())),
    }
}

/// Answers WeChat's URL check and notes its outcome for the setup page, after the answer (a
/// note that cannot be written is logged).
async fn answer_url_check(
    state: &AppState,
    account_id: i64,
    config: &CallbackConfig,
    query: CallbackQuery,
) -> Result<Response, CallbackError> {
    let checked = verify_signature(config, &query);
    // A refusal is noted only for what looks like WeChat's check (every parameter, a fresh
    // timestamp): a stranger's bare GET says nothing about the Token.
    let fresh = query
        .timestamp
        .as_deref()
        .and_then(|t| t.parse::<i64>().ok())
        .is_some_and(|t| (chrono::Utc::now().timestamp() - t).abs() <= 300);
    let well_formed = query.signature.is_some() && query.nonce.is_some() && fresh;
    if query.echostr.is_some() && (checked.is_ok() || well_formed) {
        let (pool, ok) = (state.pool.clone(), checked.is_ok());
        tokio::spawn(async move {
            if let Err(e) = crate::db::accounts::note_url_check(&pool, account_id, ok).await {
                tracing::warn!(account_id, error = %e, "could not note the callback URL check");
            }
        });
    }
    checked?;
    let echostr = query
        .echostr
        .ok_or_else(|| CallbackError::BadRequest("echostr missing".into()))?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        echostr,
    )
        .into_response())
}

impl CallbackError {
    /// The `outcome` label of the callback latency metric.
    fn outcome(&self) -> &'static str {
        match self {
            CallbackError::Unauthorized(_) => "unauthorized",
            CallbackError::TooLarge => "too_large",
            CallbackError::BadRequest(_) => "bad_request",
            CallbackError::Unavailable(_) => "unavailable",
            CallbackError::UnknownAccount(_) => "unknown_account",
        }
    }
}

/// `POST /wechat/callback`: an event or message from WeChat.
#[tracing::instrument(skip_all, fields(mode))]
pub async fn receive(
    State(state): State<AppState>,
    Query(query): Query<CallbackQuery>,
    body: Body,
) -> Result<Response, CallbackError> {
    let config = state.callback.clone();
    let account = state.account_id;
    measured(state, config, account, query, body).await
}

/// `POST /wechat/callback/{account}`: an event or message for one account.
#[tracing::instrument(skip_all, fields(mode, account))]
pub async fn receive_for_account(
    State(state): State<AppState>,
    Path(account): Path<i64>,
    Query(query): Query<CallbackQuery>,
    body: Body,
) -> Result<Response, CallbackError> {
    tracing::Span::current().record("account", account);
    let config = known_account(&state, account).await?.callback.clone();
    measured(state, config, account, query, body).await
}

/// Handles a callback and records its latency by kind and outcome.
async fn measured(
    state: AppState,
    config: Arc<CallbackConfig>,
    account_id: i64,
    query: CallbackQuery,
    body: Body,
) -> Result<Response, CallbackError> {
    let started = std::time::Instant::now();
    let mut kind = "unknown";
    let result = handle(state, config, account_id, query, body, &mut kind).await;
    let outcome = result
        .as_ref()
        .map_or_else(CallbackError::outcome, |_| "ok");
    metrics::histogram!(crate::metrics::CALLBACK_SECONDS, "kind" => kind, "outcome" => outcome)
        .record(started.elapsed().as_secs_f64());
    result
}

async fn handle(
    state: AppState,
    config: Arc<CallbackConfig>,
    account_id: i64,
    query: CallbackQuery,
    body: Body,
    kind: &mut &'static str,
) -> Result<Response, CallbackError> {
    verify_signature(&config, &query)?;
    let body = to_bytes(body, MAX_BODY_BYTES)
        .await
        .map_err(|_| CallbackError::TooLarge)?;
    message::reject_hostile(&body).map_err(|e| CallbackError::BadRequest(e.to_string()))?;
    let encrypted = query.encrypt_type.as_deref() == Some("aes") || query.msg_signature.is_some();
    tracing::Span::current().record("mode", if encrypted { "aes" } else { "plain" });
    let xml = decode_body(&config, &query, &body, encrypted)?;
    let inbound =
        message::parse_inbound(&xml).map_err(|e| CallbackError::BadRequest(e.to_string()))?;
    let started = tokio::time::Instant::now();
    *kind = inbound.kind();
    let ingest = referral::ingest::ingest(&state.pool, &state.follows, account_id, &inbound, &xml);
    let reply = match tokio::time::timeout(config.deadline, ingest).await {
        Ok(Ok(Ingested::Reply(reply))) => {
            state.jobs_wake.notify_one();
            reply
        }
        Ok(Ok(Ingested::MemberCode(request))) => {
            // The event is stored; the image gets what is left of the budget.
            let left = config.deadline.saturating_sub(started.elapsed());
            let budget = left.min(members::IMAGE_BUDGET);
            let reply = state.members().answer(&request, budget).await;
            state.jobs_wake.notify_one();
            Some(reply)
        }
        Ok(Err(e)) => return Err(CallbackError::Unavailable(format!("database error: {e}"))),
        Err(_) => {
            return Err(CallbackError::Unavailable(format!(
                "database did not answer within {:?}",
                config.deadline
            )));
        }
    };
    Ok(render_reply(&config, &query, &inbound, reply, encrypted))
}

fn verify_signature(config: &CallbackConfig, q: &CallbackQuery) -> Result<(), CallbackError> {
    signature::verify_signature(
        config.token.expose_secret(),
        q.timestamp.as_deref(),
        q.nonce.as_deref(),
        q.signature.as_deref(),
    )
    .map_err(|e| CallbackError::Unauthorized(e.to_string()))
}

/// Returns the message XML: the body itself in plaintext mode, the verified and decrypted
/// `Encrypt` element in compatible and safe modes.
fn decode_body(
    config: &CallbackConfig,
    q: &CallbackQuery,
    body: &[u8],
    encrypted: bool,
) -> Result<String, CallbackError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| CallbackError::BadRequest("body is not UTF-8".into()))?;
    let Some(crypt) = &config.crypt else {
        if encrypted {
            return Err(CallbackError::BadRequest(
                "encrypted callback but no WECHAT_ENCODING_AES_KEY is configured".into(),
            ));
        }
        return Ok(text.to_owned());
    };
    if !encrypted {
        // Safe mode is configured: a plaintext body would bypass the message signature.
        return Err(CallbackError::BadRequest(
            "plaintext callback while safe mode is configured".into(),
        ));
    }
    let envelope =
        message::parse_envelope(text).map_err(|e| CallbackError::BadRequest(e.to_string()))?;
    signature::verify_msg_signature(
        config.token.expose_secret(),
        q.timestamp.as_deref(),
        q.nonce.as_deref(),
        &envelope.encrypt,
        q.msg_signature.as_deref(),
    )
    .map_err(|e| CallbackError::Unauthorized(format!("msg_signature: {e}")))?;
    let xml = crypt
        .decrypt(&envelope.encrypt)
        .map_err(|e| CallbackError::BadRequest(e.to_string()))?;
    message::reject_hostile(xml.as_bytes())
        .map_err(|e| CallbackError::BadRequest(e.to_string()))?;
    Ok(xml)
}

/// The reply XML (encrypted in compatible/safe mode), or `success` when there is nothing to say.
fn render_reply(
    config: &CallbackConfig,
    q: &CallbackQuery,
    inbound: &Inbound,
    reply: Option<String>,
    encrypted: bool,
) -> Response {
    let Some(xml) = reply else {
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            "success",
        )
            .into_response();
    };
    let body = match (&config.crypt, encrypted) {
        (Some(crypt), true) => {
            let timestamp = chrono::Utc::now().timestamp().to_string();
            let nonce = q.nonce.clone().unwrap_or_default();
            message::encrypted_reply(
                crypt,
                config.token.expose_secret(),
                &xml,
                &timestamp,
                &nonce,
            )
        }
        _ => xml,
    };
    tracing::debug!(kind = inbound.kind(), "replied");
    (
        [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

/// Shared handle stored in the app state.
pub type SharedCallbackConfig = Arc<CallbackConfig>;
