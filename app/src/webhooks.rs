//! Outbound webhooks as the dashboard, the REST API and the command line show them: endpoints
//! (never their secret, which is shown once), the events they can take, and the delivery log.

use serde::{Deserialize, Serialize};

/// The events an endpoint can subscribe to, with their labels (Chinese, English).
pub const EVENTS: [(&str, &str, &str); 5] = [
    (
        "referral.created",
        "新推荐（经推荐关注）",
        "New referral (a follow through a code)",
    ),
    (
        "referral.lost",
        "推荐流失（被推荐人取消关注）",
        "Referral lost (the referred follower unfollowed)",
    ),
    (
        "referral.restored",
        "推荐恢复（被推荐人再次关注）",
        "Referral restored (the referred follower followed again)",
    ),
    (
        "member.code_created",
        "会员推广码生成",
        "Member code created",
    ),
    (
        "notification.failed",
        "推荐人通知未送达",
        "Referrer notice not delivered",
    ),
];

/// The type of the event "send test event" delivers (to that endpoint only, whatever it
/// subscribes to).
pub const TEST_EVENT: &str = "webhook.test";

/// The most endpoints an account may have.
pub const MAX_ENDPOINTS: usize = 10;

/// Whether `event` is one an endpoint can subscribe to.
pub fn is_event(event: &str) -> bool {
    EVENTS.iter().any(|(e, ..)| *e == event)
}

/// A webhook endpoint as shown (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookEndpoint {
    pub id: i64,
    pub url: String,
    /// The subscribed event types.
    pub events: Vec<String>,
    /// Loopback, private and link-local addresses allowed (the admin's opt-in).
    pub allow_private: bool,
    pub enabled: bool,
    /// Why it was disabled automatically (repeated failures); None when an admin disabled it
    /// or it is enabled.
    pub disabled_reason: Option<String>,
    /// Failed attempts since the last success.
    pub consecutive_failures: i32,
    /// While a rotation's previous secret still signs too: until when (RFC 3339).
    pub previous_secret_until: Option<String>,
    /// RFC 3339.
    pub created_at: String,
}

/// A new endpoint or a change to one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookInput {
    /// `http://` or `https://`, at most 2,048 characters, no user name or password.
    pub url: String,
    /// At least one of the event types.
    pub events: Vec<String>,
    /// Allow loopback, private and link-local destinations (default false).
    #[serde(default)]
    pub allow_private: bool,
}

/// An endpoint with its secret: answered once, on creation or rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookWithSecret {
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: keep it now, it is never shown again.
    pub secret: String,
}

/// One delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct WebhookDelivery {
    pub id: i64,
    /// The event's id (`evt_…`), the same on every attempt and redelivery.
    pub event_id: String,
    pub event_type: String,
    /// 1 for the first attempt of a delivery (a redelivery starts at 1 again).
    pub attempt: i32,
    /// The receiver answered 2xx.
    pub ok: bool,
    pub status_code: Option<i32>,
    /// Why there was no answer (timeout, connection refused, refused address).
    pub error: Option<String>,
    pub latency_ms: i32,
    /// At most 1 KB of the response body.
    pub response_excerpt: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Beijing time, `YYYY-MM-DD HH:MM:SS`.
    pub local_time: String,
}

/// A queued event (answer of "send test event" and "redeliver").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QueuedEvent {
    pub event_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_events_are_known_and_the_test_event_is_not_subscribable() {
        assert_eq!(EVENTS.len(), 5);
        assert!(is_event("referral.lost"));
        assert!(!is_event(TEST_EVENT));
        assert!(!is_event("referral.*"));
    }
}
