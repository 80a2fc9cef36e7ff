//! Reusable view pieces.

pub mod chart;
pub mod empty_state;
pub mod form;
pub mod layout;
pub mod live;
pub mod status_badge;
