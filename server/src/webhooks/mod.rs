//! Delivering webhook events: one outbox job per event and endpoint, at least once, signed,
//! to public addresses only unless the endpoint allows private ones, each attempt logged.
//!
//! - **Retries**: any answer but 2xx, a timeout (10 s) or a connection failure is retried
//!   with exponential backoff ([`retry_after`]: 30 s, 1 min, 2 min … at most 4 h apart) for
//!   24 hours, with the same event id and body every time. A refused destination is not
//!   retried.
//! - **Disabling**: [`DISABLE_AFTER`] failed attempts in a row (of any events; a success
//!   clears the count) disable the endpoint, say why on it and in the audit log.

pub mod payload;
pub mod sign;
pub mod ssrf;

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{Duration as ChronoDuration, Utc};
use sqlx::PgPool;

use crate::db::webhooks::{self as store, Attempt, Target};
use crate::referral::jobs::WebhookDelivery;

/// How long one attempt may take, answer included.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// Failed attempts in a row that disable an endpoint.
pub const DISABLE_AFTER: i32 = 20;
/// How long an event is retried.
pub const RETRY_FOR: ChronoDuration = ChronoDuration::hours(24);
/// How much of a response body is kept in the log.
pub const EXCERPT_BYTES: usize = 1024;
/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP: ChronoDuration = ChronoDuration::hours(24);

/// The wait after the n-th failed attempt of a delivery, or None when its 24 hours are used
/// up: 30 s doubling up to 4 h, the last wait cut so the last attempt falls at 24 h.
pub fn retry_after(attempts: i32) -> Option<ChronoDuration> {
    let wait = |n: i32| ChronoDuration::seconds((30i64 << (n.clamp(1, 20) - 1)).min(4 * 3600));
    let waited: ChronoDuration = (1..attempts.max(1)).map(wait).sum();
    let left = RETRY_FOR - waited;
    (left > ChronoDuration::zero()).then(|| wait(attempts).min(left))
}

/// What one attempt came to, for the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivered {
    Done,
    /// Try again later (on the webhook schedule).
    Retry(String),
    /// Do not try again (refused destination, endpoint gone or disabled).
    Failed(String),
}

/// Why an attempt got no answer.
enum NoAnswer {
    /// The destination is not allowed: permanent.
    Refused(String),
    Transport(String),
}

/// Sends webhook deliveries.
#[derive(Clone)]
pub struct Deliverer {
    pool: PgPool,
    /// Public addresses only (checked on the addresses it connects to).
    strict: reqwest::Client,
    /// For endpoints that allow private addresses.
    open: reqwest::Client,
}

impl Deliverer {
    pub fn new(pool: PgPool) -> reqwest::Result<Self> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(ATTEMPT_TIMEOUT)
                .connect_timeout(ATTEMPT_TIMEOUT)
                // A redirect would be a second, unchecked destination.
                .redirect(reqwest::redirect::Policy::none())
                // A proxy would resolve the name itself, past the address check.
                .no_proxy()
                .user_agent(concat!("tuijian-webhooks/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Deliverer {
            pool,
            strict: builder().dns_resolver(Arc::new(ssrf::PublicOnly)).build()?,
            open: builder().build()?,
        })
    }

    /// One attempt of a delivery (`attempt` counts from 1), logged.
    pub async fn deliver(&self, account_id: i64, attempt: i32, job: &WebhookDelivery) -> Delivered {
        let target =
            match store::target(&self.pool, account_id, job.endpoint_id, &job.event_id).await {
                Ok(Some(target)) => target,
                Ok(None) => return Delivered::Failed("the endpoint or the event is gone".into()),
                Err(e) => return Delivered::Retry(format!("database: {e}")),
            };
        if !target.enabled {
            return Delivered::Failed("the endpoint is disabled".into());
        }
        let body = payload::body(
            &job.event_id,
            &target.event_type,
            target.event_created_at,
            account_id,
            target.data.clone(),
        );
        let started = Instant::now();
        let sent = self.send(&target, &job.event_id, attempt, body).await;
        let latency_ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
        let (ok, status_code, error, excerpt, outcome) = match sent {
            Ok((status, excerpt)) if (200..300).contains(&status) => {
                (true, Some(status), None, excerpt, Delivered::Done)
            }
            Ok((status, excerpt)) => {
                let why = format!("HTTP {status}");
                (false, Some(status), None, excerpt, Delivered::Retry(why))
            }
            Err(NoAnswer::Refused(why)) => {
                (false, None, Some(why.clone()), None, Delivered::Failed(why))
            }
            Err(NoAnswer::Transport(why)) => {
                (false, None, Some(why.clone()), None, Delivered::Retry(why))
            }
        };
        let logged = Attempt {
            account_id,
            endpoint_id: job.endpoint_id,
            event_id: &job.event_id,
            attempt,
            ok,
            status_code: status_code.map(i32::from),
            error: error.as_deref(),
            latency_ms,
            response_excerpt: excerpt.as_deref(),
        };
        let reason = format!(
            "连续 {DISABLE_AFTER} 次投递失败，已自动停用 / Disabled after {DISABLE_AFTER} failed deliveries in a row"
        );
        match store::record_attempt(&self.pool, &logged, DISABLE_AFTER, &reason).await {
            Ok(Some(disabled)) => tracing::warn!(
                endpoint = job.endpoint_id,
                failures = disabled.failures,
                "webhook endpoint disabled after repeated failures"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "cannot log a webhook delivery"),
        }
        outcome
    }

    /// Posts the signed body; the status and the start of the response body.
    async fn send(
        &self,
        target: &Target,
        event_id: &str,
        attempt: i32,
        body: Vec<u8>,
    ) -> Result<(u16, Option<String>), NoAnswer> {
        let url = ssrf::parse_url(&target.url).map_err(|e| NoAnswer::Refused(e.to_owned()))?;
        if !target.allow_private
            && let Some(refused) = ssrf::literal_refused(&url)
        {
            return Err(NoAnswer::Refused(refused.to_string()));
        }
        let client = if target.allow_private {
            &self.open
        } else {
            &self.strict
        };
        let timestamp = Utc::now().timestamp();
        let mut secrets = vec![target.secret.as_str()];
        secrets.extend(target.previous_secret.as_deref());
        let response = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                sign::SIGNATURE_HEADER,
                sign::header(timestamp, &body, &secrets),
            )
            .header("x-tuijian-event", &target.event_type)
            .header("x-tuijian-event-id", event_id)
            .header("x-tuijian-timestamp", timestamp.to_string())
            .header("x-tuijian-attempt", attempt.to_string())
            .body(body)
            .send()
            .await
            .map_err(no_answer)?;
        let status = response.status().as_u16();
        Ok((status, excerpt(response).await))
    }
}

/// What a failed request is, without its URL (it may carry a token of the receiver's).
fn no_answer(e: reqwest::Error) -> NoAnswer {
    if let Some(refused) = ssrf::refusal_in(&e) {
        return NoAnswer::Refused(refused.to_string());
    }
    let why = if e.is_timeout() {
        format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())
    } else if e.is_connect() {
        "connection failed".to_owned()
    } else {
        e.without_url().to_string()
    };
    NoAnswer::Transport(why)
}

/// At most [`EXCERPT_BYTES`] of the body (the rest is not read), as text.
async fn excerpt(mut response: reqwest::Response) -> Option<String> {
    let mut bytes = Vec::new();
    while bytes.len() < EXCERPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(EXCERPT_BYTES);
    if bytes.is_empty() {
        return None;
    }
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    while text.len() > EXCERPT_BYTES {
        text.pop();
    }
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_for_24_hours() {
        assert_eq!(retry_after(1), Some(ChronoDuration::seconds(30)));
        assert_eq!(retry_after(2), Some(ChronoDuration::seconds(60)));
        assert_eq!(retry_after(3), Some(ChronoDuration::seconds(120)));
        assert_eq!(retry_after(10), Some(ChronoDuration::hours(4)));
        assert_eq!(retry_after(14), Some(ChronoDuration::seconds(13470)));
        let waits: Vec<ChronoDuration> = (1..100).map_while(retry_after).collect();
        let total: ChronoDuration = waits.iter().copied().sum();
        assert_eq!(total, RETRY_FOR, "the last attempt falls at 24 h");
        assert_eq!(waits.len(), 14, "15 attempts in all");
        assert_eq!(retry_after(15), None);
        assert_eq!(retry_after(40), None);
    }
}
