//! The load generator: `concurrency` workers post signed `subscribe` callbacks for a fixed
//! time, each with a new follower and a scene spread over the referrers, and verify every reply.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tuijian::wechat::crypto::MsgCrypt;

use crate::wire::{self, AES_KEY, APPID, Mode};

/// A referrer's code scene and the name its greeting must carry.
#[derive(Clone, Debug)]
pub struct Target {
    pub scene: String,
    pub name: String,
}

/// What one cell measured.
#[derive(Clone, Debug)]
pub struct CellResult {
    pub sent: u64,
    pub ok: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Latencies of every request in microseconds.
    pub latency: Histogram<u64>,
}

impl CellResult {
    pub fn rps(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    /// A percentile in milliseconds.
    pub fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

/// One fixed-duration run against `base` (e.g. `http://127.0.0.1:3000`).
pub struct Cell {
    pub base: String,
    pub mode: Mode,
    pub concurrency: usize,
    pub duration: Duration,
    pub targets: Arc<Vec<Target>>,
    /// Makes openids unique across cells and runs.
    pub tag: String,
}

struct Worker {
    sent: u64,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

impl Cell {
    pub async fn run(&self) -> anyhow::Result<CellResult> {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(self.concurrency)
            .timeout(Duration::from_secs(10))
            .build()?;
        let crypt = match self.mode {
            Mode::Plain => None,
            Mode::Safe => Some(Arc::new(MsgCrypt::new(AES_KEY, APPID)?)),
        };
        let next = Arc::new(AtomicU64::new(0));
        let url = Arc::new(format!("{}/wechat/callback", self.base));
        let started = Instant::now();
        let deadline = started + self.duration;
        let mut tasks = Vec::with_capacity(self.concurrency);
        for _ in 0..self.concurrency {
            let (client, crypt, next, url) =
                (client.clone(), crypt.clone(), next.clone(), url.clone());
            let (targets, tag) = (self.targets.clone(), self.tag.clone());
            tasks.push(tokio::spawn(async move {
                let mut w = Worker {
                    sent: 0,
                    ok: 0,
                    errors: 0,
                    first_error: None,
                    latency: Histogram::new_with_bounds(1, 60_000_000, 3)
                        .expect("static histogram bounds are valid"),
                };
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let target = &targets[(i % targets.len() as u64) as usize];
                    let t0 = Instant::now();
                    let outcome = one(&client, &url, crypt.as_deref(), target, &tag, i).await;
                    let micros = t0.elapsed().as_micros().max(1) as u64;
                    w.latency.saturating_record(micros);
                    w.sent += 1;
                    match outcome {
                        Ok(()) => w.ok += 1,
                        Err(e) => {
                            w.errors += 1;
                            w.first_error.get_or_insert(e);
                        }
                    }
                }
                w
            }));
        }
        let mut result = CellResult {
            sent: 0,
            ok: 0,
            errors: 0,
            first_error: None,
            elapsed: Duration::ZERO,
            latency: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        };
        for task in tasks {
            let w = task.await?;
            result.sent += w.sent;
            result.ok += w.ok;
            result.errors += w.errors;
            if result.first_error.is_none() {
                result.first_error = w.first_error;
            }
            result.latency.add(&w.latency)?;
        }
        result.elapsed = started.elapsed();
        Ok(result)
    }
}

/// Posts one callback and checks its reply.
async fn one(
    client: &reqwest::Client,
    url: &str,
    crypt: Option<&MsgCrypt>,
    target: &Target,
    tag: &str,
    i: u64,
) -> Result<(), String> {
    let now = chrono::Utc::now().timestamp();
    let openid = format!("oBENCH_{tag}_{i}");
    let xml = wire::subscribe_xml(&openid, now, &target.scene);
    let signed = wire::sign_callback(&xml, crypt, &now.to_string(), &i.to_string());
    let resp = client
        .post(format!("{url}?{}", signed.query))
        .header("content-type", "text/xml")
        .body(signed.body)
        .send()
        .await
        .map_err(|e| format!("transport: {e}"))?;
    let status = resp.status();
    let body = resp.text().await.map_err(|e| format!("body: {e}"))?;
    if !status.is_success() {
        return Err(format!("HTTP {status}: {body}"));
    }
    wire::verify_reply(&body, crypt, &target.name)
}
