//! Reusable view pieces.

pub mod accounts;
pub mod bulk;
pub mod call;
pub mod campaign_board;
pub mod campaign_editor;
pub mod campaign_form;
pub mod campaign_poster;
pub mod chart;
pub mod confirm;
pub mod form;
pub mod layout;
pub mod live;
pub mod menu_bar;
pub mod menu_editor;
pub mod status_badge;
pub mod users_admin;
pub mod webhook_log;
