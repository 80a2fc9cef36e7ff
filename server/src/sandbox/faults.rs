//! Fault knobs of the simulated WeChat: an errcode for the next N calls of an endpoint, added
//! latency, and revoking the issued tokens. Kept in memory; set from Rust or `POST /sandbox/faults`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::startup::AppState;

/// One injected failure.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
pub struct Fault {
    /// The endpoint path after `/cgi-bin/`, e.g. `user/info`; `*` for every endpoint.
    pub endpoint: String,
    /// Answer this errcode (with HTTP 200, as WeChat does).
    #[serde(default)]
    pub errcode: Option<i64>,
    /// How many calls the errcode applies to (default 1).
    #[serde(default)]
    pub count: Option<u32>,
    /// Delay every call of the endpoint by this much.
    #[serde(default)]
    pub latency_ms: Option<u64>,
}

/// A `POST /sandbox/faults` body.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct FaultRequest {
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Revoke every issued token: the next call with one gets 40001.
    #[serde(default)]
    pub revoke_tokens: bool,
}

#[derive(Debug, Default)]
struct Entry {
    errcode: Option<i64>,
    remaining: u32,
    latency: Option<Duration>,
}

/// The fault registry.
#[derive(Debug, Default)]
pub struct Faults {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Faults {
    pub fn add(&self, fault: &Fault) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.entry(fault.endpoint.clone()).or_default();
        if let Some(code) = fault.errcode {
            entry.errcode = Some(code);
            entry.remaining = fault.count.unwrap_or(1);
        }
        if let Some(ms) = fault.latency_ms {
            entry.latency = Some(Duration::from_millis(ms));
        }
    }

    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// What to do for a call of `endpoint`: a delay, and maybe an errcode to answer.
    pub fn take(&self, endpoint: &str) -> (Option<Duration>, Option<i64>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let mut latency = None;
        let mut errcode = None;
        for key in [endpoint, "*"] {
            if let Some(entry) = entries.get_mut(key) {
                latency = latency.or(entry.latency);
                if errcode.is_none() && entry.remaining > 0 {
                    entry.remaining -= 1;
                    errcode = entry.errcode;
                }
            }
        }
        (latency, errcode)
    }
}

/// `POST /sandbox/faults`.
pub async fn set_faults(
    State(state): State<AppState>,
    Json(req): Json<FaultRequest>,
) -> Result<Json<serde_json::Value>, StatusCode> {
    for fault in &req.faults {
        state.sandbox_faults.add(fault);
    }
    let revoked = if req.revoke_tokens {
        crate::db::sandbox::revoke_tokens(&state.pool)
            .await
            .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
    } else {
        0
    };
    Ok(Json(
        serde_json::json!({"faults": req.faults.len(), "revoked_tokens": revoked}),
    ))
}

/// `DELETE /sandbox/faults`.
pub async fn clear_faults(State(state): State<AppState>) -> StatusCode {
    state.sandbox_faults.clear();
    StatusCode::NO_CONTENT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errcodes_apply_to_the_next_n_calls_only() {
        let f = Faults::default();
        f.add(&Fault {
            endpoint: "user/info".into(),
            errcode: Some(-1),
            count: Some(2),
            latency_ms: None,
        });
        assert_eq!(f.take("user/info").1, Some(-1));
        assert_eq!(f.take("qrcode/create").1, None);
        assert_eq!(f.take("user/info").1, Some(-1));
        assert_eq!(f.take("user/info").1, None);
    }

    #[test]
    fn wildcard_latency_applies_everywhere() {
        let f = Faults::default();
        f.add(&Fault {
            endpoint: "*".into(),
            latency_ms: Some(5),
            ..Fault::default()
        });
        assert_eq!(f.take("tags/get").0, Some(Duration::from_millis(5)));
        f.clear();
        assert_eq!(f.take("tags/get"), (None, None));
    }
}
