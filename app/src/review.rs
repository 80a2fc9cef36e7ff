//! Abuse review as the dashboard shows it: the queue of flagged referrals and scans with their
//! evidence, and the thresholds of the flags.

use serde::{Deserialize, Serialize};

use crate::model::Page;

/// The patterns that raise a flag, as stored.
pub const FLAG_KINDS: [&str; 6] = [
    "self_scan",
    "quick_unfollow",
    "cycles",
    "burst",
    "expired_code",
    "scene_mismatch",
];

/// What a flag kind means, in Chinese and English.
pub fn kind_label(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "self_scan" => ("扫自己的码", "own code scanned"),
        "quick_unfollow" => ("关注后很快取关", "quick unfollow"),
        "cycles" => ("反复关注取关", "follow/unfollow cycles"),
        "burst" => ("短时间大量关注", "burst of follows"),
        "expired_code" => ("二维码过期后关注", "follow after expiry"),
        "scene_mismatch" => ("场景与微信记录不符", "scene mismatch"),
        _ => ("其他", "other"),
    }
}

/// The limits of the thresholds: `(min, max)`.
pub const QUICK_UNFOLLOW_HOURS: (i32, i32) = (1, 720);
pub const CYCLE_FOLLOWS: (i32, i32) = (2, 100);
pub const BURST_FOLLOWS: (i32, i32) = (2, 100_000);
pub const BURST_MINUTES: (i32, i32) = (1, 1440);

/// When a pattern raises a flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AbuseThresholds {
    /// A referred follower unfollowing within this many hours (default 24).
    pub quick_unfollow_hours: i32,
    /// A referred follower who has followed this many times (default 3).
    pub cycle_follows: i32,
    /// More than this many follows through one code … (default 20)
    pub burst_follows: i32,
    /// … within this many minutes (default 10).
    pub burst_minutes: i32,
}

/// One flag on an item, with its evidence as `(name, value)` pairs (times in Beijing time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReviewFlag {
    /// One of [`FLAG_KINDS`].
    pub kind: String,
    pub evidence: Vec<(String, String)>,
}

/// One item of the review queue: a referral (which can be voided) or a scan that earned no
/// credit (a referrer's own, or through an expired code), with its flags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReviewItem {
    /// `referral` | `scan`.
    pub subject: String,
    /// The referral's or the scan's id.
    pub id: i64,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub openid: String,
    pub scene: Option<String>,
    /// When the follow or the scan happened (Beijing time).
    pub at: String,
    pub flags: Vec<ReviewFlag>,
    /// When the first flag was raised (Beijing time).
    pub flagged_at: String,
    /// `open` (waiting for review) | `confirmed` (reviewed and kept) | `voided`.
    pub state: String,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
    /// Who reviewed it last, and when (Beijing time).
    pub resolved_by: Option<String>,
    pub resolved_at: Option<String>,
}

/// The review page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewData {
    pub items: Page<ReviewItem>,
    /// `open` | `confirmed` | `voided` | `all`.
    pub filter: String,
    pub kind: Option<String>,
    /// Open flags by kind.
    pub open_counts: Vec<(String, i64)>,
    pub thresholds: AbuseThresholds,
    /// The viewer may change the thresholds (admins).
    pub can_configure: bool,
}
