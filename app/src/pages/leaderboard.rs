//! Leaderboard page.

use leptos::prelude::*;

use crate::components::empty_state::EmptyState;
use crate::i18n::t;

/// Leaderboard. Until its feature lands it says so plainly instead of showing sample data.
#[component]
pub fn LeaderboardPage() -> impl IntoView {
    view! {
        <h1>{t("排行榜", "Leaderboard")}</h1>
        <EmptyState
            testid="leaderboard-empty"
            title=Signal::derive(t("暂无排名", "No rankings yet"))
            body=Signal::derive(t("记录到推荐关注后，这里会按周期和指标显示推荐人排名。", "Once referred follows are recorded, referrers are ranked here by period and metric."))
        />
    }
}
