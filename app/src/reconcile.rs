//! Reconciliation as the dashboard and the command line show it: a run's progress and its
//! report of what changed.

use serde::{Deserialize, Serialize};

/// One reconciliation run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileRun {
    pub id: i64,
    /// A user's or token's name, `cli` or `schedule`.
    pub started_by: String,
    /// Referrers of recovered referrals are told too.
    pub notify: bool,
    /// `list` | `check` | `lost`.
    pub phase: String,
    /// `active` | `done` | `failed` | `cancelled`.
    pub status: String,
    /// Followers WeChat says the account has (from the first page of `user/get`).
    pub wechat_total: Option<i64>,
    /// Followers listed so far.
    pub listed: i64,
    /// Listed followers we did not know as following, to look up.
    pub to_check: i64,
    pub checked: i64,
    /// Follows through one of our codes recovered and credited.
    pub recovered: i64,
    /// Follows recovered without credit (first touch went elsewhere, or a re-follow).
    pub recorded: i64,
    /// Followers who came through none of our codes (not recorded).
    pub unattributed: i64,
    /// Followers we counted whom WeChat no longer lists, marked as unfollowed.
    pub lost: i64,
    pub api_calls: i32,
    pub error: Option<String>,
    /// Beijing time, `YYYY-MM-DD HH:MM`.
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl ReconcileRun {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }

    /// How far the run is, 0–100: listing is the first 40 %, looking up the next 55 %.
    pub fn percent(&self) -> u8 {
        if self.status == "done" {
            return 100;
        }
        let part = |done: i64, of: i64| {
            if of <= 0 {
                1.0
            } else {
                (done as f64 / of as f64).clamp(0.0, 1.0)
            }
        };
        let p = match self.phase.as_str() {
            "list" => 40.0 * part(self.listed, self.wechat_total.unwrap_or(0).max(1)),
            "check" => 40.0 + 55.0 * part(self.checked, self.to_check),
            _ => 95.0,
        };
        p.floor() as u8
    }
}

/// One thing a run changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileChange {
    pub openid: String,
    /// `recovered` | `recorded` | `lost`.
    pub change: String,
    pub referrer_id: Option<i64>,
    pub referrer_name: Option<String>,
    pub scene: Option<String>,
    /// The follow time (from `subscribe_time`) or when the follower was found lost; Beijing
    /// time.
    pub at: String,
}

/// The reconciliation page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileData {
    /// The latest runs, newest first.
    pub runs: Vec<ReconcileRun>,
    /// The report of the newest run (at most [`REPORT_ROWS`] lines).
    pub changes: Vec<ReconcileChange>,
    /// The nightly run's hour (Beijing time); None: off.
    pub schedule_hour: Option<u8>,
    /// A live account (sandbox accounts are reconciled on demand only).
    pub live: bool,
    /// The caller may start, resume and cancel runs (managers and admins).
    pub can_run: bool,
    /// The caller may change the schedule (admins).
    pub can_schedule: bool,
}

/// Report lines shown on the page.
pub const REPORT_ROWS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    fn run(phase: &str, status: &str) -> ReconcileRun {
        ReconcileRun {
            id: 1,
            started_by: "x".into(),
            notify: false,
            phase: phase.into(),
            status: status.into(),
            wechat_total: Some(200),
            listed: 100,
            to_check: 10,
            checked: 5,
            recovered: 0,
            recorded: 0,
            unattributed: 0,
            lost: 0,
            api_calls: 1,
            error: None,
            created_at: String::new(),
            finished_at: None,
        }
    }

    #[test]
    fn progress_runs_through_the_phases() {
        assert_eq!(run("list", "active").percent(), 20);
        assert_eq!(run("check", "active").percent(), 67);
        assert_eq!(run("lost", "active").percent(), 95);
        assert_eq!(run("lost", "done").percent(), 100);
        let mut nothing = run("check", "active");
        nothing.to_check = 0;
        assert_eq!(nothing.percent(), 95);
    }
}
