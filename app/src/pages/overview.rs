//! The landing page: what the system is and whether it is healthy.

use leptos::prelude::*;

use crate::api::system::get_status;
use crate::i18n::t;
use crate::model::{SystemStatus, WechatMode};

/// System status and the next steps for a newcomer.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_status());
    view! {
        <h1>{t("概览", "Overview")}</h1>
        <p class="lead">
            {t(
                "把公众号变成可衡量的推荐渠道：每位推荐人一个带参数二维码，谁推荐了谁一目了然。",
                "Turn the Official Account into a measurable referral channel: one parametric QR code per referrer, and you always know who brought whom.",
            )}
        </p>
        <Suspense fallback=move || {
            view! { <p class="loading" data-testid="status-loading">{t("正在加载…", "Loading…")}</p> }
        }>
            {move || {
                status
                    .get()
                    .map(|result| match result {
                        Ok(s) => view! { <StatusCard status=s /> }.into_any(),
                        Err(_) => {
                            view! {
                                <p class="error" data-testid="status-error" role="alert">
                                    {t("无法获取系统状态，请稍后重试。", "Could not load the system status. Please try again.")}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn StatusCard(status: SystemStatus) -> impl IntoView {
    let db_text = if status.database_ok {
        t("正常", "OK")
    } else {
        t("无法连接", "Unreachable")
    };
    let db_kind = if status.embedded_database {
        t("内置 PostgreSQL", "embedded PostgreSQL")
    } else {
        t("外部 PostgreSQL", "external PostgreSQL")
    };
    let mode_text = match status.mode {
        WechatMode::Sandbox => t(
            "沙盒模式：未配置微信凭据，内置模拟器扮演微信。",
            "Sandbox mode: no WeChat credentials are set; the built-in simulator plays WeChat.",
        ),
        WechatMode::Live => t(
            "正式模式：已连接微信公众号。",
            "Live: connected to the Official Account.",
        ),
    };
    let version = status.version.clone();
    let db_version = status.database_version.clone().unwrap_or_default();
    view! {
        <dl class="status-card" data-testid="status-card">
            <dt>{t("微信", "WeChat")}</dt>
            <dd data-testid="status-mode">{mode_text}</dd>
            <dt>{t("数据库", "Database")}</dt>
            <dd data-testid="status-db" class:ok=status.database_ok>
                {db_text}
                " · "
                {db_kind}
                " "
                <span class="muted">{db_version}</span>
            </dd>
            <dt>{t("版本", "Version")}</dt>
            <dd>{version}</dd>
        </dl>
    }
}
