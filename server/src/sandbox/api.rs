//! The simulated WeChat API: WeChat's request and response shapes, limits and error codes
//! (HTTP 200 with `errcode`), backed by the sandbox tables.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use rand::RngCore;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::sandbox::{self as store, TokenState};
use crate::sandbox::SANDBOX_SECRET;
use crate::startup::AppState;

/// Permanent QR codes per account.
pub const PERMANENT_QUOTA: i64 = 100_000;
/// Token lifetime, as WeChat's.
const TOKEN_TTL: i64 = 7200;

/// A WeChat error answer (HTTP 200 with `errcode`).
pub(crate) fn err(errcode: i64, errmsg: &str) -> Response {
    Json(json!({"errcode": errcode, "errmsg": format!("{errmsg} rid: sandbox")})).into_response()
}

pub(crate) fn ok(mut body: Value) -> Response {
    if let Some(map) = body.as_object_mut() {
        map.entry("errcode").or_insert(json!(0));
        map.entry("errmsg").or_insert(json!("ok"));
    }
    Json(body).into_response()
}

pub(crate) fn unavailable() -> Response {
    err(-1, "system error")
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    STANDARD.encode(buf)
}

/// Applies fault knobs; `Some(response)` when the call must fail.
async fn faults(state: &AppState, endpoint: &str) -> Option<Response> {
    let (latency, errcode) = state.sandbox_faults.take(endpoint);
    if let Some(delay) = latency {
        tokio::time::sleep(delay).await;
    }
    errcode.map(|code| err(code, injected_errmsg(code)))
}

/// WeChat's own message for an injected errcode (so what reads it, such as the setup page's
/// allowlist advice, sees what it would see), else a plain note.
fn injected_errmsg(code: i64) -> &'static str {
    match code {
        40164 => "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist",
        40125 => "invalid appsecret",
        40013 => "invalid appid",
        89503 => "此IP调用需要管理员确认,请联系管理员",
        45009 => "reach max api daily quota limit",
        -1 => "system error",
        _ => "injected by sandbox fault",
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    access_token: Option<String>,
}

/// Checks the access token like WeChat: unknown or revoked → 40001, expired → 42001. A valid
/// token gives the account the call acts for (as in WeChat, the token stands for it); a
/// refusal is the answer to send (boxed: a `Response` is too large for an `Err`).
pub(crate) async fn check_token(
    state: &AppState,
    q: &TokenQuery,
    endpoint: &str,
) -> Result<i64, Box<Response>> {
    if let Some(fault) = faults(state, endpoint).await {
        return Err(Box::new(fault));
    }
    let Some(token) = q.access_token.as_deref().filter(|t| !t.is_empty()) else {
        return Err(Box::new(err(41001, "access_token missing")));
    };
    match store::token_state(&state.pool, token).await {
        Ok(TokenState::Valid { account_id }) => Ok(account_id),
        Ok(TokenState::Expired) => Err(Box::new(err(42001, "access_token expired"))),
        Ok(TokenState::Invalid) => Err(Box::new(err(
            40001,
            "invalid credential, access_token is invalid or not latest",
        ))),
        Err(_) => Err(Box::new(unavailable())),
    }
}

/// The simulated account whose AppID and AppSecret these are (each sandbox account of this
/// server is one simulated Official Account), or WeChat's error answer.
async fn check_credentials(
    state: &AppState,
    appid: Option<&str>,
    secret: Option<&str>,
) -> Result<i64, Response> {
    let Some(appid) = appid else {
        return Err(err(40013, "invalid appid"));
    };
    let account = match crate::db::accounts::by_appid(&state.pool, appid).await {
        Ok(Some(a)) if a.mode == "sandbox" => a,
        Ok(_) => return Err(err(40013, "invalid appid")),
        Err(_) => return Err(unavailable()),
    };
    match secret {
        Some(SANDBOX_SECRET) => Ok(account.id),
        None => Err(err(41004, "appsecret missing")),
        Some(_) => Err(err(40125, "invalid appsecret")),
    }
}

#[derive(Deserialize)]
pub struct StableTokenBody {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
    #[serde(default)]
    force_refresh: bool,
}

/// `POST /cgi-bin/stable_token`: the same token while it is valid, unless forced.
pub async fn stable_token(
    State(state): State<AppState>,
    Json(body): Json<StableTokenBody>,
) -> Response {
    if let Some(f) = faults(&state, "stable_token").await {
        return f;
    }
    if body.grant_type.as_deref() != Some("client_credential") {
        return err(40002, "invalid grant_type");
    }
    let account =
        match check_credentials(&state, body.appid.as_deref(), body.secret.as_deref()).await {
            Ok(account) => account,
            Err(e) => return e,
        };
    if !body.force_refresh {
        match store::current_stable_token(&state.pool, account).await {
            Ok(Some((token, left))) => {
                return Json(json!({"access_token": token, "expires_in": left})).into_response();
            }
            Ok(None) => {}
            Err(_) => return unavailable(),
        }
    }
    issue(&state, account, "stable").await
}

#[derive(Deserialize)]
pub struct ClassicTokenQuery {
    grant_type: Option<String>,
    appid: Option<String>,
    secret: Option<String>,
}

/// `GET /cgi-bin/token`: a new token each time; the previous stays valid five minutes.
pub async fn classic_token(
    State(state): State<AppState>,
    Query(q): Query<ClassicTokenQuery>,
) -> Response {
    if let Some(f) = faults(&state, "token").await {
        return f;
    }
    if q.grant_type.as_deref() != Some("client_credential") {
        return err(40002, "invalid grant_type");
    }
    let account = match check_credentials(&state, q.appid.as_deref(), q.secret.as_deref()).await {
        Ok(account) => account,
        Err(e) => return e,
    };
    issue(&state, account, "classic").await
}

/// Issues a token of a simulated Official Account (whose appid and secret were checked).
async fn issue(state: &AppState, account: i64, kind: &str) -> Response {
    let token = format!("SBX_{}", random_token(48).replace(['+', '/', '='], "_"));
    match store::issue_token(&state.pool, account, &token, kind, TOKEN_TTL).await {
        Ok(()) => Json(json!({"access_token": token, "expires_in": TOKEN_TTL})).into_response(),
        Err(_) => unavailable(),
    }
}

/// `POST /cgi-bin/qrcode/create`, with WeChat's limits and the permanent quota.
pub async fn create_qrcode(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<Value>,
) -> Response {
    let account_id = match check_token(&state, &q, "qrcode/create").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    let action = body["action_name"].as_str().unwrap_or_default();
    let permanent = match action {
        "QR_SCENE" | "QR_STR_SCENE" => false,
        "QR_LIMIT_SCENE" | "QR_LIMIT_STR_SCENE" => true,
        _ => return err(40052, "invalid action name"),
    };
    let scene = &body["action_info"]["scene"];
    let scene_value = if action.contains("STR") {
        match scene["scene_str"].as_str() {
            Some(s) if !s.is_empty() && s.chars().count() <= 64 => s.to_owned(),
            _ => return err(40053, "invalid action info"),
        }
    } else {
        match scene["scene_id"].as_i64() {
            Some(id) if permanent && (1..=100_000).contains(&id) => id.to_string(),
            Some(id) if !permanent && id != 0 && i32::try_from(id).is_ok() => id.to_string(),
            _ => return err(40053, "invalid action info"),
        }
    };
    let expire_seconds = if permanent {
        None
    } else {
        // WeChat's default when absent is 60 s; the maximum is 30 days.
        let secs = body["expire_seconds"].as_i64().unwrap_or(60);
        if !(1..=2_592_000).contains(&secs) {
            return err(40009, "invalid expire_seconds");
        }
        Some(secs)
    };
    if permanent {
        match store::permanent_codes(&state.pool, account_id).await {
            Ok(n) if n >= PERMANENT_QUOTA => return err(45029, "qrcode count out of limit"),
            Ok(_) => {}
            Err(_) => return unavailable(),
        }
    }
    let ticket = format!("gQ{}", random_token(45));
    let url = format!(
        "http://weixin.qq.com/q/{}",
        random_token(15).replace(['+', '/', '='], "")
    );
    if store::insert_qrcode(
        &state.pool,
        account_id,
        &ticket,
        action,
        &scene_value,
        &url,
        expire_seconds,
    )
    .await
    .is_err()
    {
        return unavailable();
    }
    let mut answer = json!({"ticket": ticket, "url": url});
    if let Some(secs) = expire_seconds {
        answer["expire_seconds"] = json!(secs);
    }
    Json(answer).into_response()
}

#[derive(Deserialize)]
pub struct TicketQuery {
    ticket: Option<String>,
}

/// `GET /cgi-bin/showqrcode?ticket=…`: the code's image (SVG here; WeChat sends JPEG), 404 for
/// an unknown or expired ticket.
pub async fn show_qrcode(State(state): State<AppState>, Query(q): Query<TicketQuery>) -> Response {
    let Some(ticket) = q.ticket else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match store::qrcode_url(&state.pool, &ticket).await {
        Ok(Some(url)) => match crate::qr::svg(&url) {
            Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
            Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        },
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

fn user_json(u: &store::SandboxUser) -> Value {
    if !u.subscribed {
        return json!({"subscribe": 0, "openid": u.openid});
    }
    json!({
        "subscribe": 1,
        "openid": u.openid,
        "subscribe_time": u.subscribe_time.map(|t| t.timestamp()),
        "unionid": u.unionid,
        "remark": "",
        "groupid": 0,
        "tagid_list": u.tagids,
        "subscribe_scene": if u.qr_scene_str.is_some() { "ADD_SCENE_QR_CODE" } else { "ADD_SCENE_SEARCH" },
        // An integer scene is answered as a number, a string scene as a string (not both).
        "qr_scene": u.qr_scene_id.unwrap_or(0),
        "qr_scene_str": if u.qr_scene_id.is_some() { String::new() } else { u.qr_scene_str.clone().unwrap_or_default() },
    })
}

#[derive(Deserialize)]
pub struct UserInfoQuery {
    access_token: Option<String>,
    openid: Option<String>,
}

/// `GET /cgi-bin/user/info`: no nickname or avatar (WeChat stopped sending them).
pub async fn user_info(State(state): State<AppState>, Query(q): Query<UserInfoQuery>) -> Response {
    let tq = TokenQuery {
        access_token: q.access_token,
    };
    let account_id = match check_token(&state, &tq, "user/info").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    let Some(openid) = q.openid else {
        return err(40003, "invalid openid");
    };
    match store::user(&state.pool, account_id, &openid).await {
        Ok(Some(u)) => ok(user_json(&u)),
        Ok(None) => err(40003, "invalid openid"),
        Err(_) => unavailable(),
    }
}

/// `POST /cgi-bin/user/info/batchget` (at most 100).
pub async fn user_info_batch(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<Value>,
) -> Response {
    let account_id = match check_token(&state, &q, "user/info/batchget").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    let Some(list) = body["user_list"].as_array() else {
        return err(40003, "invalid openid");
    };
    if list.is_empty() || list.len() > 100 {
        return err(45032, "user_list size out of limit");
    }
    let mut infos = Vec::new();
    for item in list {
        let openid = item["openid"].as_str().unwrap_or_default();
        match store::user(&state.pool, account_id, openid).await {
            Ok(Some(u)) => infos.push(user_json(&u)),
            Ok(None) => return err(40003, "invalid openid"),
            Err(_) => return unavailable(),
        }
    }
    ok(json!({ "user_info_list": infos }))
}

#[derive(Deserialize)]
pub struct UserListQuery {
    access_token: Option<String>,
    next_openid: Option<String>,
}

/// `GET /cgi-bin/user/get`: followers in pages of 10,000.
pub async fn user_list(State(state): State<AppState>, Query(q): Query<UserListQuery>) -> Response {
    let tq = TokenQuery {
        access_token: q.access_token,
    };
    let account_id = match check_token(&state, &tq, "user/get").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    let after = q.next_openid.unwrap_or_default();
    let (Ok(total), Ok(page)) = (
        store::follower_count(&state.pool, account_id).await,
        store::follower_page(&state.pool, account_id, &after, 10_000).await,
    ) else {
        return unavailable();
    };
    let next = if page.len() == 10_000 {
        page.last().cloned().unwrap_or_default()
    } else {
        String::new()
    };
    Json(json!({
        "total": total,
        "count": page.len(),
        "data": {"openid": page},
        "next_openid": next,
    }))
    .into_response()
}

/// `POST /cgi-bin/message/custom/send`: only within the user's 48-hour interaction window.
pub async fn send_custom(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<Value>,
) -> Response {
    let account_id = match check_token(&state, &q, "message/custom/send").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    let touser = body["touser"].as_str().unwrap_or_default();
    let user = match store::user(&state.pool, account_id, touser).await {
        Ok(Some(u)) => u,
        Ok(None) => return err(40003, "invalid openid"),
        Err(_) => return unavailable(),
    };
    if !user.subscribed {
        return err(43004, "require subscribe");
    }
    // As WeChat: 48 hours after a message the user sent, one minute after a follow, a scan
    // or a menu click.
    let now = Utc::now();
    let window_open = user
        .last_message_at
        .is_some_and(|t| now - t < chrono::Duration::hours(48))
        || user
            .last_interaction_at
            .is_some_and(|t| now - t < chrono::Duration::minutes(1));
    if !window_open {
        return err(
            45015,
            "response out of time limit or subscription is canceled",
        );
    }
    match body["msgtype"].as_str() {
        Some("text") if body["text"]["content"].is_string() => {}
        Some("image") => {
            let media_id = body["image"]["media_id"].as_str().unwrap_or_default();
            match store::media(&state.pool, account_id, media_id).await {
                Ok(Some(_)) => {}
                Ok(None) => return err(40007, "invalid media_id"),
                Err(_) => return unavailable(),
            }
        }
        _ => return err(40008, "invalid message type"),
    }
    match store::record_message(&state.pool, account_id, touser, "custom", &body).await {
        Ok(_) => ok(json!({})),
        Err(_) => unavailable(),
    }
}

/// `POST /cgi-bin/message/template/send`: any follower; returns a msgid.
pub async fn send_template(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<Value>,
) -> Response {
    let account_id = match check_token(&state, &q, "message/template/send").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    if body["template_id"].as_str().is_none_or(str::is_empty) {
        return err(40037, "invalid template_id");
    }
    let touser = body["touser"].as_str().unwrap_or_default();
    match store::user(&state.pool, account_id, touser).await {
        Ok(Some(u)) if u.subscribed => {}
        Ok(Some(_)) => return err(43004, "require subscribe"),
        Ok(None) => return err(40003, "invalid openid"),
        Err(_) => return unavailable(),
    }
    match store::record_message(&state.pool, account_id, touser, "template", &body).await {
        Ok(id) => ok(json!({ "msgid": id })),
        Err(_) => unavailable(),
    }
}

/// `POST /cgi-bin/tags/create`.
pub async fn create_tag(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<Value>,
) -> Response {
    let account_id = match check_token(&state, &q, "tags/create").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    let name = body["tag"]["name"].as_str().unwrap_or_default();
    if name.is_empty() || name.chars().count() > 30 {
        return err(45158, "tag name too long");
    }
    match store::tags(&state.pool, account_id).await {
        Ok(tags) if tags.len() >= MAX_TAGS_PER_ACCOUNT => {
            return err(45056, "too many tags");
        }
        Ok(_) => {}
        Err(_) => return unavailable(),
    }
    match store::create_tag(&state.pool, account_id, name).await {
        Ok(Some(id)) => Json(json!({"tag": {"id": id, "name": name}})).into_response(),
        Ok(None) => err(45157, "tag name already exists"),
        Err(_) => unavailable(),
    }
}

/// `GET /cgi-bin/tags/get`.
pub async fn get_tags(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let account_id = match check_token(&state, &q, "tags/get").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    match store::tags(&state.pool, account_id).await {
        Ok(tags) => {
            let tags: Vec<Value> = tags
                .into_iter()
                .map(|(id, name, count)| json!({"id": id, "name": name, "count": count}))
                .collect();
            Json(json!({ "tags": tags })).into_response()
        }
        Err(_) => unavailable(),
    }
}

/// `POST /cgi-bin/tags/members/batchtagging` (at most 50 openids): 40032 for a list of the
/// wrong size, 45159 for a tag the account does not have, 40003 when an openid is not one of
/// the account's followers, 45059 when a follower would carry more than 20 tags (as WeChat,
/// the whole call is refused and nobody is tagged).
pub async fn batch_tagging(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<Value>,
) -> Response {
    members_call(state, q, body, true).await
}

/// `POST /cgi-bin/tags/members/batchuntagging` (at most 50 openids), refused as
/// `batchtagging` is (but for the 20-tag limit).
pub async fn batch_untagging(
    State(state): State<AppState>,
    Query(q): Query<TokenQuery>,
    Json(body): Json<Value>,
) -> Response {
    members_call(state, q, body, false).await
}

/// The most tags an account has (WeChat's limit).
const MAX_TAGS_PER_ACCOUNT: usize = 100;
/// The most tags one follower carries.
const MAX_TAGS_PER_USER: usize = 20;

async fn members_call(state: AppState, q: TokenQuery, body: Value, tag: bool) -> Response {
    let endpoint = if tag {
        "tags/members/batchtagging"
    } else {
        "tags/members/batchuntagging"
    };
    let account_id = match check_token(&state, &q, endpoint).await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    let openids: Vec<String> = body["openid_list"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if openids.is_empty() || openids.len() > 50 {
        return err(40032, "invalid openid_list size");
    }
    let Some(tag_id) = body["tagid"].as_i64() else {
        return err(45159, "invalid tag id");
    };
    match store::tag_exists(&state.pool, account_id, tag_id).await {
        Ok(true) => {}
        Ok(false) => return err(45159, "invalid tag id"),
        Err(_) => return unavailable(),
    }
    let users = match store::users_tags(&state.pool, account_id, &openids).await {
        Ok(users) => users,
        Err(_) => return unavailable(),
    };
    if openids
        .iter()
        .any(|o| !users.iter().any(|(openid, _)| openid == o))
    {
        return err(40003, "invalid openid");
    }
    if tag
        && users
            .iter()
            .any(|(_, tags)| !tags.contains(&tag_id) && tags.len() >= MAX_TAGS_PER_USER)
    {
        return err(45059, "user tag count exceeds limit");
    }
    let done = if tag {
        store::tag_users(&state.pool, account_id, tag_id, &openids).await
    } else {
        store::untag_users(&state.pool, account_id, tag_id, &openids).await
    };
    match done {
        Ok(()) => ok(json!({})),
        Err(_) => unavailable(),
    }
}

#[derive(Deserialize)]
pub struct UploadQuery {
    access_token: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// `POST /cgi-bin/media/upload?type=image` (multipart, field `media`): temporary media kept for
/// 3 days. Images must be PNG or JPEG, at most 10 MB.
pub async fn upload_media(
    State(state): State<AppState>,
    Query(q): Query<UploadQuery>,
    multipart: Result<axum::extract::Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let token = TokenQuery {
        access_token: q.access_token,
    };
    let account_id = match check_token(&state, &token, "media/upload").await {
        Ok(account_id) => account_id,
        Err(e) => return *e,
    };
    if q.kind.as_deref() != Some("image") {
        return err(40004, "invalid media type");
    }
    let Ok(mut multipart) = multipart else {
        return err(41005, "media data missing");
    };
    let mut content = None;
    while let Ok(Some(field)) = multipart.next_field().await {
        if field.name() == Some("media") {
            match field.bytes().await {
                Ok(bytes) => content = Some(bytes),
                Err(_) => return err(41005, "media data missing"),
            }
        }
    }
    let Some(content) = content.filter(|c| !c.is_empty()) else {
        return err(41005, "media data missing");
    };
    if content.len() > crate::wechat::client::MAX_IMAGE_BYTES {
        return err(40006, "invalid meida size");
    }
    let is_png = content.starts_with(b"\x89PNG\r\n\x1a\n");
    let is_jpeg = content.starts_with(&[0xff, 0xd8, 0xff]);
    if !is_png && !is_jpeg {
        return err(40005, "invalid file type");
    }
    let media_id = random_token(48).replace(['+', '/', '='], "_");
    match store::insert_media(&state.pool, account_id, &media_id, "image", &content).await {
        Ok(created) => ok(json!({
            "type": "image",
            "media_id": media_id,
            "created_at": created.timestamp(),
        })),
        Err(_) => unavailable(),
    }
}

/// `GET /sandbox/media/{media_id}`: what a simulated user sees for an image message.
pub async fn show_media(
    State(state): State<AppState>,
    axum::extract::Path(media_id): axum::extract::Path<String>,
) -> Response {
    match store::media_by_id(&state.pool, &media_id).await {
        Ok(Some(content)) => {
            let kind = if content.starts_with(&[0xff, 0xd8, 0xff]) {
                "image/jpeg"
            } else {
                "image/png"
            };
            ([(header::CONTENT_TYPE, kind)], content).into_response()
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}
