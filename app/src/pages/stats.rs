//! Stats page.

use leptos::prelude::*;

use crate::components::empty_state::EmptyState;
use crate::i18n::t;

/// Stats. Until its feature lands it says so plainly instead of showing sample data.
#[component]
pub fn StatsPage() -> impl IntoView {
    view! {
        <h1>{t("统计", "Stats")}</h1>
        <EmptyState
            testid="stats-empty"
            title=Signal::derive(t("暂无统计数据", "No statistics yet"))
            body=Signal::derive(t("扫码、关注和留存的统计会在记录到第一批推荐后出现。", "Scan, follow and retention figures appear after the first referrals are recorded."))
        />
    }
}
