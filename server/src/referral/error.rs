//! The service layer's error: what went wrong, in terms callers can map to HTTP or UI states.

use app::model::FieldError;

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input failed validation; one entry per field.
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The request conflicts with the current state (duplicate, archived, quota).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// WeChat (or the sandbox) refused or failed.
    #[error("WeChat: {0}")]
    Upstream(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl ServiceError {
    /// A single-field validation error.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ServiceError::Validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}
