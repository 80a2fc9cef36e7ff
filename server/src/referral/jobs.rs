//! The outbox's jobs: slow work recorded with a callback and done after the reply. A job is
//! stored as a `kind` string and a JSON `payload` (see [`crate::db::outbox`]); this is the one
//! place that maps the two columns to a [`Job`] and back.
//!
//! The stored kinds and payload keys are a format: rows queued by earlier versions are still
//! run, and the kind is the `kind` label of `tuijian_jobs_total`. Renaming a kind or a field
//! here strands the rows already queued.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One outbox job with its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// One per follow: the follower's `user/info`, then telling the referrer when the follow
    /// was credited. Written in SQL by [`crate::db::attribution::record_follows`].
    FollowUp(FollowUp),
    /// The follower's `user/info` alone (queued by earlier versions; still run).
    UserInfo(UserInfo),
    /// Telling a referral's referrer alone (queued by earlier versions; still run).
    NotifyReferrer(NotifyReferrer),
    /// The other half of a member's code request (link or image) as a customer-service
    /// message (see [`crate::referral::members`]).
    MemberCode(MemberCode),
    /// One delivery of a webhook event to one endpoint (see [`crate::webhooks`]); retried on
    /// its own schedule, with the same event id every time.
    Webhook(WebhookDelivery),
    /// Making WeChat agree with the tags a follower should carry (see
    /// [`crate::referral::wechat_tags`]); written in SQL by [`crate::db::wechat_tags::want`].
    WechatTags(WechatTags),
    /// A campaign notice to its member (see [`crate::referral::fission`]).
    CampaignNotice(CampaignNotice),
}

/// [`Job::CampaignNotice`]: `{"notice_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignNotice {
    pub notice_id: i64,
}

/// [`Job::WechatTags`]: `{"follower_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatTags {
    pub follower_id: i64,
}

/// [`Job::Webhook`]: `{"endpoint_id", "event_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub endpoint_id: i64,
    /// `evt_…`, the id receivers de-duplicate on.
    pub event_id: String,
}

/// [`Job::FollowUp`]: `{"openid", "follower_id", "referral_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FollowUp {
    pub openid: String,
    pub follower_id: i64,
    /// The referral the follow made, if it was credited (`null` or absent: nobody to tell).
    #[serde(default)]
    pub referral_id: Option<i64>,
}

/// [`Job::UserInfo`]: `{"openid", "follower_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub openid: String,
    pub follower_id: i64,
}

/// [`Job::NotifyReferrer`]: `{"referral_id"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyReferrer {
    pub referral_id: i64,
}

/// [`Job::MemberCode`]: `{"event_id", "referrer_id", "openid"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCode {
    /// The code request's event (its stored reply says which half was sent).
    pub event_id: i64,
    /// The member.
    pub referrer_id: i64,
    pub openid: String,
    /// The campaign joined, when the request was a campaign's keyword (the poster is sent
    /// instead of the bare code); absent in jobs queued before campaigns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_id: Option<i64>,
}

/// The `kind` column of a job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    FollowUp,
    UserInfo,
    NotifyReferrer,
    MemberCode,
    Webhook,
    WechatTags,
    CampaignNotice,
}

impl JobKind {
    pub const ALL: [JobKind; 7] = [
        JobKind::FollowUp,
        JobKind::UserInfo,
        JobKind::NotifyReferrer,
        JobKind::MemberCode,
        JobKind::Webhook,
        JobKind::WechatTags,
        JobKind::CampaignNotice,
    ];

    /// The stored string (also the metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::FollowUp => "follow_up",
            JobKind::UserInfo => "user_info",
            JobKind::NotifyReferrer => "notify_referrer",
            JobKind::MemberCode => "member_code",
            JobKind::Webhook => crate::db::webhooks::JOB_KIND,
            JobKind::WechatTags => crate::db::wechat_tags::JOB_KIND,
            JobKind::CampaignNotice => "campaign_notice",
        }
    }

    /// The kind stored as `s`, if this version knows it.
    pub fn parse(s: &str) -> Option<JobKind> {
        JobKind::ALL.into_iter().find(|kind| kind.as_str() == s)
    }
}

impl fmt::Display for JobKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a stored job cannot be run by this version.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error("{kind} job payload is not what this version expects: {source}")]
    BadPayload {
        kind: JobKind,
        #[source]
        source: serde_json::Error,
    },
}

impl Job {
    pub fn kind(&self) -> JobKind {
        match self {
            Job::FollowUp(_) => JobKind::FollowUp,
            Job::UserInfo(_) => JobKind::UserInfo,
            Job::NotifyReferrer(_) => JobKind::NotifyReferrer,
            Job::MemberCode(_) => JobKind::MemberCode,
            Job::Webhook(_) => JobKind::Webhook,
            Job::WechatTags(_) => JobKind::WechatTags,
            Job::CampaignNotice(_) => JobKind::CampaignNotice,
        }
    }

    /// The job's `payload` column.
    pub fn payload(&self) -> Value {
        let payload = match self {
            Job::FollowUp(p) => serde_json::to_value(p),
            Job::UserInfo(p) => serde_json::to_value(p),
            Job::NotifyReferrer(p) => serde_json::to_value(p),
            Job::MemberCode(p) => serde_json::to_value(p),
            Job::Webhook(p) => serde_json::to_value(p),
            Job::WechatTags(p) => serde_json::to_value(p),
            Job::CampaignNotice(p) => serde_json::to_value(p),
        };
        // Structs of strings and integers always serialise.
        payload.expect("job payloads serialise")
    }

    /// The job stored as `kind` and `payload`.
    pub fn decode(kind: &str, payload: Value) -> Result<Job, JobError> {
        fn read<T: DeserializeOwned>(kind: JobKind, payload: Value) -> Result<T, JobError> {
            serde_json::from_value(payload).map_err(|source| JobError::BadPayload { kind, source })
        }
        let kind = JobKind::parse(kind).ok_or_else(|| JobError::UnknownKind(kind.to_owned()))?;
        Ok(match kind {
            JobKind::FollowUp => Job::FollowUp(read(kind, payload)?),
            JobKind::UserInfo => Job::UserInfo(read(kind, payload)?),
            JobKind::NotifyReferrer => Job::NotifyReferrer(read(kind, payload)?),
            JobKind::MemberCode => Job::MemberCode(read(kind, payload)?),
            JobKind::Webhook => Job::Webhook(read(kind, payload)?),
            JobKind::WechatTags => Job::WechatTags(read(kind, payload)?),
            JobKind::CampaignNotice => Job::CampaignNotice(read(kind, payload)?),
        })
    }
}

/// A job claimed by a worker.
#[derive(Debug)]
pub struct Claimed {
    pub id: i64,
    pub account_id: i64,
    /// The `kind` column as stored (the metric label, also for kinds this version does not
    /// know).
    pub kind: String,
    pub attempts: i32,
    /// The job, or why this version cannot run it (the worker fails it).
    pub job: Result<Job, JobError>,
}

impl From<crate::db::outbox::JobRow> for Claimed {
    fn from(row: crate::db::outbox::JobRow) -> Self {
        let job = Job::decode(&row.kind, row.payload);
        if let Err(e) = &job {
            tracing::warn!(job = row.id, kind = %row.kind, error = %e, "job cannot be decoded");
        }
        Claimed {
            id: row.id,
            account_id: row.account_id,
            kind: row.kind,
            attempts: row.attempts,
            job,
        }
    }
}

/// Claims up to `limit` due jobs for `lease_secs` (see `db::outbox::claim_due`), decoded.
pub async fn claim_due(
    pool: &sqlx::PgPool,
    limit: i64,
    lease_secs: i64,
) -> sqlx::Result<Vec<Claimed>> {
    let rows = crate::db::outbox::claim_due(pool, limit, lease_secs).await?;
    Ok(rows.into_iter().map(Claimed::from).collect())
}

/// Queues a job; it becomes due at once.
pub async fn enqueue(
    conn: &mut sqlx::PgConnection,
    account_id: i64,
    job: &Job,
) -> sqlx::Result<i64> {
    crate::db::outbox::enqueue(conn, account_id, job.kind().as_str(), &job.payload()).await
}

/// Queues a job that becomes due after `delay_secs`.
pub async fn enqueue_later(
    conn: &mut sqlx::PgConnection,
    account_id: i64,
    job: &Job,
    delay_secs: i64,
) -> sqlx::Result<i64> {
    let payload = job.payload();
    crate::db::outbox::enqueue_later(conn, account_id, job.kind().as_str(), &payload, delay_secs)
        .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn examples() -> Vec<Job> {
        vec![
            Job::FollowUp(FollowUp {
                openid: "oSBX_alice".into(),
                follower_id: 7,
                referral_id: Some(3),
            }),
            Job::FollowUp(FollowUp {
                openid: "oSBX_bob".into(),
                follower_id: 8,
                referral_id: None,
            }),
            Job::UserInfo(UserInfo {
                openid: "oSBX_carol".into(),
                follower_id: 9,
            }),
            Job::NotifyReferrer(NotifyReferrer { referral_id: 4 }),
            Job::MemberCode(MemberCode {
                event_id: 11,
                referrer_id: 12,
                openid: "oSBX_dave".into(),
                campaign_id: None,
            }),
            Job::Webhook(WebhookDelivery {
                endpoint_id: 2,
                event_id: "evt_0123456789abcdef0123456789abcdef".into(),
            }),
            Job::WechatTags(WechatTags { follower_id: 5 }),
            Job::CampaignNotice(CampaignNotice { notice_id: 6 }),
        ]
    }

    #[test]
    fn every_kind_round_trips_through_its_columns() {
        for job in examples() {
            let (kind, payload) = (job.kind().as_str(), job.payload());
            assert_eq!(Job::decode(kind, payload).expect("decodes"), job);
        }
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn stored_kinds_keep_their_strings() {
        let stored: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            stored,
            [
                "follow_up",
                "user_info",
                "notify_referrer",
                "member_code",
                "webhook",
                "wechat_tags",
                "campaign_notice"
            ]
        );
    }

    /// The payloads as the previous versions wrote them (`jsonb_build_object` in the follow
    /// statement, `json!` elsewhere), as PostgreSQL returns them.
    #[test]
    fn payloads_written_before_decode() {
        let stored = [
            (
                "follow_up",
                r#"{"openid": "oSBX_alice", "follower_id": 7, "referral_id": 3}"#,
            ),
            (
                "follow_up",
                r#"{"openid": "oSBX_bob", "follower_id": 8, "referral_id": null}"#,
            ),
            ("user_info", r#"{"openid": "oSBX_carol", "follower_id": 9}"#),
            ("notify_referrer", r#"{"referral_id": 4}"#),
            (
                "member_code",
                r#"{"openid": "oSBX_dave", "event_id": 11, "referrer_id": 12}"#,
            ),
            (
                "webhook",
                r#"{"endpoint_id": 2, "event_id": "evt_0123456789abcdef0123456789abcdef"}"#,
            ),
            ("wechat_tags", r#"{"follower_id": 5}"#),
            ("campaign_notice", r#"{"notice_id": 6}"#),
        ];
        let decoded: Vec<Job> = stored
            .iter()
            .map(|(kind, payload)| {
                let payload = serde_json::from_str(payload).expect("json");
                Job::decode(kind, payload).expect("decodes")
            })
            .collect();
        assert_eq!(decoded, examples());
    }

    /// A follow-up without `referral_id` (as tests and older statements wrote them) is one
    /// that credited nobody.
    #[test]
    fn a_follow_up_without_a_referral_tells_nobody() {
        let job = Job::decode("follow_up", json!({"openid": "o", "follower_id": 1}));
        assert_eq!(
            job.expect("decodes"),
            Job::FollowUp(FollowUp {
                openid: "o".into(),
                follower_id: 1,
                referral_id: None,
            })
        );
    }

    #[test]
    fn unknown_kinds_and_bad_payloads_are_errors() {
        assert!(matches!(
            Job::decode("send_postcard", json!({})),
            Err(JobError::UnknownKind(kind)) if kind == "send_postcard"
        ));
        let bad = [
            ("follow_up", json!({"openid": "o"})),
            ("follow_up", json!({"follower_id": 1, "referral_id": 2})),
            ("user_info", json!({"openid": "o"})),
            ("notify_referrer", json!({})),
            ("notify_referrer", json!({"referral_id": "4"})),
            ("member_code", json!({"event_id": 1, "openid": "o"})),
            ("member_code", json!(null)),
            ("webhook", json!({"endpoint_id": 2})),
            ("wechat_tags", json!({"follower_id": "5"})),
            ("campaign_notice", json!({})),
        ];
        for (kind, payload) in bad {
            let err = Job::decode(kind, payload.clone()).expect_err("does not decode");
            assert!(
                matches!(&err, JobError::BadPayload { kind: k, .. } if k.as_str() == kind),
                "{kind} {payload}: {err}"
            );
            assert!(err.to_string().contains("not what this version expects"));
        }
    }
}

#[cfg(test)]
mod follow_statement_tests {
    use serde_json::{Map, Value};

    use super::{FollowUp, Job, JobKind};
    use crate::db::attribution::RECORD_FOLLOWS;

    /// The `(key, column)` pairs of the `jsonb_build_object` that builds the follow-ups'
    /// payloads in [`RECORD_FOLLOWS`].
    fn follow_up_payload_sql() -> Vec<(String, String)> {
        let outbox = RECORD_FOLLOWS
            .find("insert into outbox")
            .expect("the statement queues follow-ups");
        let rest = &RECORD_FOLLOWS[outbox..];
        let open = rest
            .find("jsonb_build_object(")
            .expect("payload built in SQL")
            + "jsonb_build_object(".len();
        let args = &rest[open..open + rest[open..].find(')').expect("closed")];
        let args: Vec<&str> = args.split(',').map(str::trim).collect();
        args.chunks(2)
            .map(|pair| {
                let key = pair[0]
                    .strip_prefix('\'')
                    .and_then(|k| k.strip_suffix('\''));
                (key.expect("a quoted key").to_owned(), pair[1].to_owned())
            })
            .collect()
    }

    /// The payload the statement writes is a [`FollowUp`]: its keys are the struct's fields,
    /// each from the column of the same name (`openid` text, `follower_id` bigint,
    /// `referral_id` bigint or null when the follow credited nobody).
    #[test]
    fn follow_statement_payload_decodes_as_a_follow_up() {
        let pairs = follow_up_payload_sql();
        assert!(pairs.iter().all(|(key, column)| key == column), "{pairs:?}");
        for referral_id in [Some(3), None] {
            let columns = FollowUp {
                openid: "oSBX_alice".into(),
                follower_id: 7,
                referral_id,
            };
            let Value::Object(values) = Job::FollowUp(columns.clone()).payload() else {
                panic!("payload is an object");
            };
            // What jsonb_build_object makes of those columns: every key, nulls included.
            let built: Map<String, Value> = pairs
                .iter()
                .map(|(key, column)| (key.clone(), values.get(column).cloned().expect(column)))
                .collect();
            assert_eq!(built.len(), values.len(), "every field is built");
            let job = Job::decode(JobKind::FollowUp.as_str(), Value::Object(built));
            assert_eq!(job.expect("decodes"), Job::FollowUp(columns));
        }
    }
}
