//! What a delivery's body is: one JSON object, the same bytes on every attempt of an event
//! (the OpenAPI document lists these schemas; the API tests read every delivered body back
//! into them, unknown fields refused).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A webhook delivery's body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookEventBody {
    /// `evt_` and 32 hex digits; the same on every retry and redelivery: de-duplicate on it.
    pub id: String,
    /// `referral.created`, `referral.lost`, `referral.restored`, `member.code_created`,
    /// `notification.failed`, or `webhook.test`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event happened (RFC 3339, UTC).
    pub created_at: String,
    /// The Official Account it happened in.
    pub account_id: i64,
    /// One of the `…Data` schemas, by `type`.
    #[schema(value_type = Object)]
    pub data: Value,
}

/// The body of an event, as sent.
pub fn body(
    id: &str,
    event_type: &str,
    created_at: DateTime<Utc>,
    account_id: i64,
    data: Value,
) -> Vec<u8> {
    let body = WebhookEventBody {
        id: id.to_owned(),
        event_type: event_type.to_owned(),
        created_at: created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
        account_id,
        data,
    };
    // Strings, numbers and JSON values always serialise.
    serde_json::to_vec(&body).expect("webhook bodies serialise")
}

/// `referral.created`: a follow through one of the account's codes credited a referrer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralCreatedData {
    pub referral_id: i64,
    pub referrer_id: i64,
    pub referrer_name: String,
    /// `staff` or `member`.
    pub referrer_kind: String,
    pub qr_code_id: Option<i64>,
    pub follower_openid: String,
    /// RFC 3339.
    pub followed_at: String,
}

/// `referral.restored`: a referred follower who had unfollowed follows again (the credit
/// stays with the first referrer).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralRestoredData {
    pub referral_id: i64,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub referrer_kind: String,
    pub qr_code_id: Option<i64>,
    pub follower_openid: String,
    /// When they followed again (RFC 3339).
    pub followed_at: String,
}

/// `referral.lost`: a referred follower unfollowed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralLostData {
    pub referral_id: i64,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub follower_openid: String,
    /// RFC 3339.
    pub unfollowed_at: String,
}

/// `member.code_created`: a follower's personal referral code was made (first request, or a
/// renewal of a temporary one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberCodeCreatedData {
    /// The member (a referrer of kind `member`).
    pub referrer_id: i64,
    pub member_name: String,
    pub member_openid: String,
    pub qr_code_id: i64,
    /// `permanent` or `temporary`.
    pub code_kind: String,
    /// RFC 3339; None for a permanent code.
    pub expires_at: Option<String>,
}

/// `notification.failed`: a referrer's notice of a new follower reached neither channel (it
/// is kept and sent when the referrer next interacts) or failed for good. At most one per
/// referral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationFailedData {
    pub referral_id: i64,
    pub referrer_id: i64,
    pub referrer_name: String,
    /// `template` or `custom` (customer-service message): the last channel tried.
    pub channel: String,
    /// WeChat's errcode, when it answered one.
    pub errcode: Option<i64>,
    pub error: Option<String>,
}

/// `webhook.test`: sent by "send test event", to that endpoint only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookTestData {
    pub endpoint_id: i64,
    pub message: String,
}
