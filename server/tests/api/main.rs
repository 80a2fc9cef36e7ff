//! Integration tests: one binary, each test with its own database.

mod access;
mod accounts;
mod attribution;
mod auth;
mod binding;
mod callback;
mod catalog;
mod claims;
mod client_shapes;
mod common;
mod exports;
mod hostile_json;
mod members;
mod menu;
mod metrics;
mod outage;
mod privacy;
mod reconcile;
mod rest_referrers;
mod rest_reports;
mod sandbox;
mod secrets;
mod setup;
mod skeleton;
mod soak;
mod staff_admin;
