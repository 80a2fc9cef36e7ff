//! Fission campaigns (manager): the list, the editor, the board; rewards redeemed in store
//! (staff) and released after review (manager). The poster background and the coupon stock
//! are uploaded as files by plain forms to `/dashboard/campaigns/{id}/…` (see the server).

use leptos::prelude::*;

use crate::campaigns::{Campaign, CampaignBoard, CampaignInput, Reward};
use crate::model::AppError;

#[server(prefix = "/sfn", endpoint = "campaigns/list")]
pub async fn list_campaigns() -> Result<Vec<Campaign>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.list_campaigns(&user).await
        }
        .await,
    )
}

/// JSON in: milestones and the layout are nested.
#[server(prefix = "/sfn", endpoint = "campaigns/create", input = server_fn::codec::Json)]
pub async fn create_campaign(input: CampaignInput) -> Result<Campaign, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.create_campaign(&user, input).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "campaigns/update", input = server_fn::codec::Json)]
pub async fn update_campaign(id: i64, input: CampaignInput) -> Result<Campaign, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.update_campaign(&user, id, input).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "campaigns/board")]
pub async fn get_campaign_board(id: i64) -> Result<CampaignBoard, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.campaign_board(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "campaigns/stop")]
pub async fn stop_campaign(id: i64) -> Result<Campaign, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.stop_campaign(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "campaigns/redeem")]
pub async fn redeem_reward(id: i64) -> Result<Reward, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.redeem_reward(&user, id).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "campaigns/release")]
pub async fn release_reward(id: i64) -> Result<Reward, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.release_reward(&user, id).await
        }
        .await,
    )
}
