//! The background worker over the outbox: the slow work that follows a reply (the follower's
//! `user/info`, telling the referrer). Jobs are claimed with `for update skip locked` and a
//! lease, so several instances share the work and a crashed worker's jobs come back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{Duration as ChronoDuration, Utc};
use futures_util::future::join_all;
use serde_json::json;
use sqlx::PgPool;
use tokio::sync::{Notify, watch};

use crate::accounts::{AccountError, Accounts};
use crate::db::jobs::{self as store, Attempt, Notification, NotifyContext};
use crate::db::outbox;
use crate::referral::error::ServiceError;
use crate::referral::ingest::Follows;
use crate::referral::jobs::Claimed;
use crate::referral::jobs::{self as job, FollowUp, Job, WebhookDelivery, WechatTags};
use crate::referral::members::{FollowUpError, MemberContext};
use crate::referral::notices::{self, AfterFailure, Channel};
use crate::referral::wechat_tags::{self, Synced};
use crate::wechat::api::WechatApi;
use crate::wechat::client::{ApiError, TemplateMessage, UserInfo};
use app::notice::{NoticeValues, template_data};

/// Attempts before a transiently failing job is given up.
pub const MAX_ATTEMPTS: i32 = 8;
/// How long a claimed job is reserved for its worker: a batch's worst case (a 10 s
/// `user/info/batchget`, then two rounds of notices, each trying two channels at up to 10 s)
/// stays well inside it, so no other instance takes a job back while it is still running.
const LEASE_SECS: i64 = 120;
/// Jobs claimed at once. A batch's follow-ups take one `user/info/batchget` (at most 100
/// openids) and at most `BATCH / NOTICES_AT_ONCE` rounds of notices, each call bounded by the
/// client's 10 s timeout, which keeps a batch inside its lease even when WeChat is slow. Under
/// a burst of follows, bigger batches mean fewer statements and commits per job, so the
/// worker takes less of the database from the callbacks.
const BATCH: i64 = 50;
/// Referrer notices sent concurrently within a batch.
const NOTICES_AT_ONCE: usize = 25;
/// Webhook deliveries sent concurrently within a batch (each at most 10 s, so a batch's
/// deliveries stay well inside the lease).
const WEBHOOKS_AT_ONCE: usize = 25;
/// Idle polling interval (new work also wakes the worker at once).
const IDLE: Duration = Duration::from_millis(500);
/// While follows are being written, the worker waits this long between batches: callbacks
/// have WeChat's 5-second window, follow-ups do not (they catch up when the burst is over).
const GIVE_WAY: Duration = Duration::from_millis(100);
/// How often the worker folds pending roll-up deltas into the report roll-ups. Reports fold
/// before they read, so this only keeps the backlog small; a fold of a few seconds' deltas
/// updates each busy referrer's rows once instead of once a second.
const FOLD_EVERY: Duration = Duration::from_secs(5);

/// What a job run came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Done,
    Retry { errcode: Option<i64>, error: String },
    Failed { errcode: Option<i64>, error: String },
}

/// Backoff after the n-th attempt: 5 s, 10 s, 20 s … capped at one hour.
pub fn backoff(attempts: i32) -> ChronoDuration {
    let exp = attempts.clamp(1, 20) - 1;
    ChronoDuration::seconds((5i64 << exp).min(3600))
}

/// A job whose account cannot be used: retried while the database is away, failed when the
/// account is gone or misconfigured.
fn account_outcome(e: &AccountError) -> Outcome {
    match e {
        AccountError::Database(_) => Outcome::Retry {
            errcode: None,
            error: e.to_string(),
        },
        _ => Outcome::Failed {
            errcode: None,
            error: e.to_string(),
        },
    }
}

fn classify(e: &ApiError) -> Outcome {
    if e.is_transient() {
        Outcome::Retry {
            errcode: e.errcode(),
            error: e.to_string(),
        }
    } else {
        Outcome::Failed {
            errcode: e.errcode(),
            error: e.to_string(),
        }
    }
}

/// The worker's dependencies.
#[derive(Clone)]
pub struct Worker {
    pub pool: PgPool,
    /// Every account's WeChat API (each job goes to its own account's).
    pub accounts: Arc<Accounts>,
    pub wake: Arc<Notify>,
    pub members: MemberContext,
    /// The follow writers, which go first.
    pub follows: Follows,
    /// Sends webhook deliveries.
    pub webhooks: crate::webhooks::Deliverer,
}

impl Worker {
    /// Runs until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        tracing::info!("outbox worker started");
        let mut folded = tokio::time::Instant::now();
        loop {
            if *shutdown.borrow() {
                break;
            }
            if folded.elapsed() >= FOLD_EVERY {
                folded = tokio::time::Instant::now();
                if let Err(e) = crate::db::stats::fold(&self.pool).await {
                    tracing::warn!(error = %e, "cannot fold report roll-ups");
                }
                if let Err(e) = self.requeue_reopened().await {
                    tracing::warn!(error = %e, "cannot queue kept notices");
                }
            }
            let worked = match self.run_due().await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "outbox worker cannot reach the database");
                    false
                }
            };
            if worked {
                if self.follows.busy() {
                    // New jobs keep waking the worker during a burst; it waits anyway.
                    tokio::select! {
                        _ = shutdown.changed() => {},
                        () = tokio::time::sleep(GIVE_WAY) => {},
                    }
                }
                continue;
            }
            tokio::select! {
                _ = shutdown.changed() => {},
                () = self.wake.notified() => {},
                () = tokio::time::sleep(IDLE) => {},
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// Claims and runs the jobs due now; returns how many ran.
    pub async fn run_due(&self) -> sqlx::Result<usize> {
        let jobs = crate::referral::jobs::claim_due(&self.pool, BATCH, LEASE_SECS).await?;
        let mut follow_ups = Vec::new();
        let mut notices = Vec::new();
        let mut hooks = Vec::new();
        let mut tags = Vec::new();
        let mut others = Vec::new();
        for claimed in &jobs {
            match &claimed.job {
                Ok(Job::FollowUp(follow_up)) => follow_ups.push((claimed, follow_up)),
                Ok(Job::NotifyReferrer(notify)) => notices.push((claimed, notify.referral_id)),
                Ok(Job::Webhook(delivery)) => hooks.push((claimed, delivery)),
                Ok(Job::WechatTags(t)) => tags.push((claimed, t)),
                _ => others.push(claimed),
            }
        }
        // Webhook receivers are not WeChat: their deliveries go alongside the follow-ups.
        let (mut outcomes, delivered) =
            tokio::join!(self.follow_ups(&follow_ups), self.deliver_all(&hooks));
        outcomes.extend(delivered);
        // Tag changes together: one call per tag and 50 followers.
        outcomes.extend(self.tag_all(&tags).await);
        // Kept notices sent again: together, a few at a time, like the follow-ups' notices.
        let referrals: Vec<Option<(i64, i64)>> = notices
            .iter()
            .map(|(job, referral_id)| Some((job.account_id, *referral_id)))
            .collect();
        let told = self.notify_all(&referrals).await;
        outcomes.extend(notices.iter().map(|(job, _)| *job).zip(told));
        for job in others {
            outcomes.push((job, self.run_job(job).await));
        }
        // Finished jobs are marked done together (one durable write per batch); a crash
        // before that only means they run again when their lease ends.
        let mut done = Vec::with_capacity(jobs.len());
        for (job, outcome) in outcomes {
            count_outcome(job, &outcome);
            if outcome == Outcome::Done {
                done.push((job.account_id, job.id));
            } else {
                self.settle(job, outcome).await?;
            }
        }
        outbox::complete_all(&self.pool, &done).await?;
        Ok(jobs.len())
    }

    /// Follow-ups of a batch: the followers' `user/info` in one call, then each credited
    /// follow's notice (a few at a time). A transient `user/info` error retries the job before
    /// anyone is told, so a retry never tells a referrer twice; a permanent one still lets the
    /// notice go and is reported as the job's outcome.
    async fn follow_ups<'j>(
        &self,
        jobs: &[(&'j Claimed, &'j FollowUp)],
    ) -> Vec<(&'j Claimed, Outcome)> {
        if jobs.is_empty() {
            return Vec::new();
        }
        // The follows' webhook events first (once per follow however often its job runs): a
        // failure retries the jobs before anyone is told.
        let refs: Vec<crate::db::webhook_events::FollowUpRef> = jobs
            .iter()
            .map(|(job, f)| crate::db::webhook_events::FollowUpRef {
                account_id: job.account_id,
                job_id: job.id,
                follower_id: f.follower_id,
                referral_id: f.referral_id,
            })
            .collect();
        if let Err(e) = crate::db::webhook_events::emit_follow_ups(&self.pool, &refs).await {
            let retry = db_outcome(Err(e));
            return jobs.iter().map(|(job, _)| (*job, retry.clone())).collect();
        }
        // The tags the credited followers are to carry (queued once: a retry changes nothing).
        let credited: Vec<(i64, i64)> = jobs
            .iter()
            .filter_map(|(job, f)| Some((job.account_id, f.referral_id?)))
            .collect();
        if let Err(e) = self.want_tags(&credited).await {
            let retry = db_outcome(Err(e));
            return jobs.iter().map(|(job, _)| (*job, retry.clone())).collect();
        }
        // Friends counted for fission campaigns (once: a retry counts nobody twice); their
        // member hears of it through the campaign's notice instead of the ordinary one.
        let counted = match crate::referral::fission::credit_all(&self.pool, &credited).await {
            Ok(counted) => counted,
            Err(e) => {
                let retry = db_outcome(Err(e));
                return jobs.iter().map(|(job, _)| (*job, retry.clone())).collect();
            }
        };
        if !counted.is_empty() {
            self.wake.notify_one();
        }
        let infos = self.look_up(jobs).await;
        // A follow-up whose lookup asks for a retry tells nobody yet.
        let referrals: Vec<Option<(i64, i64)>> = jobs
            .iter()
            .zip(&infos)
            .map(|((job, follow_up), info)| match info {
                Outcome::Retry { .. } => None,
                _ => Some((job.account_id, follow_up.referral_id?))
                    .filter(|referral| !counted.contains(referral)),
            })
            .collect();
        let notices = self.notify_all(&referrals).await;
        jobs.iter()
            .map(|(job, _)| *job)
            .zip(infos.into_iter().zip(notices))
            .map(|(job, (info, notice))| {
                let outcome = match (info, notice) {
                    (info @ Outcome::Retry { .. }, _) => info,
                    (Outcome::Done, notice) => notice,
                    (info, Outcome::Done) => info,
                    (_, notice) => notice,
                };
                (job, outcome)
            })
            .collect()
    }

    /// Looks the jobs' followers up with one `user/info/batchget` and stores what it says; one
    /// outcome per job. A permanent batch error (one unknown openid fails the whole call)
    /// falls back to one `user/info` per follower.
    async fn look_up(&self, jobs: &[(&Claimed, &FollowUp)]) -> Vec<Outcome> {
        // One batch call per account: openids belong to one Official Account.
        let mut accounts: Vec<i64> = jobs.iter().map(|(j, _)| j.account_id).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let mut outcomes: Vec<Option<Outcome>> = vec![None; jobs.len()];
        for account in accounts {
            let at: Vec<usize> = (0..jobs.len())
                .filter(|&i| jobs[i].0.account_id == account)
                .collect();
            let group: Vec<&FollowUp> = at.iter().map(|&i| jobs[i].1).collect();
            let got = match self.accounts.api(account).await {
                Ok(api) => self.look_up_in(&api, account, &group).await,
                Err(e) => group.iter().map(|_| account_outcome(&e)).collect(),
            };
            for (i, outcome) in at.into_iter().zip(got) {
                outcomes[i] = Some(outcome);
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.unwrap_or_else(bad_payload))
            .collect()
    }

    /// [`Self::look_up`] for the follow-ups of one account.
    async fn look_up_in(
        &self,
        api: &WechatApi,
        account_id: i64,
        jobs: &[&FollowUp],
    ) -> Vec<Outcome> {
        if jobs.is_empty() {
            return Vec::new();
        }
        let openids: Vec<String> = jobs.iter().map(|job| job.openid.clone()).collect();
        let list = match api.user_info_batch(&openids).await {
            Ok(list) => list,
            Err(e) if e.is_transient() => return jobs.iter().map(|_| classify(&e)).collect(),
            Err(e) => {
                tracing::info!(error = %e, "user/info/batchget refused; looking followers up one by one");
                let mut outcomes = Vec::with_capacity(jobs.len());
                for job in jobs {
                    outcomes.push(
                        self.user_info(
                            api,
                            account_id,
                            &job.openid,
                            job.follower_id,
                            job.referral_id,
                        )
                        .await,
                    );
                }
                return outcomes;
            }
        };
        let by_openid: HashMap<&str, &UserInfo> = list
            .iter()
            .map(|info| (info.openid.as_str(), info))
            .collect();
        let found: Vec<Option<&UserInfo>> = jobs
            .iter()
            .map(|job| by_openid.get(job.openid.as_str()).copied())
            .collect();
        let rows: Vec<store::UserInfoRow<'_>> = jobs
            .iter()
            .zip(&found)
            .filter_map(|(job, info)| Some(profile(account_id, job.follower_id, (*info)?)))
            .collect();
        let mut saved = db_outcome(store::save_user_infos(&self.pool, &rows).await);
        if saved == Outcome::Done {
            let scenes: Vec<(i64, String, Option<String>)> = jobs
                .iter()
                .zip(&found)
                .filter_map(|(job, info)| reported_scene(job.referral_id?, (*info)?))
                .collect();
            saved = db_outcome(flag_mismatches(&self.pool, account_id, &scenes).await);
        }
        found
            .iter()
            .map(|found| match found {
                None => Outcome::Failed {
                    errcode: None,
                    error: "user/info/batchget did not return this follower".into(),
                },
                Some(_) => saved.clone(),
            })
            .collect()
    }

    async fn want_tags(&self, referrals: &[(i64, i64)]) -> sqlx::Result<()> {
        if referrals.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await?;
        if crate::db::wechat_tags::want(&mut conn, referrals).await? > 0 {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// A batch's tag jobs, by account (one outcome each): WeChat is told of every pending
    /// change of their followers together.
    async fn tag_all<'j>(
        &self,
        jobs: &[(&'j Claimed, &'j WechatTags)],
    ) -> Vec<(&'j Claimed, Outcome)> {
        let mut accounts: Vec<i64> = jobs.iter().map(|(j, _)| j.account_id).collect();
        accounts.sort_unstable();
        accounts.dedup();
        let mut outcomes = Vec::with_capacity(jobs.len());
        for account in accounts {
            let mine: Vec<&(&Claimed, &WechatTags)> = jobs
                .iter()
                .filter(|(j, _)| j.account_id == account)
                .collect();
            let followers: Vec<i64> = mine.iter().map(|(_, t)| t.follower_id).collect();
            let last: HashMap<i64, bool> = mine
                .iter()
                .map(|(j, t)| (t.follower_id, retry_wait(j).is_none()))
                .collect();
            let last_try = |follower: i64| last.get(&follower).copied().unwrap_or(true);
            let synced = match self.accounts.api(account).await {
                Ok(api) => {
                    wechat_tags::sync(&self.pool, &api, account, &followers, &last_try).await
                }
                Err(e) => {
                    let outcome = account_outcome(&e);
                    outcomes.extend(mine.iter().map(|(j, _)| (*j, outcome.clone())));
                    continue;
                }
            };
            for (job, t) in mine {
                let outcome = match &synced {
                    Err(e) => Outcome::Retry {
                        errcode: None,
                        error: format!("database: {e}"),
                    },
                    Ok(map) => match map.get(&t.follower_id) {
                        None | Some(Synced::Done) => Outcome::Done,
                        Some(Synced::Refused { errcode, error }) => Outcome::Failed {
                            errcode: *errcode,
                            error: error.clone(),
                        },
                        Some(Synced::Retry { errcode, error }) => Outcome::Retry {
                            errcode: *errcode,
                            error: error.clone(),
                        },
                    },
                };
                outcomes.push((*job, outcome));
            }
        }
        outcomes
    }

    /// Delivers a batch's webhook jobs, a few at a time; one outcome each.
    async fn deliver_all<'j>(
        &self,
        jobs: &[(&'j Claimed, &'j WebhookDelivery)],
    ) -> Vec<(&'j Claimed, Outcome)> {
        let mut outcomes = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(WEBHOOKS_AT_ONCE) {
            let round = chunk.iter().map(|(job, d)| self.webhook(job, d));
            let done = join_all(round).await;
            outcomes.extend(chunk.iter().map(|(job, _)| *job).zip(done));
        }
        outcomes
    }

    async fn webhook(&self, job: &Claimed, delivery: &WebhookDelivery) -> Outcome {
        use crate::webhooks::Delivered;
        match self
            .webhooks
            .deliver(job.account_id, job.attempts, delivery)
            .await
        {
            Delivered::Done => Outcome::Done,
            Delivered::Retry(error) => Outcome::Retry {
                errcode: None,
                error,
            },
            Delivered::Failed(error) => Outcome::Failed {
                errcode: None,
                error,
            },
        }
    }

    async fn settle(&self, job: &Claimed, outcome: Outcome) -> sqlx::Result<()> {
        match outcome {
            Outcome::Done => outbox::complete(&self.pool, job.account_id, job.id).await,
            Outcome::Retry { errcode, error } if retry_wait(job).is_some() => {
                let wait = retry_wait(job).unwrap_or_else(|| backoff(job.attempts));
                let at = Utc::now() + wait;
                tracing::info!(job = job.id, kind = %job.kind, ?errcode, "job will be retried");
                outbox::retry_at(&self.pool, job.account_id, job.id, at, errcode, &error).await
            }
            Outcome::Retry { errcode, error } | Outcome::Failed { errcode, error } => {
                tracing::warn!(job = job.id, kind = %job.kind, ?errcode, "job failed for good");
                self.notice_failed_for_good(job).await;
                outbox::fail(&self.pool, job.account_id, job.id, errcode, &error).await
            }
        }
    }

    /// A referrer's notice that a job gives up on: `notification.failed` to the webhooks
    /// (when the recorded notice did not go out).
    async fn notice_failed_for_good(&self, job: &Claimed) {
        let referral_id = match &job.job {
            Ok(Job::FollowUp(f)) => f.referral_id,
            Ok(Job::NotifyReferrer(n)) => Some(n.referral_id),
            _ => None,
        };
        let Some(referral_id) = referral_id else {
            return;
        };
        let failed = [(job.account_id, referral_id)];
        if let Err(e) = crate::db::webhook_events::emit_failed_notices(&self.pool, &failed).await {
            tracing::warn!(error = %e, "cannot emit notification.failed");
        }
    }

    async fn run_job(&self, job: &Claimed) -> Outcome {
        let account_id = job.account_id;
        match &job.job {
            // Batched in `follow_ups`; a single one runs as a batch of one.
            Ok(Job::FollowUp(follow_up)) => {
                let mut outcomes = self.follow_ups(&[(job, follow_up)]).await;
                outcomes
                    .pop()
                    .map_or_else(bad_payload, |(_, outcome)| outcome)
            }
            Ok(Job::UserInfo(job::UserInfo {
                openid,
                follower_id,
            })) => match self.accounts.api(account_id).await {
                Ok(api) => {
                    self.user_info(&api, account_id, openid, *follower_id, None)
                        .await
                }
                Err(e) => account_outcome(&e),
            },
            Ok(Job::NotifyReferrer(notify)) => self.notify(account_id, notify.referral_id).await,
            Ok(Job::MemberCode(code)) => self.member_code(account_id, code).await,
            Ok(Job::CampaignNotice(n)) => self.campaign_notice(account_id, n.notice_id).await,
            Ok(Job::Webhook(delivery)) => self.webhook(job, delivery).await,
            Ok(Job::WechatTags(t)) => self
                .tag_all(&[(job, t)])
                .await
                .pop()
                .map_or_else(bad_payload, |(_, outcome)| outcome),
            // An unknown kind or a payload this version cannot read.
            Err(e) => Outcome::Failed {
                errcode: None,
                error: e.to_string(),
            },
        }
    }

    async fn member_code(&self, account_id: i64, code: &job::MemberCode) -> Outcome {
        match self
            .members
            .follow_up(
                account_id,
                code.event_id,
                code.referrer_id,
                &code.openid,
                code.campaign_id,
            )
            .await
        {
            Ok(()) => Outcome::Done,
            Err(FollowUpError::Api(e)) => classify(&e),
            Err(FollowUpError::Service(ServiceError::Upstream(e))) => Outcome::Retry {
                errcode: None,
                error: e,
            },
            Err(FollowUpError::Database(e)) => db_outcome(Err(e)),
            Err(e) => Outcome::Failed {
                errcode: None,
                error: e.to_string(),
            },
        }
    }

    /// Sends a campaign notice to its member as a customer-service message; how it went is
    /// kept on the notice.
    async fn campaign_notice(&self, account_id: i64, notice_id: i64) -> Outcome {
        use crate::db::campaign_credit as store;
        let notice = match store::notice(&self.pool, account_id, notice_id).await {
            Ok(Some(n)) => n,
            Ok(None) => return bad_payload(),
            Err(e) => return db_outcome(Err(e)),
        };
        if notice.status == "sent" {
            return Outcome::Done;
        }
        let Some(openid) = notice.openid else {
            let why = "the member has no WeChat identity any more";
            let saved =
                store::settle_notice(&self.pool, account_id, notice_id, "failed", None, Some(why));
            return match saved.await {
                Ok(()) => Outcome::Done,
                Err(e) => db_outcome(Err(e)),
            };
        };
        let api = match self.accounts.api(account_id).await {
            Ok(api) => api,
            Err(e) => return account_outcome(&e),
        };
        // Refused (the member's window closed, …): kept, and sent again once the member is
        // back; busy answers retry the job.
        let (status, outcome, refusal) = match api.send_text(&openid, &notice.text).await {
            Ok(()) => ("sent", Outcome::Done, None),
            Err(e) => match classify(&e) {
                retry @ Outcome::Retry { .. } => ("queued", retry, Some(e)),
                _ => ("kept", Outcome::Done, Some(e)),
            },
        };
        let error = refusal.as_ref().map(ToString::to_string);
        let errcode = refusal.as_ref().and_then(ApiError::errcode);
        let saved = store::settle_notice(
            &self.pool,
            account_id,
            notice_id,
            status,
            errcode,
            error.as_deref(),
        );
        match saved.await {
            Ok(()) => outcome,
            Err(e) => db_outcome(Err(e)),
        }
    }

    async fn user_info(
        &self,
        api: &WechatApi,
        account_id: i64,
        openid: &str,
        follower_id: i64,
        referral_id: Option<i64>,
    ) -> Outcome {
        match api.user_info(openid, false).await {
            Ok(info) => {
                let row = profile(account_id, follower_id, &info);
                let scenes: Vec<_> = referral_id
                    .and_then(|id| reported_scene(id, &info))
                    .into_iter()
                    .collect();
                let saved = async {
                    store::save_user_infos(&self.pool, &[row]).await?;
                    flag_mismatches(&self.pool, account_id, &scenes).await
                };
                db_outcome(saved.await)
            }
            Err(e) => classify(&e),
        }
    }

    /// A queued `notify_referrer` job (earlier versions).
    async fn notify(&self, account_id: i64, referral_id: i64) -> Outcome {
        self.notify_all(&[Some((account_id, referral_id))])
            .await
            .pop()
            .unwrap_or_else(bad_payload)
    }

    /// Tells the referrers of these referrals, `(account_id, referral id)` (`None`: nobody
    /// to tell), a few at a time, with one query for their contexts and one write for the
    /// notifications; one outcome per entry.
    async fn notify_all(&self, referrals: &[Option<(i64, i64)>]) -> Vec<Outcome> {
        let ids: Vec<(i64, i64)> = referrals.iter().flatten().copied().collect();
        if ids.is_empty() {
            return referrals.iter().map(|_| Outcome::Done).collect();
        }
        // Read before the contexts: an interaction stored after this reopens a kept notice.
        let decided_at = Utc::now();
        let contexts = match store::notify_contexts(&self.pool, &ids).await {
            Ok(list) => list
                .into_iter()
                .map(|ctx| ((ctx.account_id, ctx.referral_id), ctx))
                .collect::<HashMap<_, _>>(),
            Err(e) => {
                let failed = db_outcome(Err(e));
                return referrals
                    .iter()
                    .map(|r| {
                        if r.is_some() {
                            failed.clone()
                        } else {
                            Outcome::Done
                        }
                    })
                    .collect();
            }
        };
        let mut outcomes = Vec::with_capacity(referrals.len());
        let mut rows = Vec::new();
        let mut attempts = Vec::new();
        for chunk in referrals.chunks(NOTICES_AT_ONCE) {
            let mut round = Vec::with_capacity(chunk.len());
            for referral in chunk {
                let ctx = referral.and_then(|key| contexts.get(&key));
                round.push(self.tell(*referral, ctx, decided_at));
            }
            for (outcome, row, tried) in join_all(round).await {
                if let Some(row) = row {
                    rows.push((outcomes.len(), row));
                }
                attempts.extend(tried);
                outcomes.push(outcome);
            }
        }
        // The attempts happened whatever comes next: logged first.
        if let Err(e) = store::record_attempts(&self.pool, &attempts).await {
            tracing::warn!(error = %e, "cannot log notice attempts");
        }
        let written: Vec<&Notification<'_>> = rows.iter().map(|(_, row)| row).collect();
        if let Err(e) = store::record_notifications(&self.pool, &written).await {
            let failed = db_outcome(Err(e));
            for (i, _) in &rows {
                outcomes[*i] = failed.clone();
            }
            return outcomes;
        }
        // Notices neither channel delivered (kept for later): the webhooks hear of it once.
        let kept: Vec<(i64, i64)> = written
            .iter()
            .filter(|row| row.status == "pending")
            .map(|row| (row.account_id, row.referral_id))
            .collect();
        if let Err(e) = crate::db::webhook_events::emit_failed_notices(&self.pool, &kept).await {
            tracing::warn!(error = %e, "cannot emit notification.failed");
        }
        outcomes
    }

    /// Sends one referral's notice: the channel that should work first (by the referrer's
    /// 48-hour window), the other when it is refused; kept as `pending` when neither delivers
    /// (sent again once the referrer next interacts). Returns the outcome, the notification to
    /// record and every attempt made.
    async fn tell<'c>(
        &self,
        referral: Option<(i64, i64)>,
        ctx: Option<&'c NotifyContext>,
        decided_at: chrono::DateTime<Utc>,
    ) -> (Outcome, Option<Notification<'c>>, Vec<Attempt<'c>>) {
        let Some(ctx) = ctx else {
            let outcome = match referral {
                Some(_) => bad_payload(),
                None => Outcome::Done,
            };
            return (outcome, None, Vec::new());
        };
        let row = |channel, status, errcode, errmsg| Notification {
            account_id: ctx.account_id,
            referral_id: ctx.referral_id,
            referrer_id: ctx.referrer_id,
            channel,
            status,
            errcode,
            errmsg,
            decided_at,
        };
        let attempt = |channel, status, errcode, errmsg| Attempt {
            account_id: ctx.account_id,
            referral_id: ctx.referral_id,
            referrer_id: ctx.referrer_id,
            channel,
            status,
            errcode,
            errmsg,
        };
        let Some(to) = ctx.referrer_openid.as_deref() else {
            // Nobody to tell: the referrer has no bound WeChat identity.
            return (
                Outcome::Done,
                Some(row("none", "skipped", None, None)),
                Vec::new(),
            );
        };
        let api = match self.accounts.api(ctx.account_id).await {
            Ok(api) => api,
            Err(e) => return (account_outcome(&e), None, Vec::new()),
        };
        let template = ctx.template_id.as_deref().filter(|t| !t.is_empty());
        let open = notices::window_open(ctx.last_message, ctx.last_action, decided_at);
        let mut attempts = Vec::new();
        let mut refused = None;
        for channel in notices::channels(open, template.is_some()) {
            let sent = match (channel, template) {
                (Channel::Template, Some(template)) => {
                    let url = ctx
                        .member_token
                        .as_deref()
                        .map(|t| crate::referral::members::page_url(&self.members.public_url, t));
                    send_template(&api, ctx, to, template, url).await
                }
                _ => api.send_text(to, &notice_text(ctx)).await,
            };
            let name = channel.as_str();
            match sent {
                Ok(()) => {
                    attempts.push(attempt(name, "sent", None, None));
                    return (Outcome::Done, Some(row(name, "sent", None, None)), attempts);
                }
                Err(e) => {
                    attempts.push(attempt(name, "failed", e.errcode(), Some(e.to_string())));
                    if notices::after_failure(&e) == AfterFailure::RetryLater {
                        let failed = row(name, "failed", e.errcode(), Some(e.to_string()));
                        return (classify(&e), Some(failed), attempts);
                    }
                    refused = Some((name, e));
                }
            }
        }
        let kept = refused.map(|(name, e)| row(name, "pending", e.errcode(), Some(e.to_string())));
        (Outcome::Done, kept, attempts)
    }

    /// Queues the delivery of the kept notices whose referrer has interacted since (the
    /// window is open again); how many.
    async fn requeue_reopened(&self) -> sqlx::Result<usize> {
        let mut tx = self.pool.begin().await?;
        let due = store::take_reopened(&mut tx).await?;
        for (account_id, referral_id) in &due {
            let notify = Job::NotifyReferrer(job::NotifyReferrer {
                referral_id: *referral_id,
            });
            job::enqueue(&mut tx, *account_id, &notify).await?;
        }
        let campaign = crate::db::campaign_credit::take_reopened(&mut tx).await?;
        for (account_id, notice_id) in &campaign {
            let notice = Job::CampaignNotice(job::CampaignNotice {
                notice_id: *notice_id,
            });
            job::enqueue(&mut tx, *account_id, &notice).await?;
        }
        tx.commit().await?;
        let total = due.len() + campaign.len();
        if total > 0 {
            tracing::info!(
                notices = total,
                "kept notices queued again: their referrers are back"
            );
        }
        Ok(total)
    }
}

/// A referrer's notice as a template message: the account's key mapping filled in, linking to
/// the referrer's personal page when they have one.
async fn send_template(
    api: &WechatApi,
    ctx: &NotifyContext,
    to: &str,
    template: &str,
    url: Option<String>,
) -> Result<(), ApiError> {
    let mapping = crate::referral::settings::template_fields(ctx.template_fields.as_deref());
    let values = NoticeValues {
        referrer: ctx.referrer_name.clone(),
        follower: mask_openid(&ctx.follower_openid),
        time: crate::referral::period::local_time(ctx.followed_at),
        total: ctx.total_referrals,
    };
    let data: serde_json::Map<String, serde_json::Value> = template_data(&mapping, &values)
        .into_iter()
        .map(|(key, value)| (key, json!({ "value": value })))
        .collect();
    let message = TemplateMessage {
        touser: to.to_owned(),
        template_id: template.to_owned(),
        url,
        client_msg_id: Some(format!("referral-{}", ctx.referral_id)),
        data: serde_json::Value::Object(data),
    };
    api.send_template(&message).await.map(|_| ())
}

/// What `user/info` says a credited follow came through, `(referral, subscribe_scene, scene)`:
/// None when the follower no longer follows (WeChat then says nothing of the scene).
fn reported_scene(referral_id: i64, info: &UserInfo) -> Option<(i64, String, Option<String>)> {
    (info.subscribe == 1).then(|| {
        (
            referral_id,
            info.subscribe_scene.clone().unwrap_or_default(),
            crate::referral::reconcile::scene_of(info),
        )
    })
}

/// Flags the credited follows whose code is not the one `user/info` reports (abuse review).
async fn flag_mismatches(
    pool: &sqlx::PgPool,
    account_id: i64,
    scenes: &[(i64, String, Option<String>)],
) -> sqlx::Result<()> {
    let rows: Vec<crate::db::abuse::ReportedScene<'_>> = scenes
        .iter()
        .map(
            |(referral_id, subscribe_scene, scene)| crate::db::abuse::ReportedScene {
                account_id,
                referral_id: *referral_id,
                scene: scene.as_deref(),
                subscribe_scene: Some(subscribe_scene.as_str()),
            },
        )
        .collect();
    crate::db::abuse::flag_scene_mismatches(pool, &rows).await?;
    Ok(())
}

/// What a follower's `user/info` says that we keep.
fn profile(account_id: i64, follower_id: i64, info: &UserInfo) -> store::UserInfoRow<'_> {
    store::UserInfoRow {
        account_id,
        follower_id,
        unionid: info.unionid.as_deref(),
        subscribe_scene: info.subscribe_scene.as_deref(),
        qr_scene_str: info.qr_scene_str.as_deref(),
    }
}

/// How long a job that asks for a retry waits, or None when it has had its attempts: webhook
/// deliveries on their own schedule (24 hours), the rest [`MAX_ATTEMPTS`] with [`backoff`].
fn retry_wait(job: &Claimed) -> Option<ChronoDuration> {
    if job.kind == crate::db::webhooks::JOB_KIND {
        crate::webhooks::retry_after(job.attempts)
    } else {
        (job.attempts < MAX_ATTEMPTS).then(|| backoff(job.attempts))
    }
}

/// Counts a job attempt for `/metrics` by kind, outcome and errcode.
fn count_outcome(job: &Claimed, outcome: &Outcome) {
    let (label, errcode) = match outcome {
        Outcome::Done => ("done", None),
        Outcome::Retry { errcode, .. } if retry_wait(job).is_some() => ("retry", *errcode),
        Outcome::Retry { errcode, .. } | Outcome::Failed { errcode, .. } => ("failed", *errcode),
    };
    let errcode = errcode.map_or_else(|| "none".to_owned(), |c| c.to_string());
    metrics::counter!(crate::metrics::JOBS, "kind" => job.kind.clone(), "outcome" => label,
        "errcode" => errcode)
    .increment(1);
}

/// The customer-service text a referrer gets.
pub fn notice_text(ctx: &NotifyContext) -> String {
    format!(
        "{}，您推荐的新客户已关注！\n关注时间：{}\n您已累计推荐 {} 位客户。",
        ctx.referrer_name,
        crate::referral::period::local_time(ctx.followed_at),
        ctx.total_referrals
    )
}

/// Shows the start and end of an openid only.
pub fn mask_openid(openid: &str) -> String {
    let chars: Vec<char> = openid.chars().collect();
    if chars.len() <= 8 {
        return "****".into();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

fn bad_payload() -> Outcome {
    Outcome::Failed {
        errcode: None,
        error: "job payload is not what this version expects".into(),
    }
}

fn db_outcome(result: sqlx::Result<()>) -> Outcome {
    match result {
        Ok(()) => Outcome::Done,
        Err(e) => Outcome::Retry {
            errcode: None,
            error: format!("database: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), ChronoDuration::seconds(5));
        assert_eq!(backoff(2), ChronoDuration::seconds(10));
        assert_eq!(backoff(8), ChronoDuration::seconds(640));
        assert_eq!(backoff(50), ChronoDuration::seconds(3600));
    }

    #[test]
    fn window_and_follow_errors_are_permanent_busy_is_not() {
        let api = |c| ApiError::Api {
            errcode: c,
            errmsg: String::new(),
        };
        assert!(matches!(
            classify(&api(45015)),
            Outcome::Failed {
                errcode: Some(45015),
                ..
            }
        ));
        assert!(matches!(
            classify(&api(43004)),
            Outcome::Failed {
                errcode: Some(43004),
                ..
            }
        ));
        assert!(matches!(
            classify(&api(-1)),
            Outcome::Retry {
                errcode: Some(-1),
                ..
            }
        ));
        assert!(matches!(
            classify(&ApiError::Transport("timeout".into())),
            Outcome::Retry { errcode: None, .. }
        ));
    }

    #[test]
    fn openids_are_masked() {
        assert_eq!(mask_openid("oSBX_alice_long"), "oSBX****long");
        assert_eq!(mask_openid("short"), "****");
    }
}
