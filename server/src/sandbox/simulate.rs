//! Simulated WeChat users: "U scans code X", "U follows", "U unfollows", "U sends text T".
//! Each action updates the simulated WeChat's state and posts a correctly signed (and in safe
//! mode encrypted) callback to our own `/wechat/callback`, then reads the reply as WeChat would.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::db::sandbox as store;
use crate::http::callback::SharedCallbackConfig;
use crate::startup::AppState;

/// What a simulated user needs: our database, the account's callback configuration and our
/// address.
#[derive(Clone)]
pub struct SimContext {
    pub pool: sqlx::PgPool,
    pub account_id: i64,
    /// The account's original id (the ToUserName of what WeChat sends).
    pub original_id: String,
    pub callback: SharedCallbackConfig,
    pub self_url: String,
    pub http: reqwest::Client,
    /// WeChat gives up on the callbacks of this simulation (as after three failed tries): the
    /// simulated account changes, our server hears nothing. Reconciliation finds it.
    pub lose_callbacks: bool,
    /// WeChat's `user/info` reports this developer scene for the follows of this simulation
    /// instead of the scanned one (as when the event that reached us names another code than
    /// the one WeChat recorded): what abuse review flags as a scene mismatch.
    pub info_scene: Option<String>,
}

impl AppState {
    /// The simulator's view of this server, for the first account.
    pub fn sim(&self) -> SimContext {
        SimContext {
            pool: self.pool.clone(),
            account_id: self.account_id,
            original_id: crate::accounts::sandbox_original_id(self.account_id),
            callback: self.callback.clone(),
            self_url: self.self_url.clone(),
            http: self.http.clone(),
            lose_callbacks: false,
            info_scene: None,
        }
    }

    /// The simulator's view of one account (the first when `account` is None); only sandbox
    /// accounts are simulated.
    pub async fn sim_for(&self, account: Option<i64>) -> Result<SimContext, SimError> {
        SimContext::for_account(
            &self.accounts,
            &self.pool,
            &self.self_url,
            &self.http,
            account.unwrap_or(self.account_id),
        )
        .await
    }
}

impl SimContext {
    /// The simulator's view of account `id`; only sandbox accounts are simulated.
    pub async fn for_account(
        accounts: &crate::accounts::Accounts,
        pool: &sqlx::PgPool,
        self_url: &str,
        http: &reqwest::Client,
        id: i64,
    ) -> Result<SimContext, SimError> {
        let account = accounts.get(id).await.map_err(|e| match e {
            crate::accounts::AccountError::Database(e) => SimError::Database(e),
            _ => SimError::UnknownAccount(id),
        })?;
        if account.mode != crate::accounts::Mode::Sandbox {
            return Err(SimError::LiveAccount(id));
        }
        Ok(SimContext {
            pool: pool.clone(),
            account_id: id,
            original_id: account
                .original_id
                .clone()
                .unwrap_or_else(|| crate::accounts::sandbox_original_id(id)),
            callback: account.callback.clone(),
            self_url: self_url.to_owned(),
            http: http.clone(),
            lose_callbacks: false,
            info_scene: None,
        })
    }
}
use crate::wechat::message::{self, parse_encrypted_reply};
use crate::wechat::signature::sign;

/// What the simulated user saw.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SimReply {
    pub openid: String,
    /// The event or message WeChat sent us: `subscribe`, `SCAN`, `unsubscribe`, `text`.
    pub sent: String,
    /// Our server's HTTP status.
    pub status: u16,
    /// The passive reply's text, as the chat would show it (None for `success`).
    pub reply: Option<String>,
    /// The passive reply's image, when it is an image message: its media id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_media_id: Option<String>,
    /// WeChat gave up on the callback: our server never heard of it (status 0).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lost: bool,
}

/// Why a simulation could not run.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("user names are 1 to 32 letters, digits, '_' or '-'")]
    BadUser,
    #[error("no QR code with id {0}")]
    UnknownCode(i64),
    #[error("no account with id {0}")]
    UnknownAccount(i64),
    #[error("no QR code of this account encodes that address")]
    UnknownUrl,
    #[error("the QR code has expired")]
    ExpiredCode,
    #[error("account {0} is a live account: WeChat itself plays its users")]
    LiveAccount(i64),
    #[error("text must be 1 to 600 characters")]
    BadText,
    #[error("only followers see the account's menu")]
    NotFollowing,
    #[error("the account's menu has no such item")]
    NoMenuItem,
    #[error("the callback could not be delivered: {0}")]
    Delivery(String),
    #[error("the reply could not be read: {0}")]
    BadReply(String),
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match self {
            SimError::BadUser
            | SimError::BadText
            | SimError::NotFollowing
            | SimError::NoMenuItem
            | SimError::ExpiredCode => StatusCode::UNPROCESSABLE_ENTITY,
            SimError::UnknownCode(_) | SimError::UnknownAccount(_) | SimError::UnknownUrl => {
                StatusCode::NOT_FOUND
            }
            SimError::LiveAccount(_) => StatusCode::FORBIDDEN,
            SimError::Delivery(_) | SimError::BadReply(_) => StatusCode::BAD_GATEWAY,
            SimError::Database(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let body = json!({"error": {"code": "simulation_failed", "message": self.to_string()}});
        (status, Json(body)).into_response()
    }
}

/// The openid of a simulated user (stable per name).
pub fn openid_for(user: &str) -> Result<String, SimError> {
    let ok = !user.is_empty()
        && user.len() <= 32
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(format!("oSBX_{user}"))
    } else {
        Err(SimError::BadUser)
    }
}

/// WeChat's CreateTime for a simulated user's next event: the current second, or one later
/// than the user's previous event when that was in this second already. A person cannot make
/// two events in one second; the simulator can, and two identical events of one second would
/// read as one delivered twice (their de-duplication keys are equal).
fn create_time(openid: &str) -> i64 {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static LAST: OnceLock<Mutex<HashMap<String, i64>>> = OnceLock::new();
    let now = Utc::now().timestamp();
    let mut last = LAST
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Forget users idle for a while (the map stays small).
    if last.len() > 10_000 {
        last.retain(|_, t| *t >= now);
    }
    let t = match last.get(openid) {
        Some(&previous) if previous >= now => previous + 1,
        _ => now,
    };
    last.insert(openid.to_owned(), t);
    t
}

fn event_xml(
    to: &str,
    openid: &str,
    event: &str,
    key: Option<&str>,
    ticket: Option<&str>,
) -> String {
    let mut xml = format!(
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[event]]></MsgType>\
         <Event><![CDATA[{event}]]></Event>",
        create_time(openid)
    );
    if let Some(key) = key {
        xml.push_str(&format!("<EventKey><![CDATA[{key}]]></EventKey>"));
    }
    if let Some(ticket) = ticket {
        xml.push_str(&format!("<Ticket><![CDATA[{ticket}]]></Ticket>"));
    }
    xml.push_str("</xml>");
    xml
}

/// Signs (and in safe mode encrypts) `xml`, posts it to our callback, and reads the reply.
async fn deliver(
    state: &SimContext,
    openid: &str,
    sent: &str,
    xml: &str,
) -> Result<SimReply, SimError> {
    if state.lose_callbacks {
        return Ok(SimReply {
            openid: openid.to_owned(),
            sent: sent.to_owned(),
            status: 0,
            reply: None,
            image_media_id: None,
            lost: true,
        });
    }
    let config = &state.callback;
    let to = &state.original_id;
    let token = config.token();
    let timestamp = Utc::now().timestamp().to_string();
    let nonce = rand::rng()
        .random_range(100_000_000u32..999_999_999)
        .to_string();
    let signature = sign(&[token, &timestamp, &nonce]);
    let mut url = format!(
        "{}/wechat/callback/{}?signature={signature}&timestamp={timestamp}&nonce={nonce}&openid={openid}",
        state.self_url, state.account_id
    );
    let body = match config.crypt() {
        Some(crypt) => {
            let encrypt = crypt.encrypt(xml);
            let msg_signature = sign(&[token, &timestamp, &nonce, &encrypt]);
            url.push_str(&format!("&encrypt_type=aes&msg_signature={msg_signature}"));
            format!(
                "<xml><ToUserName><![CDATA[{to}]]></ToUserName>\
                 <Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
            )
        }
        None => xml.to_owned(),
    };
    let resp = state
        .http
        .post(url)
        .header("content-type", "text/xml")
        .body(body)
        .send()
        .await
        .map_err(|e| SimError::Delivery(e.without_url().to_string()))?;
    let status = resp.status().as_u16();
    let text = resp
        .text()
        .await
        .map_err(|e| SimError::Delivery(e.without_url().to_string()))?;
    let reply = if status != 200 || text == "success" || text.is_empty() {
        None
    } else {
        let xml = match config.crypt() {
            Some(crypt) if text.contains("<Encrypt>") => {
                let env =
                    parse_encrypted_reply(&text).map_err(|e| SimError::BadReply(e.to_string()))?;
                if sign(&[token, &env.timestamp, &env.nonce, &env.encrypt]) != env.msg_signature {
                    return Err(SimError::BadReply("reply signature does not match".into()));
                }
                crypt
                    .decrypt(&env.encrypt)
                    .map_err(|e| SimError::BadReply(e.to_string()))?
            }
            _ => text,
        };
        Some(xml)
    };
    let (reply, image_media_id) = match reply {
        None => (None, None),
        Some(xml) => match (message::reply_text(&xml), message::reply_media_id(&xml)) {
            (Some(text), _) => (Some(text), None),
            (None, Some(media_id)) => (None, Some(media_id)),
            (None, None) => {
                return Err(SimError::BadReply(
                    "neither a text nor an image reply".into(),
                ));
            }
        },
    };
    Ok(SimReply {
        openid: openid.to_owned(),
        sent: sent.to_owned(),
        status,
        reply,
        image_media_id,
        lost: false,
    })
}

/// The user scans one of our QR codes: `subscribe` with `qrscene_` for a new follower, `SCAN`
/// for an existing one.
pub async fn scan(state: &SimContext, code_id: i64, user: &str) -> Result<SimReply, SimError> {
    openid_for(user)?;
    let (scene, ticket) = store::our_code(&state.pool, state.account_id, code_id)
        .await?
        .ok_or(SimError::UnknownCode(code_id))?;
    scan_scene(state, &scene, &ticket, user).await
}

/// The user scans whatever QR code encodes `url` (as a phone's camera reads it): one the
/// account made with `qrcode/create`, such as a referrer's binding code. An expired temporary
/// code does nothing, as in WeChat.
pub async fn scan_url(state: &SimContext, url: &str, user: &str) -> Result<SimReply, SimError> {
    openid_for(user)?;
    let (scene, ticket, live) = store::qrcode_by_url(&state.pool, state.account_id, url)
        .await?
        .ok_or(SimError::UnknownUrl)?;
    if !live {
        return Err(SimError::ExpiredCode);
    }
    scan_scene(state, &scene, &ticket, user).await
}

async fn scan_scene(
    state: &SimContext,
    scene: &str,
    ticket: &str,
    user: &str,
) -> Result<SimReply, SimError> {
    let (scene, ticket) = (scene.to_owned(), ticket.to_owned());
    let openid = openid_for(user)?;
    let existing = store::ensure_user(&state.pool, state.account_id, &openid, user).await?;
    if existing.subscribed {
        store::record_interaction(&state.pool, state.account_id, &openid).await?;
        let xml = event_xml(
            &state.original_id,
            &openid,
            "SCAN",
            Some(&scene),
            Some(&ticket),
        );
        deliver(state, &openid, "SCAN", &xml).await
    } else {
        let recorded = state.info_scene.as_deref().unwrap_or(&scene);
        store::record_follow(&state.pool, state.account_id, &openid, Some(recorded)).await?;
        let key = format!("qrscene_{scene}");
        let xml = event_xml(
            &state.original_id,
            &openid,
            "subscribe",
            Some(&key),
            Some(&ticket),
        );
        deliver(state, &openid, "subscribe", &xml).await
    }
}

/// The user follows by searching for the account (no scene).
pub async fn follow(state: &SimContext, user: &str) -> Result<SimReply, SimError> {
    let openid = openid_for(user)?;
    store::ensure_user(&state.pool, state.account_id, &openid, user).await?;
    store::record_follow(&state.pool, state.account_id, &openid, None).await?;
    let xml = event_xml(&state.original_id, &openid, "subscribe", Some(""), None);
    deliver(state, &openid, "subscribe", &xml).await
}

/// The user unfollows.
pub async fn unfollow(state: &SimContext, user: &str) -> Result<SimReply, SimError> {
    let openid = openid_for(user)?;
    store::ensure_user(&state.pool, state.account_id, &openid, user).await?;
    store::record_unfollow(&state.pool, state.account_id, &openid).await?;
    let xml = event_xml(&state.original_id, &openid, "unsubscribe", Some(""), None);
    deliver(state, &openid, "unsubscribe", &xml).await
}

/// The user sends a text message.
pub async fn text(state: &SimContext, user: &str, content: &str) -> Result<SimReply, SimError> {
    let openid = openid_for(user)?;
    let chars = content.chars().count();
    if chars == 0 || chars > 600 {
        return Err(SimError::BadText);
    }
    store::ensure_user(&state.pool, state.account_id, &openid, user).await?;
    store::record_message_sent(&state.pool, state.account_id, &openid).await?;
    let to = &state.original_id;
    let msg_id: u64 = rand::rng().random_range(1_000_000_000_000_000..u64::MAX / 2);
    let xml = format!(
        "<xml><ToUserName><![CDATA[{to}]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{}</CreateTime>\
         <MsgType><![CDATA[text]]></MsgType><Content>{}</Content><MsgId>{msg_id}</MsgId></xml>",
        Utc::now().timestamp(),
        format_args!("<![CDATA[{}]]>", content.replace("]]>", "]]]]><![CDATA[>"))
    );
    deliver(state, &openid, "text", &xml).await
}

/// The user clicks the account's "my referral code" menu item (a CLICK event with the
/// configured key).
pub async fn menu_click(state: &SimContext, user: &str) -> Result<SimReply, SimError> {
    let mut conn = state.pool.acquire().await?;
    let key = crate::db::members::settings(&mut conn, state.account_id)
        .await?
        .member_menu_key;
    drop(conn);
    menu_event(state, user, "CLICK", &key).await
}

/// The user clicks a CLICK item of the account's published menu: a CLICK event with its key.
pub async fn click(state: &SimContext, user: &str, key: &str) -> Result<SimReply, SimError> {
    let menu = crate::sandbox::menu::stored(&state.pool, state.account_id).await?;
    if menu.as_ref().and_then(|m| m.find_key(key)).is_none() {
        return Err(SimError::NoMenuItem);
    }
    menu_event(state, user, "CLICK", key).await
}

/// The user opens a VIEW item of the account's published menu: WeChat opens the page and
/// sends a VIEW event with its URL (no reply is shown for it).
pub async fn view(state: &SimContext, user: &str, url: &str) -> Result<SimReply, SimError> {
    let menu = crate::sandbox::menu::stored(&state.pool, state.account_id).await?;
    let listed = menu.is_some_and(|m| {
        m.button
            .iter()
            .flat_map(|b| std::iter::once(b).chain(b.sub_button.iter()))
            .any(|b| b.url.as_deref() == Some(url))
    });
    if !listed {
        return Err(SimError::NoMenuItem);
    }
    menu_event(state, user, "VIEW", url).await
}

/// A follower's menu event (only followers see the menu). A click opens the customer-service
/// window; opening a link does not (wechat-protocol.md §9.1: click and scan types only).
async fn menu_event(
    state: &SimContext,
    user: &str,
    event: &str,
    key: &str,
) -> Result<SimReply, SimError> {
    let openid = openid_for(user)?;
    let existing = store::ensure_user(&state.pool, state.account_id, &openid, user).await?;
    if !existing.subscribed {
        return Err(SimError::NotFollowing);
    }
    if event == "CLICK" {
        store::record_interaction(&state.pool, state.account_id, &openid).await?;
    }
    let xml = event_xml(&state.original_id, &openid, event, Some(key), None);
    deliver(state, &openid, event, &xml).await
}

/// Body of the simulate endpoints.
#[derive(Debug, Deserialize)]
pub struct SimRequest {
    pub user: String,
    #[serde(default)]
    pub qrcode_id: Option<i64>,
    /// A scan: what the QR code encodes, instead of one of our codes' id (e.g. a binding code).
    #[serde(default)]
    pub code_url: Option<String>,
    #[serde(default)]
    pub content: Option<String>,
    /// The account whose user acts; default: the first.
    #[serde(default)]
    pub account: Option<i64>,
    /// A menu click: the CLICK item's key (default: the "my referral code" key).
    #[serde(default)]
    pub key: Option<String>,
    /// A menu click: the VIEW item's URL (instead of a key).
    #[serde(default)]
    pub url: Option<String>,
    /// WeChat gives up on this callback: the simulated account changes, our server hears
    /// nothing (what reconciliation recovers).
    #[serde(default)]
    pub lost: bool,
    /// A scan: WeChat's `user/info` reports this scene for the follow instead of the scanned
    /// one (a scene mismatch, for abuse review).
    #[serde(default)]
    pub info_scene: Option<String>,
}

/// `POST /sandbox/simulate/scan` `{"qrcode_id": 1, "user": "alice"}`
pub async fn scan_handler(
    State(state): State<AppState>,
    Json(req): Json<SimRequest>,
) -> Result<Json<SimReply>, SimError> {
    let mut sim = state.sim_for(req.account).await?;
    sim.lose_callbacks = req.lost;
    sim.info_scene = req.info_scene.clone().filter(|s| !s.is_empty());
    if let Some(url) = req.code_url.as_deref() {
        return Ok(Json(scan_url(&sim, url, &req.user).await?));
    }
    let code = req.qrcode_id.ok_or(SimError::UnknownCode(0))?;
    Ok(Json(scan(&sim, code, &req.user).await?))
}

/// `POST /sandbox/simulate/follow` `{"user": "alice"}`
pub async fn follow_handler(
    State(state): State<AppState>,
    Json(req): Json<SimRequest>,
) -> Result<Json<SimReply>, SimError> {
    let mut sim = state.sim_for(req.account).await?;
    sim.lose_callbacks = req.lost;
    Ok(Json(follow(&sim, &req.user).await?))
}

/// `POST /sandbox/simulate/unfollow` `{"user": "alice"}`
pub async fn unfollow_handler(
    State(state): State<AppState>,
    Json(req): Json<SimRequest>,
) -> Result<Json<SimReply>, SimError> {
    let mut sim = state.sim_for(req.account).await?;
    sim.lose_callbacks = req.lost;
    Ok(Json(unfollow(&sim, &req.user).await?))
}

/// `POST /sandbox/simulate/text` `{"user": "alice", "content": "你好"}`
pub async fn text_handler(
    State(state): State<AppState>,
    Json(req): Json<SimRequest>,
) -> Result<Json<SimReply>, SimError> {
    let content = req.content.unwrap_or_default();
    let mut sim = state.sim_for(req.account).await?;
    sim.lose_callbacks = req.lost;
    Ok(Json(text(&sim, &req.user, &content).await?))
}

/// `POST /sandbox/simulate/menu` `{"user": "alice"}` (the "my referral code" key), or with
/// `"key"` / `"url"`: that item of the published menu.
pub async fn menu_handler(
    State(state): State<AppState>,
    Json(req): Json<SimRequest>,
) -> Result<Json<SimReply>, SimError> {
    let mut sim = state.sim_for(req.account).await?;
    sim.lose_callbacks = req.lost;
    let reply = match (req.key.as_deref(), req.url.as_deref()) {
        (Some(key), _) => click(&sim, &req.user, key).await?,
        (None, Some(url)) => view(&sim, &req.user, url).await?,
        (None, None) => menu_click(&sim, &req.user).await?,
    };
    Ok(Json(reply))
}

/// Which account a sandbox read is for (`?account=`; default: the first).
#[derive(Debug, Default, Deserialize)]
pub struct AccountParam {
    pub account: Option<i64>,
}

/// `GET /sandbox/users`: the simulated users.
pub async fn users_handler(
    State(state): State<AppState>,
    axum::extract::Query(q): axum::extract::Query<AccountParam>,
) -> Result<Response, SimError> {
    let sim = state.sim_for(q.account).await?;
    let users = store::users(&state.pool, sim.account_id).await?;
    let list: Vec<_> = users
        .into_iter()
        .map(|u| json!({"openid": u.openid, "name": u.name, "subscribed": u.subscribed}))
        .collect();
    Ok(Json(json!({ "users": list })).into_response())
}

/// `GET /sandbox/users/{openid}/messages`: what the account sent this user.
pub async fn messages_handler(
    State(state): State<AppState>,
    Path(openid): Path<String>,
    axum::extract::Query(q): axum::extract::Query<AccountParam>,
) -> Result<Response, SimError> {
    let sim = state.sim_for(q.account).await?;
    let messages = store::messages_to(&state.pool, sim.account_id, &openid).await?;
    Ok(Json(json!({ "messages": messages })).into_response())
}
