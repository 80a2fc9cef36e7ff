//! Reusable view pieces.

pub mod empty_state;
pub mod layout;
pub mod status_badge;
