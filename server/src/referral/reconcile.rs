//! Reconciliation: what WeChat says the account's followers are, against what we recorded.
//!
//! A run pages through `user/get` (10,000 openids a call), looks up with
//! `user/info/batchget` (100 a call) every listed follower we do not know as following, and
//! records the follows we never saw: through one of our codes (`qr_scene_str`, or `qr_scene`
//! for integer scenes) by the same first-touch rules as a callback, with the follow time from
//! `subscribe_time`, no greeting and the referrer's notice only when asked for; a follower we
//! knew who followed again is recorded as following. Then every follower we count as
//! following whom WeChat did not list is marked as unfollowed ("lost"). Each step commits its
//! cursor with what it wrote, and the event of a recovered follow has a de-duplication key of
//! its own, so a run resumes after a crash and a second run changes nothing.
//!
//! Runs are driven by whichever process holds their lease: the server's reconciler (started
//! from the dashboard, the REST API, or nightly for live accounts) or `tuijian reconcile`.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use app::model::Role;
use app::reconcile::{REPORT_ROWS, ReconcileChange, ReconcileData, ReconcileRun};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio::sync::{Notify, watch};

use crate::accounts::Accounts;
use crate::db::attribution::{self as attribution_store, FactsAsk, FollowWrites};
use crate::db::events::NewEvent;
use crate::db::jobs::{UserInfoRow, save_user_infos};
use crate::db::reconcile::{self as store, ChangeRow, NewChange, RunRow};
use crate::referral::actor::Actor;
use crate::referral::attribution::{CodeFacts, Decision, decide_follow};
use crate::referral::binding;
use crate::referral::error::ServiceError;
use crate::referral::jobs::JobKind;
use crate::referral::period::local_time;
use crate::wechat::api::WechatApi;
use crate::wechat::client::{ApiError, UserInfo};

/// How long a driver holds a run between two steps before another process may take it over.
pub const LEASE_SECS: i64 = 60;
/// Openids looked up per `user/info/batchget` (WeChat's maximum).
const CHECK_BATCH: i64 = 100;
/// The pause between two WeChat calls of a run: at most five calls a second, far inside
/// WeChat's quotas (`user/get` 500 a day for 5,000,000 followers; user/info 5,000,000 a day).
const CALL_PAUSE: Duration = Duration::from_millis(200);
/// Tries of one step against a transient WeChat error before the run stops as failed.
const STEP_TRIES: u32 = 4;
/// How often the server looks for due nightly runs and runs nobody drives.
const POLL: Duration = Duration::from_secs(15);

/// Wakes this process's reconcilers when a run was started or resumed, so it begins at once
/// (without it, within [`POLL`]).
static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Starts a run for the actor's account (managers and admins); a conflict when one is active.
pub async fn start(pool: &PgPool, actor: &Actor, notify: bool) -> Result<RunRow, ServiceError> {
    actor.require(Role::Manager)?;
    let run = store::create(pool, actor.account_id, &actor.audit_name(), notify)
        .await?
        .ok_or_else(|| ServiceError::Conflict {
            code: "reconcile_running",
            message: "对账正在进行 / a reconciliation is already running".into(),
        })?;
    WAKE.notify_waiters();
    Ok(run)
}

/// Continues a failed run from where it stopped.
pub async fn resume(pool: &PgPool, actor: &Actor, id: i64) -> Result<RunRow, ServiceError> {
    actor.require(Role::Manager)?;
    let run = store::get(pool, actor.account_id, id)
        .await?
        .ok_or(ServiceError::NotFound("reconciliation"))?;
    if run.status != "failed" {
        return Err(ServiceError::Conflict {
            code: "reconcile_not_failed",
            message: "只能继续失败的对账 / only a failed run can be resumed".into(),
        });
    }
    let run = store::resume(pool, actor.account_id, id)
        .await?
        .ok_or_else(|| ServiceError::Conflict {
            code: "reconcile_running",
            message: "另一个对账正在进行 / another reconciliation is running".into(),
        })?;
    WAKE.notify_waiters();
    Ok(run)
}

/// Stops an active or failed run; what it recorded stays.
pub async fn cancel(pool: &PgPool, actor: &Actor, id: i64) -> Result<(), ServiceError> {
    actor.require(Role::Manager)?;
    if store::cancel(pool, actor.account_id, id).await? {
        Ok(())
    } else {
        Err(ServiceError::NotFound("reconciliation"))
    }
}

/// Sets the nightly run's hour (Beijing time) or turns it off (admins).
pub async fn set_schedule(
    pool: &PgPool,
    actor: &Actor,
    hour: Option<u8>,
) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    if hour.is_some_and(|h| h > 23) {
        return Err(ServiceError::field(
            "hour",
            "0–23 点 / an hour from 0 to 23",
        ));
    }
    store::set_schedule_hour(pool, actor.account_id, hour.map(i16::from)).await?;
    Ok(())
}

/// The reconciliation page: the latest runs and the newest one's report.
pub async fn overview(pool: &PgPool, actor: &Actor) -> Result<ReconcileData, ServiceError> {
    actor.require(Role::Manager)?;
    let runs = store::recent(pool, actor.account_id, 10).await?;
    let changes = match runs.first() {
        Some(run) => store::changes(pool, actor.account_id, run.id, REPORT_ROWS as i64).await?,
        None => Vec::new(),
    };
    let live = crate::db::accounts::get(pool, actor.account_id)
        .await?
        .is_some_and(|a| a.mode == "live");
    Ok(ReconcileData {
        runs: runs.into_iter().map(view).collect(),
        changes: changes.into_iter().map(change_view).collect(),
        schedule_hour: store::schedule_hour(pool, actor.account_id)
            .await?
            .and_then(|h| u8::try_from(h).ok()),
        live,
        can_run: true,
        can_schedule: actor.role.allows(Role::Admin),
    })
}

/// One run as the dashboard shows it.
pub fn view(r: RunRow) -> ReconcileRun {
    ReconcileRun {
        id: r.id,
        started_by: r.started_by,
        notify: r.notify,
        phase: r.phase,
        status: r.status,
        wechat_total: r.wechat_total,
        listed: r.listed,
        to_check: r.to_check,
        checked: r.checked,
        recovered: r.recovered,
        recorded: r.recorded,
        unattributed: r.unattributed,
        lost: r.lost,
        api_calls: r.api_calls,
        error: r.error,
        created_at: local_time(r.created_at),
        finished_at: r.finished_at.map(local_time),
    }
}

fn change_view(c: ChangeRow) -> ReconcileChange {
    ReconcileChange {
        openid: c.openid,
        change: c.change,
        referrer_id: c.referrer_id,
        referrer_name: c.referrer_name,
        scene: c.scene,
        at: local_time(c.at),
    }
}

/// Why a step did not advance its run.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// WeChat refused for good (or kept failing): the run stops as failed with this message.
    #[error("{0}")]
    Refused(String),
    /// WeChat is busy or unreachable: the step is tried again, a few times.
    #[error("{0}")]
    Transient(String),
    /// The database is away: the run stays active and its lease lapses, to be taken again.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Drives reconciliation runs against each account's WeChat API.
#[derive(Clone)]
pub struct Reconciler {
    pub pool: PgPool,
    pub accounts: Arc<Accounts>,
}

impl Reconciler {
    /// The server's loop: starts due nightly runs and drives active runs nobody drives, until
    /// `shutdown` turns true (a run being driven then gives its lease back, to resume later).
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = store::start_scheduled(&self.pool, Utc::now()).await {
                tracing::warn!(error = %e, "cannot start the nightly reconciliations");
            }
            match store::claim(&self.pool, None, None, LEASE_SECS).await {
                Ok(Some(run)) => {
                    self.drive(run, Some(&mut shutdown), |_| {}).await;
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "reconciler cannot reach the database"),
            }
            tokio::select! {
                _ = shutdown.changed() => {},
                () = WAKE.notified() => {},
                () = tokio::time::sleep(POLL) => {},
            }
        }
    }

    /// Drives a claimed run step by step until it is no longer active (done, failed or
    /// cancelled), the database goes away, or `shutdown` turns true; `progress` sees the run
    /// after each step. Returns the run as last read.
    pub async fn drive(
        &self,
        mut run: RunRow,
        mut shutdown: Option<&mut watch::Receiver<bool>>,
        mut progress: impl FnMut(&RunRow),
    ) -> RunRow {
        tracing::info!(
            run = run.id,
            account = run.account_id,
            "reconciliation running"
        );
        loop {
            if shutdown.as_ref().is_some_and(|s| *s.borrow()) {
                let _ = store::release(&self.pool, run.id).await;
                return run;
            }
            match self.step_with_retries(&run).await {
                Ok(()) => {}
                Err(StepError::Refused(message) | StepError::Transient(message)) => {
                    tracing::warn!(run = run.id, error = %message, "reconciliation stopped");
                    if let Err(e) = store::fail(&self.pool, run.id, &message).await {
                        tracing::warn!(error = %e, "cannot mark the reconciliation failed");
                    }
                }
                Err(StepError::Database(e)) => {
                    tracing::warn!(run = run.id, error = %e, "reconciliation paused: database");
                    return run;
                }
            }
            match store::renew(&self.pool, run.id, LEASE_SECS).await {
                Ok(Some(next)) => run = next,
                Ok(None) => {
                    if let Ok(Some(last)) = store::get(&self.pool, run.account_id, run.id).await {
                        run = last;
                    }
                    progress(&run);
                    tracing::info!(run = run.id, status = %run.status, "reconciliation ended");
                    return run;
                }
                Err(e) => {
                    tracing::warn!(run = run.id, error = %e, "reconciliation paused: database");
                    return run;
                }
            }
            progress(&run);
            let pause = tokio::time::sleep(CALL_PAUSE);
            match shutdown.as_deref_mut() {
                Some(s) => {
                    tokio::select! {
                        _ = s.changed() => {},
                        () = pause => {},
                    }
                }
                None => pause.await,
            }
        }
    }

    /// One step, tried again after a transient WeChat error (1 s, 2 s, 4 s).
    async fn step_with_retries(&self, run: &RunRow) -> Result<(), StepError> {
        let mut tries = 0;
        loop {
            tries += 1;
            match self.step(run).await {
                Err(StepError::Transient(_)) if tries < STEP_TRIES => {
                    tokio::time::sleep(Duration::from_secs(1 << (tries - 1))).await;
                    let _ = store::renew(&self.pool, run.id, LEASE_SECS).await;
                }
                Err(StepError::Transient(message)) => return Err(StepError::Refused(message)),
                other => return other,
            }
        }
    }

    /// Advances a run by one step: one page of `user/get`, one batch of lookups, or marking
    /// the lost and finishing. Each step commits its cursor with what it wrote.
    pub async fn step(&self, run: &RunRow) -> Result<(), StepError> {
        let api = self
            .accounts
            .api(run.account_id)
            .await
            .map_err(|e| StepError::Refused(format!("account: {e}")))?;
        match run.phase.as_str() {
            "list" => self.list_page(&api, run).await,
            "check" => self.check_batch(&api, run).await,
            _ => {
                let lost = store::finish_with_lost(&self.pool, run).await?;
                tracing::info!(
                    run = run.id,
                    lost,
                    recovered = run.recovered,
                    "reconciliation done"
                );
                Ok(())
            }
        }
    }

    async fn list_page(&self, api: &WechatApi, run: &RunRow) -> Result<(), StepError> {
        let cursor = (!run.cursor.is_empty()).then_some(run.cursor.as_str());
        let page = api.user_list(cursor).await.map_err(refused)?;
        let openids = page.data.map(|d| d.openid).unwrap_or_default();
        // The list ends with an empty next_openid or an empty page (WeChat answers the last
        // openid as next_openid and then an empty page); a cursor that does not move ends it
        // too.
        let next = if openids.is_empty() || page.next_openid == run.cursor {
            String::new()
        } else {
            page.next_openid
        };
        let mut tx = self.pool.begin().await?;
        if !store::lock_at(&mut tx, run).await? {
            return Ok(());
        }
        store::add_listed(&mut tx, run, &openids, &next, page.total).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn check_batch(&self, api: &WechatApi, run: &RunRow) -> Result<(), StepError> {
        let openids = store::next_to_check(&self.pool, run, CHECK_BATCH).await?;
        let Some(last) = openids.last().cloned() else {
            store::to_lost_phase(&self.pool, run.id).await?;
            return Ok(());
        };
        let infos = look_up(api, &openids).await?;
        let following: Vec<&UserInfo> = infos.iter().filter(|i| i.subscribe == 1).collect();
        let mut tx = self.pool.begin().await?;
        // The step is taken once: a driver that read the run before another one took this
        // step writes nothing.
        if !store::lock_at(&mut tx, run).await? {
            return Ok(());
        }
        let known: HashMap<String, store::Known> = store::known(&mut tx, run.account_id, &openids)
            .await?
            .into_iter()
            .map(|k| (k.openid.clone(), k))
            .collect();
        // The follows to record: unknown followers through one of our codes, and known ones
        // following again since we last saw them.
        let mut candidates: Vec<Candidate<'_>> = Vec::new();
        for info in following {
            let subscribe_time = info
                .subscribe_time
                .unwrap_or_else(|| Utc::now().timestamp());
            let mut at = DateTime::from_timestamp(subscribe_time, 0).unwrap_or_else(Utc::now);
            if let Some(k) = known.get(&info.openid) {
                if k.subscribed {
                    // A callback arrived meanwhile.
                    continue;
                }
                // WeChat says they follow now, so this follow came after the unfollow we
                // recorded, even within the same second.
                if let Some(unfollowed) = k.unfollowed_at.filter(|&u| u >= at) {
                    at = unfollowed + chrono::Duration::seconds(1);
                }
            }
            candidates.push(Candidate {
                info,
                at,
                scene: scene_of(info),
                known: known.contains_key(&info.openid),
                dedup_key: format!("r\u{1f}{}\u{1f}{subscribe_time}", info.openid),
                payload: serde_json::to_string(info).unwrap_or_default(),
            });
        }
        let asks: Vec<FactsAsk<'_>> = candidates
            .iter()
            .map(|c| FactsAsk {
                account_id: run.account_id,
                openid: &c.info.openid,
                scene: c.scene.as_deref(),
            })
            .collect();
        let facts = attribution_store::follow_facts(&mut tx, &asks).await?;
        let mut unattributed = 0i64;
        let mut chosen: Vec<Chosen<'_>> = Vec::new();
        for (candidate, facts) in candidates.iter().zip(&facts) {
            let code = facts.code.as_ref().map(|c| &c.0);
            if code.is_none() && !candidate.known {
                // A follow through none of our codes (search, an article, another QR code).
                unattributed += 1;
                continue;
            }
            let decision = candidate.scene.as_ref().map(|_| {
                decide_follow(
                    code.map(|c| CodeFacts {
                        expires_at: c.expires_at,
                        referrer_openid: c.referrer_openid.clone(),
                    })
                    .as_ref(),
                    &candidate.info.openid,
                    facts.referred,
                    candidate.at,
                )
            });
            chosen.push(Chosen {
                candidate,
                code: code.map(|c| (c.id, c.referrer_id)),
                decision,
            });
        }
        let events: Vec<NewEvent<'_>> = chosen
            .iter()
            .map(
                |Chosen {
                     candidate: c, code, ..
                 }| NewEvent {
                    account_id: run.account_id,
                    dedup_key: &c.dedup_key,
                    kind: "recovered",
                    openid: &c.info.openid,
                    sent_at: c.at,
                    event_key: code.and(c.scene.as_deref()),
                    payload: &c.payload,
                },
            )
            .collect();
        let writes: Vec<FollowWrites<'_>> = chosen
            .iter()
            .zip(&events)
            .map(
                |(
                    Chosen {
                        candidate: c,
                        code,
                        decision,
                    },
                    event,
                )| FollowWrites {
                    event,
                    scene: code.and(c.scene.as_deref()),
                    code: *code,
                    credit: *decision == Some(Decision::Credit),
                    flag: match decision {
                        Some(Decision::NoCredit(flag)) => Some(flag.as_str()),
                        _ => None,
                    },
                    reply: None,
                },
            )
            .collect();
        let job = run.notify.then_some(JobKind::FollowUp.as_str());
        let recorded = if writes.is_empty() {
            Vec::new()
        } else {
            attribution_store::record_follows(&mut tx, &writes, job).await?
        };
        let mut changes = Vec::new();
        let mut referral_ids = Vec::new();
        let mut profiles = Vec::new();
        for (
            (
                Chosen {
                    candidate: c, code, ..
                },
                written,
            ),
            write,
        ) in chosen.iter().zip(&recorded).zip(&writes)
        {
            // None: this very follow was recovered before (a step redone after a crash).
            let Some(written) = written else { continue };
            let credited = written.referral_id.is_some();
            referral_ids.extend(written.referral_id);
            changes.push(NewChange {
                openid: &c.info.openid,
                change: if credited { "recovered" } else { "recorded" },
                referrer_id: if credited { code.map(|c| c.1) } else { None },
                scene: write.scene,
                at: c.at,
            });
            profiles.push(UserInfoRow {
                account_id: run.account_id,
                follower_id: written.follower_id,
                unionid: c.info.unionid.as_deref(),
                subscribe_scene: c.info.subscribe_scene.as_deref(),
                qr_scene_str: c.scene.as_deref(),
            });
        }
        store::checked(
            &mut tx,
            run,
            &changes,
            &referral_ids,
            openids.len(),
            unattributed,
            &last,
        )
        .await?;
        tx.commit().await?;
        // What batchget said is kept like a follow-up's user/info (after the commit: a
        // failure here loses nothing of the run).
        if let Err(e) = save_user_infos(&self.pool, &profiles).await {
            tracing::warn!(error = %e, "cannot store recovered followers' details");
        }
        Ok(())
    }
}

/// A follow to record, with its code (id, referrer) and the rules' decision.
struct Chosen<'a> {
    candidate: &'a Candidate<'a>,
    code: Option<(i64, i64)>,
    decision: Option<Decision>,
}

/// A listed follower whose follow may be recorded.
struct Candidate<'a> {
    info: &'a UserInfo,
    at: DateTime<Utc>,
    scene: Option<String>,
    known: bool,
    dedup_key: String,
    payload: String,
}

/// The developer scene a follower came through: `qr_scene_str`, or the integer `qr_scene`
/// as our codes store it; binding codes are nobody's referral.
pub fn scene_of(info: &UserInfo) -> Option<String> {
    let scene = match info.qr_scene_str.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => s.to_owned(),
        None => info.qr_scene.filter(|&n| n != 0)?.to_string(),
    };
    binding::token_of(&scene).is_none().then_some(scene)
}

/// `user/info/batchget` for the openids; when WeChat refuses the batch (one bad openid spoils
/// it), one `user/info` each, an unknown openid counting as not following.
async fn look_up(api: &WechatApi, openids: &[String]) -> Result<Vec<UserInfo>, StepError> {
    match api.user_info_batch(openids).await {
        Ok(list) => Ok(list),
        Err(e) if e.is_transient() => Err(refused(e)),
        Err(e) => {
            tracing::info!(error = %e, "batchget refused; looking followers up one by one");
            let mut list = Vec::with_capacity(openids.len());
            for openid in openids {
                match api.user_info(openid, false).await {
                    Ok(info) => list.push(info),
                    Err(ApiError::Api { errcode: 40003, .. }) => {}
                    Err(e) => return Err(refused(e)),
                }
            }
            Ok(list)
        }
    }
}

fn refused(e: ApiError) -> StepError {
    match e.errcode() {
        Some(45009) => StepError::Refused(format!(
            "{e} — 今日接口调用次数已用完，明天继续 / WeChat's daily quota is used up: resume tomorrow"
        )),
        _ if e.is_transient() => StepError::Transient(e.to_string()),
        _ => StepError::Refused(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(scene_str: Option<&str>, scene: Option<i64>) -> UserInfo {
        UserInfo {
            subscribe: 1,
            openid: "o".into(),
            qr_scene_str: scene_str.map(str::to_owned),
            qr_scene: scene,
            ..UserInfo::default()
        }
    }

    #[test]
    fn scenes_come_from_the_string_or_the_integer() {
        assert_eq!(
            scene_of(&info(Some("abc"), Some(0))).as_deref(),
            Some("abc")
        );
        assert_eq!(scene_of(&info(Some(""), Some(123))).as_deref(), Some("123"));
        assert_eq!(scene_of(&info(None, Some(7))).as_deref(), Some("7"));
        assert_eq!(scene_of(&info(Some(""), Some(0))), None);
        assert_eq!(scene_of(&info(None, None)), None);
        assert_eq!(
            scene_of(&info(Some("bind_xyz"), None)),
            None,
            "binding codes"
        );
    }
}
