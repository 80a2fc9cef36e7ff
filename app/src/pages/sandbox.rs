//! The sandbox panel: play a WeChat user and see the reply as a chat bubble.

use leptos::prelude::*;

use crate::api::sandbox::{
    sandbox_codes, sandbox_menu, sandbox_messages, sandbox_user_tags, simulate,
};
use crate::components::call::{Call, effect};
use crate::components::menu_bar::MenuBar;
use crate::i18n::t;
use crate::menu::{ButtonKind, Menu, MenuButton};
use crate::model::{AppError, SandboxCode, SimAction, SimMessage, SimOutcome};

/// One line of the simulated chat.
#[derive(Clone, Debug)]
struct Bubble {
    from_user: bool,
    text: String,
    image: Option<String>,
}

/// The simulated user the panel starts with.
const FIRST_USER: &str = "alice";

/// The sandbox page: the codes to scan and the first user's messages come from the server with
/// the page, as the island's props. (A resource created inside the island would be created
/// twice while the server resolves this page's `Suspense`, and the browser would read the
/// first, discarded one's data: intermittent hydration errors.)
#[component]
pub fn SandboxPage() -> impl IntoView {
    let codes = Resource::new(
        || (),
        |_| async {
            let codes = sandbox_codes().await?;
            let inbox = sandbox_messages(FIRST_USER.to_owned()).await;
            let tags = sandbox_user_tags(FIRST_USER.to_owned()).await;
            let menu = sandbox_menu().await?;
            Ok::<_, AppError>((codes, inbox, tags, menu))
        },
    );
    view! {
        <h1>{t("沙盒", "Sandbox")}</h1>
        <p class="lead">
            {t("在这里扮演微信用户：扫码、关注、取关或发消息，服务器会像收到真实微信回调一样处理。",
               "Play a WeChat user here: scan, follow, unfollow or send text; the server handles it exactly like a real WeChat callback.")}
        </p>
        <Suspense>
            {move || codes.get().map(|r| match r {
                Ok((codes, inbox, tags, menu)) => view! { <Simulator codes inbox tags menu /> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

/// Pick a code and a simulated user, then scan / follow / unfollow / send text.
#[island]
fn Simulator(
    codes: Vec<SandboxCode>,
    inbox: Result<Vec<SimMessage>, AppError>,
    tags: Result<Vec<String>, AppError>,
    menu: Option<Menu>,
) -> impl IntoView {
    let who = RwSignal::new(FIRST_USER.to_owned());
    let code = RwSignal::new(codes.first().map(|c| c.id.to_string()).unwrap_or_default());
    let text = RwSignal::new("你好".to_owned());
    let lost = RwSignal::new(false);
    let chat = RwSignal::new(Vec::<Bubble>::new());
    let run = Call::new(
        move |(action, code, text): &(SimAction, Option<i64>, Option<String>)| {
            let (action, code, text) = (*action, *code, text.clone());
            let user = who.get_untracked();
            let lost = lost.get_untracked();
            async move { simulate(action, user, code, text, lost).await }
        },
    );
    let error = Signal::derive(move || run.value().get().and_then(Result::err));
    effect(move || {
        if let Some(Ok(outcome)) = run.value().get() {
            chat.update(|c| push_outcome(c, &outcome));
        }
    });
    // Messages sent later through the API (customer-service and template messages): read again
    // in the browser every 2 s, after each action and when the user changes, since they arrive
    // after the passive reply. Only the newest answer is shown.
    let inbox = RwSignal::new(inbox);
    // The WeChat user tags the account put on the simulated user, read with the messages.
    let tags = RwSignal::new(tags);
    #[cfg(feature = "hydrate")]
    {
        let tick = RwSignal::new(0u32);
        let handle = set_interval_with_handle(
            move || tick.update(|t| *t = t.wrapping_add(1)),
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
        let latest = StoredValue::new(0u64);
        effect(move || {
            let (user, _, _) = (who.get(), run.version().get(), tick.get());
            latest.update_value(|n| *n += 1);
            let asked = latest.get_value();
            leptos::task::spawn_local(async move {
                let answer = sandbox_messages(user.clone()).await;
                let carried = sandbox_user_tags(user).await;
                if latest.try_get_value() == Some(asked) {
                    inbox.try_set(answer);
                    tags.try_set(carried);
                }
            });
        });
    }
    let code_id = move || code.get_untracked().parse::<i64>().ok();
    // The account's menu: a click item sends its CLICK event, a link item its VIEW event (and
    // opens the page).
    let pick = Callback::new(move |b: MenuButton| match b.kind {
        ButtonKind::Click => {
            run.dispatch((SimAction::Menu, None, Some(b.key)));
        }
        ButtonKind::View => {
            run.dispatch((SimAction::View, None, Some(b.url)));
        }
        _ => {}
    });
    view! {
        <div class="columns">
            <section class="card">
                <div class="field">
                    <label for="sim-user">{t("模拟用户", "Simulated user")}</label>
                    <input id="sim-user" data-testid="sim-user" prop:value=move || who.get()
                        on:input=move |ev| who.set(event_target_value(&ev)) />
                </div>
                <div class="field">
                    <label for="sim-code">{t("二维码", "QR code")}</label>
                    {if codes.is_empty() {
                        view! {
                            <p class="muted" data-testid="sim-no-codes">
                                {t("还没有二维码：先在推荐人页面生成一个。", "No QR codes yet: create one on a referrer's page first.")}
                            </p>
                        }.into_any()
                    } else {
                        view! {
                            <select id="sim-code" data-testid="sim-code" on:change=move |ev| code.set(event_target_value(&ev))>
                                {codes.into_iter().map(|c| {
                                    let label = format!("#{} {} {}", c.id, c.referrer_name, c.label.unwrap_or_default());
                                    view! { <option value=c.id.to_string()>{label}</option> }
                                }).collect_view()}
                            </select>
                        }.into_any()
                    }}
                </div>
                <div class="actions">
                    <button data-testid="sim-scan" on:click=move |_| { run.dispatch((SimAction::Scan, code_id(), None)); }>{t("扫码", "Scan")}</button>
                    <button data-testid="sim-follow" on:click=move |_| { run.dispatch((SimAction::Follow, None, None)); }>{t("直接关注", "Follow")}</button>
                    <button data-testid="sim-unfollow" on:click=move |_| { run.dispatch((SimAction::Unfollow, None, None)); }>{t("取消关注", "Unfollow")}</button>
                    <button data-testid="sim-menu" on:click=move |_| { run.dispatch((SimAction::Menu, None, None)); }>{t("点菜单「我的推广码」", "Menu: my code")}</button>
                </div>
                <label class="check-inline">
                    <input type="checkbox" data-testid="sim-lost" prop:checked=move || lost.get()
                        on:change=move |ev| lost.set(event_target_checked(&ev)) />
                    {t("微信放弃推送这次事件（回调丢失，对账可找回）", "WeChat gives up on this callback (lost; reconciliation finds it)")}
                </label>
                <div class="field">
                    <label for="sim-text">{t("消息", "Message")}</label>
                    <input id="sim-text" data-testid="sim-text" prop:value=move || text.get()
                        on:input=move |ev| text.set(event_target_value(&ev)) />
                </div>
                <button data-testid="sim-send" on:click=move |_| { run.dispatch((SimAction::Text, None, Some(text.get_untracked()))); }>{t("发送", "Send")}</button>
                <p class="muted">
                    {t("会员：发送「推广码」或点菜单获取个人推广码，发送「我叫 名字」设置称呼。",
                       "Members: send 推广码 or use the menu for a personal code; send 「我叫 name」 to set a name.")}
                    " "
                    <a href="/m" target="_blank" rel="noopener" data-testid="sim-open-member">
                        {t("以模拟用户身份打开个人页（模拟网页授权）", "Open a member page as a simulated user (simulated web authorization)")}
                    </a>
                </p>
                {move || error.get().is_some().then(|| view! {
                    <p class="error" role="alert" data-testid="sim-error">{move || error.get().map(|e: AppError| e.message)}</p>
                })}
            </section>
            <section class="phone" data-testid="sim-chat" aria-live="polite">
                <header>{t("微信 · 公众号", "WeChat · Official Account")}</header>
                {move || run.pending().get().then(|| view! {
                    <p class="muted">{t("发送中…", "Sending…")}</p>
                })}
                {move || chat.get().into_iter().map(|b| view! {
                    <p class=if b.from_user { "bubble mine" } else { "bubble theirs" } data-testid=if b.from_user { "bubble-user" } else { "bubble-reply" }>
                        {b.text}
                        {b.image.map(|src| view! { <img class="bubble-image" src=src alt="公众号回复的图片（二维码或海报） / Image reply (code or poster)" data-testid="bubble-image" /> })}
                    </p>
                }).collect_view()}
                {match menu {
                    Some(menu) => view! { <MenuBar menu testid="sim-menu-bar" on_pick=pick /> }.into_any(),
                    None => view! {
                        <p class="muted wx-no-menu" data-testid="sim-no-menu">
                            {t("公众号还没有菜单：在「菜单」页发布后，这里可以点击试用。", "The account has no menu yet: publish one on the Menu page to try it here.")}
                        </p>
                    }.into_any(),
                }}
            </section>
            <section class="card" data-testid="sim-inbox">
                <h2>{t("用户标签", "User's tags")}</h2>
                {move || match tags.get() {
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted" data-testid="sim-tags-none">{t("没有标签。", "No tags.")}</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="tags" data-testid="sim-tags">
                            {list.into_iter().map(|name| view! { <li class="tag" data-testid="sim-tag">{name}</li> }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                }}
                <h2>{t("收到的客服/模板消息", "Messages received (customer service / template)")}</h2>
                {move || match inbox.get() {
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted">{t("暂无。", "None yet.")}</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="inbox">
                            {list.into_iter().rev().map(|m| view! {
                                <li data-testid="inbox-message">
                                    <span class="badge">{m.kind}</span>
                                    " "
                                    <span class="inbox-text">{m.text.filter(|t| !t.is_empty())}</span>
                                    {m.image.map(|src| view! { <img class="bubble-image" src=src alt="图片 image" data-testid="inbox-image" /> })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                }}
            </section>
        </div>
    }
}

fn push_outcome(chat: &mut Vec<Bubble>, outcome: &SimOutcome) {
    let action = match outcome.sent.as_str() {
        "subscribe" => "[关注 follow]",
        "SCAN" => "[扫码 scan]",
        "unsubscribe" => "[取消关注 unfollow]",
        "CLICK" => "[菜单 menu]",
        "VIEW" => "[打开链接 link]",
        _ => "[消息 text]",
    };
    chat.push(Bubble {
        from_user: true,
        text: format!("{} {action}", outcome.openid),
        image: None,
    });
    if outcome.lost {
        chat.push(Bubble {
            from_user: false,
            text: "[回调丢失：服务器没有收到 · callback lost: our server heard nothing]".into(),
            image: None,
        });
    }
    if outcome.reply.is_some() || outcome.image.is_some() {
        chat.push(Bubble {
            from_user: false,
            text: outcome.reply.clone().unwrap_or_default(),
            image: outcome.image.clone(),
        });
    }
}
