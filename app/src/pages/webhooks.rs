//! Webhooks (admin): the account's endpoints, adding one (its secret shown once), enabling and
//! disabling, rotating the secret, a test event, the delivery log and redelivery. The whole
//! page is one island that reads its own list again after each change.

use leptos::prelude::*;

use crate::api::webhooks::{
    create_webhook, delete_webhook, list_webhooks, rotate_webhook_secret, set_webhook_enabled,
    test_webhook,
};
use crate::components::call::{Call, effect};
use crate::components::confirm::ConfirmDialog;
use crate::components::form::{ErrorBanner, Loading};
use crate::components::webhook_log::DeliveryLog;
use crate::i18n::t;
use crate::model::AppError;
use crate::webhooks::{EVENTS, MAX_ENDPOINTS, WebhookEndpoint, WebhookInput};

/// The webhooks page.
#[component]
pub fn WebhooksPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| list_webhooks());
    view! {
        <h1>{t("Webhook", "Webhooks")}</h1>
        <p class="muted">{t(
            "事件发生时，推荐会向这些网址发送签名的 JSON（X-Tuijian-Signature，HMAC-SHA256）；失败的投递按指数退避重试 24 小时，事件 ID 不变。签名校验示例见 README。",
            "When an event happens, tuijian POSTs signed JSON to these URLs (X-Tuijian-Signature, HMAC-SHA256); failed deliveries are retried with exponential backoff for 24 hours, with the same event id. The README shows how to verify signatures.",
        )}</p>
        <Suspense fallback=|| view! { <Loading /> }>
            {move || data.get().map(|r| match r {
                Ok(list) => view! { <Webhooks endpoints=list /> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="webhooks-error">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// A confirmation dialog: whether it is open, and the endpoint (id, URL) it is about.
#[derive(Clone, Copy)]
struct Confirm {
    open: RwSignal<bool>,
    target: RwSignal<Option<(i64, String)>>,
}

impl Confirm {
    fn new() -> Self {
        Confirm {
            open: RwSignal::new(false),
            target: RwSignal::new(None),
        }
    }

    fn ask(&self, id: i64, url: String) {
        self.target.set(Some((id, url)));
        self.open.set(true);
    }
}

#[island]
fn Webhooks(endpoints: Vec<WebhookEndpoint>) -> impl IntoView {
    let list = RwSignal::new(endpoints);
    // The secret of the endpoint just made or rotated: shown once.
    let secret = RwSignal::new(None::<(i64, String)>);
    let reload = Callback::new(move |_: ()| {
        leptos::task::spawn_local(async move {
            if let Ok(fresh) = list_webhooks().await {
                list.set(fresh);
            }
        });
    });
    let rotating = Confirm::new();
    let deleting = Confirm::new();
    let ids = move || list.with(|l| l.iter().map(|e| e.id).collect::<Vec<_>>());
    view! {
        <DisabledBanner list=list />
        <CreateForm reload=reload secret=secret count=Signal::derive(move || list.with(Vec::len)) />
        {move || secret.get().is_some().then(|| view! {
            <p class="banner ok" role="status" data-testid="webhook-secret">
                {t("签名密钥（请立即复制，只显示这一次）：", "Signing secret (copy it now, it is shown only once): ")}
                <code data-testid="webhook-secret-value">{move || secret.get().map(|(_, s)| s).unwrap_or_default()}</code>
                " "
                <button type="button" class="link" data-testid="webhook-secret-dismiss" on:click=move |_| secret.set(None)>
                    {t("我已保存", "I have saved it")}
                </button>
            </p>
        })}
        <section class="card" aria-labelledby="webhook-list-title">
            <h2 id="webhook-list-title">{t("端点", "Endpoints")}</h2>
            {move || list.with(Vec::is_empty).then(|| view! {
                <p class="muted" data-testid="webhooks-empty">{t("还没有 Webhook。在上方添加一个。", "No webhooks yet. Add one above.")}</p>
            })}
            <For each=ids key=|id| *id let:id>
                <EndpointCard id=id list=list reload=reload secret=secret rotating=rotating deleting=deleting />
            </For>
        </section>
        <Dialogs reload=reload secret=secret rotating=rotating deleting=deleting />
    }
}

/// Endpoints the server disabled after repeated failures: said at the top.
#[component]
fn DisabledBanner(list: RwSignal<Vec<WebhookEndpoint>>) -> impl IntoView {
    let disabled = move || {
        list.with(|l| {
            l.iter()
                .filter(|e| !e.enabled && e.disabled_reason.is_some())
                .map(|e| e.url.clone())
                .collect::<Vec<_>>()
        })
    };
    view! {
        {move || (!disabled().is_empty()).then(|| view! {
            <p class="error banner" role="alert" data-testid="webhook-disabled-banner">
                {t("以下 Webhook 因连续投递失败已自动停用，修复接收端后请重新启用：", "These webhooks were disabled after repeated failed deliveries; fix the receiver, then enable them again: ")}
                {move || disabled().join("，")}
            </p>
        })}
    }
}

/// Adding an endpoint: URL, events, the private-address opt-in.
#[component]
fn CreateForm(
    reload: Callback<()>,
    secret: RwSignal<Option<(i64, String)>>,
    count: Signal<usize>,
) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<String>::new());
    let allow_private = RwSignal::new(false);
    let create = Call::new(move |input: &WebhookInput| {
        let input = input.clone();
        async move { create_webhook(input).await }
    });
    effect(move || {
        if let Some(Ok(made)) = create.value().get() {
            create.value().set(None);
            secret.set(Some((made.endpoint.id, made.secret)));
            url.set(String::new());
            chosen.set(Vec::new());
            allow_private.set(false);
            reload.run(());
        }
    });
    let error = Signal::derive(move || create.value().get().and_then(Result::err));
    let full = move || create.pending().get() || count.get() >= MAX_ENDPOINTS;
    let message = move |field: &'static str| move || error.get().and_then(|e| e.field(field));
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(WebhookInput {
            url: url.get_untracked(),
            events: chosen.get_untracked(),
            allow_private: allow_private.get_untracked(),
        });
    };
    view! {
        <section class="card" aria-labelledby="webhook-new-title">
            <h2 id="webhook-new-title">{t("添加 Webhook", "Add a webhook")}</h2>
            <form on:submit=submit data-testid="webhook-form" novalidate>
                <div class="field" class:invalid=move || message("url")().is_some()>
                    <label for="f-webhook-url">{t("接收网址（http 或 https）", "Receiver URL (http or https)")}</label>
                    <input id="f-webhook-url" type="url" data-testid="webhook-url" placeholder="https://example.com/tuijian-hook"
                        aria-invalid=move || message("url")().is_some().to_string()
                        aria-describedby="webhook-url-error"
                        prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
                    <p class="field-error" id="webhook-url-error" role="alert" data-testid="webhook-url-error">{message("url")}</p>
                </div>
                <fieldset class="field" class:invalid=move || message("events")().is_some() aria-describedby="webhook-events-error">
                    <legend>{t("事件", "Events")}</legend>
                    {EVENTS.into_iter().map(|(event, zh, en)| view! {
                        <label class="inline">
                            <input type="checkbox" value=event data-testid=format!("webhook-event-{event}")
                                prop:checked=move || chosen.with(|c| c.iter().any(|x| x == event))
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| {
                                        c.retain(|x| x != event);
                                        if on { c.push(event.to_owned()); }
                                    });
                                } />
                            {t(zh, en)} " " <code>{event}</code>
                        </label>
                    }).collect_view()}
                    <p class="field-error" id="webhook-events-error" role="alert" data-testid="webhook-events-error">{message("events")}</p>
                </fieldset>
                <label class="inline">
                    <input type="checkbox" data-testid="webhook-allow-private"
                        prop:checked=move || allow_private.get()
                        on:change=move |ev| allow_private.set(event_target_checked(&ev)) />
                    {t("允许私有地址（本机、内网、链路本地；默认禁止，以防服务器端请求伪造）",
                       "Allow private addresses (loopback, private networks, link-local; refused by default against server-side request forgery)")}
                </label>
                <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
                <div class="actions">
                    <button type="submit" class="primary" data-testid="webhook-create"
                        disabled=full>
                        {t("添加", "Add")}
                    </button>
                    <span class="muted">{move || format!("{} / {MAX_ENDPOINTS}", count.get())}</span>
                </div>
            </form>
        </section>
    }
}

/// One endpoint: its state and what an admin does to it; the delivery log on demand.
#[component]
fn EndpointCard(
    id: i64,
    list: RwSignal<Vec<WebhookEndpoint>>,
    reload: Callback<()>,
    secret: RwSignal<Option<(i64, String)>>,
    rotating: Confirm,
    deleting: Confirm,
) -> impl IntoView {
    let endpoint = move || list.with(|l| l.iter().find(|e| e.id == id).cloned());
    let field = move |f: fn(&WebhookEndpoint) -> String| {
        move || endpoint().map(|e| f(&e)).unwrap_or_default()
    };
    let enabled = move || endpoint().is_some_and(|e| e.enabled);
    let show_log = RwSignal::new(false);
    let toggle = Call::new(move |on: &bool| {
        let on = *on;
        async move { set_webhook_enabled(id, on).await }
    });
    let test = Call::new(move |_: &()| async move { test_webhook(id).await });
    effect(move || {
        if let Some(Ok(_)) = toggle.value().get() {
            reload.run(());
        }
    });
    effect(move || {
        if let Some(Ok(_)) = test.value().get() {
            show_log.set(true);
        }
    });
    let error = Signal::derive(move || {
        toggle
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| test.value().get().and_then(|r| r.err()))
    });
    let url = field(|e| e.url.clone());
    let ask = move |confirm: Confirm| {
        move |_| {
            secret.set(None);
            confirm.ask(id, url());
        }
    };
    view! {
        <article class="card webhook" data-testid="webhook-row" data-id=id.to_string()
            data-state=move || if enabled() { "enabled" } else { "disabled" }>
            <h3 class="mono" data-testid="webhook-row-url">{url}</h3>
            <p>
                <span class=move || if enabled() { "badge live" } else { "badge error" } data-testid="webhook-row-state">
                    {move || if enabled() { t("启用", "Enabled")() } else { t("已停用", "Disabled")() }}
                </span>
                " " {field(|e| e.events.join(", "))}
                {move || endpoint().filter(|e| e.allow_private).map(|_| view! { " · " <span class="badge sandbox">{t("允许私有地址", "private addresses allowed")}</span> })}
            </p>
            {move || endpoint().and_then(|e| e.disabled_reason).map(|r| view! { <p class="error" data-testid="webhook-row-reason">{r}</p> })}
            {move || endpoint().filter(|e| e.consecutive_failures > 0).map(|e| view! {
                <p class="muted" data-testid="webhook-row-failures">{t("连续失败次数：", "Failed in a row: ")} {e.consecutive_failures}</p>
            })}
            {move || endpoint().and_then(|e| e.previous_secret_until).map(|until| view! {
                <p class="muted" data-testid="webhook-row-rotating">{t("旧密钥仍可验证，直到 ", "The previous secret still signs until ")} {until}</p>
            })}
            <ErrorBanner error=error />
            <div class="actions">
                <button type="button" data-testid="webhook-test" disabled=move || !enabled() || test.pending().get()
                    on:click=move |_| { test.dispatch(()); }>{t("发送测试事件", "Send test event")}</button>
                <button type="button" data-testid="webhook-log-toggle" aria-expanded=move || show_log.get().to_string()
                    on:click=move |_| show_log.update(|s| *s = !*s)>
                    {move || if show_log.get() { t("隐藏投递记录", "Hide deliveries")() } else { t("投递记录", "Deliveries")() }}
                </button>
                <button type="button" data-testid="webhook-toggle" on:click=move |_| { toggle.dispatch(!enabled()); }>
                    {move || if enabled() { t("停用", "Disable")() } else { t("启用", "Enable")() }}
                </button>
                <button type="button" data-testid="webhook-rotate" on:click=ask(rotating)>{t("轮换密钥", "Rotate secret")}</button>
                <button type="button" class="danger" data-testid="webhook-delete" on:click=ask(deleting)>{t("删除", "Delete")}</button>
            </div>
            {move || test.value().get().and_then(Result::ok).map(|q| view! {
                <p class="ok" role="status" data-testid="webhook-test-queued">{t("测试事件已排队：", "Test event queued: ")} <code>{q.event_id}</code></p>
            })}
            {move || show_log.get().then(|| view! {
                <DeliveryLog id=id />
            })}
        </article>
    }
}

/// The confirmations: rotating a secret, deleting an endpoint.
#[component]
fn Dialogs(
    reload: Callback<()>,
    secret: RwSignal<Option<(i64, String)>>,
    rotating: Confirm,
    deleting: Confirm,
) -> impl IntoView {
    let (rotate_open, delete_open) = (rotating.open, deleting.open);
    let rotate = Call::new(move |id: &i64| {
        let id = *id;
        async move { rotate_webhook_secret(id).await }
    });
    let delete = Call::new(move |id: &i64| {
        let id = *id;
        async move { delete_webhook(id).await }
    });
    effect(move || {
        if let Some(Ok(made)) = rotate.value().get() {
            rotate.value().set(None);
            rotate_open.set(false);
            secret.set(Some((made.endpoint.id, made.secret)));
            reload.run(());
        }
    });
    effect(move || {
        if let Some(Ok(())) = delete.value().get() {
            delete.value().set(None);
            delete_open.set(false);
            reload.run(());
        }
    });
    let url = move |c: Confirm| move || c.target.get().map(|(_, u)| u).unwrap_or_default();
    let rotate_message = Signal::derive(move || {
        format!(
            "{} {}",
            url(rotating)(),
            t(
                "— 将生成新密钥（只显示一次）；旧密钥在 24 小时内仍会一起签名，请在此期间更新接收端。",
                "— a new secret is made (shown once); the old one keeps signing too for 24 hours: update the receiver meanwhile.",
            )()
        )
    });
    let delete_message = Signal::derive(move || {
        format!(
            "{} {}",
            url(deleting)(),
            t(
                "— 删除后不再投递，投递记录一并删除，无法撤销。",
                "— nothing more is delivered there and its delivery log is removed. This cannot be undone.",
            )()
        )
    });
    let rotate_error = Signal::derive(move || rotate.value().get().and_then(Result::err));
    let delete_error = Signal::derive(move || delete.value().get().and_then(Result::err));
    view! {
        <ConfirmDialog
            open=rotate_open
            id="webhook-rotate-confirm"
            title=Signal::derive(move || t("轮换签名密钥？", "Rotate the signing secret?")().to_owned())
            message=rotate_message
            confirm_label=Signal::derive(move || t("轮换", "Rotate")().to_owned())
            on_confirm=Callback::new(move |_| {
                if let Some((id, _)) = rotating.target.get_untracked() {
                    rotate.dispatch(id);
                }
            })
            busy=rotate.pending()
        >
            <ErrorBanner error=rotate_error />
        </ConfirmDialog>
        <ConfirmDialog
            open=delete_open
            id="webhook-delete-confirm"
            title=Signal::derive(move || t("删除这个 Webhook？", "Delete this webhook?")().to_owned())
            message=delete_message
            confirm_label=Signal::derive(move || t("删除", "Delete")().to_owned())
            on_confirm=Callback::new(move |_| {
                if let Some((id, _)) = deleting.target.get_untracked() {
                    delete.dispatch(id);
                }
            })
            busy=delete.pending()
        >
            <ErrorBanner error=delete_error />
        </ConfirmDialog>
    }
}
