//! Webhooks (admin): endpoints, secrets shown once, test events, the delivery log.

use leptos::prelude::*;

use crate::model::AppError;
use crate::webhooks::{
    QueuedEvent, WebhookDelivery, WebhookEndpoint, WebhookInput, WebhookWithSecret,
};

#[server(prefix = "/sfn", endpoint = "webhooks/list", output = crate::api::codec::JsonAnswer)]
pub async fn list_webhooks() -> Result<Vec<WebhookEndpoint>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.list_webhooks(&user).await
        }
        .await,
    )
}

/// JSON in: an empty list of events is no value at all in form encoding.
#[server(prefix = "/sfn", endpoint = "webhooks/create", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn create_webhook(input: WebhookInput) -> Result<WebhookWithSecret, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.create_webhook(&user, input).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "webhooks/enabled", output = crate::api::codec::JsonAnswer)]
pub async fn set_webhook_enabled(id: i64, enabled: bool) -> Result<WebhookEndpoint, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.set_webhook_enabled(&user, id, enabled).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "webhooks/rotate", output = crate::api::codec::JsonAnswer)]
pub async fn rotate_webhook_secret(id: i64) -> Result<WebhookWithSecret, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.rotate_webhook_secret(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "webhooks/delete", output = crate::api::codec::JsonAnswer)]
pub async fn delete_webhook(id: i64) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.delete_webhook(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "webhooks/test", output = crate::api::codec::JsonAnswer)]
pub async fn test_webhook(id: i64) -> Result<QueuedEvent, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.test_webhook(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "webhooks/deliveries", output = crate::api::codec::JsonAnswer)]
pub async fn webhook_deliveries(id: i64) -> Result<Vec<WebhookDelivery>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.webhook_deliveries(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "webhooks/redeliver", output = crate::api::codec::JsonAnswer)]
pub async fn redeliver_webhook(id: i64, event_id: String) -> Result<QueuedEvent, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.redeliver_webhook(&user, id, event_id).await
        }
        .await,
    )
}
