//! Prometheus metrics at `GET /metrics`: the `metrics` facade records, one process-wide
//! `metrics-exporter-prometheus` recorder renders the text format.
//!
//! Access: open when `METRICS_TOKEN` is unset (bind the server to a private address, or let the
//! load balancer keep `/metrics` internal); with `METRICS_TOKEN` set, a scrape needs
//! `Authorization: Bearer <METRICS_TOKEN>`. The output holds counts and timings only: no
//! openids, tokens or secrets (labels are fixed sets: event kinds, outcomes, API calls, errcodes).

use std::sync::OnceLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::startup::AppState;

/// Callback handling time, labelled `kind` (subscribe, scan, text, …) and `outcome`.
pub const CALLBACK_SECONDS: &str = "tuijian_callback_duration_seconds";
/// Re-delivered callbacks answered from the stored reply, labelled `kind`.
pub const DUPLICATES: &str = "tuijian_callback_duplicates_total";
/// Outbox jobs not yet done (read at scrape time).
pub const OUTBOX_PENDING: &str = "tuijian_outbox_pending";
/// Finished job attempts, labelled `kind`, `outcome` (done, retry, failed) and `errcode`.
pub const JOBS: &str = "tuijian_jobs_total";
/// WeChat API call time, labelled `call` (e.g. `user/info`) and `outcome` (ok, errcode, error).
pub const WECHAT_SECONDS: &str = crate::wechat::client::API_SECONDS_METRIC;
/// Follows written together in one statement (see `referral::ingest::Follows`).
pub const FOLLOW_BATCH: &str = "tuijian_follow_batch_size";
/// Access-token fetches from WeChat, labelled `outcome` (ok, error).
pub const TOKEN_REFRESHES: &str = crate::wechat::api::TOKEN_REFRESHES_METRIC;

/// Histogram buckets (seconds) around WeChat's 5-second callback budget.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .expect("the bucket list is not empty")
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("another metrics recorder is installed; /metrics will be empty");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_histogram!(
        CALLBACK_SECONDS,
        metrics::Unit::Seconds,
        "WeChat callback handling time by event kind and outcome"
    );
    metrics::describe_counter!(
        DUPLICATES,
        "re-delivered callbacks answered from the stored reply"
    );
    metrics::describe_gauge!(OUTBOX_PENDING, "outbox jobs pending (read at scrape time)");
    metrics::describe_counter!(JOBS, "outbox job attempts by kind, outcome and errcode");
    metrics::describe_histogram!(
        WECHAT_SECONDS,
        metrics::Unit::Seconds,
        "WeChat API call time by call and outcome"
    );
    metrics::describe_counter!(TOKEN_REFRESHES, "access tokens fetched from WeChat");
    metrics::describe_histogram!(
        FOLLOW_BATCH,
        metrics::Unit::Count,
        "follows taken from the queue and written together"
    );
}

/// Drains histogram buffers now and then (the exporter leaves that to its user).
pub async fn upkeep(mut stop: tokio::sync::watch::Receiver<bool>) {
    let handle = handle();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            () = tokio::time::sleep(Duration::from_secs(5)) => handle.run_upkeep(),
        }
    }
}

/// `GET /metrics`: Prometheus text format.
pub async fn render(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.settings.metrics_token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or_default();
        if !bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes())) {
            return (StatusCode::UNAUTHORIZED, "metrics need the bearer token").into_response();
        }
    }
    match crate::db::outbox::pending_count(&state.pool).await {
        Ok(n) => metrics::gauge!(OUTBOX_PENDING).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "cannot read the outbox depth for /metrics"),
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        handle().render(),
    )
        .into_response()
}
