//! Settings page.

use leptos::prelude::*;

use crate::components::empty_state::EmptyState;
use crate::i18n::t;

/// Settings. Until its feature lands it says so plainly instead of showing sample data.
#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <h1>{t("设置", "Settings")}</h1>
        <EmptyState
            testid="settings-empty"
            title=Signal::derive(t("设置尚未开放", "Settings are not available yet"))
            body=Signal::derive(t("欢迎语模板、通知模板、用户与 API 令牌的管理将随控制台功能上线。", "Greeting templates, notification templates, users and API tokens arrive with the dashboard features."))
        />
    }
}
