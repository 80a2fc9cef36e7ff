//! What the server and the browser share: types, the dashboard's components and pages, and the
//! server functions they call.
#![recursion_limit = "256"]

pub mod api;
pub mod components;
pub mod greeting;
pub mod i18n;
pub mod model;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::components::layout::Layout;
use crate::pages::{
    leaderboard::LeaderboardPage, login::LoginPage, member::MemberPageView,
    not_found::NotFoundPage, overview::OverviewPage, poster::PosterPage, qrcodes::QrCodesPage,
    referrer_detail::ReferrerDetailPage, referrers::ReferrersPage, sandbox::SandboxPage,
    settings::SettingsPage, stats::StatsPage,
};

/// Name of the CSS/JS/WASM bundle under `/pkg` (cargo-leptos `name`, wasm-bindgen `--out-name`).
pub const BUNDLE_NAME: &str = "tuijian";

/// A small inline icon (green circle with 荐), so browsers do not ask for `/favicon.ico`.
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Ccircle cx='16' cy='16' r='16' fill='%2307c160'/%3E%3Ctext x='16' y='22' font-size='18' text-anchor='middle' fill='white'%3E%E8%8D%90%3C/text%3E%3C/svg%3E";

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="zh-CN">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href=FAVICON />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The dashboard: language context, navigation and one route per page.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    i18n::provide_lang();
    mark_hydrated();
    view! {
        <Stylesheet id="tuijian" href=format!("/pkg/{BUNDLE_NAME}.css") />
        <Title text="推荐 · Tuijian" />
        <Router>
            <Layout>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=OverviewPage />
                    <Route path=path!("/login") view=LoginPage />
                    <Route path=path!("/m/:token") view=MemberPageView />
                    <Route path=path!("/referrers") view=ReferrersPage />
                    <Route path=path!("/referrers/:id") view=ReferrerDetailPage />
                    <Route path=path!("/referrers/:id/poster/:code") view=PosterPage />
                    <Route path=path!("/sandbox") view=SandboxPage />
                    <Route path=path!("/qrcodes") view=QrCodesPage />
                    <Route path=path!("/leaderboard") view=LeaderboardPage />
                    <Route path=path!("/stats") view=StatsPage />
                    <Route path=path!("/settings") view=SettingsPage />
                </Routes>
            </Layout>
        </Router>
    }
}

/// Marks `<body data-hydrated="true">` once the WASM bundle has taken over, so browser tests and
/// scripts know clicks will be handled.
fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
