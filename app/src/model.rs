//! Plain serde types shared by the server and the browser.

use serde::{Deserialize, Serialize};

/// How the server talks to WeChat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WechatMode {
    /// No credentials configured: the built-in simulator plays WeChat.
    Sandbox,
    /// Real WeChat credentials are configured.
    Live,
}

/// What the overview page and the header show about the running system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub version: String,
    pub mode: WechatMode,
    pub database_ok: bool,
    /// PostgreSQL's own version string, when the database answered.
    pub database_version: Option<String>,
    pub embedded_database: bool,
}

/// The error a server function returns to the browser: a stable code and a safe message, never
/// database or internal error text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: String,
    pub message: String,
}
