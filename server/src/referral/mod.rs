//! The referral domain: what an accepted callback means and what we answer.

pub mod accounts;
pub mod actor;
pub mod attribution;
pub mod binding;
pub mod credit;
pub mod error;
pub mod exports;
pub mod greeting;
pub mod ingest;
pub mod jobs;
pub mod members;
pub mod menu;
pub mod notices;
pub mod period;
pub mod privacy;
pub mod qrcodes;
pub mod reconcile;
pub mod referrers;
pub mod report_plan;
pub mod reports;
pub mod roles;
pub mod settings;
pub mod setup;
pub mod tokens;
pub mod users;
pub mod views;
