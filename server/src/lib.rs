//! The tuijian server: WeChat callback, WeChat API client, PostgreSQL records, and the Leptos
//! dashboard served with leptos_axum.

pub mod accounts;
pub mod cli;
pub mod config;
pub mod db;
pub mod http;
pub mod jobs;
pub mod metrics;
pub mod poster;
pub mod qr;
pub mod referral;
pub mod sandbox;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod webhooks;
pub mod wechat;
