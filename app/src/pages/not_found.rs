//! Shown for unknown paths.

use leptos::prelude::*;

use crate::i18n::t;

/// 404 page (the server also sets the status code).
#[component]
pub fn NotFoundPage() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        resp.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <h1>{t("页面不存在", "Page not found")}</h1>
        <p>
            <a href="/">{t("返回概览", "Back to the overview")}</a>
        </p>
    }
}
