//! Settings (admin): greeting templates with a live preview, the notification template, the
//! WeChat configuration (never a secret), the Official Accounts, users, API tokens and the
//! audit log.

use leptos::prelude::*;

use crate::api::settings::{
    list_tokens, load_settings, mint_token, revoke_token, save_greeting, save_member_settings,
    save_notify_template,
};
use crate::api::users::list_users;
use crate::components::accounts::AccountsSection;
use crate::components::call::{Call, effect};
use crate::components::confirm::ConfirmDialog;
use crate::components::form::{ErrorBanner, TextField};
use crate::components::users_admin::UsersAdmin;
use crate::greeting::render;
use crate::i18n::t;
use crate::model::{AppError, GreetingSetting, Role, SettingsData, TokenSummary, WechatMode};
use crate::notice::{FieldMapping, NoticeSource, NoticeValues, template_data};

/// The settings page.
#[component]
pub fn SettingsPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_settings());
    view! {
        <h1>{t("设置", "Settings")}</h1>
        <Suspense>
            {move || data.get().map(|r| match r {
                Ok(d) => view! { <Sections data=d /> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="settings-error">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Sections(data: SettingsData) -> impl IntoView {
    let public_url = data.wechat.public_url.clone();
    view! {
        <WebhooksNotice />
        <section class="card">
            <h2>{t("欢迎语", "Greetings")}</h2>
            <p class="muted">{t("可用占位符：{referrer} 推荐人姓名，{follower} 关注者（微信已不提供昵称，显示“朋友”）。留空恢复默认。",
                "Placeholders: {referrer} the referrer's name, {follower} the follower (WeChat no longer gives nicknames, so “朋友” is shown). Empty restores the default.")}</p>
            {data.greetings.into_iter().map(|g| view! { <GreetingEditor greeting=g /> }).collect_view()}
        </section>
        <NotifyTemplate current=data.notify_template_id.unwrap_or_default() fields=data.notify_template_fields />
        <MemberCodes keywords=data.member_keywords menu_key=data.member_menu_key />
        <section class="card" data-testid="wechat-info">
            <h2>{t("微信公众号", "WeChat account")}</h2>
            <dl class="status-card">
                <dt>{t("模式", "Mode")}</dt>
                <dd>{if data.wechat.mode == WechatMode::Sandbox { t("沙盒", "Sandbox")() } else { t("正式", "Live")() }}</dd>
                <dt>"AppID"</dt><dd>{data.wechat.appid.unwrap_or_default()}</dd>
                <dt>"AppSecret"</dt><dd>{is_set(data.wechat.appsecret_set)}</dd>
                <dt>"Token"</dt><dd>{is_set(data.wechat.token_set)}</dd>
                <dt>"EncodingAESKey"</dt><dd>{is_set(data.wechat.aes_key_set)}</dd>
                <dt>"API"</dt><dd class="mono">{data.wechat.api_base}</dd>
            </dl>
        </section>
        <AccountsSection account=data.account accounts=data.accounts public_url=public_url />
        <UsersSection />
        <section class="card" aria-labelledby="tokens-title">
            <h2 id="tokens-title">{t("API 令牌", "API tokens")}</h2>
            <Tokens tokens=data.tokens />
        </section>
        <section class="card">
            <h2>{t("操作日志", "Audit log")}</h2>
            <div class="table-wrap" data-live="audit">
                <table class="table" data-testid="audit-log">
                    <thead><tr><th>{t("时间（北京时间）", "Time (Beijing time)")}</th><th>{t("操作者", "Actor")}</th><th>{t("操作", "Action")}</th><th>{t("对象", "Target")}</th></tr></thead>
                    <tbody>
                        {data.audit.into_iter().map(|a| view! {
                            <tr><td>{crate::time::shown(&a.created_at)}</td><td>{a.actor}</td><td>{a.action}</td><td>{a.target.unwrap_or_default()}</td></tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// Webhooks the server disabled after repeated failures, with a link to their page.
#[component]
fn WebhooksNotice() -> impl IntoView {
    let hooks = Resource::new(|| (), |_| crate::api::webhooks::list_webhooks());
    view! {
        <Suspense>
            {move || hooks.get().and_then(Result::ok).map(|list| {
                let disabled = list.iter().filter(|e| !e.enabled && e.disabled_reason.is_some()).count();
                (disabled > 0).then(|| view! {
                    <p class="error banner" role="alert" data-testid="settings-webhooks-disabled">
                        {t("有 Webhook 因连续投递失败已自动停用：", "Webhooks disabled after repeated failed deliveries: ")}
                        {disabled} " "
                        <a href="/webhooks">{t("查看 Webhook", "See webhooks")}</a>
                    </p>
                })
            })}
        </Suspense>
    }
}

fn is_set(set: bool) -> impl Fn() -> &'static str + Copy {
    if set {
        t("已设置（不显示）", "set (hidden)")
    } else {
        t("未设置", "not set")
    }
}

fn variant_label(v: &str) -> impl Fn() -> &'static str + Copy + use<> {
    match v {
        "referred" => t("经推荐人关注", "Follow via a referrer"),
        "plain" => t("直接关注", "Plain follow"),
        "refollow" => t("再次关注", "Re-follow"),
        _ => t("已关注用户扫码", "Scan by a follower"),
    }
}

/// One greeting template with its live preview. Saving refreshes the audit log; restoring the
/// default loads the page again to show the default text.
#[island]
fn GreetingEditor(greeting: GreetingSetting) -> impl IntoView {
    let variant = greeting.variant.clone();
    let text = RwSignal::new(greeting.template.clone());
    let save = Call::new(move |(v, t): &(String, String)| {
        let (v, t) = (v.clone(), t.clone());
        async move { save_greeting(v, t).await }
    });
    effect(move || {
        if let Some(Ok(())) = save.value().get() {
            // An empty template restores the default, which the server knows.
            if text.get_untracked().trim().is_empty() {
                crate::browser::reload();
            } else {
                crate::browser::refresh();
            }
        }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let preview = move || render(&text.get(), Some("张三"), None);
    let id = format!("greeting-{}", greeting.variant);
    let v1 = variant.clone();
    let v2 = variant.clone();
    let label = variant_label(&variant);
    view! {
        <div class="field greeting" data-testid=format!("greeting-{variant}")>
            <label for=id.clone()>{label}</label>
            <textarea id=id rows="2" data-testid="greeting-input"
                prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <p class="bubble theirs preview" data-testid="greeting-preview">{preview}</p>
            <ErrorBanner error=error />
            <div class="actions">
                <button class="primary" data-testid="greeting-save" on:click=move |_| { save.dispatch((v1.clone(), text.get_untracked())); }>{t("保存", "Save")}</button>
                <button data-testid="greeting-reset" on:click=move |_| {
                    text.set(String::new());
                    save.dispatch((v2.clone(), String::new()));
                }>{t("恢复默认", "Restore default")}</button>
                {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! {
                    <span class="ok" data-testid="greeting-saved">{t("已保存", "Saved")}</span>
                })}
            </div>
        </div>
    }
}

/// One row of the key mapping, with its own signals so that typing in it rebuilds nothing
/// (focus stays where it is).
#[derive(Clone, Copy)]
struct MappingRow {
    id: usize,
    key: RwSignal<String>,
    source: RwSignal<NoticeSource>,
}

impl MappingRow {
    fn new(id: usize, key: String, source: NoticeSource) -> Self {
        MappingRow {
            id,
            key: RwSignal::new(key),
            source: RwSignal::new(source),
        }
    }

    fn mapping(&self) -> FieldMapping {
        FieldMapping {
            key: self.key.get(),
            source: self.source.get(),
        }
    }
}

/// How referrers are told about a new follower: the template id and which of its keys gets
/// which value, with a preview filled with sample values.
#[island]
fn NotifyTemplate(current: String, fields: Vec<FieldMapping>) -> impl IntoView {
    let id = RwSignal::new(current);
    let next = StoredValue::new(fields.len());
    let rows = RwSignal::new(
        fields
            .into_iter()
            .enumerate()
            .map(|(i, f)| MappingRow::new(i, f.key, f.source))
            .collect::<Vec<_>>(),
    );
    let save = Call::new(move |(v, f): &(String, Vec<FieldMapping>)| {
        let (v, f) = (v.clone(), f.clone());
        async move { save_notify_template(v, f).await }
    });
    effect(move || {
        if let Some(Ok(())) = save.value().get() {
            crate::browser::refresh();
        }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let lang = crate::i18n::use_lang();
    let add = move |_| {
        let row_id = next.get_value();
        next.set_value(row_id + 1);
        rows.update(|r| {
            let key = format!("thing{}", r.len() + 1);
            r.push(MappingRow::new(row_id, key, NoticeSource::Referrer));
        });
    };
    let row_view = move |row: MappingRow| {
        // The row's place now (rows can be removed above it), for its error and labels.
        let index = move || rows.with(|r| r.iter().position(|x| x.id == row.id).unwrap_or(0));
        let message = move || {
            let field = format!("fields.{}", index());
            error.get().and_then(|e| e.field(&field))
        };
        let error_id = format!("notify-field-error-{}", row.id);
        let error_ref = error_id.clone();
        let label = move |zh: &'static str, en: &'static str| {
            move || {
                let n = index() + 1;
                match lang.get() {
                    crate::i18n::Lang::Zh => format!("第 {n} 个{zh}"),
                    crate::i18n::Lang::En => format!("{en} {n}"),
                }
            }
        };
        let shown = move || {
            template_data(&[row.mapping()], &NoticeValues::sample())
                .pop()
                .map(|(_, v)| v)
                .unwrap_or_default()
        };
        view! {
            <tr data-testid="notify-field" class:invalid=move || message().is_some()>
                <td>
                    <input
                        aria-label=label("字段名", "Key")
                        aria-invalid=move || message().is_some().to_string()
                        aria-describedby=error_ref
                        data-testid="notify-field-key"
                        prop:value=move || row.key.get()
                        on:input=move |ev| row.key.set(event_target_value(&ev).trim().to_owned())
                    />
                    {move || {
                        let id = error_id.clone();
                        message().map(|m| view! { <p class="field-error" role="alert" id=id data-testid="notify-field-error">{m}</p> })
                    }}
                </td>
                <td>
                    <select
                        aria-label=label("字段的值", "Value of key")
                        data-testid="notify-field-source"
                        on:change=move |ev| {
                            if let Some(source) = NoticeSource::parse(&event_target_value(&ev)) {
                                row.source.set(source);
                            }
                        }
                    >
                        {NoticeSource::ALL.into_iter().map(|source| {
                            let (zh, en) = source.label();
                            view! { <option value=source.as_str() selected=move || row.source.get() == source>{t(zh, en)}</option> }
                        }).collect_view()}
                    </select>
                </td>
                <td class="mono" data-testid="notify-field-preview">{shown}</td>
                <td>
                    <button class="link" aria-label=label("字段：删除", "Remove key") data-testid="notify-field-remove"
                        on:click=move |_| rows.update(|r| r.retain(|x| x.id != row.id))>
                        {t("删除", "Remove")}
                    </button>
                </td>
            </tr>
        }
    };
    view! {
        <section class="card" data-testid="notify-settings">
            <h2>{t("推荐人通知", "Referrer notification")}</h2>
            <p class="muted">{t("推荐人的客服消息窗口开着时（48 小时内给公众号发过消息，或 1 分钟内关注、扫码、点菜单）用客服消息通知，否则用模板消息（填写模板 ID 后）；一种被拒就换另一种。都送不到的通知会保留，推荐人下次与公众号互动时补发。",
                "Referrers whose customer-service window is open (a message to the account within 48 hours, or a follow, scan or menu click within a minute) get a customer-service message, others a template message (once a template id is set); when one is refused the other is tried. A notice neither delivers is kept and sent when the referrer next interacts.")}</p>
            <div class="field">
                <label for="f-notify">{t("模板消息 ID", "Template id")}</label>
                <input id="f-notify" data-testid="notify-template" prop:value=move || id.get() on:input=move |ev| id.set(event_target_value(&ev)) />
            </div>
            <table class="table mapping" data-testid="notify-fields">
                <caption class="muted">{t("模板字段：按模板详情里的关键词填写（如 thing1、time2）", "Template keys: as the template's details list them (e.g. thing1, time2)")}</caption>
                <thead><tr><th scope="col">{t("字段名", "Key")}</th><th scope="col">{t("填入", "Value")}</th><th scope="col">{t("预览", "Preview")}</th><th scope="col"><span class="sr-only">{t("操作", "Actions")}</span></th></tr></thead>
                <tbody>
                    <For each=move || rows.get() key=|row| row.id children=row_view />
                </tbody>
            </table>
            <div class="actions">
                <button data-testid="notify-field-add" disabled=move || { rows.with(|r| r.len()) >= crate::notice::MAX_FIELDS } on:click=add>
                    {t("添加字段", "Add a key")}
                </button>
            </div>
            <p class="muted" data-testid="notify-preview">
                {move || {
                    let sample = NoticeValues::sample();
                    match lang.get() {
                        crate::i18n::Lang::Zh => format!("示例：推荐人 {}，关注者 {}，时间 {}，累计 {}", sample.referrer, sample.follower, sample.time, sample.total),
                        crate::i18n::Lang::En => format!("Sample: referrer {}, follower {}, time {}, total {}", sample.referrer, sample.follower, sample.time, sample.total),
                    }
                }}
            </p>
            <ErrorBanner error=error />
            <div class="actions">
                <button class="primary" data-testid="notify-save" on:click=move |_| {
                    let mapping = rows.with_untracked(|r| r.iter().map(|row| row.mapping()).collect::<Vec<_>>());
                    save.dispatch((id.get_untracked(), mapping));
                }>{t("保存", "Save")}</button>
                <Saved when=Signal::derive(move || matches!(save.value().get(), Some(Ok(())))) />
            </div>
        </section>
    }
}

/// How followers ask for their own referral code.
#[island]
fn MemberCodes(keywords: Vec<String>, menu_key: String) -> impl IntoView {
    let words = RwSignal::new(keywords.join("，"));
    let key = RwSignal::new(menu_key);
    let save = Call::new(move |(w, k): &(String, String)| {
        let keywords: Vec<String> = w
            .split([',', '，', '、', '\n'])
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        let k = k.clone();
        async move { save_member_settings(keywords, k).await }
    });
    effect(move || {
        if let Some(Ok(())) = save.value().get() {
            crate::browser::refresh();
        }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    view! {
        <section class="card" data-testid="member-settings">
            <h2>{t("会员推广码", "Member referral codes")}</h2>
            <p class="muted">{t("关注者发送以下关键词之一，或点击菜单（CLICK 类型，key 如下），即可获得自己的推广码和个人页面；发送「我叫 名字」设置好友看到的称呼。",
                "A follower who sends one of these keywords, or clicks the menu item (CLICK type, key below), gets a personal code and page; sending 「我叫 name」 sets the name friends see.")}</p>
            <TextField label=t("关键词（逗号分隔）", "Keywords (comma-separated)") field="member_keywords" value=words error=error />
            <TextField label=t("菜单 key", "Menu key") field="member_menu_key" value=key error=error />
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <div class="actions">
                <button class="primary" data-testid="member-settings-save" on:click=move |_| { save.dispatch((words.get_untracked(), key.get_untracked())); }>{t("保存", "Save")}</button>
                <Saved when=Signal::derive(move || matches!(save.value().get(), Some(Ok(())))) />
            </div>
        </section>
    }
}

fn role_from(s: &str) -> Role {
    Role::parse(s).unwrap_or(Role::Staff)
}

/// The account's users: role, standing, last sign-in, and what an admin does to them.
#[component]
fn UsersSection() -> impl IntoView {
    let users = Resource::new(|| (), |_| list_users());
    view! {
        <section class="card" data-testid="users-section">
            <h2>{t("用户", "Users")}</h2>
            <p class="muted">{t("停用只对本公众号生效：被停用的用户不能登录本公众号，已登录的会话立即失效。不能停用或降级自己，公众号至少保留一位启用的管理员。",
                "Disabling applies to this account: a disabled user cannot sign in to it and their open sessions end at once. Nobody can disable or demote themselves, and the account keeps at least one active admin.")}</p>
            <Suspense fallback=|| view! { <crate::components::form::Loading /> }>
                {move || users.get().map(|r| match r {
                    Ok(list) => view! { <UsersAdmin users=list /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert" data-testid="users-error">{e.message}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The account's API tokens: the list (state, last use, expiry), minting one (shown once) and
/// revoking one after a confirmation. The list is read again after each change.
#[island]
fn Tokens(tokens: Vec<TokenSummary>) -> impl IntoView {
    let list = RwSignal::new(tokens);
    let minted = RwSignal::new(None::<String>);
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("staff".to_owned());
    let days = RwSignal::new(String::new());
    let reload = move || {
        leptos::task::spawn_local(async move {
            if let Ok(fresh) = list_tokens().await {
                list.set(fresh);
            }
        });
    };
    let mint = Call::new(move |(n, r, d): &(String, String, String)| {
        let (n, r, d) = (n.clone(), role_from(r), d.trim().parse::<i64>().ok());
        async move { mint_token(n, r, d).await }
    });
    effect(move || {
        if let Some(Ok(token)) = mint.value().get() {
            mint.value().set(None);
            minted.set(Some(token));
            name.set(String::new());
            reload();
        }
    });
    let error = Signal::derive(move || mint.value().get().and_then(Result::err));
    // Revoking: which token the dialog is about.
    let target = RwSignal::new(None::<(i64, String)>);
    let confirm = RwSignal::new(false);
    let revoke = Call::new(move |id: &i64| {
        let id = *id;
        async move { revoke_token(id).await }
    });
    let revoke_error = Signal::derive(move || revoke.value().get().and_then(Result::err));
    effect(move || {
        if let Some(result) = revoke.value().get() {
            confirm.set(false);
            if result.is_ok() {
                reload();
            }
        }
    });
    let go = Callback::new(move |_: ()| {
        if let Some((id, _)) = target.get_untracked() {
            revoke.dispatch(id);
        }
    });
    let title = Signal::derive(move || t("吊销这个令牌？", "Revoke this token?")().to_owned());
    let message = Signal::derive(move || {
        format!(
            "{} {}",
            target.get().map(|(_, n)| n).unwrap_or_default(),
            t(
                "— 使用它的集成会立即失去访问权限，无法撤销。",
                "— integrations using it lose access at once. This cannot be undone.",
            )()
        )
    });
    let label = Signal::derive(move || t("吊销", "Revoke")().to_owned());
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="token-list">
                <thead>
                    <tr>
                        <th scope="col">{t("名称", "Name")}</th>
                        <th scope="col">{t("角色", "Role")}</th>
                        <th scope="col">{t("创建（北京时间）", "Created (Beijing time)")}</th>
                        <th scope="col">{t("最近使用", "Last used")}</th>
                        <th scope="col">{t("到期", "Expires")}</th>
                        <th scope="col">{t("状态", "State")}</th>
                        <th scope="col"><span class="sr-only">{t("操作", "Actions")}</span></th>
                    </tr>
                </thead>
                <tbody>
                    <For each=move || list.get() key=|k| (k.id, k.revoked, k.expired) let:k>
                        {
                            let live = !k.revoked && !k.expired;
                            let state = if k.revoked {
                                t("已吊销", "revoked")
                            } else if k.expired {
                                t("已过期", "expired")
                            } else {
                                t("有效", "active")
                            };
                            let (id, token_name) = (k.id, k.name.clone());
                            view! {
                                <tr class:archived=!live data-testid="token-row" data-name=k.name.clone() data-state=if live { "active" } else if k.revoked { "revoked" } else { "expired" }>
                                    <td>{k.name.clone()}</td>
                                    <td>{k.role.as_str()}</td>
                                    <td>{crate::time::shown(&k.created_at)}</td>
                                    <td>{k.last_used_at.as_deref().map_or_else(|| "—".into(), crate::time::shown)}</td>
                                    <td>{k.expires_at.as_deref().map_or_else(|| t("永不", "never")().to_owned(), crate::time::shown)}</td>
                                    <td>{state}</td>
                                    <td>
                                        {live.then(|| view! {
                                            <button
                                                type="button"
                                                class="danger"
                                                data-testid="token-revoke"
                                                aria-label=format!("{} {}", t("吊销", "Revoke")(), token_name)
                                                on:click={
                                                    let token_name = token_name.clone();
                                                    move |_| {
                                                        target.set(Some((id, token_name.clone())));
                                                        confirm.set(true);
                                                    }
                                                }
                                            >
                                                {t("吊销", "Revoke")}
                                            </button>
                                        })}
                                    </td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
        </div>
        <ErrorBanner error=revoke_error />
        <div class="actions">
            <input aria-label=t("令牌名称", "token name") data-testid="token-name" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            <select aria-label=t("令牌角色", "token role") data-testid="token-role" on:change=move |ev| role.set(event_target_value(&ev))>
                <option value="staff">{t("员工", "Staff")}</option>
                <option value="manager">{t("经理", "Manager")}</option>
                <option value="admin">{t("管理员", "Admin")}</option>
            </select>
            <select aria-label=t("有效期", "valid for") data-testid="token-days" on:change=move |ev| days.set(event_target_value(&ev))>
                <option value="">{t("永久（直到吊销）", "Until revoked")}</option>
                <option value="30">{t("30 天", "30 days")}</option>
                <option value="90">{t("90 天", "90 days")}</option>
                <option value="365">{t("一年", "One year")}</option>
            </select>
            <button data-testid="token-mint" on:click=move |_| { mint.dispatch((name.get_untracked(), role.get_untracked(), days.get_untracked())); }>{t("生成令牌", "Create token")}</button>
        </div>
        <ErrorBanner error=Signal::derive(move || error.get().map(|e: AppError| AppError {
            message: e.fields.first().map(|f| f.message.clone()).unwrap_or(e.message),
            ..e
        })) />
        {move || minted.get().is_some().then(|| view! {
            <p class="banner ok" data-testid="token-value">
                {t("请立即复制，此令牌只显示一次：", "Copy it now, it is shown only once: ")}
                <code>{move || minted.get().unwrap_or_default()}</code>
            </p>
        })}
        <ConfirmDialog
            open=confirm
            id="token-revoke-confirm"
            title=title
            message=message
            confirm_label=label
            on_confirm=go
            busy=revoke.pending()
        />
    }
}

/// "Saved", next to a save button.
#[component]
fn Saved(#[prop(into)] when: Signal<bool>) -> impl IntoView {
    view! {
        {move || when.get().then(|| view! {
            <span class="ok" data-testid="saved-ok">{t("已保存", "Saved")}</span>
        })}
    }
}
