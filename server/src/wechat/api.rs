//! Every WeChat call with token handling: a token from the shared cache, one retry with a
//! replaced token on 40001/40014/42001, and bounded backoff on -1 (busy).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use secrecy::{ExposeSecret, SecretString};

use super::client::{
    ApiError, Client, Media, OAuthIdentity, QrRequest, QrTicket, Tag, TemplateMessage, UserInfo,
    UserList,
};
use super::token::{Fetch, StoredToken, TokenCache, TokenError, TokenStore};

/// Counter of access-token fetches from WeChat by `outcome`, via the `metrics` facade.
pub const TOKEN_REFRESHES_METRIC: &str = "tuijian_wechat_token_refreshes_total";

/// Busy (-1) answers are retried this many times, after 200 ms, 400 ms, 800 ms.
const BUSY_RETRIES: u32 = 3;

/// The account's API with shared token handling.
pub struct WechatApi {
    client: Client,
    tokens: TokenCache,
    appid: String,
    secret: SecretString,
}

impl std::fmt::Debug for WechatApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WechatApi")
            .field("client", &self.client)
            .finish()
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::Api(e) => e,
            TokenError::Store(detail) => ApiError::Transport(format!("token store: {detail}")),
        }
    }
}

impl WechatApi {
    /// `classic` chooses `cgi-bin/token` instead of `stable_token`.
    pub fn new(
        client: Client,
        store: Arc<dyn TokenStore>,
        appid: String,
        secret: SecretString,
        classic: bool,
    ) -> Self {
        let fetch_client = client.clone();
        let (fetch_appid, fetch_secret) = (appid.clone(), secret.clone());
        let fetch: Fetch = Arc::new(move || {
            let client = fetch_client.clone();
            let appid = fetch_appid.clone();
            let secret = fetch_secret.clone();
            Box::pin(async move {
                let token = if classic {
                    client.classic_token(&appid, &secret).await
                } else {
                    client.stable_token(&appid, &secret, false).await
                };
                let outcome = if token.is_ok() { "ok" } else { "error" };
                metrics::counter!(TOKEN_REFRESHES_METRIC, "outcome" => outcome).increment(1);
                Ok(StoredToken::from_response(token?, Utc::now()))
            })
        });
        WechatApi {
            client,
            tokens: TokenCache::new(store, fetch),
            appid,
            secret,
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The account's AppID.
    pub fn appid(&self) -> &str {
        &self.appid
    }

    /// Asks WeChat for a token with the account's AppID and AppSecret, as a check: a stable
    /// token without forcing (the one in use stays valid and the cache is not touched).
    /// Returns how long the token lives.
    pub async fn check_credentials(&self) -> Result<i64, ApiError> {
        let token = self
            .client
            .stable_token(&self.appid, &self.secret, false)
            .await?;
        Ok(token.expires_in)
    }

    /// Web authorization: the visitor's openid for a one-time `code`.
    pub async fn oauth_openid(&self, code: &str) -> Result<OAuthIdentity, ApiError> {
        self.client
            .oauth_identity(&self.appid, &self.secret, code)
            .await
    }

    /// Runs `call` with a token, replacing the token once if WeChat rejects it and backing off
    /// while WeChat is busy.
    pub async fn with_token<T, F, Fut>(&self, call: F) -> Result<T, ApiError>
    where
        F: Fn(Client, String) -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut token = self.tokens.get().await?.expose_secret().to_owned();
        let mut replaced = false;
        let mut busy = 0;
        loop {
            match call(self.client.clone(), token.clone()).await {
                Err(e) if e.is_token_invalid() && !replaced => {
                    tracing::warn!(errcode = e.errcode(), "access token rejected; replacing it");
                    token = self
                        .tokens
                        .replace(&token)
                        .await?
                        .expose_secret()
                        .to_owned();
                    replaced = true;
                }
                Err(e) if e.errcode() == Some(super::client::BUSY) && busy < BUSY_RETRIES => {
                    tokio::time::sleep(Duration::from_millis(200 << busy)).await;
                    busy += 1;
                }
                result => return result,
            }
        }
    }

    pub async fn create_qrcode(&self, req: &QrRequest) -> Result<QrTicket, ApiError> {
        self.with_token(|c, t| {
            let req = req.clone();
            async move { c.create_qrcode(&t, &req).await }
        })
        .await
    }

    pub async fn user_info(&self, openid: &str, short: bool) -> Result<UserInfo, ApiError> {
        self.with_token(|c, t| async move { c.user_info(&t, openid, short).await })
            .await
    }

    pub async fn user_info_batch(&self, openids: &[String]) -> Result<Vec<UserInfo>, ApiError> {
        self.with_token(|c, t| async move { c.user_info_batch(&t, openids).await })
            .await
    }

    pub async fn user_list(&self, next_openid: Option<&str>) -> Result<UserList, ApiError> {
        self.with_token(|c, t| async move { c.user_list(&t, next_openid).await })
            .await
    }

    pub async fn send_text(&self, openid: &str, content: &str) -> Result<(), ApiError> {
        self.with_token(|c, t| async move { c.send_text(&t, openid, content).await })
            .await
    }

    pub async fn send_image(&self, openid: &str, media_id: &str) -> Result<(), ApiError> {
        self.with_token(|c, t| async move { c.send_image(&t, openid, media_id).await })
            .await
    }

    pub async fn upload_image(&self, filename: &str, png: &[u8]) -> Result<Media, ApiError> {
        self.with_token(|c, t| async move { c.upload_image(&t, filename, png.to_vec()).await })
            .await
    }

    pub async fn send_template(&self, message: &TemplateMessage) -> Result<i64, ApiError> {
        self.with_token(|c, t| async move { c.send_template(&t, message).await })
            .await
    }

    pub async fn create_tag(&self, name: &str) -> Result<Tag, ApiError> {
        self.with_token(|c, t| async move { c.create_tag(&t, name).await })
            .await
    }

    pub async fn get_tags(&self) -> Result<Vec<Tag>, ApiError> {
        self.with_token(|c, t| async move { c.get_tags(&t).await })
            .await
    }

    pub async fn tag_users(&self, tag_id: i64, openids: &[String]) -> Result<(), ApiError> {
        self.with_token(|c, t| async move { c.tag_users(&t, tag_id, openids).await })
            .await
    }

    pub async fn untag_users(&self, tag_id: i64, openids: &[String]) -> Result<(), ApiError> {
        self.with_token(|c, t| async move { c.untag_users(&t, tag_id, openids).await })
            .await
    }
}
