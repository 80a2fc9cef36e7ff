//! The page frame: header with navigation, mode badge and language switch.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::components::status_badge::ModeBadge;
use crate::i18n::{set_lang, t, use_lang};

/// One navigation entry: path, Chinese label, English label, test id.
const NAV: [(&str, &str, &str, &str); 6] = [
    ("/", "概览", "Overview", "nav-overview"),
    ("/referrers", "推荐人", "Referrers", "nav-referrers"),
    ("/qrcodes", "二维码", "QR codes", "nav-qrcodes"),
    ("/leaderboard", "排行榜", "Leaderboard", "nav-leaderboard"),
    ("/stats", "统计", "Stats", "nav-stats"),
    ("/settings", "设置", "Settings", "nav-settings"),
];

/// Header and navigation around the routed page.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let lang = use_lang();
    let menu_open = RwSignal::new(false);
    let toggle_label = t("English", "中文");
    let menu_label = t("菜单", "Menu");
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "推荐 "
                <span class="brand-sub">"Tuijian"</span>
            </a>
            <button
                class="menu-toggle"
                aria-expanded=move || menu_open.get().to_string()
                aria-controls="main-nav"
                on:click=move |_| menu_open.update(|open| *open = !*open)
            >
                {menu_label}
            </button>
            <nav id="main-nav" class="nav" class:open=move || menu_open.get()>
                {NAV
                    .into_iter()
                    .map(|(href, zh, en, testid)| {
                        let label = t(zh, en);
                        view! {
                            <A href=href attr:data-testid=testid on:click=move |_| menu_open.set(false)>
                                {label}
                            </A>
                        }
                    })
                    .collect_view()}
            </nav>
            <div class="topbar-right">
                <ModeBadge />
                <button
                    class="lang-toggle"
                    data-testid="lang-toggle"
                    on:click=move |_| set_lang(lang.get_untracked().toggled())
                >
                    {toggle_label}
                </button>
            </div>
        </header>
        <main class="content">{children()}</main>
    }
}
