//! `GET /metrics`: Prometheus text with the callback, outbox, job and WeChat API series.

use reqwest::StatusCode;
use sqlx::PgPool;

use crate::attribution::{app, event, seed_code};
use crate::common::{TestApp, settings, settle_jobs, spawn_app_with};

async fn scrape(app: &TestApp, bearer: Option<&str>) -> (StatusCode, String) {
    let mut req = app.client.get(app.url("/metrics"));
    if let Some(token) = bearer {
        req = req.bearer_auth(token);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    (status, resp.text().await.expect("body"))
}

fn assert_has(body: &str, needle: &str) {
    assert!(
        body.contains(needle),
        "/metrics lacks {needle:?}; it holds:\n{body}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_referral_callback_shows_up_in_the_metrics_with_its_labels(pool: PgPool) {
    let app = app(&pool).await;
    seed_code(&pool, "王五", "m1", None, None).await;
    let greeting = event(&app, "oMetrics1", 1_700_000_100, "subscribe", "qrscene_m1").await;
    assert!(greeting.expect("a greeting").contains("王五"));
    // WeChat re-delivers the same event: answered from the stored reply, counted as duplicate.
    event(&app, "oMetrics1", 1_700_000_100, "subscribe", "qrscene_m1").await;
    let forged = app
        .client
        .post(app.url("/wechat/callback?signature=bad&timestamp=1&nonce=2"))
        .body("<xml/>")
        .send()
        .await
        .expect("request");
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    settle_jobs(&pool).await;

    let (status, body) = scrape(&app, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_has(&body, "# TYPE tuijian_callback_duration_seconds histogram");
    assert_has(
        &body,
        r#"tuijian_callback_duration_seconds_bucket{kind="subscribe",outcome="ok",le="0.005"}"#,
    );
    assert_has(
        &body,
        r#"tuijian_callback_duration_seconds_count{kind="unknown",outcome="unauthorized"}"#,
    );
    assert_has(
        &body,
        r#"tuijian_callback_duplicates_total{kind="subscribe"}"#,
    );
    assert_has(&body, "\ntuijian_outbox_pending 0\n");
    assert_has(
        &body,
        r#"tuijian_jobs_total{kind="follow_up",outcome="done",errcode="none"}"#,
    );
    assert_has(
        &body,
        r#"tuijian_wechat_api_duration_seconds_count{call="user/info",outcome="#,
    );
    assert_has(
        &body,
        r#"tuijian_wechat_token_refreshes_total{outcome="ok"}"#,
    );
    // Counts and timings only: no openids, no tokens.
    assert!(!body.contains("oMetrics1"));
    assert!(!body.contains("access_token"));
}

#[sqlx::test(migrations = "../migrations")]
async fn metrics_need_the_bearer_token_when_one_is_configured(pool: PgPool) {
    let app = spawn_app_with(pool, settings(&[("METRICS_TOKEN", "scrape-secret")])).await;
    for bearer in [None, Some("wrong")] {
        let (status, body) = scrape(&app, bearer).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "bearer {bearer:?}");
        assert!(!body.contains("tuijian_"));
    }
    let (status, body) = scrape(&app, Some("scrape-secret")).await;
    assert_eq!(status, StatusCode::OK);
    assert_has(&body, "tuijian_outbox_pending");
    assert!(!body.contains("scrape-secret"));
}
