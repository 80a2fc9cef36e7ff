//! Ingestion of one accepted callback: stored once under its de-duplication key, with the
//! attribution, the scan log, the outbox jobs and the rendered reply in the same transaction.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::db::attribution::{self as store, FollowWrites, NewScan};
use crate::db::events::{self, Claim, NewEvent};
use crate::referral::attribution::{CodeFacts, Decision, Flag, decide_follow};
use crate::referral::greeting::{self, Variant};
use crate::referral::members::{self, CodeRequest, Handled, Request};
use crate::wechat::message::{self, Header, Inbound};

/// Outbox job kinds: one follow-up per follow (the follower's `user/info`, then telling the
/// referrer when the follow was credited).
pub const JOB_FOLLOW_UP: &str = "follow_up";
/// Kinds queued by earlier versions (one job per step); still run.
pub const JOB_USER_INFO: &str = "user_info";
pub const JOB_NOTIFY_REFERRER: &str = "notify_referrer";

/// What ingestion decided to answer.
pub enum Ingested {
    /// This passive reply XML, or `None` for "success".
    Reply(Option<String>),
    /// A member asked for their code: the callback answers it (see [`members`]).
    MemberCode(CodeRequest),
}

/// Stores the event (or recognises a re-delivery) and returns what to answer. A re-delivery
/// returns the reply stored the first time and changes nothing else.
#[tracing::instrument(skip_all, err, fields(kind = inbound.kind()))]
pub async fn ingest(
    pool: &PgPool,
    account_id: i64,
    inbound: &Inbound,
    payload: &str,
) -> Result<Ingested, sqlx::Error> {
    let header = inbound.header();
    let key = inbound.dedup_key();
    let event_key = event_key(inbound);
    let record = NewEvent {
        account_id,
        dedup_key: &key,
        kind: inbound.kind(),
        openid: &header.from_user,
        sent_at: sent_at(header.create_time),
        event_key: event_key.as_deref(),
        payload,
    };
    let effect = match inbound {
        Inbound::Subscribe { scene, .. } => {
            let mut conn = pool.acquire().await?;
            let follow = Follow {
                account_id,
                header,
                event: &record,
                scene: scene.as_deref(),
            };
            return follow.ingest(&mut conn).await.map(Ingested::Reply);
        }
        Inbound::Scan { scene, .. } => Effect::Scan(scene),
        Inbound::Unsubscribe { .. } => Effect::Unfollow,
        Inbound::Text { .. } | Inbound::Other { .. } => Effect::Message,
    };
    let mut tx = pool.begin().await?;
    let event_id = match events::claim(&mut tx, &record).await? {
        Claim::New(event_id) => event_id,
        Claim::Duplicate { reply } => {
            tracing::info!("re-delivered callback answered with the stored reply");
            tx.commit().await?;
            return Ok(Ingested::Reply(reply));
        }
    };
    let text = match member_request(&mut tx, account_id, inbound).await? {
        Some(request) => {
            match members::apply(&mut tx, account_id, event_id, inbound, request).await? {
                Handled::Text(text) => Some(text),
                Handled::Code(code) => {
                    tx.commit().await?;
                    return Ok(Ingested::MemberCode(code));
                }
            }
        }
        None => apply(&mut tx, account_id, event_id, header, effect).await?,
    };
    let reply = match text {
        Some(text) => {
            let xml = reply_xml(header, &text);
            events::set_reply(&mut tx, event_id, &xml).await?;
            Some(xml)
        }
        None => None,
    };
    tx.commit().await?;
    Ok(Ingested::Reply(reply))
}

/// Text messages and menu clicks may be member requests (keyword, menu key, "我叫 …").
async fn member_request(
    tx: &mut PgConnection,
    account_id: i64,
    inbound: &Inbound,
) -> sqlx::Result<Option<Request>> {
    if !matches!(inbound, Inbound::Text { .. } | Inbound::Other { .. }) {
        return Ok(None);
    }
    let settings = crate::db::members::settings(tx, account_id).await?;
    Ok(members::classify(inbound, &settings))
}

/// What an event other than a follow does (follows take their own path, [`Follow`]).
enum Effect<'a> {
    /// An existing follower scanned the code with this scene.
    Scan(&'a str),
    Unfollow,
    /// A message or menu click that is not a member request: stored, no reply.
    Message,
}

/// The effects of a first delivery; returns the greeting text, if any.
async fn apply(
    tx: &mut PgConnection,
    account_id: i64,
    event_id: i64,
    header: &Header,
    effect: Effect<'_>,
) -> sqlx::Result<Option<String>> {
    let at = sent_at(header.create_time);
    match effect {
        Effect::Scan(scene) => {
            let code = store::code_by_scene(tx, account_id, scene).await?;
            let flag = if code.is_some() {
                Flag::ExistingFollower
            } else {
                Flag::UnknownScene
            };
            let scan = NewScan {
                account_id,
                event_id,
                openid: &header.from_user,
                scene,
                qr_code_id: code.as_ref().map(|c| c.id),
                referrer_id: code.as_ref().map(|c| c.referrer_id),
                kind: "scan",
                flag: Some(flag.as_str()),
                scanned_at: at,
            };
            store::insert_scan(tx, &scan).await?;
            let name = code.and_then(|c| c.referrer_name);
            greet(tx, account_id, Variant::Scan, name.as_deref())
                .await
                .map(Some)
        }
        Effect::Unfollow => {
            store::record_unfollow(tx, account_id, &header.from_user, at).await?;
            Ok(None)
        }
        Effect::Message => Ok(None),
    }
}

/// One `subscribe` event being ingested.
struct Follow<'a> {
    account_id: i64,
    header: &'a Header,
    event: &'a NewEvent<'a>,
    scene: Option<&'a str>,
}

impl Follow<'_> {
    /// Two round trips and one transaction in the common case: the facts are read, the rules
    /// decide and the greeting is rendered here, then one statement writes the event with its
    /// reply, the follower, the referral, the scan and the follow-up job. Returns the reply.
    async fn ingest(&self, conn: &mut PgConnection) -> sqlx::Result<Option<String>> {
        let openid = self.header.from_user.as_str();
        let facts = store::follow_facts(conn, self.account_id, openid, self.scene).await?;
        let templates = &facts.templates.0;
        let code = facts.code.as_ref().map(|c| &c.0);
        let decision = self.scene.map(|_| {
            decide_follow(
                code.map(|c| CodeFacts {
                    expires_at: c.expires_at,
                    referrer_openid: c.referrer_openid.clone(),
                })
                .as_ref(),
                openid,
                facts.referred,
                self.event.sent_at,
            )
        });
        let text = match (decision, code) {
            (Some(Decision::Credit), Some(c)) => {
                render(templates, Variant::Referred, c.referrer_name.as_deref())
            }
            // First touch wins: a returning follower hears about their original referrer.
            _ => render(
                templates,
                if facts.known {
                    Variant::Refollow
                } else {
                    Variant::Plain
                },
                facts.referred_by.as_deref(),
            ),
        };
        let reply = reply_xml(self.header, &text);
        let writes = FollowWrites {
            event: self.event,
            scene: self.scene,
            code: code.map(|c| (c.id, c.referrer_id)),
            credit: decision == Some(Decision::Credit),
            flag: match decision {
                Some(Decision::NoCredit(flag)) => Some(flag.as_str()),
                _ => None,
            },
            reply: &reply,
            job: JOB_FOLLOW_UP,
        };
        let Some(recorded) = store::record_follow(conn, &writes).await? else {
            tracing::info!("re-delivered callback answered with the stored reply");
            return events::redelivered(conn, self.event).await;
        };
        if writes.credit && recorded.referral_id.is_none() {
            // A concurrent follow of the same person won the referral: greet as a re-follow
            // naming that referrer (the stored reply is corrected for re-deliveries).
            let first = store::referrer_of(conn, self.account_id, recorded.follower_id).await?;
            let text = render(templates, Variant::Refollow, first.flatten().as_deref());
            let xml = reply_xml(self.header, &text);
            events::set_reply(conn, recorded.event_id, &xml).await?;
            return Ok(Some(xml));
        }
        Ok(Some(reply))
    }
}

/// The passive text reply to `header`'s sender.
fn reply_xml(header: &Header, text: &str) -> String {
    message::text_reply(
        &header.from_user,
        &header.to_user,
        Utc::now().timestamp(),
        text,
    )
}

/// Renders the staff-set (or default) template of `variant`.
fn render(
    templates: &std::collections::HashMap<String, String>,
    variant: Variant,
    referrer: Option<&str>,
) -> String {
    render_template(
        templates.get(variant.as_str()).map(String::as_str),
        variant,
        referrer,
    )
}

/// Renders the configured (or default) template of `variant`.
async fn greet(
    tx: &mut PgConnection,
    account_id: i64,
    variant: Variant,
    referrer: Option<&str>,
) -> sqlx::Result<String> {
    let template = store::greeting_template(tx, account_id, variant.as_str()).await?;
    Ok(render_template(template.as_deref(), variant, referrer))
}

/// Renders `template`, or `variant`'s default when staff set none.
fn render_template(template: Option<&str>, variant: Variant, referrer: Option<&str>) -> String {
    greeting::render(
        template.unwrap_or(variant.default_template()),
        referrer,
        None,
    )
}

fn event_key(inbound: &Inbound) -> Option<String> {
    match inbound {
        Inbound::Subscribe { scene, .. } => scene.clone(),
        Inbound::Scan { scene, .. } => Some(scene.clone()),
        Inbound::Other { event_key, .. } => event_key.clone(),
        Inbound::Unsubscribe { .. } | Inbound::Text { .. } => None,
    }
}

/// WeChat's CreateTime; out-of-range values (never sent by WeChat) fall back to now.
fn sent_at(create_time: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(create_time, 0).unwrap_or_else(Utc::now)
}
