//! Member-get-member: any follower can ask the account for a personal referral code (a keyword
//! such as "推广码" or a menu CLICK). The follower becomes a `member` referrer bound to their
//! openid (once), gets a QR code of their own and a link to their personal page, and chooses
//! the name their friends are greeted with ("我叫 小王").
//!
//! The reply window is 5 s and the QR image must be made by WeChat (qrcode/create) and uploaded
//! as temporary media before it can be sent, so the callback gives that work a budget: the
//! image when it is ready in time, else the text link at once. An outbox job then sends the
//! other half (the link after an image, the image after a link) as a customer-service message;
//! the follower just messaged the account, so the 48-hour window is open.

use std::sync::Arc;
use std::time::Duration;

use app::model::{CodeKind, MemberPage, MemberReferral, NewQrCode, QrCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sqlx::{PgConnection, PgPool};

use crate::db::members::{self as store, CodeClaim, Member, MemberCode, MemberSettings};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::jobs::{self, Job};
use crate::referral::qrcodes::{self, PERMANENT_QUOTA};
use crate::wechat::client::{MAX_EXPIRE_SECONDS, TEMPORARY_MEDIA_SECONDS};
use crate::wechat::message::{self, Inbound};

/// Longest name a member can choose.
pub const NAME_MAX_CHARS: usize = 20;
/// A temporary member code with less than this left is replaced by a new one.
pub const RENEW_BEFORE_DAYS: i64 = 3;
/// Member codes are permanent while more than this many permanent codes remain for staff;
/// past that they are 30-day temporary codes, renewed when the member asks or opens the page.
pub const PERMANENT_RESERVE: i64 = 5_000;
/// How long the callback waits for the code image before answering with the link instead.
pub const IMAGE_BUDGET: Duration = Duration::from_millis(2500);
/// The follow-up job runs this long after the request even if the callback never finished.
const FOLLOW_UP_DELAY_SECS: i64 = 15;
/// Cached media is reused while it has at least this long to live.
const MEDIA_MARGIN_SECS: i64 = 3600;
/// The QR image's width in pixels.
const IMAGE_PIXELS: u32 = 430;
/// How long a request's claim on making a member's code lasts: longer than making it takes
/// (a token and `qrcode/create`, each call within the client's 10 s timeout), short enough
/// that a request that crashed while holding it delays the member's next one only this long.
pub const CODE_CLAIM_SECS: i64 = 30;
/// How often a request waiting for another request's code looks for it.
const CODE_POLL: Duration = Duration::from_millis(100);
/// How long a request waits for another request's code: one lease, and a little.
const CODE_WAIT_LIMIT: Duration = Duration::from_secs(CODE_CLAIM_SECS as u64 + 1);

/// What a follower's message asks of the member features.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// "推广码", "我的二维码" (configurable) or the configured menu CLICK.
    Code,
    /// "我叫 <name>".
    SetName(String),
    /// A campaign's keyword or menu key: join it and get its poster.
    Join(Box<crate::referral::fission::Trigger>),
}

/// Reads a message or event as a member request, if it is one.
pub fn classify(inbound: &Inbound, settings: &MemberSettings) -> Option<Request> {
    match inbound {
        Inbound::Text { content, .. } => {
            let text = content.trim();
            if settings
                .member_keywords
                .iter()
                .any(|k| !k.trim().is_empty() && k.trim().eq_ignore_ascii_case(text))
            {
                return Some(Request::Code);
            }
            text.strip_prefix("我叫").map(|rest| {
                Request::SetName(
                    rest.trim()
                        .trim_start_matches([':', '：'])
                        .trim()
                        .to_owned(),
                )
            })
        }
        Inbound::Other {
            event: Some(event),
            event_key: Some(key),
            ..
        } if event.eq_ignore_ascii_case("click")
            && !settings.member_menu_key.is_empty()
            && *key == settings.member_menu_key =>
        {
            Some(Request::Code)
        }
        _ => None,
    }
}

/// A display name made safe: markup removed, control characters and `<>&"'` dropped,
/// whitespace collapsed, 1 to [`NAME_MAX_CHARS`] characters.
pub fn clean_name(raw: &str) -> Result<String, &'static str> {
    let mut out = String::new();
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if in_tag => {}
            '&' | '"' | '\'' | '`' | '{' | '}' => {}
            c if c.is_whitespace() => out.push(' '),
            c if c.is_control() || ('\u{200b}'..='\u{200f}').contains(&c) => {}
            c => out.push(c),
        }
    }
    let name = out.split_whitespace().collect::<Vec<_>>().join(" ");
    match name.chars().count() {
        0 => Err("名字不能为空 / The name is empty"),
        n if n > NAME_MAX_CHARS => Err("名字最多 20 个字 / The name is at most 20 characters"),
        _ => Ok(name),
    }
}

/// What staff see for a member who has not chosen a name (friends see a neutral fallback).
pub fn fallback_name(openid: &str) -> String {
    let alnum: Vec<char> = openid.chars().filter(char::is_ascii_alphanumeric).collect();
    let tail: String = alnum[alnum.len().saturating_sub(6)..].iter().collect();
    format!("会员·{tail}")
}

/// A new personal page key: 192 random bits, URL-safe.
pub fn new_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `token` could be a personal page key (checked before touching the database).
pub fn plausible_token(token: &str) -> bool {
    token.len() == 32
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn page_url(public_url: &str, token: &str) -> String {
    format!("{}/m/{token}", public_url.trim_end_matches('/'))
}

/// The text that carries the personal page link.
pub fn link_text(member: &Member, public_url: &str) -> String {
    let mut text = format!(
        "这是您的专属推广码。好友扫码关注后，您可以在个人页面查看推荐了多少位朋友：\n{}",
        page_url(public_url, &member.token)
    );
    if !member.name_chosen {
        text.push_str("\n\n发送「我叫 您的名字」，设置好友关注时看到的推荐人称呼。");
    }
    text
}

/// A code request accepted inside the ingest transaction, answered by the callback.
#[derive(Debug, Clone)]
pub struct CodeRequest {
    pub event_id: i64,
    pub job_id: i64,
    pub member: Member,
    /// The account's original id (the reply's FromUserName).
    pub account_user: String,
    /// The campaign joined: its poster is the image, its join text the link.
    pub campaign_id: Option<i64>,
}

/// What the ingest transaction made of a member request.
pub enum Handled {
    /// Answer with this text.
    Text(String),
    /// Answer with the code (image, or link when the image is late).
    Code(CodeRequest),
}

/// Applies a member request inside the ingest transaction.
pub async fn apply(
    tx: &mut PgConnection,
    account_id: i64,
    event_id: i64,
    inbound: &Inbound,
    request: Request,
) -> sqlx::Result<Handled> {
    let header = inbound.header();
    let openid = header.from_user.as_str();
    if let Request::Join(trigger) = &request
        && let Some(text) = crate::referral::fission::closed_reply(&trigger.campaign, Utc::now())
    {
        return Ok(Handled::Text(text));
    }
    let member =
        store::ensure(tx, account_id, openid, &fallback_name(openid), &new_token()).await?;
    let campaign_id = match &request {
        Request::Join(trigger) if !member.archived => {
            let id = trigger.campaign.id;
            crate::db::campaign_credit::join(tx, account_id, id, member.referrer_id).await?;
            Some(id)
        }
        _ => None,
    };
    match request {
        Request::SetName(raw) => Ok(Handled::Text(match clean_name(&raw) {
            Ok(name) => {
                store::set_name(tx, account_id, member.referrer_id, &name).await?;
                format!(
                    "好的！朋友扫描您的推广码关注时，将看到您是「{name}」。\n发送「推广码」获取您的专属二维码。"
                )
            }
            Err(why) => format!("{why}\n例如发送：我叫 小王"),
        })),
        Request::Code | Request::Join(_) if member.archived => Ok(Handled::Text(
            "您的推广码已停用。如有疑问，请直接在这里留言联系我们。".into(),
        )),
        Request::Code | Request::Join(_) => {
            let job = Job::MemberCode(jobs::MemberCode {
                event_id,
                referrer_id: member.referrer_id,
                openid: openid.to_owned(),
                campaign_id,
            });
            let job_id =
                crate::referral::jobs::enqueue_later(tx, account_id, &job, FOLLOW_UP_DELAY_SECS)
                    .await?;
            Ok(Handled::Code(CodeRequest {
                event_id,
                job_id,
                member,
                account_user: header.to_user.clone(),
                campaign_id,
            }))
        }
    }
}

/// What the member features need at run time.
#[derive(Clone)]
pub struct MemberContext {
    pub pool: PgPool,
    /// Every account's WeChat API.
    pub accounts: Arc<crate::accounts::Accounts>,
    /// Where followers reach this server (personal page links).
    pub public_url: String,
}

impl MemberContext {
    /// The reply to a code request: the QR image if it is ready within `budget`, else the
    /// text link. The reply is stored on the event (re-deliveries get the same answer) and the
    /// follow-up job is made due.
    pub async fn answer(&self, req: &CodeRequest, budget: Duration) -> String {
        let ctx = self.clone();
        let (account_id, referrer_id) = (req.member.account_id, req.member.referrer_id);
        // Spawned: when the budget runs out, the work still finishes and is cached for the
        // follow-up job.
        let campaign = req.campaign_id;
        let work = tokio::spawn(async move {
            match campaign {
                Some(c) => ctx.poster_media(account_id, c, referrer_id).await,
                None => ctx.image(account_id, referrer_id).await,
            }
        });
        let now = Utc::now().timestamp();
        let to = req.member.openid.as_str();
        let xml = match tokio::time::timeout(budget, work).await {
            Ok(Ok(Ok(media_id))) => message::image_reply(to, &req.account_user, now, &media_id),
            outcome => {
                match outcome {
                    Ok(Ok(Err(e))) => tracing::warn!(error = %e, "member code image failed"),
                    Ok(Err(e)) => tracing::error!(error = %e, "member code task failed"),
                    _ => tracing::info!("member code image not ready in time; sending the link"),
                }
                let text = match campaign {
                    Some(c) => self
                        .joined_text(account_id, c, &req.member)
                        .await
                        .unwrap_or_else(|_| link_text(&req.member, &self.public_url)),
                    None => link_text(&req.member, &self.public_url),
                };
                message::text_reply(to, &req.account_user, now, &text)
            }
        };
        if let Err(e) = self.settle(req, &xml).await {
            tracing::warn!(error = %e, "member code reply not stored; the follow-up job sends both");
        }
        xml
    }

    async fn settle(&self, req: &CodeRequest, xml: &str) -> sqlx::Result<()> {
        let mut conn = self.pool.acquire().await?;
        let account_id = req.member.account_id;
        crate::db::events::set_reply(&mut conn, account_id, req.event_id, xml).await?;
        crate::db::outbox::make_due(&self.pool, account_id, req.job_id).await
    }

    /// The member's current code, made (or renewed) when there is none valid for a few days.
    ///
    /// Made once however many requests ask at the same time, with nothing held open while
    /// WeChat makes it (claim, call, then record): the request that claims the making
    /// ([`store::claim_code`], a lease of [`CODE_CLAIM_SECS`]) calls `qrcode/create` and stores
    /// the code; the others poll for that code, and claim in turn if the claim ends without
    /// one (the claimer failed, or crashed and its lease ran out).
    pub async fn code(
        &self,
        account_id: i64,
        referrer_id: i64,
    ) -> Result<MemberCode, ServiceError> {
        let fresh = || Utc::now() + chrono::Duration::days(RENEW_BEFORE_DAYS);
        let deadline = tokio::time::Instant::now() + CODE_WAIT_LIMIT;
        let until = loop {
            if let Some(code) =
                store::current_code(&self.pool, account_id, referrer_id, fresh()).await?
            {
                return Ok(code);
            }
            match store::claim_code(&self.pool, account_id, referrer_id, CODE_CLAIM_SECS).await? {
                CodeClaim::Ours(until) => break until,
                CodeClaim::Missing => return Err(ServiceError::NotFound("referrer")),
                CodeClaim::Busy => {}
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ServiceError::Upstream(
                    "another request is still making the member's code".into(),
                ));
            }
            tokio::time::sleep(CODE_POLL).await;
        };
        let claim = ClaimedCode {
            pool: self.pool.clone(),
            account_id,
            referrer_id,
            until,
            armed: true,
        };
        // A request that held the claim just before us has stored its code by now.
        if let Some(code) =
            store::current_code(&self.pool, account_id, referrer_id, fresh()).await?
        {
            claim.release().await;
            return Ok(code);
        }
        let made = self.make_code(account_id, referrer_id).await;
        claim.release().await;
        let made = made?;
        // The webhooks hear of it (after the code is stored; a lost event is logged only).
        if let Err(e) =
            crate::db::webhook_events::emit_member_code(&self.pool, account_id, made.id).await
        {
            tracing::warn!(error = %e, "cannot emit member.code_created");
        }
        store::current_code(&self.pool, account_id, referrer_id, Utc::now())
            .await?
            .filter(|c| c.id == made.id)
            .ok_or(ServiceError::NotFound("QR code"))
    }

    /// Makes a new code for the member through WeChat and stores it (the caller holds the
    /// claim): permanent while enough of the quota is left for staff, else temporary.
    async fn make_code(&self, account_id: i64, referrer_id: i64) -> Result<QrCode, ServiceError> {
        let actor = Actor::member(account_id, referrer_id);
        let used = qrcodes::quota(&self.pool, &actor).await?.permanent_used;
        let temporary = NewQrCode {
            kind: CodeKind::Temporary.as_str().into(),
            expire_seconds: Some(MAX_EXPIRE_SECONDS),
            label: Some("个人推广码（30 天）".into()),
            scene_type: None,
            wechat_tag: None,
        };
        let input = if used < PERMANENT_QUOTA - PERMANENT_RESERVE {
            NewQrCode {
                kind: CodeKind::Permanent.as_str().into(),
                expire_seconds: None,
                label: Some("个人推广码".into()),
                scene_type: None,
                wechat_tag: None,
            }
        } else {
            temporary.clone()
        };
        let accounts = &self.accounts;
        match qrcodes::create(&self.pool, accounts, &actor, referrer_id, &input).await {
            Err(ServiceError::Conflict {
                code: "permanent_quota_exceeded",
                ..
            }) => qrcodes::create(&self.pool, accounts, &actor, referrer_id, &temporary).await,
            other => other,
        }
    }

    /// The media id of the member's code image, uploaded when not cached.
    pub async fn image(&self, account_id: i64, referrer_id: i64) -> Result<String, ServiceError> {
        let code = self.code(account_id, referrer_id).await?;
        let margin = Utc::now() + chrono::Duration::seconds(MEDIA_MARGIN_SECS);
        if let (Some(id), Some(until)) = (&code.media_id, code.media_expires_at)
            && until > margin
        {
            return Ok(id.clone());
        }
        let png = crate::qr::png(&code.url, IMAGE_PIXELS)
            .map_err(|e| ServiceError::Upstream(e.to_string()))?;
        let media = crate::referral::accounts::api(&self.accounts, account_id)
            .await?
            .upload_image("qrcode.png", &png)
            .await
            .map_err(|e| ServiceError::Upstream(e.to_string()))?;
        let created = DateTime::from_timestamp(media.created_at, 0)
            .filter(|t| *t > Utc::now() - chrono::Duration::hours(1))
            .unwrap_or_else(Utc::now);
        let until = created + chrono::Duration::seconds(TEMPORARY_MEDIA_SECONDS);
        store::set_media(&self.pool, account_id, code.id, &media.media_id, until).await?;
        Ok(media.media_id)
    }

    /// The personal page of the member with key `token`.
    pub async fn page(&self, token: &str) -> Result<MemberPage, ServiceError> {
        let member = self.member(token).await?;
        let (account_id, referrer_id) = (member.account_id, member.referrer_id);
        let code = if member.archived {
            None
        } else {
            match self.code(account_id, referrer_id).await {
                Ok(code) => Some(code),
                Err(e) => {
                    tracing::warn!(error = %e, "member page without a code");
                    None
                }
            }
        };
        let qr_svg = match &code {
            Some(c) => {
                Some(crate::qr::svg(&c.url).map_err(|e| ServiceError::Upstream(e.to_string()))?)
            }
            None => None,
        };
        let (total, still_following) = store::counts(&self.pool, account_id, referrer_id).await?;
        let latest = store::latest(&self.pool, account_id, referrer_id, 10)
            .await?
            .into_iter()
            .map(|(openid, at, following)| MemberReferral {
                follower: crate::jobs::mask_openid(&openid),
                followed_at: crate::referral::period::local_time(at),
                still_following: following,
            })
            .collect();
        let account_name = crate::db::events::account_name(&self.pool, account_id).await?;
        let campaigns =
            crate::referral::campaigns::of_member(&self.pool, account_id, referrer_id, token)
                .await?;
        Ok(MemberPage {
            name: member.name_chosen.then(|| member.name.clone()),
            account_name,
            archived: member.archived,
            qr_svg,
            code_expires_at: code
                .as_ref()
                .and_then(|c| c.expires_at)
                .map(crate::referral::period::local_time),
            total,
            still_following,
            latest,
            campaigns,
        })
    }

    /// The member's poster for a campaign they take part in (their page's key is the
    /// credential).
    pub async fn poster_for_page(
        &self,
        token: &str,
        campaign_id: i64,
    ) -> Result<Vec<u8>, ServiceError> {
        let member = self.member(token).await?;
        if member.archived {
            return Err(ServiceError::NotFound("member"));
        }
        let (png, _) = self.poster(member.account_id, campaign_id, &member).await?;
        Ok(png)
    }

    /// The member sets the name friends see from their page.
    pub async fn set_name(&self, token: &str, raw: &str) -> Result<String, ServiceError> {
        let member = self.member(token).await?;
        let name = clean_name(raw).map_err(|why| ServiceError::field("name", why))?;
        let mut conn = self.pool.acquire().await?;
        store::set_name(&mut conn, member.account_id, member.referrer_id, &name).await?;
        Ok(name)
    }

    async fn member(&self, token: &str) -> Result<Member, ServiceError> {
        if !plausible_token(token) {
            return Err(ServiceError::NotFound("member"));
        }
        store::by_token(&self.pool, token)
            .await?
            .ok_or(ServiceError::NotFound("member"))
    }

    /// The follow-up job: after an image reply the link, after a link the image, and both
    /// when the callback never stored its answer.
    pub async fn follow_up(
        &self,
        account_id: i64,
        event_id: i64,
        referrer_id: i64,
        openid: &str,
        campaign_id: Option<i64>,
    ) -> Result<(), FollowUpError> {
        let reply = crate::db::events::event_reply(&self.pool, account_id, event_id).await?;
        let mut conn = self.pool.acquire().await?;
        let member = store::by_openid(&mut conn, account_id, openid)
            .await?
            .filter(|m| m.referrer_id == referrer_id)
            .ok_or(FollowUpError::Gone)?;
        drop(conn);
        let sent_image = reply.as_deref().and_then(message::reply_media_id).is_some();
        let sent_link = reply.as_deref().and_then(message::reply_text).is_some();
        let api = crate::referral::accounts::api(&self.accounts, account_id)
            .await
            .map_err(FollowUpError::Service)?;
        if !sent_image {
            let media_id = match campaign_id {
                Some(c) => self.poster_media(account_id, c, referrer_id).await,
                None => self.image(account_id, referrer_id).await,
            };
            api.send_image(openid, &media_id.map_err(FollowUpError::Service)?)
                .await?;
        }
        if !sent_link {
            let text = match campaign_id {
                Some(c) => self
                    .joined_text(account_id, c, &member)
                    .await
                    .map_err(FollowUpError::Service)?,
                None => link_text(&member, &self.public_url),
            };
            api.send_text(openid, &text).await?;
        }
        Ok(())
    }
}

/// A claim on making a member's code, held by this request (see [`MemberContext::code`]).
/// Dropped unreleased (the request was cancelled), it is given back in the background, so the
/// member's next request need not wait for the lease to run out.
struct ClaimedCode {
    pool: PgPool,
    account_id: i64,
    referrer_id: i64,
    until: DateTime<Utc>,
    armed: bool,
}

impl ClaimedCode {
    /// Gives the claim back; if that fails, the lease runs out by itself.
    async fn release(mut self) {
        self.armed = false;
        let released =
            store::release_code(&self.pool, self.account_id, self.referrer_id, self.until).await;
        if let Err(e) = released {
            tracing::warn!(error = %e, "member code claim not released; it runs out by itself");
        }
    }
}

impl Drop for ClaimedCode {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let pool = self.pool.clone();
            let (account_id, referrer_id, until) = (self.account_id, self.referrer_id, self.until);
            runtime.spawn(async move {
                let _ = store::release_code(&pool, account_id, referrer_id, until).await;
            });
        }
    }
}

/// Why the follow-up could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum FollowUpError {
    #[error("the member no longer exists")]
    Gone,
    #[error(transparent)]
    Api(#[from] crate::wechat::client::ApiError),
    #[error(transparent)]
    Service(ServiceError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Staff reset a member's chosen name (friends see the neutral fallback again).
pub async fn reset_name(
    pool: &PgPool,
    actor: &crate::referral::actor::Actor,
    referrer_id: i64,
) -> Result<(), ServiceError> {
    actor.require(crate::referral::roles::Role::Staff)?;
    let account_id = actor.account_id;
    let member = store::by_referrer(pool, account_id, referrer_id)
        .await?
        .ok_or(ServiceError::NotFound("member"))?;
    store::reset_name(
        pool,
        account_id,
        referrer_id,
        &fallback_name(&member.openid),
        &actor.audit_name(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wechat::message::Header;

    fn settings() -> MemberSettings {
        MemberSettings {
            member_keywords: vec!["推广码".into(), "我的二维码".into(), "Code".into()],
            member_menu_key: "MY_REFERRAL_CODE".into(),
        }
    }

    fn header(msg_type: &str) -> Header {
        Header {
            to_user: "gh_x".into(),
            from_user: "oUser".into(),
            create_time: 1,
            msg_type: msg_type.into(),
        }
    }

    fn text(content: &str) -> Inbound {
        Inbound::Text {
            header: header("text"),
            content: content.into(),
            msg_id: "1".into(),
        }
    }

    #[test]
    fn keywords_menu_clicks_and_name_commands() {
        let s = settings();
        assert_eq!(classify(&text(" 推广码 "), &s), Some(Request::Code));
        assert_eq!(classify(&text("我的二维码"), &s), Some(Request::Code));
        assert_eq!(classify(&text("code"), &s), Some(Request::Code));
        assert_eq!(classify(&text("推广码呢"), &s), None);
        assert_eq!(classify(&text("你好"), &s), None);
        assert_eq!(
            classify(&text("我叫 小王"), &s),
            Some(Request::SetName("小王".into()))
        );
        assert_eq!(
            classify(&text("我叫：小王"), &s),
            Some(Request::SetName("小王".into()))
        );
        let click = |key: &str| Inbound::Other {
            header: header("event"),
            event: Some("CLICK".into()),
            event_key: Some(key.into()),
            msg_id: None,
        };
        assert_eq!(
            classify(&click("MY_REFERRAL_CODE"), &s),
            Some(Request::Code)
        );
        assert_eq!(classify(&click("OTHER"), &s), None);
    }

    #[test]
    fn names_are_cleaned_and_limited() {
        assert_eq!(clean_name("  小王  ").as_deref(), Ok("小王"));
        assert_eq!(
            clean_name("<b>小王</b><script>x</script>").as_deref(),
            Ok("小王x")
        );
        assert_eq!(clean_name("a\u{0}b\tc  d").as_deref(), Ok("ab c d"));
        assert_eq!(clean_name("Tom & \"Jerry\"").as_deref(), Ok("Tom Jerry"));
        assert_eq!(clean_name("{referrer}").as_deref(), Ok("referrer"));
        assert!(clean_name("  ").is_err());
        assert!(clean_name("<img src=x>").is_err());
        assert!(clean_name(&"王".repeat(21)).is_err());
        assert_eq!(
            clean_name(&"王".repeat(20)).map(|n| n.chars().count()),
            Ok(20)
        );
    }

    #[test]
    fn tokens_are_unguessable_and_recognisable() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(plausible_token(&a), "{a}");
        assert!(!plausible_token("../../etc/passwd"));
        assert!(!plausible_token(&a[..31]));
    }

    #[test]
    fn fallback_names_show_the_openid_tail() {
        assert_eq!(fallback_name("oSBX_alice-123456"), "会员·123456");
    }
}
