//! Ingestion of one accepted callback: stored once under its de-duplication key, with the
//! attribution, the scan log, the outbox jobs and the rendered reply in the same transaction.
//!
//! Follows go through [`Follows`]: the follows that arrive while a batch is being written are
//! written together (one read, one write statement and one commit for the lot), which is what
//! lets a poster campaign's burst of follows through on a small database server. Each follow
//! is still answered only after its own rows are committed.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::db::BatchSession;
use crate::db::attribution::{self as store, FactsAsk, FollowFacts, FollowWrites, NewScan};
use crate::db::events::{self, Claim, NewEvent};
use crate::referral::attribution::{CodeFacts, Decision, Flag, decide_follow};
use crate::referral::binding;
use crate::referral::greeting::{self, Variant};
use crate::referral::jobs::JobKind;
use crate::referral::members::{self, CodeRequest, Handled, Request};
use crate::wechat::message::{self, Header, Inbound};

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
    follows: &Follows,
    account_id: i64,
    inbound: &Inbound,
    payload: &str,
) -> Result<Ingested, sqlx::Error> {
    let header = inbound.header();
    let key = inbound.dedup_key();
    let effect = match inbound {
        Inbound::Subscribe { scene, .. } => {
            // A binding code is nobody's referral: a plain follow, then the binding.
            let bind = scene.as_deref().and_then(binding::token_of);
            let follow = Follow {
                account_id,
                header: header.clone(),
                dedup_key: key,
                kind: inbound.kind(),
                sent_at: sent_at(header.create_time),
                payload: payload.to_owned(),
                scene: if bind.is_some() { None } else { scene.clone() },
            };
            let greeting = follows.ingest(follow).await?;
            let Some(token) = bind else {
                return Ok(Ingested::Reply(greeting));
            };
            // Redeeming again (a redelivery) answers the same: the code remembers its scanner.
            let mut tx = pool.begin().await?;
            let text = binding::redeem(&mut tx, account_id, token, &header.from_user).await?;
            tx.commit().await?;
            return Ok(Ingested::Reply(Some(reply_xml(header, &text))));
        }
        Inbound::Scan { scene, .. } => match binding::token_of(scene) {
            Some(token) => Effect::Bind(token),
            None => Effect::Scan(scene),
        },
        Inbound::Unsubscribe { .. } => Effect::Unfollow,
        Inbound::Text { .. } | Inbound::Other { .. } => Effect::Message,
    };
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
            events::set_reply(&mut tx, account_id, event_id, &xml).await?;
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
    if let Some(trigger) = crate::referral::fission::triggered(tx, account_id, inbound).await? {
        return Ok(Some(Request::Join(Box::new(trigger))));
    }
    let settings = crate::db::members::settings(tx, account_id).await?;
    Ok(members::classify(inbound, &settings))
}

/// What an event other than a follow does (follows take their own path, [`Follow`]).
enum Effect<'a> {
    /// An existing follower scanned the code with this scene.
    Scan(&'a str),
    /// An existing follower scanned a binding code with this token.
    Bind(&'a str),
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
        Effect::Bind(token) => binding::redeem(tx, account_id, token, &header.from_user)
            .await
            .map(Some),
        Effect::Unfollow => {
            store::record_unfollow(tx, account_id, &header.from_user, at).await?;
            crate::referral::fission::take_back(tx, account_id, &header.from_user, at).await?;
            Ok(None)
        }
        Effect::Message => Ok(None),
    }
}

/// One `subscribe` event being ingested.
struct Follow {
    account_id: i64,
    header: Header,
    dedup_key: String,
    kind: &'static str,
    sent_at: DateTime<Utc>,
    payload: String,
    /// The scanned scene, if any (also the event's key, see [`event_key`]).
    scene: Option<String>,
}

impl Follow {
    fn event(&self) -> NewEvent<'_> {
        NewEvent {
            account_id: self.account_id,
            dedup_key: &self.dedup_key,
            kind: self.kind,
            openid: &self.header.from_user,
            sent_at: self.sent_at,
            event_key: self.scene.as_deref(),
            payload: &self.payload,
        }
    }

    fn ask(&self) -> FactsAsk<'_> {
        FactsAsk {
            account_id: self.account_id,
            openid: &self.header.from_user,
            scene: self.scene.as_deref(),
        }
    }
}

/// A follow decided by the rules, with its greeting rendered, ready to be written.
struct Decided<'a> {
    event: NewEvent<'a>,
    scene: Option<&'a str>,
    code: Option<(i64, i64)>,
    decision: Option<Decision>,
    reply: String,
}

impl<'a> Decided<'a> {
    /// Applies the attribution rules to `facts` and renders the greeting.
    fn new(follow: &'a Follow, facts: &FollowFacts) -> Self {
        let openid = follow.header.from_user.as_str();
        let templates = &facts.templates.0;
        let code = facts.code.as_ref().map(|c| &c.0);
        let decision = follow.scene.as_ref().map(|_| {
            decide_follow(
                code.map(|c| CodeFacts {
                    expires_at: c.expires_at,
                    referrer_openid: c.referrer_openid.clone(),
                })
                .as_ref(),
                openid,
                facts.referred,
                follow.sent_at,
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
        Decided {
            event: follow.event(),
            scene: follow.scene.as_deref(),
            code: code.map(|c| (c.id, c.referrer_id)),
            decision,
            reply: reply_xml(&follow.header, &text),
        }
    }

    fn writes(&self) -> FollowWrites<'_> {
        FollowWrites {
            event: &self.event,
            scene: self.scene,
            code: self.code,
            credit: self.decision == Some(Decision::Credit),
            flag: match self.decision {
                Some(Decision::NoCredit(flag)) => Some(flag.as_str()),
                _ => None,
            },
            reply: Some(&self.reply),
        }
    }
}

/// Writes follows of different followers together: one round trip reads their facts, the
/// rules decide and the greetings are rendered here, then one statement writes each event with
/// its reply, follower, referral, scan and follow-up job. Returns each follow's reply, in order.
async fn write_follows(
    conn: &mut PgConnection,
    follows: &[&Follow],
) -> sqlx::Result<Vec<Option<String>>> {
    let asks: Vec<FactsAsk<'_>> = follows.iter().map(|f| f.ask()).collect();
    let facts = store::follow_facts(conn, &asks).await?;
    let decided: Vec<Decided<'_>> = follows
        .iter()
        .zip(&facts)
        .map(|(follow, facts)| Decided::new(follow, facts))
        .collect();
    let writes: Vec<FollowWrites<'_>> = decided.iter().map(Decided::writes).collect();
    let recorded = store::record_follows(conn, &writes, Some(JobKind::FollowUp.as_str())).await?;
    let mut replies = Vec::with_capacity(follows.len());
    for (at, recorded) in recorded.into_iter().enumerate() {
        let (follow, decided) = (follows[at], &decided[at]);
        let Some(recorded) = recorded else {
            tracing::info!("re-delivered callback answered with the stored reply");
            replies.push(events::redelivered(conn, &decided.event).await?);
            continue;
        };
        if decided.decision == Some(Decision::Credit) && recorded.referral_id.is_none() {
            // A concurrent follow of the same person won the referral: greet as a re-follow
            // naming that referrer (the stored reply is corrected for re-deliveries).
            let first = store::referrer_of(conn, follow.account_id, recorded.follower_id).await?;
            let text = render(
                &facts[at].templates.0,
                Variant::Refollow,
                first.flatten().as_deref(),
            );
            let xml = reply_xml(&follow.header, &text);
            events::set_reply(conn, follow.account_id, recorded.event_id, &xml).await?;
            replies.push(Some(xml));
            continue;
        }
        replies.push(Some(decided.reply.clone()));
    }
    Ok(replies)
}

/// The most follows written in one statement.
const MAX_BATCH: usize = 64;
/// Batches written at the same time: while one is in the database the next one gathers.
const WRITERS: usize = 2;
/// How often a writer's statements are planned again (see [`BatchSession`]).
const REPLAN_EVERY: Duration = Duration::from_secs(1);

/// A follow waiting to be written, with where its reply goes.
struct Pending {
    follow: Follow,
    done: oneshot::Sender<sqlx::Result<Option<String>>>,
}

/// The follow writers (see the module documentation). Cheap to clone; the writers stop when
/// the last handle is dropped.
#[derive(Clone)]
pub struct Follows {
    queue: mpsc::Sender<Pending>,
    /// Follows queued or being written.
    in_flight: Arc<AtomicUsize>,
}

impl Follows {
    /// Starts the writers on the current tokio runtime, each with its own session to `pool`'s
    /// database (see [`BatchSession`]) whose statements give up after `deadline` (the
    /// callback's budget: its caller has answered 503 by then). The writers stop writing when
    /// `pool` is closed.
    pub fn start(pool: &PgPool, deadline: Duration) -> Self {
        let (queue, received) = mpsc::channel(4 * MAX_BATCH);
        let received = Arc::new(Mutex::new(received));
        for _ in 0..WRITERS {
            let writer = Writer {
                app: pool.clone(),
                session: BatchSession::new(pool, deadline, REPLAN_EVERY),
            };
            tokio::spawn(write_batches(writer, received.clone()));
        }
        Follows {
            queue,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Whether follows are queued or being written now (the outbox worker gives way to them).
    pub fn busy(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) > 0
    }

    /// Writes `follow` (with the follows around it) and returns its reply once committed.
    async fn ingest(&self, follow: Follow) -> sqlx::Result<Option<String>> {
        let _counted = InFlight::new(&self.in_flight);
        let (done, reply) = oneshot::channel();
        self.queue
            .send(Pending { follow, done })
            .await
            .map_err(|_| sqlx::Error::WorkerCrashed)?;
        reply.await.map_err(|_| sqlx::Error::WorkerCrashed)?
    }
}

/// A writer's session, and the application's pool whose life it shares.
struct Writer {
    app: PgPool,
    session: BatchSession,
}

/// Counts one follow in flight for as long as it lives (a caller that gives up drops it).
struct InFlight<'a>(&'a AtomicUsize);

impl<'a> InFlight<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One writer: takes what is queued (up to [`MAX_BATCH`]) and writes it.
async fn write_batches(mut writer: Writer, received: Arc<Mutex<mpsc::Receiver<Pending>>>) {
    let mut queued = Vec::with_capacity(MAX_BATCH);
    loop {
        let taken = received
            .lock()
            .await
            .recv_many(&mut queued, MAX_BATCH)
            .await;
        if taken == 0 {
            return;
        }
        metrics::histogram!(crate::metrics::FOLLOW_BATCH).record(taken as f64);
        while !queued.is_empty() {
            let batch = one_per_follower(&mut queued);
            write_batch(&mut writer, batch).await;
        }
    }
}

/// Takes the follows of different followers out of `queued` (a follower's second follow waits
/// for the next batch, so it sees the first).
fn one_per_follower(queued: &mut Vec<Pending>) -> Vec<Pending> {
    let mut seen = HashSet::new();
    let (batch, later): (Vec<_>, Vec<_>) = queued
        .drain(..)
        .partition(|p| seen.insert((p.follow.account_id, p.follow.header.from_user.clone())));
    *queued = later;
    batch
}

/// Writes a batch and answers each follow. Follows whose callers gave up (their deadline
/// passed, so WeChat was answered 503 and delivers again) are not written. When the batch fails
/// as a whole (nothing of it was committed), each follow is written alone, so one bad follow
/// cannot fail the others.
async fn write_batch(writer: &mut Writer, mut batch: Vec<Pending>) {
    batch.retain(|pending| !pending.done.is_closed());
    if writer.app.is_closed() {
        for pending in batch {
            let _ = pending.done.send(Err(sqlx::Error::PoolClosed));
        }
        return;
    }
    if batch.len() > 1 {
        let follows: Vec<&Follow> = batch.iter().map(|p| &p.follow).collect();
        let written = writer
            .session
            .run(async |conn| write_follows(conn, &follows).await)
            .await;
        match written {
            Ok(replies) => {
                for (pending, reply) in batch.into_iter().zip(replies) {
                    // A caller that gave up meanwhile is answered by the stored reply when
                    // WeChat delivers again.
                    let _ = pending.done.send(Ok(reply));
                }
                return;
            }
            Err(e) => tracing::warn!(
                error = %e,
                follows = batch.len(),
                "a batch of follows failed; writing them one by one"
            ),
        }
    }
    for pending in batch {
        if pending.done.is_closed() {
            continue;
        }
        let follow = [&pending.follow];
        let written = writer
            .session
            .run(async |conn| write_follows(conn, &follow).await)
            .await;
        let _ = pending.done.send(written.map(|mut r| r.pop().flatten()));
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
