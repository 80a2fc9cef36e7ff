//! Abuse review: leaderboards pay bonuses, so patterns that suggest a code is being gamed are
//! flagged for a manager to review.
//!
//! The flags: a referrer scanning their own code, a referred follower unfollowing within a
//! configurable time (default 24 h), a follower following again and again (default 3 follows),
//! bursts (more than N follows through one code in M minutes; default 20 in 10), a follow
//! through a code after its expiry, and a follower whose `user/info` scene disagrees with the
//! event that credited them. A sweep (every minute, and before the queue is read) looks at the
//! events since the last sweep; the `user/info` check is made by the follow-up job that asks.
//!
//! Flagged referrals stay recorded and counted until a manager reviews them: confirm (kept) or
//! void (with a reason). A voided referral leaves the leaderboards and stats (roll-up deltas
//! take its follow, unfollow and lost counts out; a rebuild leaves it out), keeps its first
//! touch (the follower is not credited again), and can be restored. Admins and managers also
//! void a referral without a flag from the referrer's page ("remove credit"). Every decision is
//! in the audit log with who, when and why.

use std::collections::BTreeMap;
use std::time::Duration;

use app::model::{Page, Role};
use app::review::{
    AbuseThresholds, BURST_FOLLOWS, BURST_MINUTES, CYCLE_FOLLOWS, FLAG_KINDS, QUICK_UNFOLLOW_HOURS,
    ReviewData, ReviewFlag, ReviewItem,
};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::db::abuse as store;
use crate::db::abuse::{QueueFilter, Subject, filter_name};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::period::local_time;

/// Items on a page of the queue.
pub const PER_PAGE: i64 = 50;
/// Longest reason kept with a decision.
pub const MAX_REASON_CHARS: usize = 200;
/// How often the server sweeps every account.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

fn filter_of(name: Option<&str>) -> Result<QueueFilter, ServiceError> {
    match name.unwrap_or("open") {
        "open" => Ok(QueueFilter::Open),
        "confirmed" => Ok(QueueFilter::Confirmed),
        "voided" => Ok(QueueFilter::Voided),
        "all" => Ok(QueueFilter::All),
        _ => Err(ServiceError::field(
            "status",
            "状态须为 open、confirmed、voided 或 all / status is open, confirmed, voided or all",
        )),
    }
}

fn reason_of(reason: &str) -> Result<&str, ServiceError> {
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ServiceError::field(
            "reason",
            "请填写原因（最多 200 字） / give a reason (at most 200 characters)",
        ));
    }
    Ok(reason)
}

/// The review queue (managers): sweeps the account's new events first, so what the callbacks
/// recorded a moment ago is there.
pub async fn queue(
    pool: &PgPool,
    actor: &Actor,
    status: Option<&str>,
    kind: Option<&str>,
    page: Option<i64>,
) -> Result<ReviewData, ServiceError> {
    actor.require(Role::Manager)?;
    let filter = filter_of(status)?;
    let kind = kind.filter(|k| !k.is_empty());
    if let Some(k) = kind
        && !FLAG_KINDS.contains(&k)
    {
        return Err(ServiceError::field(
            "kind",
            format!("没有这种标记 / kind is one of {}", FLAG_KINDS.join(", ")),
        ));
    }
    store::sweep(pool, actor.account_id).await?;
    let rows = store::queue(
        pool,
        actor.account_id,
        filter,
        kind,
        page.unwrap_or(1),
        PER_PAGE,
    )
    .await?;
    let thresholds = thresholds_view(store::thresholds(pool, actor.account_id).await?);
    Ok(ReviewData {
        items: Page {
            items: rows.rows.into_iter().map(item_view).collect(),
            total: rows.total,
            page: rows.page,
            per_page: rows.per_page,
        },
        filter: filter_name(filter).into(),
        kind: kind.map(str::to_owned),
        open_counts: store::open_counts(pool, actor.account_id).await?,
        thresholds,
        can_configure: actor.require(Role::Admin).is_ok(),
    })
}

fn thresholds_view(t: store::Thresholds) -> AbuseThresholds {
    AbuseThresholds {
        quick_unfollow_hours: t.quick_unfollow_hours,
        cycle_follows: t.cycle_follows,
        burst_follows: t.burst_follows,
        burst_minutes: t.burst_minutes,
    }
}

/// A flag's evidence as the page shows it: times in Beijing time, the rest as text, by name.
fn evidence_view(evidence: &serde_json::Value) -> Vec<(String, String)> {
    let Some(map) = evidence.as_object() else {
        return Vec::new();
    };
    let sorted: BTreeMap<&String, &serde_json::Value> = map.iter().collect();
    sorted
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s
                    .parse::<DateTime<Utc>>()
                    .map(local_time)
                    .unwrap_or_else(|_| s.clone()),
                serde_json::Value::Null => "—".into(),
                other => other.to_string(),
            };
            (name.clone(), text)
        })
        .collect()
}

fn item_view(r: store::QueueRow) -> ReviewItem {
    let (subject, id) = match (r.referral_id, r.scan_id) {
        (Some(id), _) => ("referral", id),
        (None, Some(id)) => ("scan", id),
        (None, None) => ("scan", 0),
    };
    let state = if r.voided_at.is_some() {
        "voided"
    } else if r.open {
        "open"
    } else {
        "confirmed"
    };
    ReviewItem {
        subject: subject.into(),
        id,
        referrer_id: r.referrer_id,
        referrer_name: r.referrer_name,
        openid: r.openid,
        scene: r.scene,
        at: local_time(r.at),
        flags: r
            .flags
            .0
            .iter()
            .map(|(kind, evidence)| ReviewFlag {
                kind: kind.clone(),
                evidence: evidence_view(evidence),
            })
            .collect(),
        flagged_at: local_time(r.flagged_at),
        state: state.into(),
        voided_by: r.voided_by,
        void_reason: r.void_reason,
        resolved_by: r.resolved_by,
        resolved_at: r.resolved_at.map(local_time),
    }
}

/// `referral` | `scan` and an id, as the queue names its items.
pub fn subject(kind: &str, id: i64) -> Result<Subject, ServiceError> {
    match kind {
        "referral" => Ok(Subject::Referral(id)),
        "scan" => Ok(Subject::Scan(id)),
        _ => Err(ServiceError::field(
            "subject",
            "须为 referral 或 scan / subject is referral or scan",
        )),
    }
}

/// Confirms an item (managers): its open flags are closed, the referral keeps counting.
pub async fn confirm(pool: &PgPool, actor: &Actor, subject: Subject) -> Result<(), ServiceError> {
    actor.require(Role::Manager)?;
    let mut tx = pool.begin().await?;
    let closed = store::confirm(&mut tx, actor.account_id, subject, &actor.audit_name()).await?;
    if closed == 0 {
        let known = match subject {
            Subject::Referral(id) => crate::db::credit::lock(&mut tx, actor.account_id, id)
                .await?
                .is_some(),
            Subject::Scan(id) => store::scan_flagged(pool, actor.account_id, id).await?,
        };
        return Err(if known {
            ServiceError::Conflict {
                code: "nothing_open",
                message: "没有待审核的标记 / nothing is waiting for review".into(),
            }
        } else {
            ServiceError::NotFound("flagged item")
        });
    }
    let (action, target) = match subject {
        Subject::Referral(id) => ("abuse.confirm_referral", id),
        Subject::Scan(id) => ("abuse.confirm_scan", id),
    };
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        action,
        target,
        json!({"flags": closed}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Voids a referral (managers), flagged or not, with a reason: it leaves the leaderboards and
/// stats at once.
pub async fn void(
    pool: &PgPool,
    actor: &Actor,
    referral_id: i64,
    reason: &str,
) -> Result<(), ServiceError> {
    decide(pool, actor, referral_id, reason, true).await
}

/// Restores a voided referral (managers), with a reason: it counts again.
pub async fn restore(
    pool: &PgPool,
    actor: &Actor,
    referral_id: i64,
    reason: &str,
) -> Result<(), ServiceError> {
    decide(pool, actor, referral_id, reason, false).await
}

/// Voids (`void`) or restores a referral under its lock, audited with the reason.
async fn decide(
    pool: &PgPool,
    actor: &Actor,
    referral_id: i64,
    reason: &str,
    void: bool,
) -> Result<(), ServiceError> {
    actor.require(Role::Manager)?;
    let reason = reason_of(reason)?;
    let mut tx = pool.begin().await?;
    let locked = crate::db::credit::lock(&mut tx, actor.account_id, referral_id)
        .await?
        .ok_or(ServiceError::NotFound("referral"))?;
    match (void, locked.voided) {
        (true, true) => {
            return Err(ServiceError::Conflict {
                code: "already_voided",
                message: "这条推荐已作废 / the referral is voided already".into(),
            });
        }
        (false, false) => {
            return Err(ServiceError::Conflict {
                code: "not_voided",
                message: "这条推荐没有作废 / the referral is not voided".into(),
            });
        }
        _ => {}
    }
    let who = actor.audit_name();
    store::set_voided(
        &mut tx,
        actor.account_id,
        referral_id,
        locked.referrer_id,
        void.then_some(reason),
        &who,
    )
    .await?;
    // A voided referral's follower loses its WeChat tag; a restored one gets it back.
    crate::db::wechat_tags::want(&mut tx, &[(actor.account_id, referral_id)]).await?;
    let action = if void {
        "referral.void"
    } else {
        "referral.restore"
    };
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &who,
        action,
        referral_id,
        json!({"referrer": locked.referrer_id, "reason": reason}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        account = actor.account_id,
        referral = referral_id,
        action,
        "credit decided"
    );
    Ok(())
}

/// The thresholds of the flags (managers).
pub async fn thresholds(pool: &PgPool, actor: &Actor) -> Result<AbuseThresholds, ServiceError> {
    actor.require(Role::Manager)?;
    Ok(thresholds_view(
        store::thresholds(pool, actor.account_id).await?,
    ))
}

/// Changes the thresholds (admins); they apply to what is swept from now on.
pub async fn set_thresholds(
    pool: &PgPool,
    actor: &Actor,
    t: &AbuseThresholds,
) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    let mut errors = Vec::new();
    for (field, value, (min, max)) in [
        (
            "quick_unfollow_hours",
            t.quick_unfollow_hours,
            QUICK_UNFOLLOW_HOURS,
        ),
        ("cycle_follows", t.cycle_follows, CYCLE_FOLLOWS),
        ("burst_follows", t.burst_follows, BURST_FOLLOWS),
        ("burst_minutes", t.burst_minutes, BURST_MINUTES),
    ] {
        if !(min..=max).contains(&value) {
            errors.push(app::model::FieldError {
                field: field.into(),
                message: format!("须在 {min} 到 {max} 之间 / between {min} and {max}"),
            });
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    store::set_thresholds(
        pool,
        actor.account_id,
        &store::Thresholds {
            quick_unfollow_hours: t.quick_unfollow_hours,
            cycle_follows: t.cycle_follows,
            burst_follows: t.burst_follows,
            burst_minutes: t.burst_minutes,
        },
    )
    .await?;
    let mut tx = pool.begin().await?;
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        "abuse.thresholds",
        actor.account_id,
        json!(t),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Sweeps every account once; returns the flags added.
pub async fn sweep_all(pool: &PgPool) -> sqlx::Result<u64> {
    let mut added = 0;
    for account in crate::db::accounts::all(pool).await? {
        added += store::sweep(pool, account.id).await?;
    }
    if added > 0 {
        tracing::info!(added, "abuse sweep: referrals flagged for review");
    }
    Ok(added)
}

/// The server's sweep: every minute until `shutdown` turns true.
pub async fn run_sweeps(pool: PgPool, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = shutdown.changed() => {},
            () = tokio::time::sleep(SWEEP_EVERY) => {},
        }
        if *shutdown.borrow() {
            break;
        }
        if let Err(e) = sweep_all(&pool).await {
            tracing::warn!(error = %e, "abuse sweep cannot reach the database");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_reads_times_in_beijing_time() {
        let shown = evidence_view(&json!({
            "unfollowed_at": "2026-12-03T02:30:00Z",
            "hours": 24,
            "scene": "abc",
            "none": null,
        }));
        assert_eq!(
            shown,
            [
                ("hours".to_owned(), "24".to_owned()),
                ("none".to_owned(), "—".to_owned()),
                ("scene".to_owned(), "abc".to_owned()),
                ("unfollowed_at".to_owned(), "2026-12-03 10:30".to_owned()),
            ]
        );
    }

    #[test]
    fn the_queue_filters_are_named() {
        assert_eq!(filter_of(None).ok(), Some(QueueFilter::Open));
        assert_eq!(filter_of(Some("voided")).ok(), Some(QueueFilter::Voided));
        assert!(filter_of(Some("gone")).is_err());
        for f in ["open", "confirmed", "voided", "all"] {
            assert_eq!(filter_name(filter_of(Some(f)).expect(f)), f);
        }
    }
}
