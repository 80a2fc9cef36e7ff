//! QR codes across referrers (staff and above).

use leptos::prelude::*;

use crate::model::{AppError, CodeEntry};

/// The account's newest codes (at most 500) with their referrers' names, for choosing which
/// images to download.
#[server(prefix = "/sfn", endpoint = "qrcodes/all", output = crate::api::codec::JsonAnswer)]
pub async fn list_codes() -> Result<Vec<CodeEntry>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.code_entries(&user).await
        }
        .await,
    )
}
