//! The tuijian server: WeChat callback, WeChat API client, PostgreSQL records, and the Leptos
//! dashboard served with leptos_axum.

pub mod callback;
pub mod cli;
pub mod config;
pub mod db;
pub mod jobs;
pub mod member_auth;
pub mod metrics;
pub mod qr;
pub mod referral;
pub mod rest;
pub mod sandbox;
pub mod service;
pub mod startup;
pub mod telemetry;
pub mod wechat;
