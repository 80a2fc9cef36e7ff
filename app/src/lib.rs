//! What the server and the browser share: types, the dashboard's components and pages, and the
//! server functions they call.
#![recursion_limit = "256"]

pub mod api;
pub mod browser;
pub mod campaigns;
pub mod components;
pub mod greeting;
pub mod i18n;
pub mod menu;
pub mod model;
pub mod notice;
pub mod pages;
pub mod privacy;
pub mod reconcile;
pub mod review;
#[cfg(feature = "ssr")]
pub mod service;
pub mod setup;
pub mod time;
pub mod webhooks;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::{
    SsrMode,
    components::{Route, Router, Routes},
    path,
};

use crate::components::layout::Layout;
use crate::pages::{
    campaign_detail::CampaignDetailPage, campaigns::CampaignsPage, leaderboard::LeaderboardPage,
    login::LoginPage, member::MemberPageView, menu::CustomMenuPage, not_found::NotFoundPage,
    overview::OverviewPage, poster::PosterPage, privacy::PrivacyPage, qrcodes::QrCodesPage,
    reconcile::ReconcilePage, referrer_detail::ReferrerDetailPage, referrers::ReferrersPage,
    review::ReviewPage, sandbox::SandboxPage, settings::SettingsPage, setup::SetupPage,
    stats::StatsPage, webhooks::WebhooksPage,
};

/// Name of the CSS/JS/WASM bundle under `/pkg` (cargo-leptos `name`, wasm-bindgen `--out-name`).
pub const BUNDLE_NAME: &str = "tuijian";

/// A small inline icon (green circle with 荐), so browsers do not ask for `/favicon.ico`.
const FAVICON: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Ccircle cx='16' cy='16' r='16' fill='%2307c160'/%3E%3Ctext x='16' y='22' font-size='18' text-anchor='middle' fill='white'%3E%E8%8D%90%3C/text%3E%3C/svg%3E";

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let lang = i18n::request_lang().tag();
    view! {
        <!DOCTYPE html>
        <html lang=lang>
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" type="image/svg+xml" href=FAVICON />
                <AutoReload options=options.clone() />
                <HydrationScripts options islands=true />
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The dashboard: language context, navigation and one route per page. Pages render on the
/// server, whole (`SsrMode::Async`: live-region refreshes read the finished page); only their
/// `#[island]` parts hydrate in the browser, and links load pages.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    i18n::provide_lang();
    view! {
        <Stylesheet id="tuijian" href=format!("/pkg/{BUNDLE_NAME}.css") />
        <Title text="推荐 · Tuijian" />
        <Router>
            <Layout>
                <Routes fallback=NotFoundPage>
                    <Route path=path!("/") view=OverviewPage ssr=SsrMode::Async />
                    <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async />
                    <Route path=path!("/m/:token") view=MemberPageView ssr=SsrMode::Async />
                    <Route path=path!("/referrers") view=ReferrersPage ssr=SsrMode::Async />
                    <Route path=path!("/referrers/:id") view=ReferrerDetailPage ssr=SsrMode::Async />
                    <Route path=path!("/referrers/:id/poster/:code") view=PosterPage ssr=SsrMode::Async />
                    <Route path=path!("/sandbox") view=SandboxPage ssr=SsrMode::Async />
                    <Route path=path!("/qrcodes") view=QrCodesPage ssr=SsrMode::Async />
                    <Route path=path!("/leaderboard") view=LeaderboardPage ssr=SsrMode::Async />
                    <Route path=path!("/stats") view=StatsPage ssr=SsrMode::Async />
                    <Route path=path!("/settings") view=SettingsPage ssr=SsrMode::Async />
                    <Route path=path!("/setup") view=SetupPage ssr=SsrMode::Async />
                    <Route path=path!("/menu") view=CustomMenuPage ssr=SsrMode::Async />
                    <Route path=path!("/reconcile") view=ReconcilePage ssr=SsrMode::Async />
                    <Route path=path!("/review") view=ReviewPage ssr=SsrMode::Async />
                    <Route path=path!("/privacy") view=PrivacyPage ssr=SsrMode::Async />
                    <Route path=path!("/webhooks") view=WebhooksPage ssr=SsrMode::Async />
                    <Route path=path!("/campaigns") view=CampaignsPage ssr=SsrMode::Async />
                    <Route path=path!("/campaigns/:id") view=CampaignDetailPage ssr=SsrMode::Async />
                </Routes>
            </Layout>
        </Router>
    }
}
