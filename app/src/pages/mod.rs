//! One file per page.

pub mod campaign_detail;
pub mod campaigns;
pub mod leaderboard;
pub mod login;
pub mod member;
pub mod menu;
pub mod not_found;
pub mod overview;
pub mod poster;
pub mod privacy;
pub mod qrcodes;
pub mod reconcile;
pub mod referrer_detail;
pub mod referrers;
pub mod review;
pub mod sandbox;
pub mod settings;
pub mod setup;
pub mod stats;
pub mod webhooks;
