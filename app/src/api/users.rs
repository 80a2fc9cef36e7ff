//! The account's dashboard users (admin): list, role, disable/enable, password reset.

use leptos::prelude::*;

use crate::model::{AppError, ManagedUser, Role};

#[server(prefix = "/sfn", endpoint = "users/list", output = crate::api::codec::JsonAnswer)]
pub async fn list_users() -> Result<Vec<ManagedUser>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.list_users(&user).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "users/role", output = crate::api::codec::JsonAnswer)]
pub async fn set_user_role(user_id: i64, role: Role) -> Result<ManagedUser, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.set_user_role(&user, user_id, role).await
        }
        .await,
    )
}

/// Disables (`active=false`) or enables a user in the account.
#[server(prefix = "/sfn", endpoint = "users/active", output = crate::api::codec::JsonAnswer)]
pub async fn set_user_active(user_id: i64, active: bool) -> Result<ManagedUser, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.set_user_active(&user, user_id, active).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "users/password", output = crate::api::codec::JsonAnswer)]
pub async fn reset_user_password(user_id: i64, password: String) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.reset_user_password(&user, user_id, password).await
        }
        .await,
    )
}
