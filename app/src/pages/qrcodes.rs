//! QR codes page.

use leptos::prelude::*;

use crate::components::empty_state::EmptyState;
use crate::i18n::t;

/// QR codes. Until its feature lands it says so plainly instead of showing sample data.
#[component]
pub fn QrCodesPage() -> impl IntoView {
    view! {
        <h1>{t("二维码", "QR codes")}</h1>
        <EmptyState
            testid="qrcodes-empty"
            title=Signal::derive(t("还没有二维码", "No QR codes yet"))
            body=Signal::derive(t("为推荐人生成带参数二维码的功能尚未上线。目前没有任何二维码。", "Generating parametric QR codes for referrers is not available yet. There are no codes."))
        />
    }
}
