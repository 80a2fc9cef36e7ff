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

/// Outbox job kinds.
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
    let mut tx = pool.begin().await?;
    // A follow claims its event and gathers its facts in one statement; other kinds claim
    // the event first.
    let claimed = match inbound {
        Inbound::Subscribe { scene, .. } => {
            match store::claim_follow(&mut tx, &record, scene.as_deref(), JOB_USER_INFO).await? {
                Some(facts) => Claimed::Follow(facts),
                None => Claimed::Duplicate(events::redelivered(&mut tx, &record).await?),
            }
        }
        _ => match events::claim(&mut tx, &record).await? {
            Claim::New(event_id) => Claimed::Event(event_id),
            Claim::Duplicate { reply } => Claimed::Duplicate(reply),
        },
    };
    let (event_id, greeting) = match claimed {
        Claimed::Duplicate(reply) => {
            tracing::info!("re-delivered callback answered with the stored reply");
            tx.commit().await?;
            return Ok(Ingested::Reply(reply));
        }
        Claimed::Follow(facts) => {
            let event_id = facts.event_id;
            let follow = Follow {
                account_id,
                event_id,
                header,
                at: record.sent_at,
            };
            let scene = match inbound {
                Inbound::Subscribe { scene, .. } => scene.as_deref(),
                _ => None,
            };
            (event_id, Some(follow.apply(&mut tx, scene, facts).await?))
        }
        Claimed::Event(event_id) => {
            let greeting = match member_request(&mut tx, account_id, inbound).await? {
                Some(request) => {
                    match members::apply(&mut tx, account_id, event_id, inbound, request).await? {
                        Handled::Text(text) => Some(Greeting::new(text)),
                        Handled::Code(code) => {
                            tx.commit().await?;
                            return Ok(Ingested::MemberCode(code));
                        }
                    }
                }
                None => apply(&mut tx, account_id, event_id, inbound).await?,
            };
            (event_id, greeting)
        }
    };
    let reply = match greeting {
        // A reply stored with the follow is answered as stored (rendering it again could
        // change its CreateTime, and a re-delivery must get the same bytes).
        Some(Greeting {
            stored: Some(xml), ..
        }) => Some(xml),
        Some(g) => {
            let xml = reply_xml(header, &g.text);
            events::set_reply(&mut tx, event_id, &xml).await?;
            Some(xml)
        }
        None => None,
    };
    tx.commit().await?;
    Ok(Ingested::Reply(reply))
}

/// How the event's de-duplication key was claimed.
enum Claimed {
    /// A first `subscribe`, stored with its follower and facts.
    Follow(store::FollowFacts),
    /// Any other first delivery, stored under this id.
    Event(i64),
    /// A re-delivery, with the reply stored the first time.
    Duplicate(Option<String>),
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

/// The effects of a first delivery; returns the greeting text, if any.
async fn apply(
    tx: &mut PgConnection,
    account_id: i64,
    event_id: i64,
    inbound: &Inbound,
) -> sqlx::Result<Option<Greeting>> {
    let header = inbound.header();
    let at = sent_at(header.create_time);
    match inbound {
        // Claimed together with its facts in `ingest`, never applied here.
        Inbound::Subscribe { .. } => Ok(None),
        Inbound::Scan { scene, .. } => {
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
                .map(|text| Some(Greeting::new(text)))
        }
        Inbound::Unsubscribe { .. } => {
            store::record_unfollow(tx, account_id, &header.from_user, at).await?;
            Ok(None)
        }
        Inbound::Text { .. } | Inbound::Other { .. } => Ok(None),
    }
}

/// One `subscribe` event being applied.
struct Follow<'a> {
    account_id: i64,
    event_id: i64,
    header: &'a Header,
    at: DateTime<Utc>,
}

impl Follow<'_> {
    /// One more round trip after the claim in the common case: the referral, scan, jobs and
    /// stored reply together.
    async fn apply(
        &self,
        tx: &mut PgConnection,
        scene: Option<&str>,
        facts: store::FollowFacts,
    ) -> sqlx::Result<Greeting> {
        let openid = self.header.from_user.as_str();
        let templates = &facts.templates.0;
        let no_credit = if facts.inserted {
            Variant::Plain
        } else {
            Variant::Refollow
        };
        let unreferred =
            || Greeting::new(render(templates, no_credit, facts.referred_by.as_deref()));
        let Some(scene) = scene else {
            return Ok(unreferred());
        };
        let code = facts.code.as_ref().map(|c| &c.0);
        let decision = decide_follow(
            code.map(|c| CodeFacts {
                expires_at: c.expires_at,
                referrer_openid: c.referrer_openid.clone(),
            })
            .as_ref(),
            openid,
            facts.referred,
            self.at,
        );
        let greeting = match (decision, code) {
            (Decision::Credit, Some(c)) => Greeting::new(render(
                templates,
                Variant::Referred,
                c.referrer_name.as_deref(),
            )),
            // First touch wins: a returning follower hears about their original referrer.
            _ => unreferred(),
        };
        let reply = reply_xml(self.header, &greeting.text);
        let writes = FollowWrites {
            account_id: self.account_id,
            event_id: self.event_id,
            follower_id: facts.follower_id,
            openid,
            scene,
            code: code.map(|c| (c.id, c.referrer_id)),
            credit: decision == Decision::Credit,
            flag: match decision {
                Decision::Credit => None,
                Decision::NoCredit(flag) => Some(flag.as_str()),
            },
            at: self.at,
            reply: &reply,
            job: JOB_NOTIFY_REFERRER,
        };
        let written = store::record_follow(tx, &writes).await?;
        if writes.credit && written.is_none() {
            // A concurrent follow of the same person won the referral: greet as a re-follow
            // naming that referrer.
            let first = store::referrer_of(tx, self.account_id, facts.follower_id).await?;
            return Ok(Greeting::new(render(
                templates,
                Variant::Refollow,
                first.flatten().as_deref(),
            )));
        }
        Ok(Greeting {
            stored: Some(reply),
            ..greeting
        })
    }
}

/// A greeting to answer with.
struct Greeting {
    text: String,
    /// The reply XML already stored with the event.
    stored: Option<String>,
}

impl Greeting {
    fn new(text: String) -> Self {
        Greeting { text, stored: None }
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
