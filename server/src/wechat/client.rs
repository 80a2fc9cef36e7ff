//! The WeChat HTTP API client: one `reqwest::Client` with timeouts, `errcode` checked on every
//! HTTP 200, a typed error, and no token or secret ever in a log line or error message.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Histogram of API call times (seconds) by `call` and `outcome`, via the `metrics` facade.
pub const API_SECONDS_METRIC: &str = "tuijian_wechat_api_duration_seconds";

/// Token errors: the stored token is invalid, expired or superseded.
pub const TOKEN_INVALID_CODES: [i64; 3] = [40001, 40014, 42001];
/// "System busy, try again."
pub const BUSY: i64 = -1;

/// Why a call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Connection, timeout or HTTP status problem (URL and token stripped).
    #[error("transport: {0}")]
    Transport(String),
    /// WeChat answered with a non-zero errcode.
    #[error("errcode {errcode}: {errmsg}")]
    Api { errcode: i64, errmsg: String },
    /// The answer was not what the API documents.
    #[error("decode: {0}")]
    Decode(String),
    /// Refused before sending: the request breaks a documented limit.
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl ApiError {
    pub fn errcode(&self) -> Option<i64> {
        match self {
            ApiError::Api { errcode, .. } => Some(*errcode),
            _ => None,
        }
    }

    /// 40001 / 40014 / 42001: replace the token and retry once.
    pub fn is_token_invalid(&self) -> bool {
        self.errcode()
            .is_some_and(|c| TOKEN_INVALID_CODES.contains(&c))
    }

    /// Worth another try later (busy, rate limits, transport failures).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Transport(_) => true,
            ApiError::Api { errcode, .. } => matches!(*errcode, BUSY | 45011 | 45009),
            _ => false,
        }
    }
}

/// An access token and how long WeChat says it lives.
#[derive(Clone)]
pub struct AccessToken {
    pub token: SecretString,
    pub expires_in: i64,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// A QR code scene: a number or a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scene {
    Id(i64),
    Str(String),
}

/// What `qrcode/create` should make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QrRequest {
    /// QR_SCENE / QR_STR_SCENE, valid for `expire_seconds` (1..=2,592,000; always sent).
    Temporary { scene: Scene, expire_seconds: i64 },
    /// QR_LIMIT_SCENE / QR_LIMIT_STR_SCENE (at most 100,000 per account).
    Permanent { scene: Scene },
}

/// Longest temporary code: 30 days.
pub const MAX_EXPIRE_SECONDS: i64 = 2_592_000;

impl QrRequest {
    /// Checks every documented limit; returns the JSON body to send.
    pub fn to_body(&self) -> Result<Value, ApiError> {
        let invalid = |m: &str| Err(ApiError::Invalid(m.to_owned()));
        let scene_json = |scene: &Scene, permanent: bool| -> Result<Value, ApiError> {
            match scene {
                Scene::Id(id) if permanent && !(1..=100_000).contains(id) => {
                    invalid("permanent scene_id must be 1..=100000")
                }
                Scene::Id(id) if !permanent && (*id == 0 || i32::try_from(*id).is_err()) => {
                    invalid("temporary scene_id must be a non-zero 32-bit integer")
                }
                Scene::Id(id) => Ok(json!({ "scene": { "scene_id": id } })),
                Scene::Str(s) if s.is_empty() || s.chars().count() > 64 => {
                    invalid("scene_str must be 1..=64 characters")
                }
                Scene::Str(s) => Ok(json!({ "scene": { "scene_str": s } })),
            }
        };
        match self {
            QrRequest::Temporary {
                scene,
                expire_seconds,
            } => {
                if !(1..=MAX_EXPIRE_SECONDS).contains(expire_seconds) {
                    return invalid("expire_seconds must be 1..=2592000");
                }
                let action = match scene {
                    Scene::Id(_) => "QR_SCENE",
                    Scene::Str(_) => "QR_STR_SCENE",
                };
                Ok(json!({
                    "expire_seconds": expire_seconds,
                    "action_name": action,
                    "action_info": scene_json(scene, false)?,
                }))
            }
            QrRequest::Permanent { scene } => {
                let action = match scene {
                    Scene::Id(_) => "QR_LIMIT_SCENE",
                    Scene::Str(_) => "QR_LIMIT_STR_SCENE",
                };
                Ok(json!({ "action_name": action, "action_info": scene_json(scene, true)? }))
            }
        }
    }
}

/// `qrcode/create`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct QrTicket {
    pub ticket: String,
    #[serde(default)]
    pub expire_seconds: Option<i64>,
    pub url: String,
}

/// `user/info`'s answer (nickname and avatar are no longer sent by WeChat).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
pub struct UserInfo {
    pub subscribe: i64,
    pub openid: String,
    #[serde(default)]
    pub subscribe_time: Option<i64>,
    #[serde(default)]
    pub unionid: Option<String>,
    #[serde(default)]
    pub remark: Option<String>,
    #[serde(default)]
    pub tagid_list: Vec<i64>,
    #[serde(default)]
    pub subscribe_scene: Option<String>,
    #[serde(default)]
    pub qr_scene: Option<i64>,
    #[serde(default)]
    pub qr_scene_str: Option<String>,
}

/// `user/get`'s answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct UserList {
    pub total: i64,
    pub count: i64,
    #[serde(default)]
    pub data: Option<OpenIds>,
    #[serde(default)]
    pub next_openid: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct OpenIds {
    pub openid: Vec<String>,
}

/// A template message (`message/template/send`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateMessage {
    pub touser: String,
    pub template_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// A de-duplication key for WeChat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_msg_id: Option<String>,
    /// `{"keyword1": {"value": "…"}, …}`
    pub data: Value,
}

/// What web authorization (`sns/oauth2/access_token`) tells us about the visitor. The web
/// access and refresh tokens it also returns are not kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthIdentity {
    pub openid: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub unionid: Option<String>,
}

/// WeChat's web authorization URL. The parameters must come in this order, and the URL ends
/// with `#wechat_redirect`.
pub fn oauth_authorize_url(
    authorize_base: &str,
    appid: &str,
    redirect_uri: &str,
    scope: &str,
    state: &str,
) -> String {
    let mut url = match reqwest::Url::parse(authorize_base) {
        Ok(u) => u,
        Err(_) => return String::new(),
    };
    url.query_pairs_mut()
        .append_pair("appid", appid)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("response_type", "code")
        .append_pair("scope", scope)
        .append_pair("state", state);
    url.set_fragment(Some("wechat_redirect"));
    url.to_string()
}

/// Largest image `media/upload` accepts.
pub const MAX_IMAGE_BYTES: usize = 10 * 1024 * 1024;
/// How long WeChat keeps temporary media.
pub const TEMPORARY_MEDIA_SECONDS: i64 = 3 * 24 * 3600;

/// Uploaded temporary media.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Media {
    pub media_id: String,
    /// Unix seconds.
    #[serde(default)]
    pub created_at: i64,
}

/// A user tag.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    #[serde(default)]
    pub count: Option<i64>,
}

/// The HTTP client for one API base URL.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// Per-call limit for calls made while a follower waits for a reply.
    short_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

impl Client {
    /// `base` is e.g. `https://api.weixin.qq.com` (or the sandbox's `/sandbox/wx`).
    pub fn new(base: &str) -> Result<Self, ApiError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .user_agent("tuijian")
            .build()
            .map_err(|e| ApiError::Transport(e.without_url().to_string()))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            short_timeout: Duration::from_millis(1500),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends a request and records its time under [`API_SECONDS_METRIC`], labelled with the
    /// API path after `/cgi-bin/` (a fixed set) and the outcome: never the URL or the token.
    pub(super) async fn send<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, ApiError> {
        let (http, request) = request.build_split();
        let request = request.map_err(|e| ApiError::Transport(e.without_url().to_string()))?;
        let path = request.url().path();
        let call = path
            .split_once("/cgi-bin/")
            .map_or("other", |(_, call)| call)
            .to_owned();
        let started = std::time::Instant::now();
        let result = self.exchange(http.execute(request)).await;
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(e) => e
                .errcode()
                .map_or_else(|| "error".to_owned(), |c| c.to_string()),
        };
        metrics::histogram!(API_SECONDS_METRIC, "call" => call, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        result
    }

    async fn exchange<T: DeserializeOwned>(
        &self,
        sent: impl std::future::Future<Output = reqwest::Result<reqwest::Response>>,
    ) -> Result<T, ApiError> {
        let resp = sent
            .await
            .map_err(|e| ApiError::Transport(e.without_url().to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(ApiError::Transport(format!("HTTP {status}")));
        }
        let value: Value = resp
            .json()
            .await
            .map_err(|e| ApiError::Decode(e.without_url().to_string()))?;
        if let Some(code) = value.get("errcode").and_then(Value::as_i64)
            && code != 0
        {
            let errmsg = value
                .get("errmsg")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            return Err(ApiError::Api {
                errcode: code,
                errmsg,
            });
        }
        serde_json::from_value(value).map_err(|e| ApiError::Decode(e.to_string()))
    }

    pub(super) fn get(&self, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .query(&[("access_token", token)])
    }

    pub(super) fn post(&self, path: &str, token: &str, body: &Value) -> reqwest::RequestBuilder {
        self.http
            .post(format!("{}{path}", self.base))
            .query(&[("access_token", token)])
            .json(body)
    }

    /// `POST /cgi-bin/stable_token` (normal mode returns the same token while it is valid).
    #[tracing::instrument(skip_all, err)]
    pub async fn stable_token(
        &self,
        appid: &str,
        secret: &SecretString,
        force_refresh: bool,
    ) -> Result<AccessToken, ApiError> {
        let body = json!({
            "grant_type": "client_credential",
            "appid": appid,
            "secret": secret.expose_secret(),
            "force_refresh": force_refresh,
        });
        let req = self
            .http
            .post(format!("{}/cgi-bin/stable_token", self.base))
            .json(&body);
        self.token_from(req).await
    }

    /// `GET /cgi-bin/token` (each call supersedes the previous token after 5 minutes).
    #[tracing::instrument(skip_all, err)]
    pub async fn classic_token(
        &self,
        appid: &str,
        secret: &SecretString,
    ) -> Result<AccessToken, ApiError> {
        let req = self
            .http
            .get(format!("{}/cgi-bin/token", self.base))
            .query(&[
                ("grant_type", "client_credential"),
                ("appid", appid),
                ("secret", secret.expose_secret()),
            ]);
        self.token_from(req).await
    }

    async fn token_from(&self, req: reqwest::RequestBuilder) -> Result<AccessToken, ApiError> {
        #[derive(Deserialize)]
        struct Raw {
            access_token: String,
            expires_in: i64,
        }
        let raw: Raw = self.send(req).await?;
        Ok(AccessToken {
            token: SecretString::from(raw.access_token),
            expires_in: raw.expires_in,
        })
    }

    /// `POST /cgi-bin/qrcode/create`, after checking the documented limits.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_qrcode(&self, token: &str, req: &QrRequest) -> Result<QrTicket, ApiError> {
        let body = req.to_body()?;
        self.send(self.post("/cgi-bin/qrcode/create", token, &body))
            .await
    }

    /// `GET /cgi-bin/user/info`. `short` limits the call for use while a follower waits.
    #[tracing::instrument(skip_all, err)]
    pub async fn user_info(
        &self,
        token: &str,
        openid: &str,
        short: bool,
    ) -> Result<UserInfo, ApiError> {
        let mut req = self
            .get("/cgi-bin/user/info", token)
            .query(&[("openid", openid), ("lang", "zh_CN")]);
        if short {
            req = req.timeout(self.short_timeout);
        }
        self.send(req).await
    }

    /// `POST /cgi-bin/user/info/batchget` (at most 100 openids).
    #[tracing::instrument(skip_all, err)]
    pub async fn user_info_batch(
        &self,
        token: &str,
        openids: &[String],
    ) -> Result<Vec<UserInfo>, ApiError> {
        if openids.is_empty() || openids.len() > 100 {
            return Err(ApiError::Invalid("batchget takes 1..=100 openids".into()));
        }
        #[derive(Deserialize)]
        struct Raw {
            user_info_list: Vec<UserInfo>,
        }
        let list: Vec<Value> = openids
            .iter()
            .map(|o| json!({"openid": o, "lang": "zh_CN"}))
            .collect();
        let raw: Raw = self
            .send(self.post(
                "/cgi-bin/user/info/batchget",
                token,
                &json!({ "user_list": list }),
            ))
            .await?;
        Ok(raw.user_info_list)
    }

    /// `GET /cgi-bin/user/get` (10,000 openids a page; pass the previous `next_openid`).
    #[tracing::instrument(skip_all, err)]
    pub async fn user_list(
        &self,
        token: &str,
        next_openid: Option<&str>,
    ) -> Result<UserList, ApiError> {
        let req = self
            .get("/cgi-bin/user/get", token)
            .query(&[("next_openid", next_openid.unwrap_or(""))]);
        self.send(req).await
    }

    /// `POST /cgi-bin/message/custom/send` with a text message.
    #[tracing::instrument(skip_all, err)]
    pub async fn send_text(
        &self,
        token: &str,
        openid: &str,
        content: &str,
    ) -> Result<(), ApiError> {
        let body = json!({"touser": openid, "msgtype": "text", "text": {"content": content}});
        let _: Value = self
            .send(self.post("/cgi-bin/message/custom/send", token, &body))
            .await?;
        Ok(())
    }

    /// `POST /cgi-bin/message/custom/send` with an image (a media id).
    #[tracing::instrument(skip_all, err)]
    pub async fn send_image(
        &self,
        token: &str,
        openid: &str,
        media_id: &str,
    ) -> Result<(), ApiError> {
        let body = json!({"touser": openid, "msgtype": "image", "image": {"media_id": media_id}});
        let _: Value = self
            .send(self.post("/cgi-bin/message/custom/send", token, &body))
            .await?;
        Ok(())
    }

    /// `GET /sns/oauth2/access_token`: a web authorization code → the visitor's openid.
    #[tracing::instrument(skip_all, err)]
    pub async fn oauth_identity(
        &self,
        appid: &str,
        secret: &SecretString,
        code: &str,
    ) -> Result<OAuthIdentity, ApiError> {
        let req = self
            .http
            .get(format!("{}/sns/oauth2/access_token", self.base))
            .query(&[
                ("appid", appid),
                ("secret", secret.expose_secret()),
                ("code", code),
                ("grant_type", "authorization_code"),
            ])
            .timeout(self.short_timeout * 2);
        self.send(req).await
    }

    /// `POST /cgi-bin/media/upload?type=image`: temporary media (kept by WeChat for 3 days).
    /// Images are PNG/JPEG up to 10 MB (checked before sending).
    #[tracing::instrument(skip_all, err)]
    pub async fn upload_image(
        &self,
        token: &str,
        filename: &str,
        png: Vec<u8>,
    ) -> Result<Media, ApiError> {
        if png.is_empty() || png.len() > MAX_IMAGE_BYTES {
            return Err(ApiError::Invalid(format!(
                "images are 1 byte to {MAX_IMAGE_BYTES} bytes"
            )));
        }
        let part = reqwest::multipart::Part::bytes(png)
            .file_name(filename.to_owned())
            .mime_str("image/png")
            .map_err(|e| ApiError::Invalid(e.to_string()))?;
        let form = reqwest::multipart::Form::new().part("media", part);
        let req = self
            .http
            .post(format!("{}/cgi-bin/media/upload", self.base))
            .query(&[("access_token", token), ("type", "image")])
            .multipart(form);
        self.send(req).await
    }

    /// `POST /cgi-bin/message/template/send`; returns the message id.
    #[tracing::instrument(skip_all, err)]
    pub async fn send_template(
        &self,
        token: &str,
        message: &TemplateMessage,
    ) -> Result<i64, ApiError> {
        #[derive(Deserialize)]
        struct Raw {
            #[serde(default)]
            msgid: i64,
        }
        let body = serde_json::to_value(message).map_err(|e| ApiError::Invalid(e.to_string()))?;
        let raw: Raw = self
            .send(self.post("/cgi-bin/message/template/send", token, &body))
            .await?;
        Ok(raw.msgid)
    }

    /// `POST /cgi-bin/tags/create`.
    #[tracing::instrument(skip_all, err)]
    pub async fn create_tag(&self, token: &str, name: &str) -> Result<Tag, ApiError> {
        if name.is_empty() || name.chars().count() > 30 {
            return Err(ApiError::Invalid("tag names are 1..=30 characters".into()));
        }
        #[derive(Deserialize)]
        struct Raw {
            tag: Tag,
        }
        let raw: Raw = self
            .send(self.post(
                "/cgi-bin/tags/create",
                token,
                &json!({"tag": {"name": name}}),
            ))
            .await?;
        Ok(raw.tag)
    }

    /// `GET /cgi-bin/tags/get`.
    #[tracing::instrument(skip_all, err)]
    pub async fn get_tags(&self, token: &str) -> Result<Vec<Tag>, ApiError> {
        #[derive(Deserialize)]
        struct Raw {
            tags: Vec<Tag>,
        }
        let raw: Raw = self.send(self.get("/cgi-bin/tags/get", token)).await?;
        Ok(raw.tags)
    }

    /// `POST /cgi-bin/tags/members/batchtagging` (at most 50 openids).
    #[tracing::instrument(skip_all, err)]
    pub async fn tag_users(
        &self,
        token: &str,
        tag_id: i64,
        openids: &[String],
    ) -> Result<(), ApiError> {
        self.tag_members("batchtagging", token, tag_id, openids)
            .await
    }

    /// `POST /cgi-bin/tags/members/batchuntagging` (at most 50 openids).
    #[tracing::instrument(skip_all, err)]
    pub async fn untag_users(
        &self,
        token: &str,
        tag_id: i64,
        openids: &[String],
    ) -> Result<(), ApiError> {
        self.tag_members("batchuntagging", token, tag_id, openids)
            .await
    }

    /// `tags/members/<call>`: the two calls take the same body and the same limit.
    async fn tag_members(
        &self,
        call: &str,
        token: &str,
        tag_id: i64,
        openids: &[String],
    ) -> Result<(), ApiError> {
        if openids.is_empty() || openids.len() > 50 {
            return Err(ApiError::Invalid(format!("{call} takes 1..=50 openids")));
        }
        let _: Value = self
            .send(self.post(
                &format!("/cgi-bin/tags/members/{call}"),
                token,
                &json!({"openid_list": openids, "tagid": tag_id}),
            ))
            .await?;
        Ok(())
    }
}

/// The image URL of a ticket; the ticket is base64 (`+ / =`) and must be URL-encoded.
pub fn showqrcode_url(mp_base: &str, ticket: &str) -> String {
    let mut url = reqwest::Url::parse(&format!(
        "{}/cgi-bin/showqrcode",
        mp_base.trim_end_matches('/')
    ))
    .unwrap_or_else(|_| {
        reqwest::Url::parse("https://mp.weixin.qq.com/cgi-bin/showqrcode")
            .expect("constant URL is valid")
    });
    url.query_pairs_mut().append_pair("ticket", ticket);
    url.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_bodies_match_the_documented_shapes() {
        let t = QrRequest::Temporary {
            scene: Scene::Str("test".into()),
            expire_seconds: 604800,
        };
        assert_eq!(
            t.to_body().expect("valid"),
            json!({"expire_seconds": 604800, "action_name": "QR_STR_SCENE",
                   "action_info": {"scene": {"scene_str": "test"}}})
        );
        let p = QrRequest::Permanent {
            scene: Scene::Id(123),
        };
        assert_eq!(
            p.to_body().expect("valid"),
            json!({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 123}}})
        );
    }

    #[test]
    fn qr_limits_are_enforced_before_sending() {
        let bad = [
            QrRequest::Temporary {
                scene: Scene::Id(1),
                expire_seconds: 2_592_001,
            },
            QrRequest::Temporary {
                scene: Scene::Id(1),
                expire_seconds: 0,
            },
            QrRequest::Temporary {
                scene: Scene::Id(0),
                expire_seconds: 60,
            },
            QrRequest::Temporary {
                scene: Scene::Id(1 << 31),
                expire_seconds: 60,
            },
            QrRequest::Permanent {
                scene: Scene::Id(0),
            },
            QrRequest::Permanent {
                scene: Scene::Id(100_001),
            },
            QrRequest::Permanent {
                scene: Scene::Str(String::new()),
            },
            QrRequest::Permanent {
                scene: Scene::Str("x".repeat(65)),
            },
        ];
        for req in bad {
            assert!(
                matches!(req.to_body(), Err(ApiError::Invalid(_))),
                "{req:?}"
            );
        }
        let edge = [
            QrRequest::Temporary {
                scene: Scene::Id(-5),
                expire_seconds: 2_592_000,
            },
            QrRequest::Permanent {
                scene: Scene::Id(100_000),
            },
            QrRequest::Permanent {
                scene: Scene::Str("x".repeat(64)),
            },
        ];
        for req in edge {
            assert!(req.to_body().is_ok(), "{req:?}");
        }
    }

    #[test]
    fn showqrcode_ticket_is_url_encoded() {
        assert_eq!(
            showqrcode_url("https://mp.weixin.qq.com", "gQH4+/a=="),
            "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=gQH4%2B%2Fa%3D%3D"
        );
    }

    #[test]
    fn error_classes() {
        let e = |c| ApiError::Api {
            errcode: c,
            errmsg: String::new(),
        };
        assert!(e(40001).is_token_invalid() && e(42001).is_token_invalid());
        assert!(!e(45015).is_token_invalid() && !e(45015).is_transient());
        assert!(e(-1).is_transient() && ApiError::Transport("x".into()).is_transient());
    }

    #[test]
    fn access_tokens_do_not_print() {
        let t = AccessToken {
            token: SecretString::from("SECRET123"),
            expires_in: 7200,
        };
        assert!(!format!("{t:?}").contains("SECRET123"));
    }
}
