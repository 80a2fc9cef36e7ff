//! The setup page (admin): what to enter in WeChat's admin panel for the current account, and
//! the live checks with the fix for each failure. Loading the page runs the checks again.

use leptos::prelude::*;

use crate::api::setup::load_setup;
use crate::i18n::{Lang, t, use_lang};
use crate::model::WechatMode;
use crate::setup::{CheckState, SetupCheck, SetupReport};

/// The setup page.
#[component]
pub fn SetupPage() -> impl IntoView {
    let report = Resource::new(|| (), |_| load_setup());
    view! {
        <h1>{t("接入微信", "Connect WeChat")}</h1>
        <p class="lead">
            {t(
                "把当前公众号接到本服务：在微信公众平台填写下面的配置，再看检查结果。",
                "Connect the current Official Account to this server: enter the settings below in the WeChat admin panel, then read the checks.",
            )}
        </p>
        <Suspense fallback=move || {
            view! { <p class="loading" data-testid="setup-loading">{t("正在检查…", "Checking…")}</p> }
        }>
            {move || {
                report
                    .get()
                    .map(|r| match r {
                        Ok(r) => view! { <Report report=r /> }.into_any(),
                        Err(e) => {
                            view! {
                                <p class="error" role="alert" data-testid="setup-error">
                                    {e.message}
                                </p>
                            }
                                .into_any()
                        }
                    })
            }}
        </Suspense>
    }
}

#[component]
fn Report(report: SetupReport) -> impl IntoView {
    let lang = use_lang();
    let failed = report.failed();
    let mode = match report.mode {
        WechatMode::Sandbox => t(
            "沙盒（模拟器扮演微信）",
            "Sandbox (the simulator plays WeChat)",
        ),
        WechatMode::Live => t("正式", "Live"),
    };
    let aes = if report.aes_key_set {
        t(
            "已设置（不再显示）· 选择“安全模式”",
            "set (not shown again) · choose 安全模式 (safe mode)",
        )
    } else {
        t(
            "未设置 · 选择“明文模式”",
            "not set · choose 明文模式 (plaintext)",
        )
    };
    let token = if report.token_set {
        t(
            "已设置（不再显示；与账号设置中填写的相同）",
            "set (not shown again; the one entered in the account's settings)",
        )
    } else {
        t("未设置", "not set")
    };
    let domain = report.oauth_domain.clone();
    let ip = report.outbound_ip.clone();
    view! {
        <section class="card" data-testid="setup-config">
            <h2>{t("在微信公众平台填写", "Enter in the WeChat admin panel")}</h2>
            <p class="muted">
                {t(
                    "设置与开发 → 基本配置 → 服务器配置（修改配置后启用）。",
                    "设置与开发 → 基本配置 → 服务器配置 (edit, then enable).",
                )}
            </p>
            <dl class="status-card">
                <dt>{t("公众号", "Account")}</dt>
                <dd>{report.account_name.clone()} " · " {mode}</dd>
                <dt>"AppID"</dt>
                <dd class="mono">{report.appid.clone()}</dd>
                <dt>{t("服务器地址(URL)", "Server URL")}</dt>
                <dd class="mono" data-testid="setup-callback-url">{report.callback_url.clone()}</dd>
                <dt>"Token"</dt>
                <dd>{token}</dd>
                <dt>"EncodingAESKey"</dt>
                <dd>{aes}</dd>
                <dt>{t("网页授权域名", "Web authorization domain")}</dt>
                <dd data-testid="setup-domain">
                    {match domain {
                        Some(d) => view! { <span class="mono">{d}</span> }.into_any(),
                        None => t("需先设置 PUBLIC_URL", "set PUBLIC_URL first").into_any(),
                    }}
                    <span class="hint">
                        {t(
                            " · 设置 → 公众号设置 → 功能设置 → 网页授权域名",
                            " · 设置 → 公众号设置 → 功能设置 → 网页授权域名",
                        )}
                    </span>
                </dd>
                <dt>{t("IP 白名单", "IP allowlist")}</dt>
                <dd data-testid="setup-ip">
                    {match ip {
                        Some(ip) => {
                            view! {
                                <span class="mono">{ip}</span>
                                {t(" （微信看到的本服务器地址）", " (the address WeChat saw this server call from)")}
                            }
                                .into_any()
                        }
                        None => {
                            t(
                                "加入本服务器访问 api.weixin.qq.com 的出口 IP（云服务器的公网 IP；经 NAT 或代理时为其出口）。",
                                "Add the outbound IP this server reaches api.weixin.qq.com from (the server's public IP; behind NAT or a proxy, theirs).",
                            )
                                .into_any()
                        }
                    }}
                </dd>
            </dl>
        </section>
        <section class="card" data-testid="setup-checks">
            <h2>{t("检查", "Checks")}</h2>
            <p role="status" data-testid="setup-summary" class:error=failed class:ok=!failed>
                {if failed {
                    t("有检查未通过，按提示修正后重新检查。", "Some checks failed: fix them as described, then check again.")
                } else {
                    t("没有阻止上线的问题。", "Nothing blocks going live.")
                }}
            </p>
            <ul class="checks">
                {report
                    .checks
                    .into_iter()
                    .map(|c| view! { <CheckItem check=c lang=lang /> })
                    .collect_view()}
            </ul>
            <a class="button" href="/setup" data-testid="setup-recheck">
                {t("重新检查", "Check again")}
            </a>
        </section>
    }
}

#[component]
fn CheckItem(check: SetupCheck, lang: RwSignal<Lang>) -> impl IntoView {
    let (zh, en) = check.kind.title();
    let state = match check.state {
        CheckState::Ok => t("通过", "OK"),
        CheckState::Warn => t("注意", "Attention"),
        CheckState::Fail => t("未通过", "Failed"),
    };
    let fix = check.fix.map(|f| f.text());
    let errcode = check.errcode.map(|c| format!("errcode {c} · "));
    view! {
        <li
            class=format!("check {}", check.state.as_str())
            data-testid=format!("check-{}", check.kind.as_str())
            data-state=check.state.as_str()
        >
            <span class=format!("badge {}", check.state.as_str())>{state}</span>
            " "
            <strong>{t(zh, en)}</strong>
            <div class="check-detail mono">{errcode} {check.detail}</div>
            {fix.map(|(zh, en)| {
                view! {
                    <p class="check-fix" data-testid="check-fix">
                        {move || if lang.get() == Lang::Zh { zh.clone() } else { en.clone() }}
                    </p>
                }
            })}
        </li>
    }
}
