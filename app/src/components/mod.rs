//! Reusable view pieces.

pub mod accounts;
pub mod chart;
pub mod form;
pub mod layout;
pub mod live;
pub mod status_badge;
