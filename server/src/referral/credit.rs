//! Attribution override: an admin moves a follower's credit to another referrer, with a
//! required reason. The referral keeps its follow (time, code, event); the leaderboards and
//! stats follow the move (its follow, unfollow and lost counts change referrer in the roll-ups
//! as a rebuild would count them), and the move is kept in the history shown on both
//! referrers' pages and in the audit log.

use app::model::{CreditMove, Role};
use serde_json::json;
use sqlx::PgPool;

use crate::db::credit as store;
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::period::local_time;

/// Longest reason kept with a move.
pub const MAX_REASON_CHARS: usize = 200;
/// Moves shown on a referrer's page.
pub const HISTORY_ROWS: i64 = 50;
/// Referrers offered as targets on a referrer's page.
pub const TARGET_ROWS: i64 = 500;

/// Moves the credit of `referral_id` to `to_referrer_id` (admins).
pub async fn move_credit(
    pool: &PgPool,
    actor: &Actor,
    referral_id: i64,
    to_referrer_id: i64,
    reason: &str,
) -> Result<CreditMove, ServiceError> {
    actor.require(Role::Admin)?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(ServiceError::field(
            "reason",
            "请填写原因（最多 200 字） / give a reason (at most 200 characters)",
        ));
    }
    let target = crate::db::referrers::get(pool, actor.account_id, to_referrer_id)
        .await?
        .ok_or_else(|| {
            ServiceError::field("to_referrer_id", "没有这位推荐人 / no such referrer")
        })?;
    if target.archived_at.is_some() {
        return Err(ServiceError::field(
            "to_referrer_id",
            "不能转给已归档的推荐人 / an archived referrer gets no credit",
        ));
    }
    let mut tx = pool.begin().await?;
    let locked = store::lock(&mut tx, actor.account_id, referral_id)
        .await?
        .ok_or(ServiceError::NotFound("referral"))?;
    if locked.voided {
        return Err(ServiceError::Conflict {
            code: "voided",
            message: "这条推荐已作废，请先恢复 / the referral is voided: restore it first".into(),
        });
    }
    if locked.referrer_id == to_referrer_id {
        return Err(ServiceError::Conflict {
            code: "same_referrer",
            message: "已经是这位推荐人的推荐 / the credit is already theirs".into(),
        });
    }
    let id = store::move_to(
        &mut tx,
        actor.account_id,
        referral_id,
        locked.referrer_id,
        to_referrer_id,
        reason,
        &actor.audit_name(),
    )
    .await?;
    // The follower's WeChat tag follows the credit.
    crate::db::wechat_tags::want(&mut tx, &[(actor.account_id, referral_id)]).await?;
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        "referral.move",
        referral_id,
        json!({"from": locked.referrer_id, "to": to_referrer_id, "reason": reason}),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(
        account = actor.account_id,
        referral = referral_id,
        from = locked.referrer_id,
        to = to_referrer_id,
        "credit moved"
    );
    history(pool, actor, to_referrer_id)
        .await?
        .into_iter()
        .find(|m| m.id == id)
        .ok_or(ServiceError::NotFound("credit move"))
}

/// The moves to or from a referrer, newest first (staff).
pub async fn history(
    pool: &PgPool,
    actor: &Actor,
    referrer_id: i64,
) -> Result<Vec<CreditMove>, ServiceError> {
    actor.require(Role::Staff)?;
    Ok(
        store::history(pool, actor.account_id, referrer_id, HISTORY_ROWS)
            .await?
            .into_iter()
            .map(|m| CreditMove {
                id: m.id,
                referral_id: m.referral_id,
                openid: m.openid,
                from_referrer_id: m.from_referrer_id,
                from_name: m.from_name,
                to_referrer_id: m.to_referrer_id,
                to_name: m.to_name,
                reason: m.reason,
                actor: m.actor,
                at: local_time(m.created_at),
            })
            .collect(),
    )
}

/// The referrers credit can be moved to from `referrer_id` (admins; others get none).
pub async fn targets(
    pool: &PgPool,
    actor: &Actor,
    referrer_id: i64,
) -> Result<Vec<(i64, String)>, ServiceError> {
    if !actor.role.allows(Role::Admin) {
        return Ok(Vec::new());
    }
    Ok(store::targets(pool, actor.account_id, TARGET_ROWS)
        .await?
        .into_iter()
        .filter(|(id, _)| *id != referrer_id)
        .collect())
}
