//! Integration tests: one binary, each test with its own database.

mod access;
mod attribution;
mod auth;
mod callback;
mod client_shapes;
mod common;
mod hostile_json;
mod members;
mod outage;
mod metrics;
mod rest_referrers;
mod rest_reports;
mod sandbox;
mod secrets;
mod skeleton;
mod soak;
