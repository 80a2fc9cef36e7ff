//! The test harness: the real app on a loopback port with its own fresh database.

use std::net::SocketAddr;

use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tuijian::config::Settings;
use tuijian::startup::{self, AppState};

/// A running app; dropping it shuts the server down.
pub struct TestApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub client: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Settings as a fresh sandbox install would have them, plus `vars`.
pub fn settings(vars: &[(&str, &str)]) -> Settings {
    Settings::from_lookup(|name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .expect("test settings are valid")
}

/// Binds port 0 first, then serves the app on it with `pool` (migrations already applied).
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, settings(&[])).await
}

pub async fn spawn_app_with(pool: PgPool, settings: Settings) -> TestApp {
    // Logs only when asked for (TEST_LOG=1), so failures are easy to read.
    if std::env::var_os("TEST_LOG").is_some() {
        tuijian::telemetry::init();
    }
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("local addr");
    let (tx, rx) = oneshot::channel::<()>();
    let state = AppState::new(pool, settings, addr)
        .await
        .expect("app state builds");
    tokio::spawn(startup::serve(listener, state.clone(), async {
        let _ = rx.await;
    }));
    TestApp {
        addr,
        state,
        // A request that never answers fails its test instead of holding up the whole run.
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .expect("test client"),
        _shutdown: tx,
    }
}

/// Polls `check` until it returns Some or `secs` pass (for work done after a reply).
pub async fn eventually<T, F, Fut>(secs: u64, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "condition not met within {secs} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// Waits until the outbox worker has no pending job (so tests can inject faults safely).
pub async fn settle_jobs(pool: &sqlx::PgPool) {
    eventually(10, || async {
        let pending: i64 =
            sqlx::query_scalar("select count(*) from outbox where status = 'pending'")
                .fetch_one(pool)
                .await
                .expect("count jobs");
        (pending == 0).then_some(())
    })
    .await
}

/// A referrer named `name` with one permanent code, made as the command line would (account
/// 1): `(referrer id, code id)`.
pub async fn referrer_with_code(app: &TestApp, name: &str) -> (i64, i64) {
    let actor = tuijian::referral::actor::Actor::cli(1);
    let referrer = tuijian::referral::referrers::create(
        &app.state.pool,
        &actor,
        &app::model::NewReferrer {
            name: name.into(),
            ..Default::default()
        },
    )
    .await
    .expect("referrer");
    let code = tuijian::referral::qrcodes::create(
        &app.state.pool,
        &app.state.accounts,
        &actor,
        referrer.id,
        &app::model::NewQrCode {
            kind: "permanent".into(),
            ..Default::default()
        },
    )
    .await
    .expect("code");
    (referrer.id, code.id)
}

/// The leaderboard of every time, `(name, follows, unfollows)` by name, as the first account's
/// admin reads it.
pub async fn board(pool: &PgPool) -> Vec<(String, i64, i64)> {
    let mut rows: Vec<(String, i64, i64)> = tuijian::referral::reports::leaderboard(
        pool,
        &tuijian::referral::actor::Actor::cli(1),
        &app::model::ReportQuery {
            period: Some("all".into()),
            ..Default::default()
        },
    )
    .await
    .expect("leaderboard")
    .into_iter()
    .map(|r| (r.name, r.follows, r.unfollows))
    .collect();
    rows.sort();
    rows
}

/// The content of the one QR code in an image (PNG or JPEG).
pub fn decode_qr(image: &[u8]) -> String {
    let image = image::load_from_memory(image).expect("an image").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().expect("decodes").1
}

/// The bytes of the temporary media `media_id` the sandbox holds.
pub async fn sandbox_media(app: &TestApp, media_id: &str) -> Vec<u8> {
    let resp = app
        .client
        .get(app.url(&format!("/sandbox/media/{media_id}")))
        .send()
        .await
        .expect("media");
    assert_eq!(resp.status(), reqwest::StatusCode::OK);
    resp.bytes().await.expect("bytes").to_vec()
}

/// A simulated user follows the account (first account, sandbox).
pub async fn follow(app: &TestApp, user: &str) {
    let reply = tuijian::sandbox::simulate::follow(&app.state.sim(), user)
        .await
        .expect("follow delivered");
    assert_eq!(reply.status, 200);
}

/// The message bodies the account sent a simulated user through the API (first account).
pub async fn inbox(pool: &PgPool, user: &str) -> Vec<serde_json::Value> {
    tuijian::db::sandbox::messages_to(pool, 1, &format!("oSBX_{user}"))
        .await
        .expect("messages")
        .into_iter()
        .map(|m| m.body)
        .collect()
}
