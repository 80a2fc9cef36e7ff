//! Referrers page.

use leptos::prelude::*;

use crate::components::empty_state::EmptyState;
use crate::i18n::t;

/// Referrers. Until its feature lands it says so plainly instead of showing sample data.
#[component]
pub fn ReferrersPage() -> impl IntoView {
    view! {
        <h1>{t("推荐人", "Referrers")}</h1>
        <EmptyState
            testid="referrers-empty"
            title=Signal::derive(t("还没有推荐人", "No referrers yet"))
            body=Signal::derive(t("推荐人管理（新建、编辑、归档）将在推荐核心功能上线后开放。目前没有任何数据。", "Managing referrers (create, edit, archive) opens once the referral core lands. There is no data yet."))
        />
    }
}
