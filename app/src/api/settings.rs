//! Settings (admin): greetings, notification template, users, API tokens, audit log.

use leptos::prelude::*;

use crate::model::{AppError, Role, SettingsData};

#[server(prefix = "/sfn", endpoint = "settings/load", output = crate::api::codec::JsonAnswer)]
pub async fn load_settings() -> Result<SettingsData, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.settings(&user).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "settings/greeting", output = crate::api::codec::JsonAnswer)]
pub async fn save_greeting(variant: String, template: String) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.save_greeting(&user, variant, template).await
        }
        .await,
    )
}

/// JSON in: an empty list of keys is no value at all in form encoding.
#[server(prefix = "/sfn", endpoint = "settings/notify-template", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn save_notify_template(
    template_id: String,
    fields: Vec<crate::notice::FieldMapping>,
) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service
                .save_notify_template(&user, template_id, fields)
                .await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "settings/add-user", output = crate::api::codec::JsonAnswer)]
pub async fn add_user(username: String, password: String, role: Role) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.add_user(&user, username, password, role).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "settings/mint-token", output = crate::api::codec::JsonAnswer)]
pub async fn mint_token(
    name: String,
    role: Role,
    /// Days the token is valid (absent: until revoked).
    #[server(default)]
    days: Option<i64>,
) -> Result<String, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.mint_token(&user, name, role, days).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "settings/tokens", output = crate::api::codec::JsonAnswer)]
pub async fn list_tokens() -> Result<Vec<crate::model::TokenSummary>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.list_tokens(&user).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "settings/revoke-token", output = crate::api::codec::JsonAnswer)]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.revoke_token(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "settings/member", output = crate::api::codec::JsonAnswer)]
pub async fn save_member_settings(keywords: Vec<String>, menu_key: String) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service
                .save_member_settings(&user, keywords, menu_key)
                .await
        }
        .await,
    )
}
