//! Leaderboard and stats (manager and above).

use leptos::prelude::*;

use crate::model::{AppError, LeaderboardRow, ReportQuery, Stats};

#[server(prefix = "/sfn", endpoint = "reports/leaderboard", output = crate::api::codec::JsonAnswer)]
pub async fn get_leaderboard(query: ReportQuery) -> Result<Vec<LeaderboardRow>, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.leaderboard(&user, query).await
        }
        .await,
    )
}

#[server(prefix = "/sfn", endpoint = "reports/stats", output = crate::api::codec::JsonAnswer)]
pub async fn get_stats(query: ReportQuery) -> Result<Stats, AppError> {
    crate::api::guard::finish(
        async {
            let (service, user) = crate::api::guard::user().await?;
            service.stats(&user, query).await
        }
        .await,
    )
}
