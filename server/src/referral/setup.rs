//! Going live: an account's setup report (the setup page and `tuijian doctor`): what to copy
//! into WeChat's admin panel and the live checks, each with its fix.

use app::model::{Role, WechatMode};
use app::setup::{CheckKind, CheckState, Fix, SetupCheck, SetupReport, token_fix};
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::accounts::{Accounts, Mode};
use crate::db;
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::wechat::client::ApiError;

/// What the checks look at besides the database.
pub struct SetupContext<'a> {
    pub pool: &'a PgPool,
    pub accounts: &'a Accounts,
    /// `PUBLIC_URL`, if set.
    pub public_url: Option<&'a str>,
    /// Where this server reaches itself (what links use without `PUBLIC_URL`).
    pub self_url: &'a str,
}

/// The actor's account's setup report (admin). Calls WeChat once (for a token, without
/// replacing the one in use).
pub async fn report(actor: &Actor, ctx: &SetupContext<'_>) -> Result<SetupReport, ServiceError> {
    actor.require(Role::Admin)?;
    let id = actor.account_id;
    let row = db::accounts::get(ctx.pool, id)
        .await?
        .ok_or(ServiceError::NotFound("account"))?;
    let live = row.mode == Mode::Live.as_str();
    let base = ctx.public_url.unwrap_or(ctx.self_url).trim_end_matches('/');
    let callback_url = if id == ctx.accounts.first_id() {
        format!("{base}/wechat/callback")
    } else {
        format!("{base}/wechat/callback/{id}")
    };
    let mut checks = vec![public_url_check(ctx.public_url, live)];
    let (token_check, outbound_ip) = match ctx.accounts.get(id).await {
        Ok(account) => token_check(account.api.check_credentials().await),
        Err(e) => (
            SetupCheck {
                kind: CheckKind::AccessToken,
                state: CheckState::Fail,
                errcode: None,
                detail: e.to_string(),
                fix: Some(if row.appsecret.is_none() && live {
                    Fix::ResetSecret
                } else {
                    Fix::CheckAppid
                }),
            },
            None,
        ),
    };
    // The first account's credentials are the environment's (WECHAT_*), not the dashboard's.
    let mut token_check = token_check;
    if id == ctx.accounts.first_id() {
        token_check.fix = token_check.fix.map(|fix| match fix {
            Fix::ResetSecret => Fix::ResetSecretEnv,
            Fix::CheckAppid => Fix::CheckAppidEnv,
            other => other,
        });
    }
    checks.push(token_check);
    let (verified, refused) = db::accounts::url_checks(ctx.pool, id).await?;
    checks.push(url_check(verified, refused, live));
    let last = db::events::last_received(ctx.pool, id).await?;
    checks.push(match last {
        Some(at) => ok(CheckKind::LastCallback, time(at)),
        None => SetupCheck {
            kind: CheckKind::LastCallback,
            state: CheckState::Warn,
            errcode: None,
            detail: "none yet".into(),
            fix: Some(Fix::SendTestMessage),
        },
    });
    checks.push(match row.encoding_aes_key {
        Some(_) => ok(CheckKind::SafeMode, "safe mode".into()),
        None => SetupCheck {
            kind: CheckKind::SafeMode,
            state: CheckState::Warn,
            errcode: None,
            detail: "plaintext mode".into(),
            fix: Some(Fix::EnableSafeMode),
        },
    });
    Ok(SetupReport {
        account_id: id,
        account_name: row.name.clone(),
        mode: if live {
            WechatMode::Live
        } else {
            WechatMode::Sandbox
        },
        appid: row
            .appid
            .clone()
            .unwrap_or_else(|| crate::accounts::sandbox_appid(id)),
        callback_url,
        token_set: row.token.is_some(),
        aes_key_set: row.encoding_aes_key.is_some(),
        oauth_domain: ctx.public_url.and_then(host),
        outbound_ip,
        checks,
    })
}

fn ok(kind: CheckKind, detail: String) -> SetupCheck {
    SetupCheck {
        kind,
        state: CheckState::Ok,
        errcode: None,
        detail,
        fix: None,
    }
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The host of a URL (`https://a.example.com:8443/x` → `a.example.com`).
fn host(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    // An IPv6 host comes bracketed, as in the URL.
    let host = url
        .host_str()?
        .trim_start_matches('[')
        .trim_end_matches(']');
    Some(host.to_owned())
}

/// `PUBLIC_URL`: required in live mode, HTTPS and a domain name there; in the sandbox its
/// absence only means links open on this machine alone.
fn public_url_check(public_url: Option<&str>, live: bool) -> SetupCheck {
    let bad = if live {
        CheckState::Fail
    } else {
        CheckState::Warn
    };
    let finding = |state, detail: String, fix| SetupCheck {
        kind: CheckKind::PublicUrl,
        state,
        errcode: None,
        detail,
        fix: Some(fix),
    };
    let Some(url) = public_url else {
        return finding(bad, "not set".into(), Fix::SetPublicUrl);
    };
    let Some(host) = host(url) else {
        return finding(bad, url.to_owned(), Fix::SetPublicUrl);
    };
    if host == "localhost" || host.parse::<std::net::IpAddr>().is_ok() {
        return finding(bad, url.to_owned(), Fix::UseDomain);
    }
    if !url.starts_with("https://") {
        return finding(bad, url.to_owned(), Fix::UseHttps);
    }
    ok(CheckKind::PublicUrl, url.to_owned())
}

/// WeChat's answer to a token request, and the address it refused if it did.
fn token_check(answer: Result<i64, ApiError>) -> (SetupCheck, Option<String>) {
    match answer {
        Ok(expires_in) => (
            ok(
                CheckKind::AccessToken,
                format!("issued, valid for {expires_in} s"),
            ),
            None,
        ),
        Err(ApiError::Api { errcode, errmsg }) => {
            let (state, fix) = token_fix(errcode, &errmsg);
            let ip = match &fix {
                Fix::AllowlistIp { ip } => ip.clone(),
                _ => None,
            };
            (
                SetupCheck {
                    kind: CheckKind::AccessToken,
                    state,
                    errcode: Some(errcode),
                    detail: errmsg,
                    fix: Some(fix),
                },
                ip,
            )
        }
        Err(e) => (
            SetupCheck {
                kind: CheckKind::AccessToken,
                state: CheckState::Fail,
                errcode: None,
                detail: e.to_string(),
                fix: Some(Fix::ReachWechat),
            },
            None,
        ),
    }
}

/// WeChat's checks of the callback URL: verified, never tried, or last tried with a Token
/// that is not this account's.
fn url_check(
    verified: Option<DateTime<Utc>>,
    refused: Option<DateTime<Utc>>,
    live: bool,
) -> SetupCheck {
    let finding = |state, detail: String, fix| SetupCheck {
        kind: CheckKind::CallbackVerified,
        state,
        errcode: None,
        detail,
        fix: Some(fix),
    };
    match (verified, refused) {
        // After a verification, a refused check may be a stranger's: a warning.
        (_, Some(r)) if verified.is_none_or(|v| r > v) => finding(
            if verified.is_some() {
                CheckState::Warn
            } else {
                CheckState::Fail
            },
            format!("refused a check at {} (signature did not match)", time(r)),
            Fix::TokenMismatch,
        ),
        (Some(v), _) => ok(CheckKind::CallbackVerified, time(v)),
        (None, _) => finding(
            if live {
                CheckState::Fail
            } else {
                CheckState::Warn
            },
            "never".into(),
            Fix::SubmitServerConfig,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_read_from_urls() {
        assert_eq!(
            host("https://a.example.com").as_deref(),
            Some("a.example.com")
        );
        assert_eq!(
            host("https://a.example.com:8443/x").as_deref(),
            Some("a.example.com")
        );
        assert_eq!(host("http://127.0.0.1:3000").as_deref(), Some("127.0.0.1"));
        assert_eq!(host("http://[::1]:3000/").as_deref(), Some("::1"));
        assert_eq!(host("nonsense").as_deref(), None);
    }

    #[test]
    fn public_url_must_be_an_https_domain_when_live() {
        let fix = |u, live| {
            let c = public_url_check(u, live);
            (c.state, c.fix)
        };
        assert_eq!(fix(None, true), (CheckState::Fail, Some(Fix::SetPublicUrl)));
        assert_eq!(
            fix(None, false),
            (CheckState::Warn, Some(Fix::SetPublicUrl))
        );
        assert_eq!(
            fix(Some("https://127.0.0.1"), true),
            (CheckState::Fail, Some(Fix::UseDomain))
        );
        assert_eq!(
            fix(Some("http://tj.example.com"), true),
            (CheckState::Fail, Some(Fix::UseHttps))
        );
        assert_eq!(
            fix(Some("https://tj.example.com"), true),
            (CheckState::Ok, None)
        );
    }

    #[test]
    fn a_later_refused_check_means_another_token() {
        let t = |s: i64| DateTime::from_timestamp(s, 0);
        assert_eq!(url_check(t(10), None, true).state, CheckState::Ok);
        assert_eq!(url_check(t(10), t(5), true).state, CheckState::Ok);
        assert_eq!(url_check(t(10), t(20), true).fix, Some(Fix::TokenMismatch));
        assert_eq!(url_check(t(10), t(20), true).state, CheckState::Warn);
        assert_eq!(url_check(None, t(20), true).state, CheckState::Fail);
        assert_eq!(url_check(None, t(20), false).fix, Some(Fix::TokenMismatch));
        assert_eq!(url_check(None, None, true).state, CheckState::Fail);
        assert_eq!(url_check(None, None, false).state, CheckState::Warn);
    }
}
