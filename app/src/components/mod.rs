//! Reusable view pieces.

pub mod accounts;
pub mod chart;
pub mod form;
pub mod layout;
pub mod live;
pub mod menu_bar;
pub mod menu_editor;
pub mod status_badge;
