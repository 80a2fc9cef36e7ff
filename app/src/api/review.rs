//! Abuse review (manager): the queue of flagged referrals and scans, confirm, void, restore;
//! the thresholds (admin).

use leptos::prelude::*;

use crate::model::AppError;
use crate::review::{AbuseThresholds, ReviewData};

/// JSON in: the filters are optional (`null`: the default), which form encoding cannot say.
#[server(prefix = "/sfn", endpoint = "review/load", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn load_review(
    status: Option<String>,
    kind: Option<String>,
    page: Option<i64>,
) -> Result<ReviewData, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.review(&user, status, kind, page).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "review/confirm", output = crate::api::codec::JsonAnswer)]
pub async fn confirm_flags(subject: String, id: i64) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.confirm_flags(&user, subject, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "review/void", output = crate::api::codec::JsonAnswer)]
pub async fn void_referral(referral_id: i64, reason: String) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.void_referral(&user, referral_id, reason).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "review/restore", output = crate::api::codec::JsonAnswer)]
pub async fn restore_referral(referral_id: i64, reason: String) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.restore_referral(&user, referral_id, reason).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "review/thresholds", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn set_abuse_thresholds(thresholds: AbuseThresholds) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.set_abuse_thresholds(&user, thresholds).await
        }
        .await,
    )
}
