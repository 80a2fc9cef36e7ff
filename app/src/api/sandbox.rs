//! The sandbox panel: play a WeChat user (sandbox mode only).

use leptos::prelude::*;

use crate::model::{AppError, SandboxCode, SimAction, SimMessage, SimOutcome};

#[server(prefix = "/sfn", endpoint = "sandbox/codes", output = crate::api::codec::JsonAnswer)]
pub async fn sandbox_codes() -> Result<Vec<SandboxCode>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.sandbox_codes(&user).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "sandbox/simulate", output = crate::api::codec::JsonAnswer)]
pub async fn simulate(
    action: SimAction,
    who: String,
    qrcode_id: Option<i64>,
    content: Option<String>,
    /// WeChat gives up on the callback (absent: delivered).
    #[server(default)]
    lost: bool,
) -> Result<SimOutcome, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service
                .simulate(&user, action, who, qrcode_id, content, lost)
                .await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "sandbox/messages", output = crate::api::codec::JsonAnswer)]
pub async fn sandbox_messages(who: String) -> Result<Vec<SimMessage>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.sandbox_messages(&user, who).await
        }
        .await,
    )
}

/// The simulated account's published menu, for the panel's bottom bar.
#[server(prefix = "/sfn", endpoint = "sandbox/menu", output = crate::api::codec::JsonAnswer)]
pub async fn sandbox_menu() -> Result<Option<crate::menu::Menu>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.sandbox_menu(&user).await
        }
        .await,
    )
}

/// The names of the WeChat user tags a simulated user carries (sandbox mode only).
#[server(prefix = "/sfn", endpoint = "sandbox/user-tags", output = crate::api::codec::JsonAnswer)]
pub async fn sandbox_user_tags(who: String) -> Result<Vec<String>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.sandbox_user_tags(&user, who).await
        }
        .await,
    )
}
