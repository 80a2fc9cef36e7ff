//! The sandbox: a simulated WeChat, for running without an Official Account. It serves the
//! WeChat API endpoints we use under `/sandbox/wx` (our client talks to it over HTTP exactly as
//! to WeChat) and plays WeChat users who scan, follow, unfollow and send text, posting signed
//! (and in safe mode encrypted) callbacks to our own `/wechat/callback`.

pub mod api;
pub mod faults;
pub mod menu;
pub mod oauth;
pub mod panel;
pub mod simulate;

use axum::Router;
use axum::routing::{get, post};

use crate::startup::AppState;

/// The simulated Official Account's AppSecret.
pub const SANDBOX_SECRET: &str = "sandbox-app-secret";
/// The simulated account's original id (ToUserName of callbacks).
pub const SANDBOX_ORIGINAL_ID: &str = "gh_sandbox000001";

/// `/sandbox/...` (mounted only in sandbox mode).
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/wx/cgi-bin/stable_token", post(api::stable_token))
        .route("/wx/cgi-bin/token", get(api::classic_token))
        .route("/wx/cgi-bin/qrcode/create", post(api::create_qrcode))
        .route("/wx/cgi-bin/showqrcode", get(api::show_qrcode))
        .route("/wx/cgi-bin/user/info", get(api::user_info))
        .route("/wx/cgi-bin/user/info/batchget", post(api::user_info_batch))
        .route("/wx/cgi-bin/user/get", get(api::user_list))
        .route("/wx/cgi-bin/message/custom/send", post(api::send_custom))
        .route(
            "/wx/cgi-bin/message/template/send",
            post(api::send_template),
        )
        .route("/wx/cgi-bin/media/upload", post(api::upload_media))
        .route("/wx/cgi-bin/menu/create", post(menu::create))
        .route("/wx/cgi-bin/menu/get", get(menu::get))
        .route("/wx/cgi-bin/menu/delete", get(menu::delete))
        .route("/wx/sns/oauth2/access_token", get(oauth::access_token))
        .route("/oauth2/authorize", get(oauth::authorize))
        .route("/media/{media_id}", get(api::show_media))
        .route("/wx/cgi-bin/tags/create", post(api::create_tag))
        .route("/wx/cgi-bin/tags/get", get(api::get_tags))
        .route(
            "/wx/cgi-bin/tags/members/batchtagging",
            post(api::batch_tagging),
        )
        .route(
            "/wx/cgi-bin/tags/members/batchuntagging",
            post(api::batch_untagging),
        )
        .route(
            "/faults",
            post(faults::set_faults).delete(faults::clear_faults),
        )
        .route("/simulate/scan", post(simulate::scan_handler))
        .route("/simulate/follow", post(simulate::follow_handler))
        .route("/simulate/unfollow", post(simulate::unfollow_handler))
        .route("/simulate/text", post(simulate::text_handler))
        .route("/simulate/menu", post(simulate::menu_handler))
        .route("/users", get(simulate::users_handler))
        .route("/users/{openid}/messages", get(simulate::messages_handler))
}
