//! Privacy (admin): erasing a follower on request, the retention of raw payloads.

use leptos::prelude::*;

use crate::model::AppError;
use crate::privacy::{ErasureReport, PrivacyData};

#[server(prefix = "/sfn", endpoint = "privacy/load", output = crate::api::codec::JsonAnswer)]
pub async fn load_privacy() -> Result<PrivacyData, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.privacy(&user).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "privacy/erase", output = crate::api::codec::JsonAnswer)]
pub async fn erase_follower(openid: String, reason: String) -> Result<ErasureReport, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.erase_follower(&user, openid, reason).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "privacy/retention", output = crate::api::codec::JsonAnswer)]
pub async fn set_retention(days: i32) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.set_retention(&user, days).await
        }
        .await,
    )
}
