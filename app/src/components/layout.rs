//! The page frame: header with navigation (by role), mode badge, user menu, language switch.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::accounts::my_accounts;
use crate::api::auth::{logout, whoami};
use crate::api::system::get_status;
use crate::components::accounts::AccountHeader;
use crate::components::call::{Call, effect};
use crate::components::status_badge::ModeBadge;
use crate::i18n::{set_lang, t, use_lang};
use crate::model::{AccountChoice, CurrentUser, Role, WechatMode};

/// One navigation entry: path, Chinese label, English label, test id, role needed.
const NAV: [(&str, &str, &str, &str, Role); 14] = [
    ("/", "概览", "Overview", "nav-overview", Role::Staff),
    (
        "/referrers",
        "推荐人",
        "Referrers",
        "nav-referrers",
        Role::Staff,
    ),
    ("/qrcodes", "二维码", "QR codes", "nav-qrcodes", Role::Staff),
    (
        "/leaderboard",
        "排行榜",
        "Leaderboard",
        "nav-leaderboard",
        Role::Manager,
    ),
    ("/stats", "统计", "Stats", "nav-stats", Role::Manager),
    (
        "/reconcile",
        "对账",
        "Reconciliation",
        "nav-reconcile",
        Role::Manager,
    ),
    ("/review", "审核", "Review", "nav-review", Role::Manager),
    (
        "/campaigns",
        "活动",
        "Campaigns",
        "nav-campaigns",
        Role::Manager,
    ),
    ("/settings", "设置", "Settings", "nav-settings", Role::Admin),
    ("/privacy", "隐私", "Privacy", "nav-privacy", Role::Admin),
    ("/setup", "接入", "Setup", "nav-setup", Role::Admin),
    (
        "/menu",
        "自定义菜单",
        "Custom menu",
        "nav-menu",
        Role::Admin,
    ),
    (
        "/webhooks",
        "Webhook",
        "Webhooks",
        "nav-webhooks",
        Role::Admin,
    ),
    ("/sandbox", "沙盒", "Sandbox", "nav-sandbox", Role::Staff),
];

/// Header and navigation around the routed page, rendered on the server; the menu button, the
/// account switcher, the sign-out button and the language switch are islands.
#[component]
pub fn Layout(children: Children) -> AnyView {
    // Members' personal pages are for followers, not staff: no dashboard frame.
    let path = leptos_router::hooks::use_location()
        .pathname
        .get_untracked();
    if path.starts_with("/m/") {
        return view! { <main class="member-main">{children()}</main> }.into_any();
    }
    let user = Resource::new(|| (), |_| signed_in());
    let status = Resource::new(|| (), |_| get_status());
    let role = move || user.get().and_then(|(u, _)| u).map(|u| u.role);
    // The account the session is in: its mode is what the header shows.
    let account_mode = Signal::derive(move || {
        user.get()
            .and_then(|(_, accounts)| accounts.into_iter().find(|a| a.current))
            .map(|a| a.mode)
    });
    // The sandbox panel needs a sandbox server and a simulated account.
    let sandbox = move || {
        status
            .get()
            .and_then(|s| s.ok())
            .is_some_and(|s| s.mode == WechatMode::Sandbox)
            && account_mode.get() != Some(WechatMode::Live)
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                "推荐 "
                <span class="brand-sub">"Tuijian"</span>
            </a>
            <NavMenu>
                <Suspense>
                    {move || {
                        NAV.into_iter()
                            .filter(move |(href, .., needed)| {
                                role().is_some_and(|r| r.allows(*needed))
                                    && (*href != "/sandbox" || sandbox())
                            })
                            .map(|(href, zh, en, testid, _)| {
                                view! {
                                    <A href=href attr:data-testid=testid>
                                        {t(zh, en)}
                                    </A>
                                }
                            })
                            .collect_view()
                    }}
                </Suspense>
            </NavMenu>
            <div class="topbar-right">
                <ModeBadge status=status account=account_mode />
                <Suspense>
                    {move || {
                        let session = user.get().and_then(|(u, accounts)| Some((u?, accounts)));
                        session.map(|(u, accounts)| {
                            view! {
                                <AccountHeader accounts=accounts />
                                <span class="user" data-testid="user-name">
                                    {u.username.clone()} " · " {role_label(u.role)}
                                </span>
                                <LogoutButton />
                            }
                        })
                    }}
                </Suspense>
                <LangToggle />
            </div>
        </header>
        <main class="content">{children()}</main>
    }
    .into_any()
}

/// The signed-in user, if any, and the accounts they work in (asked only of a signed-in user,
/// so the login page is not answered 401).
async fn signed_in() -> (Option<CurrentUser>, Vec<AccountChoice>) {
    let user = whoami().await.ok().flatten();
    let accounts = match user {
        Some(_) => my_accounts().await.unwrap_or_default(),
        None => Vec::new(),
    };
    (user, accounts)
}

/// The menu button of small screens and the navigation it opens.
#[island]
fn NavMenu(children: Children) -> impl IntoView {
    let open = RwSignal::new(false);
    view! {
        <button
            class="menu-toggle"
            aria-expanded=move || open.get().to_string()
            aria-controls="main-nav"
            on:click=move |_| open.update(|o| *o = !*o)
        >
            {t("菜单", "Menu")}
        </button>
        <nav id="main-nav" class="nav" class:open=move || open.get()>
            {children()}
        </nav>
    }
}

/// Ends the session and goes to the login page.
#[island]
fn LogoutButton() -> impl IntoView {
    let sign_out = Call::new(|_: &()| logout());
    effect(move || {
        if let Some(Ok(())) = sign_out.value().get() {
            crate::browser::go("/login");
        }
    });
    view! {
        <button class="link" data-testid="logout" on:click=move |_| { sign_out.dispatch(()); }>
            {t("退出", "Sign out")}
        </button>
    }
}

/// Switches between Chinese and English (remembered in a cookie; the page renders again).
#[island]
fn LangToggle() -> impl IntoView {
    let lang = use_lang();
    view! {
        <button
            class="lang-toggle"
            data-testid="lang-toggle"
            on:click=move |_| set_lang(lang.get_untracked().toggled())
        >
            {t("English", "中文")}
        </button>
    }
}

/// A role's name in the current language.
pub fn role_label(role: Role) -> impl Fn() -> &'static str + Copy {
    match role {
        Role::Admin => t("管理员", "Admin"),
        Role::Manager => t("经理", "Manager"),
        Role::Staff => t("员工", "Staff"),
    }
}
