//! Official Accounts: the header's name and switcher, and the settings page's section (the
//! list of accounts, a form to edit the current one and a form to add one).

use leptos::prelude::*;

use crate::api::accounts::{create_account, switch_account, update_account};
use crate::components::call::{Call, effect};
use crate::components::form::ErrorBanner;
use crate::i18n::t;
use crate::model::{AccountChoice, AccountInput, AccountView, AppError, WechatMode};

/// The current account's name, and a switcher when the user works in several accounts. The
/// name is a live region of its own, so a rename on the settings page shows at once.
#[component]
pub fn AccountHeader(accounts: Vec<AccountChoice>) -> impl IntoView {
    let current = accounts.iter().find(|a| a.current).map(|a| a.name.clone());
    let switcher = (accounts.len() > 1).then(|| view! { <AccountSwitch accounts=accounts /> });
    view! {
        {current
            .map(|name| {
                view! {
                    <span class="account" data-testid="account-name" data-live="account-name">
                        {name}
                    </span>
                }
            })}
        {switcher}
    }
}

/// Opens the session in another account, then loads the overview there (every page's data
/// belongs to the account).
#[island]
fn AccountSwitch(accounts: Vec<AccountChoice>) -> impl IntoView {
    let current = accounts
        .iter()
        .find(|a| a.current)
        .map(|a| a.id.to_string())
        .unwrap_or_default();
    let chosen = RwSignal::new(current.clone());
    let switch = Call::new(|id: &i64| {
        let id = *id;
        async move { switch_account(id).await }
    });
    let error = move || switch.value().get().and_then(Result::err);
    effect(move || match switch.value().get() {
        Some(Ok(_)) => crate::browser::go("/"),
        // The session stays where it was: so does the choice.
        Some(Err(_)) => chosen.set(current.clone()),
        None => {}
    });
    view! {
        <span class="account-switch">
            <label class="visually-hidden" for="account-switch">
                {t("公众号", "Account")}
            </label>
            <select
                id="account-switch"
                data-testid="account-switch"
                disabled=move || switch.pending().get()
                prop:value=move || chosen.get()
                on:change=move |ev| {
                    let value = event_target_value(&ev);
                    if let Ok(id) = value.parse::<i64>() {
                        chosen.set(value);
                        switch.dispatch(id);
                    }
                }
            >
                {accounts
                    .into_iter()
                    .map(|a| {
                        view! {
                            <option value=a.id.to_string() selected=a.current>
                                {a.name}
                            </option>
                        }
                    })
                    .collect_view()}
            </select>
            {move || error().is_some().then(|| view! {
                <span class="error" role="alert" data-testid="account-switch-error">
                    {move || error().map(|e| e.message)}
                </span>
            })}
        </span>
    }
}

/// The settings page's accounts: the list (a live region) and the two forms.
#[component]
pub fn AccountsSection(
    account: AccountView,
    accounts: Vec<AccountView>,
    /// `PUBLIC_URL`: an account's callback URL is this plus its callback path.
    public_url: String,
) -> impl IntoView {
    let base = public_url.trim_end_matches('/').to_owned();
    let current = account.id;
    let rows = accounts
        .into_iter()
        .map(|a| account_row(a, &base, current))
        .collect_view();
    view! {
        <section class="card" data-testid="accounts">
            <h2>{t("公众号", "Official Accounts")}</h2>
            <p class="muted">
                {t(
                    "每个公众号在微信公众平台「基本配置」里填写自己的服务器地址（回调 URL）；推荐人、二维码和统计按公众号分开。",
                    "Each account enters its own server URL (callback URL) under WeChat's “Basic configuration”; referrers, QR codes and stats are kept apart per account.",
                )}
            </p>
            <div class="table-wrap" data-live="accounts">
                <table class="table" data-testid="account-list">
                    <thead>
                        <tr>
                            <th>"ID"</th>
                            <th>{t("名称", "Name")}</th>
                            <th>"AppID"</th>
                            <th>{t("原始 ID", "Original id")}</th>
                            <th>{t("模式", "Mode")}</th>
                            <th>{t("安全模式", "Safe mode")}</th>
                            <th>{t("回调 URL", "Callback URL")}</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            <EditAccount account=account />
            <AddAccount public_url=base />
        </section>
    }
}

fn account_row(a: AccountView, base: &str, current: i64) -> impl IntoView + use<> {
    let url = format!("{base}{}", a.callback_path);
    let mode = mode_label(a.mode);
    let safe = if a.safe_mode {
        t("是（加密）", "yes (encrypted)")
    } else {
        t("否（明文）", "no (plaintext)")
    };
    view! {
        <tr data-testid="account-row">
            <td>{a.id}</td>
            <td>
                {a.name}
                {(a.id == current).then(|| view! { <span class="tag">{t("当前", "current")}</span> })}
            </td>
            <td class="mono">{a.appid.unwrap_or_default()}</td>
            <td class="mono">{a.original_id.unwrap_or_default()}</td>
            <td>{mode}</td>
            <td>{safe}</td>
            <td>
                <code class="mono" data-testid="account-callback">{url}</code>
            </td>
        </tr>
    }
}

fn mode_label(mode: WechatMode) -> impl Fn() -> &'static str + Copy {
    match mode {
        WechatMode::Sandbox => t("沙盒", "Sandbox"),
        WechatMode::Live => t("真实", "Live"),
    }
}

fn mode_code(mode: WechatMode) -> &'static str {
    match mode {
        WechatMode::Sandbox => "sandbox",
        WechatMode::Live => "live",
    }
}

/// What was typed, when anything was.
fn typed(s: RwSignal<String>) -> Option<String> {
    Some(s.get_untracked()).filter(|v| !v.trim().is_empty())
}

/// The placeholder of a secret: whether one is stored, and that empty keeps it.
fn secret_hint(set: impl Fn() -> bool + Send + Sync + 'static) -> Signal<&'static str> {
    let yes = t(
        "已设置（不显示）；留空保持不变",
        "set (hidden); leave empty to keep it",
    );
    let no = t("未设置；留空保持不变", "not set; leave empty to keep it so");
    Signal::derive(move || if set() { yes() } else { no() })
}

/// Edits the current account. The first account's WeChat settings come from the server's
/// environment, so only its name is offered. Secrets are never shown: empty keeps them.
#[island]
fn EditAccount(account: AccountView) -> impl IntoView {
    let env = account.env_configured;
    let name = RwSignal::new(account.name.clone());
    let appid = RwSignal::new(account.appid.clone().unwrap_or_default());
    let original_id = RwSignal::new(account.original_id.clone().unwrap_or_default());
    let token = RwSignal::new(String::new());
    let aes_key = RwSignal::new(String::new());
    let clear_aes = RwSignal::new(false);
    let appsecret = RwSignal::new(String::new());
    let mode = RwSignal::new(mode_code(account.mode).to_owned());
    // What is stored, for the secrets' placeholders (updated by each save).
    let stored = RwSignal::new(account);
    let save = Call::new(|input: &AccountInput| {
        let input = input.clone();
        async move { update_account(input).await }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    effect(move || {
        if let Some(Ok(saved)) = save.value().get() {
            for s in [token, aes_key, appsecret] {
                s.set(String::new());
            }
            clear_aes.set(false);
            name.set(saved.name.clone());
            appid.set(saved.appid.clone().unwrap_or_default());
            original_id.set(saved.original_id.clone().unwrap_or_default());
            mode.set(mode_code(saved.mode).to_owned());
            stored.set(saved);
            crate::browser::refresh();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let input = if env {
            AccountInput {
                name: name.get_untracked(),
                ..AccountInput::default()
            }
        } else {
            AccountInput {
                name: name.get_untracked(),
                appid: typed(appid),
                original_id: typed(original_id),
                token: typed(token),
                encoding_aes_key: if clear_aes.get_untracked() {
                    Some(String::new())
                } else {
                    typed(aes_key)
                },
                appsecret: typed(appsecret),
                mode: Some(mode.get_untracked()),
            }
        };
        save.dispatch(input);
    };
    let form = "account-form";
    view! {
        <form class="form-grid" on:submit=submit data-testid="account-edit-form">
            <h3>{t("编辑当前公众号", "Edit this account")}</h3>
            <AccountField form field="name" label=t("名称", "Name") value=name error=error />
            {env.then(|| view! {
                <p class="muted" data-testid="account-env-note">
                    {t(
                        "此公众号的微信设置来自服务器的 WECHAT_* 环境变量，这里只能修改名称。",
                        "This account's WeChat settings follow the server's WECHAT_* variables; only its name can be changed here.",
                    )}
                </p>
            })}
            {(!env).then(|| view! {
                <ModeField form mode=mode error=error />
                <AccountField form field="appid" label=t("AppID", "AppID") value=appid error=error />
                <AccountField
                    form
                    field="original_id"
                    label=t("原始 ID（gh_ 开头）", "Original id (gh_…)")
                    value=original_id
                    error=error
                />
                <AccountField
                    form
                    field="token"
                    label=t("Token", "Token")
                    value=token
                    error=error
                    secret=true
                    placeholder=secret_hint(move || stored.get().token_set)
                />
                <AccountField
                    form
                    field="encoding_aes_key"
                    label=t("EncodingAESKey（安全模式）", "EncodingAESKey (safe mode)")
                    value=aes_key
                    error=error
                    secret=true
                    placeholder=secret_hint(move || stored.get().safe_mode)
                />
                {move || stored.get().safe_mode.then(|| view! {
                    <label class="inline">
                        <input
                            type="checkbox"
                            data-testid="account-form-clear-aes"
                            prop:checked=move || clear_aes.get()
                            on:change=move |ev| clear_aes.set(event_target_checked(&ev))
                        />
                        {t(
                            "清除 EncodingAESKey（改用明文模式）",
                            "Clear the EncodingAESKey (plaintext mode)",
                        )}
                    </label>
                })}
                <AccountField
                    form
                    field="appsecret"
                    label=t("AppSecret", "AppSecret")
                    value=appsecret
                    error=error
                    secret=true
                    placeholder=secret_hint(move || stored.get().appsecret_set)
                />
            })}
            <ErrorBanner error=Signal::derive(move || {
                error.get().filter(|e: &AppError| e.fields.is_empty())
            }) />
            <div class="actions">
                <button
                    type="submit"
                    class="primary"
                    data-testid="account-save"
                    disabled=move || save.pending().get()
                >
                    {t("保存", "Save")}
                </button>
                {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! {
                    <span class="ok" role="status" data-testid="account-saved">
                        {t("已保存", "Saved")}
                    </span>
                })}
            </div>
        </form>
    }
}

/// Adds an account (the signed-in admin becomes its admin); the list above refreshes and the
/// message gives the callback URL to enter in WeChat's console.
#[island]
fn AddAccount(public_url: String) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let appid = RwSignal::new(String::new());
    let original_id = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let aes_key = RwSignal::new(String::new());
    let appsecret = RwSignal::new(String::new());
    let mode = RwSignal::new("sandbox".to_owned());
    let create = Call::new(|input: &AccountInput| {
        let input = input.clone();
        async move { create_account(input).await }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let created = move || create.value().get().and_then(Result::ok);
    effect(move || {
        if let Some(Ok(_)) = create.value().get() {
            for s in [name, appid, original_id, token, aes_key, appsecret] {
                s.set(String::new());
            }
            mode.set("sandbox".to_owned());
            crate::browser::refresh();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(AccountInput {
            name: name.get_untracked(),
            appid: typed(appid),
            original_id: typed(original_id),
            token: typed(token),
            encoding_aes_key: typed(aes_key),
            appsecret: typed(appsecret),
            mode: Some(mode.get_untracked()),
        });
    };
    let optional = t(
        "可选；沙盒公众号留空则自动生成",
        "optional; generated for a sandbox account",
    );
    let form = "account-new";
    view! {
        <form class="form-grid" on:submit=submit data-testid="account-new-form">
            <h3>{t("添加公众号", "Add an account")}</h3>
            <AccountField form field="name" label=t("名称", "Name") value=name error=error />
            <ModeField form mode=mode error=error />
            <AccountField
                form
                field="appid"
                label=t("AppID（真实公众号必填）", "AppID (needed when live)")
                value=appid
                error=error
                placeholder=optional
            />
            <AccountField
                form
                field="original_id"
                label=t("原始 ID（gh_ 开头）", "Original id (gh_…)")
                value=original_id
                error=error
                placeholder=optional
            />
            <AccountField
                form
                field="token"
                label=t("Token（真实公众号必填）", "Token (needed when live)")
                value=token
                error=error
                secret=true
                placeholder=optional
            />
            <AccountField
                form
                field="encoding_aes_key"
                label=t("EncodingAESKey（可选，填写即安全模式）", "EncodingAESKey (optional: safe mode)")
                value=aes_key
                error=error
                secret=true
            />
            <AccountField
                form
                field="appsecret"
                label=t("AppSecret（真实公众号必填）", "AppSecret (needed when live)")
                value=appsecret
                error=error
                secret=true
            />
            <ErrorBanner error=Signal::derive(move || {
                error.get().filter(|e: &AppError| e.fields.is_empty())
            }) />
            {move || {
                created()
                    .map(|a| {
                        let url = format!("{public_url}{}", a.callback_path);
                        view! {
                            <p class="ok" role="status" data-testid="account-created">
                                {t("已添加：", "Added: ")}
                                {a.name}
                                {t("。回调路径 ", ". Callback path ")}
                                <code>{a.callback_path}</code>
                                {t("，在微信后台填写的服务器地址：", "; server URL for WeChat's console: ")}
                                <code>{url}</code>
                            </p>
                        }
                    })
            }}
            <button
                type="submit"
                class="primary"
                data-testid="account-create"
                disabled=move || create.pending().get()
            >
                {t("添加", "Add")}
            </button>
        </form>
    }
}

/// A labelled input of an account form, with the server's message for `field` under it. Two
/// account forms share a page, so ids and test ids carry the form's prefix:
/// `{form}-{field}` for the input, `{form}-{field}-error` for its message.
#[component]
fn AccountField(
    /// `account-form` (edit) or `account-new` (add).
    form: &'static str,
    /// The field name in validation errors.
    field: &'static str,
    #[prop(into)] label: Signal<&'static str>,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(optional, into)] placeholder: Option<Signal<&'static str>>,
    /// A secret: typed blind, never filled in by the browser's saved passwords.
    #[prop(optional)]
    secret: bool,
) -> impl IntoView {
    let testid = format!("{form}-{field}");
    let id = format!("f-{testid}");
    let error_testid = format!("{testid}-error");
    let message = move || error.get().and_then(|e| e.field(field));
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{move || label.get()}</label>
            <input
                id=id
                name=field
                type=if secret { "password" } else { "text" }
                autocomplete=if secret { "new-password" } else { "off" }
                placeholder=move || placeholder.map(|p| p.get())
                data-testid=testid
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            {move || message().is_some().then(|| view! {
                <p class="field-error" data-testid=error_testid.clone() role="alert">
                    {message}
                </p>
            })}
        </div>
    }
}

/// The sandbox / live choice of an account form (`{form}-mode`).
#[component]
fn ModeField(
    form: &'static str,
    mode: RwSignal<String>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let testid = format!("{form}-mode");
    let id = format!("f-{testid}");
    let error_testid = format!("{testid}-error");
    let initial = mode.get_untracked();
    let message = move || error.get().and_then(|e| e.field("mode"));
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{t("模式", "Mode")}</label>
            <select
                id=id
                name="mode"
                data-testid=testid
                prop:value=move || mode.get()
                on:change=move |ev| mode.set(event_target_value(&ev))
            >
                <option value="sandbox" selected=initial == "sandbox">
                    {t("沙盒（模拟器扮演微信）", "Sandbox (the simulator plays WeChat)")}
                </option>
                <option value="live" selected=initial == "live">
                    {t("真实（连接微信）", "Live (real WeChat)")}
                </option>
            </select>
            {move || message().is_some().then(|| view! {
                <p class="field-error" data-testid=error_testid.clone() role="alert">
                    {message}
                </p>
            })}
        </div>
    }
}
