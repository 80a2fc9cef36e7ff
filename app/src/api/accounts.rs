//! Official Accounts: the header's switcher and the accounts section of the settings page.

use leptos::prelude::*;

use crate::model::{AccountChoice, AccountInput, AccountView, AppError, CurrentUser};

/// The accounts the signed-in user works in, with their role in each.
#[server(prefix = "/sfn", endpoint = "accounts/mine", output = crate::api::codec::JsonAnswer)]
pub async fn my_accounts() -> Result<Vec<AccountChoice>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.my_accounts(&user).await
        }
        .await,
    )
}

/// Opens the session in another account the user works in.
#[server(prefix = "/sfn", endpoint = "accounts/switch", output = crate::api::codec::JsonAnswer)]
pub async fn switch_account(account_id: i64) -> Result<CurrentUser, AppError> {
    crate::api::guard::finish(
        async {
            let (service, _) = crate::api::guard::user().await?;
            let cookie = crate::api::guard::session_cookie().ok_or_else(AppError::unauthorized)?;
            service.switch_account(&cookie, account_id).await
        }
        .await,
    )
}

/// Adds an Official Account (admin); the creator becomes its admin.
#[server(prefix = "/sfn", endpoint = "accounts/create", output = crate::api::codec::JsonAnswer)]
pub async fn create_account(input: AccountInput) -> Result<AccountView, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.create_account(&user, input).await
        }
        .await,
    )
}

/// Changes the current account's settings (admin); secrets left empty stay as they are.
#[server(prefix = "/sfn", endpoint = "accounts/update", output = crate::api::codec::JsonAnswer)]
pub async fn update_account(input: AccountInput) -> Result<AccountView, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.update_account(&user, input).await
        }
        .await,
    )
}
