//! Integration tests: one binary, each test with its own database.

mod attribution;
mod callback;
mod common;
mod rest_referrers;
mod rest_reports;
mod sandbox;
mod skeleton;
