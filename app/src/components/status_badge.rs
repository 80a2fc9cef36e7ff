//! The header badge telling whether WeChat is real or simulated.

use leptos::prelude::*;

use crate::i18n::t;
use crate::model::{SystemStatus, WechatMode};

/// "沙盒模式" or "正式模式": the current account's mode when someone is signed in (`account`),
/// else the server's, from the status the header already reads.
#[component]
pub fn ModeBadge(
    status: Resource<Result<SystemStatus, ServerFnError>>,
    #[prop(into)] account: Signal<Option<WechatMode>>,
) -> impl IntoView {
    let sandbox = t("沙盒模式 · Sandbox mode", "Sandbox mode · 沙盒模式");
    let live = t("正式模式", "Live");
    let unknown = t("状态未知", "Status unknown");
    view! {
        <Suspense fallback=|| view! { <span class="badge muted">"…"</span> }>
            {move || {
                status
                    .get()
                    .map(|result| match result.map(|s| account.get().unwrap_or(s.mode)) {
                        Ok(WechatMode::Sandbox) => {
                            view! {
                                <span class="badge sandbox" data-testid="mode-badge">
                                    {sandbox}
                                </span>
                            }
                                .into_any()
                        }
                        Ok(_) => {
                            view! {
                                <span class="badge live" data-testid="mode-badge">
                                    {live}
                                </span>
                            }
                                .into_any()
                        }
                        Err(_) => {
                            view! {
                                <span class="badge error" data-testid="mode-badge">
                                    {unknown}
                                </span>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}
