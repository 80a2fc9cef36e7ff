//! Integration tests: one binary, each test with its own database.

mod common;
mod skeleton;
