//! The tuijian server: WeChat callback, WeChat API client, PostgreSQL records, and the Leptos
//! dashboard served with leptos_axum.

pub mod cli;
pub mod config;
pub mod db;
pub mod service;
pub mod startup;
pub mod telemetry;
