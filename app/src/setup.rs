//! Going live: what an account's setup page and `tuijian doctor` report. The server runs the
//! checks; each finding is typed, and its explanation and fix are worded here once, in both
//! languages, for the dashboard and the command line alike.

use serde::{Deserialize, Serialize};

use crate::model::WechatMode;

/// Everything needed to connect one Official Account, and how far it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupReport {
    pub account_id: i64,
    pub account_name: String,
    pub mode: WechatMode,
    pub appid: String,
    /// The URL to enter as 服务器地址(URL) in 设置与开发 → 基本配置 → 服务器配置.
    pub callback_url: String,
    /// The callback Token and EncodingAESKey are set (their values are never shown again).
    pub token_set: bool,
    pub aes_key_set: bool,
    /// The host to register as 网页授权域名 (from `PUBLIC_URL`).
    pub oauth_domain: Option<String>,
    /// The address WeChat saw this server call from, when it refused it (40164).
    pub outbound_ip: Option<String>,
    pub checks: Vec<SetupCheck>,
}

impl SetupReport {
    /// Whether any check failed (the doctor's exit code).
    pub fn failed(&self) -> bool {
        self.checks.iter().any(|c| c.state == CheckState::Fail)
    }
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Ok,
    /// Works, but something should be done.
    Warn,
    /// Blocks going live.
    Fail,
}

impl CheckState {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckState::Ok => "ok",
            CheckState::Warn => "warn",
            CheckState::Fail => "fail",
        }
    }
}

/// The checks, in the order a new account passes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    /// `PUBLIC_URL` is set, HTTPS, and a domain name.
    PublicUrl,
    /// WeChat issues this account an access token (AppID, AppSecret, IP allowlist).
    AccessToken,
    /// WeChat verified the callback URL (the 提交 button of 服务器配置).
    CallbackVerified,
    /// A callback arrived (a follow, a message).
    LastCallback,
    /// Safe mode (an EncodingAESKey) is set.
    SafeMode,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::PublicUrl => "public_url",
            CheckKind::AccessToken => "access_token",
            CheckKind::CallbackVerified => "callback_verified",
            CheckKind::LastCallback => "last_callback",
            CheckKind::SafeMode => "safe_mode",
        }
    }

    /// (Chinese, English) name of the check.
    pub fn title(self) -> (&'static str, &'static str) {
        match self {
            CheckKind::PublicUrl => ("公网地址 PUBLIC_URL", "Public URL (PUBLIC_URL)"),
            CheckKind::AccessToken => ("获取 access_token", "Access token"),
            CheckKind::CallbackVerified => {
                ("微信验证服务器地址", "Callback URL verified by WeChat")
            }
            CheckKind::LastCallback => ("最近收到的回调", "Last callback received"),
            CheckKind::SafeMode => ("消息加密（安全模式）", "Message encryption (safe mode)"),
        }
    }
}

/// One check's result: what was seen (facts such as a time, a URL or WeChat's errmsg, not
/// translated) and, unless it passed, what to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetupCheck {
    pub kind: CheckKind,
    pub state: CheckState,
    /// WeChat's errcode, when the check called WeChat and was refused.
    pub errcode: Option<i64>,
    pub detail: String,
    pub fix: Option<Fix>,
}

/// What to do about a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "fix")]
pub enum Fix {
    /// No `PUBLIC_URL`: links and web authorization point at the listen address.
    SetPublicUrl,
    /// `PUBLIC_URL` is plain http.
    UseHttps,
    /// `PUBLIC_URL` names an IP address or localhost.
    UseDomain,
    /// 40164: the server's address is not on the API IP allowlist.
    AllowlistIp { ip: Option<String> },
    /// 89503 / 89501: an administrator must confirm the calling IP in WeChat.
    ConfirmIp,
    /// 89506 / 89507: the administrator refused the IP; WeChat blocks it for a while.
    IpBlocked,
    /// 40125 / 40001: the AppSecret is wrong or was reset.
    ResetSecret,
    /// 40013: the AppID is wrong.
    CheckAppid,
    /// 40125 / 40001 for the first account, which `WECHAT_APPSECRET` configures.
    ResetSecretEnv,
    /// 40013 for the first account (`WECHAT_APPID`).
    CheckAppidEnv,
    /// -1 / 45009 and the like: WeChat is busy or a quota is used up; try again later.
    RetryLater,
    /// The WeChat API could not be reached at all.
    ReachWechat,
    /// Any other errcode: WeChat's own message says what.
    WechatSays,
    /// WeChat never verified the callback URL.
    SubmitServerConfig,
    /// WeChat's last check of the URL was signed with another Token.
    TokenMismatch,
    /// Nothing arrived yet.
    SendTestMessage,
    /// Plaintext mode.
    EnableSafeMode,
}

impl Fix {
    /// (Chinese, English) advice.
    pub fn text(&self) -> (String, String) {
        let s = |zh: &str, en: &str| (zh.to_owned(), en.to_owned());
        match self {
            Fix::SetPublicUrl => s(
                "设置环境变量 PUBLIC_URL 为关注者访问本服务的地址（如 https://tuijian.example.com）并重启；否则推广页链接和网页授权指向本机地址，关注者打不开。",
                "Set the PUBLIC_URL environment variable to the address followers reach this server at (e.g. https://tuijian.example.com) and restart; otherwise member links and web authorization point at the listen address, which followers cannot open.",
            ),
            Fix::UseHttps => s(
                "在前面放一个带 TLS 证书的反向代理，并把 PUBLIC_URL 改成 https:// 开头（见 README 的部署一节）。",
                "Put a reverse proxy with a TLS certificate in front and make PUBLIC_URL start with https:// (see the README's deploying section).",
            ),
            Fix::UseDomain => s(
                "PUBLIC_URL 必须是已备案的域名，不能是 IP 或 localhost：网页授权域名只接受域名。",
                "PUBLIC_URL must be a (registered) domain name, not an IP address or localhost: WeChat's web-authorization domain accepts domain names only.",
            ),
            Fix::AllowlistIp { ip } => {
                let (zh_ip, en_ip) = match ip {
                    Some(ip) => (
                        format!("（微信看到的地址是 {ip}）"),
                        format!(" (WeChat saw {ip})"),
                    ),
                    None => (String::new(), String::new()),
                };
                (
                    format!(
                        "在公众号后台 设置与开发 → 基本配置 → IP白名单 中加入本服务器的出口 IP{zh_ip}，保存后重新检查。"
                    ),
                    format!(
                        "Add this server's outbound IP address{en_ip} to the IP allowlist in the WeChat admin panel (设置与开发 → 基本配置 → IP白名单), then check again."
                    ),
                )
            }
            Fix::ConfirmIp => s(
                "微信要求管理员确认这个调用 IP：请管理员在微信中确认（或先把 IP 加入 IP白名单），再重新检查。",
                "WeChat wants an administrator to confirm this calling IP: confirm it in WeChat (or add the IP to the allowlist first), then check again.",
            ),
            Fix::IpBlocked => s(
                "管理员拒绝了这个 IP，微信暂时封禁它（1 至 24 小时）；把 IP 加入 IP白名单后等待解封。",
                "An administrator refused this IP and WeChat blocks it for a while (1 to 24 hours); add it to the IP allowlist and wait for the block to end.",
            ),
            Fix::ResetSecret => s(
                "AppSecret 不正确或已被重置：在 基本配置 中重置 AppSecret，把新的填到本账号的设置里（设置 → 公众号）。",
                "The AppSecret is wrong or was reset: reset it under 基本配置 and enter the new one in this account's settings (Settings → Official Accounts).",
            ),
            Fix::CheckAppid => s(
                "AppID 不正确：从 基本配置 复制开发者ID(AppID) 到本账号的设置里。",
                "The AppID is wrong: copy 开发者ID(AppID) from 基本配置 into this account's settings.",
            ),
            Fix::ResetSecretEnv => s(
                "AppSecret 不正确或已被重置：在 基本配置 中重置 AppSecret，写入环境变量 WECHAT_APPSECRET 后重启服务。",
                "The AppSecret is wrong or was reset: reset it under 基本配置, put the new one in WECHAT_APPSECRET and restart the server.",
            ),
            Fix::CheckAppidEnv => s(
                "AppID 不正确：把 基本配置 中的开发者ID(AppID) 写入环境变量 WECHAT_APPID 后重启服务。",
                "The AppID is wrong: put 开发者ID(AppID) from 基本配置 in WECHAT_APPID and restart the server.",
            ),
            Fix::RetryLater => s(
                "微信繁忙或调用次数已达上限，请稍后重新检查。",
                "WeChat is busy or a call quota is used up; check again later.",
            ),
            Fix::ReachWechat => s(
                "无法连接微信接口：检查服务器能否访问 api.weixin.qq.com（防火墙、代理、DNS）以及 WECHAT_API_BASE。",
                "The WeChat API cannot be reached: check that the server can reach api.weixin.qq.com (firewall, proxy, DNS) and WECHAT_API_BASE.",
            ),
            Fix::WechatSays => s(
                "按微信返回的错误说明处理（错误码见微信公众平台文档），然后重新检查。",
                "Follow WeChat's error message (the errcode is listed in WeChat's documentation), then check again.",
            ),
            Fix::SubmitServerConfig => s(
                "在 设置与开发 → 基本配置 → 服务器配置 中填入上面的 URL、Token 和 EncodingAESKey，选择消息加解密方式后点“提交”，微信会立即验证；验证通过后“启用”。",
                "In 设置与开发 → 基本配置 → 服务器配置 enter the URL, Token and EncodingAESKey above, choose the encryption mode and press 提交 (submit): WeChat verifies the URL at once. Then press 启用 (enable).",
            ),
            Fix::TokenMismatch => s(
                "微信最近一次验证时签名不符：服务器配置 里的 Token 与本账号设置中的不同。把两边改成同一个 Token 后再点“提交”。",
                "WeChat's last check was signed with another Token: the Token in 服务器配置 differs from this account's. Make them the same and press 提交 again.",
            ),
            Fix::SendTestMessage => s(
                "用微信关注公众号或给它发一条消息，然后重新检查。",
                "Follow the account or send it a message from WeChat, then check again.",
            ),
            Fix::EnableSafeMode => s(
                "建议使用安全模式：在 服务器配置 中随机生成 EncodingAESKey、选择“安全模式”，并把同一个密钥填到本账号的设置里。",
                "Safe mode is recommended: generate an EncodingAESKey under 服务器配置, choose 安全模式, and enter the same key in this account's settings.",
            ),
        }
    }
}

/// The fix for WeChat's answer to a token request.
pub fn token_fix(errcode: i64, errmsg: &str) -> (CheckState, Fix) {
    match errcode {
        40164 | 61004 => (
            CheckState::Fail,
            Fix::AllowlistIp {
                ip: refused_ip(errmsg),
            },
        ),
        89503 | 89501 => (CheckState::Fail, Fix::ConfirmIp),
        89506 | 89507 => (CheckState::Fail, Fix::IpBlocked),
        40125 | 40001 | 41004 => (CheckState::Fail, Fix::ResetSecret),
        40013 | 41002 => (CheckState::Fail, Fix::CheckAppid),
        -1 | 45009 | 45011 => (CheckState::Warn, Fix::RetryLater),
        _ => (CheckState::Fail, Fix::WechatSays),
    }
}

/// The address in a 40164 message ("invalid ip 1.2.3.4 ipv6 ::ffff:1.2.3.4, not in
/// whitelist …").
pub fn refused_ip(errmsg: &str) -> Option<String> {
    let rest = errmsg.split("invalid ip ").nth(1)?;
    let ip: String = rest
        .chars()
        .take_while(|c| c.is_ascii_hexdigit() || *c == '.' || *c == ':')
        .collect();
    ip.parse::<std::net::IpAddr>().ok().map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refused_address_is_read_from_wechats_message() {
        assert_eq!(
            refused_ip("invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist rid: 1"),
            Some("203.0.113.7".to_owned())
        );
        assert_eq!(refused_ip("invalid ip, not in whitelist"), None);
        assert_eq!(refused_ip("invalid appsecret"), None);
    }

    #[test]
    fn each_token_refusal_has_its_own_fix() {
        assert_eq!(
            token_fix(40164, "invalid ip 198.51.100.2 ipv6 ::ffff:198.51.100.2"),
            (
                CheckState::Fail,
                Fix::AllowlistIp {
                    ip: Some("198.51.100.2".into())
                }
            )
        );
        assert_eq!(token_fix(40125, "invalid appsecret").1, Fix::ResetSecret);
        assert_eq!(token_fix(40013, "invalid appid").1, Fix::CheckAppid);
        assert_eq!(token_fix(89503, "").1, Fix::ConfirmIp);
        assert_eq!(token_fix(-1, "system busy").0, CheckState::Warn);
        assert_eq!(token_fix(48001, "api unauthorized").1, Fix::WechatSays);
    }
}
