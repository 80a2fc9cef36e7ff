//! Reconciliation (manager): compare WeChat's follower list with what we recorded.

use leptos::prelude::*;

use crate::model::AppError;
use crate::reconcile::{ReconcileData, ReconcileRun};

#[server(prefix = "/sfn", endpoint = "reconcile/load", output = crate::api::codec::JsonAnswer)]
pub async fn load_reconcile() -> Result<ReconcileData, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.reconcile(&user).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "reconcile/start", output = crate::api::codec::JsonAnswer)]
pub async fn start_reconcile(notify: bool) -> Result<ReconcileRun, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.start_reconcile(&user, notify).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "reconcile/resume", output = crate::api::codec::JsonAnswer)]
pub async fn resume_reconcile(id: i64) -> Result<ReconcileRun, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.resume_reconcile(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "reconcile/cancel", output = crate::api::codec::JsonAnswer)]
pub async fn cancel_reconcile(id: i64) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.cancel_reconcile(&user, id).await
        }
        .await,
    )
}

/// JSON in: "no nightly run" is `null`, which form encoding cannot say.
#[server(prefix = "/sfn", endpoint = "reconcile/schedule", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn schedule_reconcile(hour: Option<u8>) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.schedule_reconcile(&user, hour).await
        }
        .await,
    )
}
