//! One typed `Settings`, read from the environment (and `.env` in development). A bad value stops
//! start-up with a message naming the variable.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;

/// Everything the server is configured with.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `DATABASE_URL`; unset → the embedded cluster under `data_dir`.
    pub database_url: Option<SecretString>,
    /// `TUIJIAN_DATA_DIR` (default `.data`): where the embedded cluster lives.
    pub data_dir: PathBuf,
    /// `LEPTOS_SITE_ADDR` (default 127.0.0.1:3000).
    pub site_addr: SocketAddr,
    /// `LEPTOS_SITE_ROOT` (default `target/site`): the directory holding `pkg/`.
    pub site_root: PathBuf,
    /// `LEPTOS_OUTPUT_NAME` (default `tuijian`): the bundle's file name stem.
    pub output_name: String,
    /// `TUIJIAN_CALLBACK_DEADLINE_MS` (default 3500): how long a callback may spend storing an
    /// event before we give up and let WeChat deliver it again (WeChat waits 5 s).
    pub callback_deadline: Duration,
    /// `PUBLIC_URL`: where followers reach this server from the internet (links to members'
    /// personal pages, OAuth redirects), e.g. `https://tuijian.example.com`. Unset → the
    /// listen address.
    pub public_url: Option<String>,
    /// `METRICS_TOKEN`: set → `GET /metrics` needs `Authorization: Bearer <token>`; unset → open.
    pub metrics_token: Option<SecretString>,
    pub wechat: WechatSettings,
}

/// The simulated Official Account's AppID in sandbox mode.
pub const SANDBOX_APPID: &str = "wxsandbox00000001";
/// The callback Token used in sandbox mode when `WECHAT_TOKEN` is unset.
pub const SANDBOX_TOKEN: &str = "tuijian-sandbox";

/// The Official Account's credentials and where its API lives.
#[derive(Debug, Clone)]
pub struct WechatSettings {
    /// `WECHAT_APPID`; unset → sandbox mode.
    pub appid: Option<String>,
    /// `WECHAT_APPSECRET`.
    pub appsecret: Option<SecretString>,
    /// `WECHAT_TOKEN`: the shared secret for callback signatures.
    pub token: Option<SecretString>,
    /// `WECHAT_ENCODING_AES_KEY`: set → safe mode expected.
    pub encoding_aes_key: Option<SecretString>,
    /// `WECHAT_API_BASE` (default `https://api.weixin.qq.com`).
    pub api_base: String,
    /// `WECHAT_TOKEN_ENDPOINT=classic` uses `cgi-bin/token` instead of `stable_token`.
    pub classic_token: bool,
}

impl WechatSettings {
    /// Without an AppID there is no real account: the simulator plays WeChat.
    pub fn is_sandbox(&self) -> bool {
        self.appid.is_none()
    }

    /// The AppID callbacks are encrypted for: the configured one, or the sandbox's.
    pub fn effective_appid(&self) -> &str {
        self.appid.as_deref().unwrap_or(SANDBOX_APPID)
    }
}

/// A configuration problem, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("invalid value for {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

impl Settings {
    /// Reads `.env` if present (development), then the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        let _ = dotenvy::dotenv();
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Builds settings from any variable source (tests pass a map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let site_addr = match get("LEPTOS_SITE_ADDR") {
            Some(v) => v.parse().map_err(|e| ConfigError {
                var: "LEPTOS_SITE_ADDR",
                reason: format!("{e} (expected host:port, e.g. 127.0.0.1:3000)"),
            })?,
            None => SocketAddr::from(([127, 0, 0, 1], 3000)),
        };
        let api_base = get("WECHAT_API_BASE")
            .unwrap_or_else(|| "https://api.weixin.qq.com".to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(api_base.starts_with("http://") || api_base.starts_with("https://")) {
            return Err(ConfigError {
                var: "WECHAT_API_BASE",
                reason: "must start with http:// or https://".into(),
            });
        }
        let secret = |name: &str| get(name).map(SecretString::from);
        let appid = get("WECHAT_APPID");
        let token = match (secret("WECHAT_TOKEN"), &appid) {
            (Some(token), _) => Some(token),
            (None, None) => Some(SecretString::from(SANDBOX_TOKEN)),
            (None, Some(_)) => None,
        };
        let wechat = WechatSettings {
            appid,
            appsecret: secret("WECHAT_APPSECRET"),
            token,
            encoding_aes_key: secret("WECHAT_ENCODING_AES_KEY"),
            api_base,
            classic_token: match get("WECHAT_TOKEN_ENDPOINT").as_deref() {
                None | Some("stable") => false,
                Some("classic") => true,
                Some(_) => {
                    return Err(ConfigError {
                        var: "WECHAT_TOKEN_ENDPOINT",
                        reason: "must be stable or classic".into(),
                    });
                }
            },
        };
        if let Some(key) = get("WECHAT_ENCODING_AES_KEY")
            && key.len() != 43
        {
            return Err(ConfigError {
                var: "WECHAT_ENCODING_AES_KEY",
                reason: format!("must be 43 characters, got {}", key.len()),
            });
        }
        if wechat.appid.is_some() && wechat.token.is_none() {
            return Err(ConfigError {
                var: "WECHAT_TOKEN",
                reason: "required when WECHAT_APPID is set".into(),
            });
        }
        if wechat.appid.is_some() && wechat.appsecret.is_none() {
            return Err(ConfigError {
                var: "WECHAT_APPSECRET",
                reason: "required when WECHAT_APPID is set".into(),
            });
        }
        let callback_deadline = match get("TUIJIAN_CALLBACK_DEADLINE_MS") {
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if (100..=4500).contains(&ms) => Duration::from_millis(ms),
                _ => {
                    return Err(ConfigError {
                        var: "TUIJIAN_CALLBACK_DEADLINE_MS",
                        reason: "must be a number of milliseconds from 100 to 4500".into(),
                    });
                }
            },
            None => Duration::from_millis(3500),
        };
        let public_url = match get("PUBLIC_URL") {
            Some(v) if v.starts_with("http://") || v.starts_with("https://") => {
                Some(v.trim_end_matches('/').to_owned())
            }
            Some(_) => {
                return Err(ConfigError {
                    var: "PUBLIC_URL",
                    reason: "must start with http:// or https://".into(),
                });
            }
            None => None,
        };
        Ok(Settings {
            callback_deadline,
            public_url,
            database_url: secret("DATABASE_URL"),
            data_dir: get("TUIJIAN_DATA_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(".data")),
            site_addr,
            site_root: get("LEPTOS_SITE_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("target/site")),
            output_name: get("LEPTOS_OUTPUT_NAME").unwrap_or_else(|| app::BUNDLE_NAME.to_owned()),
            metrics_token: secret("METRICS_TOKEN"),
            wechat,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use secrecy::ExposeSecret;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_give_sandbox_on_localhost_3000() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.site_addr.to_string(), "127.0.0.1:3000");
        assert!(s.wechat.is_sandbox());
        assert!(s.database_url.is_none());
        assert_eq!(s.wechat.api_base, "https://api.weixin.qq.com");
        assert_eq!(s.output_name, "tuijian");
        assert_eq!(s.wechat.effective_appid(), SANDBOX_APPID);
        assert_eq!(
            s.wechat.token.as_ref().map(|t| t.expose_secret()),
            Some(SANDBOX_TOKEN)
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            (vec![("LEPTOS_SITE_ADDR", "nonsense")], "LEPTOS_SITE_ADDR"),
            (vec![("WECHAT_API_BASE", "ftp://x")], "WECHAT_API_BASE"),
            (
                vec![("WECHAT_ENCODING_AES_KEY", "short")],
                "WECHAT_ENCODING_AES_KEY",
            ),
            (vec![("WECHAT_APPID", "wx1")], "WECHAT_TOKEN"),
            (
                vec![("WECHAT_APPID", "wx1"), ("WECHAT_TOKEN", "t")],
                "WECHAT_APPSECRET",
            ),
            (
                vec![("WECHAT_TOKEN_ENDPOINT", "fast")],
                "WECHAT_TOKEN_ENDPOINT",
            ),
            (
                vec![("TUIJIAN_CALLBACK_DEADLINE_MS", "9000")],
                "TUIJIAN_CALLBACK_DEADLINE_MS",
            ),
        ];
        for (vars, var) in cases {
            let e = settings(&vars).expect_err("must be rejected");
            assert_eq!(e.var, var);
        }
    }

    #[test]
    fn credentials_switch_to_live_and_stay_secret() {
        let s = settings(&[
            ("WECHAT_APPID", "wx123"),
            ("WECHAT_TOKEN", "tok"),
            ("WECHAT_APPSECRET", "very-secret"),
            ("WECHAT_API_BASE", "http://127.0.0.1:9/"),
        ])
        .expect("valid");
        assert!(!s.wechat.is_sandbox());
        assert_eq!(s.wechat.api_base, "http://127.0.0.1:9");
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("very-secret"),
            "secret leaked in Debug: {debug}"
        );
        assert_eq!(
            s.wechat.appsecret.as_ref().map(|s| s.expose_secret()),
            Some("very-secret")
        );
    }
}
