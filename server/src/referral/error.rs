//! The service layer's error: what went wrong, in terms callers can map to HTTP or UI states.
//! [`From<ServiceError> for AppError`] is the one translation into what a client sees (REST and
//! server functions alike); the HTTP status then comes from [`AppError::status`], the one table
//! of error code → status.

use app::model::{AppError, FieldError, Role};

/// Why a service call failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Input failed validation; one entry per field.
    #[error("invalid input")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller's role does not include the one the call needs.
    #[error("this needs the {0} role")]
    Forbidden(Role),
    /// The request conflicts with the current state (duplicate, archived, quota).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// WeChat (or the sandbox) refused or failed; the detail is logged, never shown.
    #[error("WeChat: {0}")]
    Upstream(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Our own failure (a worker task that died); the detail is logged, never shown.
    #[error("internal error: {0}")]
    Internal(String),
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

/// What a client sees of a service error: a stable code and a safe message. Upstream and
/// database detail goes to the log only.
impl From<ServiceError> for AppError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Validation(fields) => AppError {
                code: "validation_failed".into(),
                message: "请检查标出的字段 / Please check the marked fields".into(),
                fields,
            },
            ServiceError::NotFound(what) => {
                AppError::new("not_found", format!("未找到 / {what} not found"))
            }
            ServiceError::Forbidden(needed) => AppError::new(
                "forbidden",
                format!("您的角色无权执行此操作 / This needs the {needed} role"),
            ),
            ServiceError::Conflict { code, message } => AppError::new(code, message),
            ServiceError::Upstream(detail) => {
                tracing::warn!(%detail, "WeChat call failed");
                AppError::new(
                    "wechat_error",
                    "微信接口调用失败，请稍后重试 / WeChat refused or failed the call; please retry",
                )
            }
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "internal error in a service call");
                AppError::new("internal_error", "服务器内部错误 / Internal server error")
            }
            ServiceError::Database(e) => {
                tracing::error!(error = %e, "database error in a service call");
                AppError::new(
                    "unavailable",
                    "服务暂时不可用，请稍后重试 / Temporarily unavailable, please retry",
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_never_see_upstream_or_database_detail() {
        let upstream: AppError =
            ServiceError::Upstream("errcode 40164 invalid ip 1.2.3.4, secret=abc".into()).into();
        assert_eq!(upstream.code, "wechat_error");
        assert!(!upstream.message.contains("40164") && !upstream.message.contains("abc"));
        let db: AppError = ServiceError::Database(sqlx::Error::Protocol(
            "relation \"referrer\" does not exist".into(),
        ))
        .into();
        assert_eq!(db.code, "unavailable");
        assert!(!db.message.contains("referrer"));
    }

    #[test]
    fn each_error_answers_its_own_status() {
        let status = |e: ServiceError| AppError::from(e).status();
        assert_eq!(status(ServiceError::field("name", "x")), 422);
        assert_eq!(status(ServiceError::NotFound("referrer")), 404);
        assert_eq!(status(ServiceError::Forbidden(Role::Admin)), 403);
        assert_eq!(
            status(ServiceError::Conflict {
                code: "openid_taken",
                message: String::new()
            }),
            409
        );
        assert_eq!(status(ServiceError::Upstream(String::new())), 502);
        assert_eq!(
            status(ServiceError::Database(sqlx::Error::PoolTimedOut)),
            503
        );
    }
}
