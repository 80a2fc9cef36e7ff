//! The custom menu (admin): the menu WeChat shows followers now (`menu/get`), an editor with the
//! ready items 我的推广码 (the member code's CLICK key) and 我的推广页 (a link to the member page
//! through web authorization), publishing (`menu/create`) and clearing (`menu/delete`).

use leptos::prelude::*;

use crate::api::menu::{delete_menu, load_menu, publish_menu};
use crate::components::call::{Call, effect};
use crate::components::form::ErrorBanner;
use crate::components::menu_bar::MenuBar;
use crate::components::menu_editor::ButtonRows;
use crate::i18n::t;
use crate::menu::{CODE_ITEM_NAME, MAX_BUTTONS, Menu, MenuPage, PAGE_ITEM_NAME, ReadyItems};

/// The menu page.
#[component]
pub fn CustomMenuPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_menu());
    view! {
        <h1>{t("自定义菜单", "Custom menu")}</h1>
        <p class="lead">
            {t(
                "公众号启用服务器配置后，公众平台里的菜单编辑会停用：在这里编辑并发布菜单。",
                "Once the account's server configuration is on, WeChat's own menu editor is off: edit and publish the menu here.",
            )}
        </p>
        <Suspense fallback=move || {
            view! { <p class="loading" data-testid="menu-loading">{t("正在读取微信上的菜单…", "Reading the menu from WeChat…")}</p> }
        }>
            {move || data.get().map(|r| match r {
                Ok(page) => view! { <Sections page /> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="menu-error">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Sections(page: MenuPage) -> impl IntoView {
    let draft = page.live.clone().unwrap_or_default();
    view! {
        <section class="card">
            <h2>{t("当前菜单（微信上）", "Live menu (at WeChat)")}</h2>
            <div data-live="menu-live">
                <Live page=page.clone() />
            </div>
        </section>
        <MenuEditor draft ready=page.ready />
    }
}

/// What followers see now: the bar, the empty state, or why WeChat could not be asked.
#[component]
fn Live(page: MenuPage) -> impl IntoView {
    match (page.live, page.live_error) {
        (_, Some(error)) => view! {
            <p class="error banner" role="alert" data-testid="menu-live-error">
                {t("读取失败：", "Could not read it: ")}{error}
            </p>
        }
        .into_any(),
        (Some(menu), None) => view! {
            <div class="wx-frame"><MenuBar menu testid="menu-live" /></div>
        }
        .into_any(),
        (None, None) => view! {
            <p class="empty" data-testid="menu-empty">
                {t("当前没有菜单：关注者在对话框下方看不到任何按钮。", "No menu is live: followers see no buttons below the chat.")}
            </p>
        }
        .into_any(),
    }
}

/// What the last publish or clear did.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Done {
    Published,
    Cleared,
}

/// The editor: the draft's buttons, the ready items, a preview, publish and clear.
#[island]
fn MenuEditor(draft: Menu, ready: ReadyItems) -> impl IntoView {
    let menu = RwSignal::new(draft);
    let act = Call::new(move |publish: &bool| {
        let publish = *publish;
        let draft = menu.get_untracked();
        async move {
            if publish {
                publish_menu(draft).await.map(|_| Done::Published)
            } else {
                delete_menu().await.map(|_| Done::Cleared)
            }
        }
    });
    effect(move || {
        if let Some(Ok(_)) = act.value().get() {
            crate::browser::refresh();
        }
    });
    let error = Signal::derive(move || act.value().get().and_then(Result::err));
    let done = move || act.value().get().and_then(Result::ok);
    let (code, page) = (ready.code(), ready.page());
    let (code_key, page_url) = (ready.code_key.clone(), ready.page_url.clone());
    let has_code = move || menu.with(|m| m.has_key(&code_key));
    let has_page = move || menu.with(|m| m.has_url(&page_url));
    let full = move || menu.with(|m| !m.can_add_button());
    view! {
        <section class="card" data-testid="menu-editor">
            <h2>{t("编辑菜单", "Edit the menu")}</h2>
            <p class="muted">
                {t("最多 3 个按钮，每个可展开最多 5 个子按钮。名称：一级最多 16 个字节（5 个汉字，超过 4 个字微信会以“…”省略），子按钮最多 60 个字节。",
                   "Up to 3 buttons, each opening up to 5 sub-buttons. Names: at most 16 bytes on top (5 Chinese characters; WeChat shortens past 4 with “…”), 60 bytes below.")}
            </p>
            <div class="actions">
                <button data-testid="menu-add-code" disabled=move || full() || has_code()
                    on:click=move |_| { menu.update(|m| { m.push(code.clone()); }); }>
                    {t("添加「", "Add “")}{CODE_ITEM_NAME}{t("」", "”")}
                </button>
                <button data-testid="menu-add-page" disabled=move || full() || has_page()
                    on:click=move |_| { menu.update(|m| { m.push(page.clone()); }); }>
                    {t("添加「", "Add “")}{PAGE_ITEM_NAME}{t("」", "”")}
                </button>
                <button data-testid="menu-add" disabled=full on:click=move |_| { menu.update(|m| { m.add_button(); }); }>
                    {t("添加按钮", "Add a button")}
                </button>
                <span class="muted" data-testid="menu-count">{move || format!("{}/{MAX_BUTTONS}", menu.with(|m| m.buttons.len()))}</span>
            </div>
            <ReadyNote ready=ready.clone() />
            {move || menu.with(|m| m.buttons.is_empty()).then(|| view! {
                <p class="empty" data-testid="menu-draft-empty">
                    {t("还没有按钮：添加现成的菜单项或新按钮。发布空菜单前请用“清除”。", "No buttons yet: add a ready item or a new button. To remove the live menu, use Clear.")}
                </p>
            })}
            <ButtonRows menu error />
            <h3>{t("预览", "Preview")}</h3>
            <div class="wx-frame"><MenuBar menu=Signal::derive(move || menu.get()) testid="menu-preview" /></div>
            <ErrorBanner error=error />
            <div class="actions">
                <button class="primary" data-testid="menu-publish" disabled=move || act.pending().get()
                    on:click=move |_| { act.dispatch(true); }>
                    {t("发布到微信", "Publish to WeChat")}
                </button>
                <button class="danger" data-testid="menu-clear" disabled=move || act.pending().get()
                    on:click=move |_| { act.dispatch(false); }>
                    {t("清除微信上的菜单", "Clear the live menu")}
                </button>
                {move || act.pending().get().then(|| view! {
                    <span class="muted" data-testid="menu-pending">{t("正在提交…", "Sending…")}</span>
                })}
                {move || done().map(|d| view! {
                    <span class="ok" data-testid="menu-done">
                        {if d == Done::Published { t("已发布：关注者重新进入对话时会看到新菜单。", "Published: followers see it when they next open the chat.")() }
                         else { t("已清除。", "Cleared.")() }}
                    </span>
                })}
            </div>
        </section>
    }
}

/// What the ready items do.
#[component]
fn ReadyNote(ready: ReadyItems) -> impl IntoView {
    view! {
        <ul class="muted ready-items" data-testid="menu-ready">
            <li>
                {CODE_ITEM_NAME}{t("：点击后公众号回复关注者的个人推广码（CLICK，key ", ": a click answered with the follower's personal code (CLICK, key ")}
                <span class="mono">{ready.code_key}</span>{t("，可在设置页修改）。", ", set on the settings page).")}
            </li>
            <li>
                {PAGE_ITEM_NAME}{t("：通过网页授权打开关注者自己的推广页（VIEW ", ": opens the follower's own page through web authorization (VIEW ")}
                <span class="mono">{ready.page_url}</span>
                {t("）。正式公众号须把该域名登记为网页授权域名（见接入页）。", "). A live account must register that domain for web authorization (see the setup page).")}
            </li>
        </ul>
    }
}
