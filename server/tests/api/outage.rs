//! A database outage on a private PostgreSQL cluster: while it is down, callbacks are answered
//! 503 (never `success`, so WeChat delivers again) and `/healthz` says 503; when it returns the
//! server recovers by itself and the re-delivered event is stored exactly once.

use std::path::PathBuf;
use std::time::Duration;

use pgcluster::{Cluster, Options};
use reqwest::StatusCode;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tuijian::wechat::signature::sign;

use crate::common::{TestApp, eventually, settings, spawn_app_with};

const TOKEN: &str = "outage-token";

/// A private cluster under target/, removed when dropped.
struct PrivateCluster {
    dir: PathBuf,
    options: Options,
}

impl PrivateCluster {
    fn start(&self) -> Cluster {
        Cluster::ensure_running(&self.dir, &self.options).expect("private cluster starts")
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        if let Ok(c) = Cluster::ensure_running(&self.dir, &self.options) {
            let _ = c.shutdown();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn follow_xml(openid: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_outage]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>"
    )
}

async fn deliver(app: &TestApp, openid: &str) -> (StatusCode, String) {
    let (timestamp, nonce) = ("1700000000", "99");
    let signature = sign(&[TOKEN, timestamp, nonce]);
    let resp = app
        .client
        .post(app.url(&format!(
            "/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}"
        )))
        .body(follow_xml(openid))
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.text().await.unwrap_or_default())
}

async fn healthz(app: &TestApp) -> StatusCode {
    app.client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz")
        .status()
}

async fn events_of(pool: &PgPool, openid: &str) -> i64 {
    sqlx::query_scalar("select count(*) from event where openid = $1")
        .bind(openid)
        .fetch_one(pool)
        .await
        .expect("count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_never_acknowledged_and_the_server_recovers() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("outage-postgres-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let private = PrivateCluster {
        dir,
        options: Options {
            settings: vec![("fsync".into(), "off".into())],
        },
    };
    let cluster = private.start();
    let pool = PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(1))
        .connect(&cluster.url("postgres"))
        .await
        .expect("connect");
    tuijian::db::migrate(&pool).await.expect("migrations");
    let app = spawn_app_with(
        pool.clone(),
        settings(&[
            ("WECHAT_TOKEN", TOKEN),
            ("TUIJIAN_CALLBACK_DEADLINE_MS", "1500"),
        ]),
    )
    .await;

    assert_eq!(healthz(&app).await, StatusCode::OK);
    let (status, reply) = deliver(&app, "oBefore").await;
    assert_eq!(status, StatusCode::OK);
    assert!(reply.contains("欢迎关注"), "{reply}");

    cluster.stop().expect("stop the database");
    let (status, body) = deliver(&app, "oDuring").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_ne!(
        body, "success",
        "an unstored event must not be acknowledged"
    );
    assert_eq!(healthz(&app).await, StatusCode::SERVICE_UNAVAILABLE);

    let _back = private.start();
    eventually(30, || async {
        (healthz(&app).await == StatusCode::OK).then_some(())
    })
    .await;
    // WeChat re-delivers the event it got no answer for: stored now, exactly once.
    let reply = eventually(30, || async {
        let (status, reply) = deliver(&app, "oDuring").await;
        (status == StatusCode::OK).then_some(reply)
    })
    .await;
    assert!(reply.contains("欢迎关注"), "{reply}");
    let (status, again) = deliver(&app, "oDuring").await;
    assert_eq!((status, again), (StatusCode::OK, reply));
    assert_eq!(events_of(&pool, "oDuring").await, 1);
    assert_eq!(events_of(&pool, "oBefore").await, 1);
    drop(app);
    pool.close().await;
}
