//! The setup page (admin): connecting the current account to WeChat.

use leptos::prelude::*;

use crate::model::AppError;
use crate::setup::SetupReport;

/// The current account's setup report; runs the live checks (one call to WeChat).
#[server(prefix = "/sfn", endpoint = "setup/load", output = crate::api::codec::JsonAnswer)]
pub async fn load_setup() -> Result<SetupReport, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.setup(&user).await
        }
        .await,
    )
}
