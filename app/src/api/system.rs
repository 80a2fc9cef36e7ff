//! System status for the overview page and the header badge.

use leptos::prelude::*;

use crate::model::SystemStatus;

/// Reports the WeChat mode and whether the database answers. Public on purpose: it reveals
/// nothing secret and the login page needs it too.
#[server(prefix = "/sfn", endpoint = "status", output = crate::api::codec::JsonAnswer)]
pub async fn get_status() -> Result<SystemStatus, ServerFnError> {
    let service = use_context::<crate::service::Service>()
        .ok_or_else(|| ServerFnError::new("service unavailable"))?;
    Ok(service.status().await)
}
