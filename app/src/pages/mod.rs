//! One file per page.

pub mod leaderboard;
pub mod not_found;
pub mod overview;
pub mod qrcodes;
pub mod referrers;
pub mod settings;
pub mod stats;
