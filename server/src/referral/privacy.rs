//! Privacy: a follower's right to be forgotten, and keeping raw data no longer than needed.
//!
//! Erasing a follower (admins, on the follower's request) replaces their openid everywhere we
//! keep it by a tombstone, clears their unionid, empties the payloads of their events (their
//! messages included) and unbinds a referrer bound to them; their referral, scans and the
//! roll-ups stay, so every count is unchanged. The retention job empties raw event payloads
//! and message text older than the account's retention period (default 180 days) and purges
//! expired sessions and finished outbox rows.

use std::time::Duration;

use app::model::{FieldError, Role};
use app::privacy::{ErasureReport, MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, PrivacyData};
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::db::privacy as store;
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::period::local_time;

/// How often the retention job runs.
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// The first run after start-up (not at once: a restart loop should not purge in a loop).
const FIRST_PURGE: Duration = Duration::from_secs(60);
/// Longest reason kept with an erasure.
pub const MAX_REASON_CHARS: usize = 200;

/// Whether `openid` is shaped like one (WeChat's are 28 characters of letters, digits, `-`
/// and `_`).
pub fn valid_openid(openid: &str) -> bool {
    (1..=64).contains(&openid.len())
        && openid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A tombstone no openid can equal (openids have no `:`).
fn tombstone() -> String {
    format!("erased:{}", crate::referral::accounts::random_code(16))
}

/// Erases a follower of the actor's account (admins), with the reason kept in the audit log
/// (not the openid).
pub async fn erase(
    pool: &PgPool,
    actor: &Actor,
    openid: &str,
    reason: &str,
) -> Result<ErasureReport, ServiceError> {
    actor.require(Role::Admin)?;
    let openid = openid.trim();
    let reason = reason.trim();
    let mut errors = Vec::new();
    if !valid_openid(openid) {
        errors.push(FieldError {
            field: "openid".into(),
            message: "OpenID 只含字母、数字、- 和 _ / an openid has letters, digits, - and _ only"
                .into(),
        });
    }
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        errors.push(FieldError {
            field: "reason".into(),
            message: "请填写原因（最多 200 字） / give a reason (at most 200 characters)".into(),
        });
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    let mut tx = pool.begin().await?;
    let erased = store::erase(&mut tx, actor.account_id, openid, &tombstone()).await?;
    if !erased.anything() {
        return Err(ServiceError::NotFound("follower"));
    }
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        "follower.erased",
        erased.follower_id.unwrap_or(0),
        json!({"reason": reason, "events": erased.events, "scans": erased.scans}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        account = actor.account_id,
        follower = erased.follower_id,
        events = erased.events,
        "follower erased on request"
    );
    Ok(ErasureReport {
        follower_id: erased.follower_id,
        events: erased.events,
        scans: erased.scans,
        others: erased.others,
    })
}

/// The privacy page (admins).
pub async fn overview(pool: &PgPool, actor: &Actor) -> Result<PrivacyData, ServiceError> {
    actor.require(Role::Admin)?;
    let row = store::retention(pool, actor.account_id)
        .await?
        .ok_or(ServiceError::NotFound("account"))?;
    Ok(PrivacyData {
        retention_days: row.retention_days,
        purged_at: row.purged_at.map(local_time),
        purged_events: row.purged_events,
        erased: row.erased,
    })
}

/// Sets how many days raw event payloads and message text are kept (admins).
pub async fn set_retention(pool: &PgPool, actor: &Actor, days: i32) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    if !(MIN_RETENTION_DAYS..=MAX_RETENTION_DAYS).contains(&days) {
        return Err(ServiceError::field(
            "retention_days",
            "保留天数须在 7 到 3650 之间 / keep them 7 to 3650 days",
        ));
    }
    store::set_retention(pool, actor.account_id, days).await?;
    Ok(())
}

/// One pass of the retention job over every account; returns the payloads emptied.
pub async fn purge(pool: &PgPool) -> sqlx::Result<u64> {
    let mut emptied = 0;
    for account in crate::db::accounts::all(pool).await? {
        emptied += store::purge_payloads(pool, account.id).await?;
    }
    let expired = store::purge_expired(pool).await?;
    if emptied + expired > 0 {
        tracing::info!(
            emptied,
            expired,
            "retention: old payloads emptied, expired rows purged"
        );
    }
    Ok(emptied)
}

/// The server's retention job: a pass a minute after start, then every hour, until
/// `shutdown` turns true.
pub async fn run_retention(pool: PgPool, mut shutdown: watch::Receiver<bool>) {
    let mut wait = FIRST_PURGE;
    loop {
        tokio::select! {
            _ = shutdown.changed() => {},
            () = tokio::time::sleep(wait) => {},
        }
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = purge(&pool).await {
            tracing::warn!(error = %e, "retention job cannot reach the database");
        }
        wait = PURGE_EVERY;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openids_are_checked_before_they_reach_sql() {
        assert!(valid_openid("oSBX_alice-1"));
        assert!(valid_openid("o6_bmjrPTlm6_2sgVt7hMZOPfL2M"));
        for bad in [
            "",
            "o'; drop table follower; --",
            "o%",
            "o b",
            &"o".repeat(65),
        ] {
            assert!(!valid_openid(bad), "{bad}");
        }
        assert!(!valid_openid(&tombstone()), "a tombstone is no openid");
    }
}
