//! Privacy as the dashboard shows it: erasing a follower on request and the retention period of
//! raw event payloads and message text.

use serde::{Deserialize, Serialize};

/// Shortest and longest retention periods, in days.
pub const MIN_RETENTION_DAYS: i32 = 7;
pub const MAX_RETENTION_DAYS: i32 = 3650;

/// The privacy page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivacyData {
    /// Raw event payloads and message text are emptied after this many days.
    pub retention_days: i32,
    /// When the retention job last ran for the account (Beijing time).
    pub purged_at: Option<String>,
    /// Payloads it has emptied so far.
    pub purged_events: i64,
    /// Followers erased so far.
    pub erased: i64,
}

/// What erasing a follower replaced by the tombstone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReport {
    /// The follower's row, kept (with a tombstone) so the counts stay.
    pub follower_id: Option<i64>,
    pub events: u64,
    pub scans: u64,
    pub others: u64,
}
