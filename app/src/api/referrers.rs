//! Referrers and their QR codes.

use leptos::prelude::*;

use crate::model::{
    AppError, BulkOutcome, NewQrCode, NewReferrer, Page, QrCode, QrQuota, Referrer, ReferrerDetail,
    ReferrerListQuery, ReferrerPatch,
};

#[server(prefix = "/sfn", endpoint = "referrers/list", output = crate::api::codec::JsonAnswer)]
pub async fn list_referrers(query: ReferrerListQuery) -> Result<Page<Referrer>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.list_referrers(&user, query).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "referrers/create", output = crate::api::codec::JsonAnswer)]
pub async fn create_referrer(input: NewReferrer) -> Result<Referrer, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.create_referrer(&user, input).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "referrers/update", output = crate::api::codec::JsonAnswer)]
pub async fn update_referrer(id: i64, patch: ReferrerPatch) -> Result<Referrer, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.update_referrer(&user, id, patch).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "referrers/archive", output = crate::api::codec::JsonAnswer)]
pub async fn archive_referrer(id: i64) -> Result<Referrer, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.archive_referrer(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "referrers/detail", output = crate::api::codec::JsonAnswer)]
pub async fn get_referrer_detail(id: i64, page: i64) -> Result<ReferrerDetail, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.referrer_detail(&user, id, page).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "qrcodes/create", output = crate::api::codec::JsonAnswer)]
pub async fn create_qrcode(referrer_id: i64, input: NewQrCode) -> Result<QrCode, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.create_qrcode(&user, referrer_id, input).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "qrcodes/quota", output = crate::api::codec::JsonAnswer)]
pub async fn quota() -> Result<QrQuota, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.quota(&user).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "referrers/reset-name", output = crate::api::codec::JsonAnswer)]
pub async fn reset_member_name(id: i64) -> Result<(), AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.reset_member_name(&user, id).await
        }
        .await,
    )
}

/// A one-time code (a temporary QR, ten minutes) whose scan binds the scanner's WeChat
/// identity to the referrer.
#[server(prefix = "/sfn", endpoint = "referrers/binding-code", output = crate::api::codec::JsonAnswer)]
pub async fn binding_code(id: i64) -> Result<crate::model::BindingCode, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.binding_code(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "referrers/restore", output = crate::api::codec::JsonAnswer)]
pub async fn restore_referrer(id: i64) -> Result<Referrer, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.restore_referrer(&user, id).await
        }
        .await,
    )
}

/// Archives the account's referrers among `ids` (at most [`crate::model::MAX_BULK_IDS`]).
#[server(prefix = "/sfn", endpoint = "referrers/bulk-archive", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn bulk_archive(ids: Vec<i64>) -> Result<BulkOutcome, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.bulk_archive(&user, ids, true).await
        }
        .await,
    )
}

/// Restores the account's archived referrers among `ids`.
#[server(prefix = "/sfn", endpoint = "referrers/bulk-restore", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn bulk_restore(ids: Vec<i64>) -> Result<BulkOutcome, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.bulk_archive(&user, ids, false).await
        }
        .await,
    )
}

/// Adds `tag` to the account's referrers among `ids`.
#[server(prefix = "/sfn", endpoint = "referrers/bulk-tag", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn bulk_tag(ids: Vec<i64>, tag: String) -> Result<BulkOutcome, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.bulk_tag(&user, ids, tag).await
        }
        .await,
    )
}

/// One new code (as `input` asks) for each of the account's referrers among `ids`.
#[server(prefix = "/sfn", endpoint = "referrers/bulk-codes", input = server_fn::codec::Json, output = crate::api::codec::JsonAnswer)]
pub async fn bulk_codes(ids: Vec<i64>, input: NewQrCode) -> Result<BulkOutcome, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.bulk_codes(&user, ids, input).await
        }
        .await,
    )
}

/// Moves a follower's credit to another referrer (admin), with a required reason.
#[server(prefix = "/sfn", endpoint = "referrers/move-credit", output = crate::api::codec::JsonAnswer)]
pub async fn move_credit(
    referral_id: i64,
    to_referrer_id: i64,
    reason: String,
) -> Result<crate::model::CreditMove, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service
                .move_credit(&user, referral_id, to_referrer_id, reason)
                .await
        }
        .await,
    )
}
