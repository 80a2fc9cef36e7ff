//! The menu editor's rows: a button's name (with its byte count), kind, key or link, and its
//! sub-buttons; the server's message for each field under it. Rows are laid out again only
//! when the menu's structure changes ([`Menu::shape`]), so typing keeps the focus.

use leptos::prelude::*;

use crate::i18n::t;
use crate::menu::{ButtonKind, ButtonPath, MAX_SUB_BUTTONS, Menu, field_name};
use crate::model::AppError;

/// Every button of `menu`, editable.
#[component]
pub fn ButtonRows(menu: RwSignal<Menu>, error: Signal<Option<AppError>>) -> impl IntoView {
    let shape = Memo::new(move |_| menu.with(Menu::shape));
    view! {
        <FieldError error field=field_name(None, "") />
        <ol class="menu-rows">
            {move || {
                shape
                    .get()
                    .into_iter()
                    .enumerate()
                    .map(|(i, (kind, subs))| {
                        view! {
                            <li class="menu-row" data-testid=format!("menu-button-{i}")>
                                <ButtonFields menu error path=ButtonPath::top(i) kind />
                                {(kind == ButtonKind::Parent).then(|| view! { <SubRows menu error top=i kinds=subs /> })}
                            </li>
                        }
                    })
                    .collect_view()
            }}
        </ol>
    }
}

/// The sub-buttons of parent `top`, and the button adding one.
#[component]
fn SubRows(
    menu: RwSignal<Menu>,
    error: Signal<Option<AppError>>,
    top: usize,
    kinds: Vec<ButtonKind>,
) -> impl IntoView {
    let full = kinds.len() >= MAX_SUB_BUTTONS;
    view! {
        <ol class="menu-subs">
            {kinds
                .into_iter()
                .enumerate()
                .map(|(j, kind)| {
                    view! {
                        <li class="menu-row sub" data-testid=format!("menu-sub-{top}-{j}")>
                            <ButtonFields menu error path=ButtonPath::sub(top, j) kind />
                        </li>
                    }
                })
                .collect_view()}
        </ol>
        <FieldError error field=field_name(Some(ButtonPath::top(top)), "sub_buttons") />
        <button class="link" data-testid="menu-add-sub" disabled=full
            on:click=move |_| { menu.update(|m| { m.add_sub(top); }); }>
            {t("＋ 添加子按钮", "+ Add a sub-button")}
        </button>
    }
}

/// One button's inputs.
#[component]
fn ButtonFields(
    menu: RwSignal<Menu>,
    error: Signal<Option<AppError>>,
    path: ButtonPath,
    kind: ButtonKind,
) -> impl IntoView {
    let id = match path.sub {
        None => format!("menu-{}", path.top),
        Some(s) => format!("menu-{}-{s}", path.top),
    };
    let read = move |f: fn(&crate::menu::MenuButton) -> String| {
        move || menu.with(|m| m.button(path).map(f).unwrap_or_default())
    };
    let name = read(|b| b.name.clone());
    let bytes = move || name().len();
    let limit = path.name_limit();
    let other_type = menu
        .with_untracked(|m| m.button(path).and_then(|b| b.wechat_type.clone()))
        .unwrap_or_default();
    view! {
        <div class="menu-fields">
            <div class="field">
                <label for=format!("{id}-name")>{t("名称", "Name")}</label>
                <input id=format!("{id}-name") data-testid="menu-name" prop:value=name
                    on:input=move |ev| menu.update(|m| { if let Some(b) = m.button_mut(path) { b.name = event_target_value(&ev); } }) />
                <span class="byte-count" class:over=move || { bytes() > limit } data-testid="menu-name-bytes">
                    {move || format!("{}/{limit}", bytes())}{t(" 字节", " bytes")}
                </span>
                <FieldError error field=field_name(Some(path), "name") />
            </div>
            <div class="field">
                <label for=format!("{id}-kind")>{t("类型", "Type")}</label>
                <select id=format!("{id}-kind") data-testid="menu-kind"
                    on:change=move |ev| {
                        if let Some(k) = ButtonKind::parse(&event_target_value(&ev)) {
                            menu.update(|m| m.set_kind(path, k));
                        }
                    }>
                    <option value="click" selected=kind == ButtonKind::Click>{t("点击（CLICK）", "Click (CLICK)")}</option>
                    <option value="view" selected=kind == ButtonKind::View>{t("链接（VIEW）", "Link (VIEW)")}</option>
                    {path.sub.is_none().then(|| view! {
                        <option value="parent" selected=kind == ButtonKind::Parent>{t("子菜单", "Sub-menu")}</option>
                    })}
                    {(kind == ButtonKind::Other).then(|| view! {
                        <option value="other" selected=true disabled=true>{other_type.clone()}</option>
                    })}
                </select>
                <FieldError error field=field_name(Some(path), "kind") />
            </div>
            {match kind {
                ButtonKind::Click => view! { <KeyField menu error path id=id.clone() /> }.into_any(),
                ButtonKind::View => view! { <UrlField menu error path id=id.clone() /> }.into_any(),
                _ => ().into_any(),
            }}
            <button class="link danger" data-testid="menu-remove" on:click=move |_| menu.update(|m| m.remove(path))>
                {t("删除", "Remove")}
            </button>
        </div>
    }
}

#[component]
fn KeyField(
    menu: RwSignal<Menu>,
    error: Signal<Option<AppError>>,
    path: ButtonPath,
    id: String,
) -> impl IntoView {
    view! {
        <div class="field">
            <label for=format!("{id}-key")>"key"</label>
            <input id=format!("{id}-key") class="mono" data-testid="menu-key"
                prop:value=move || menu.with(|m| m.button(path).map(|b| b.key.clone()).unwrap_or_default())
                on:input=move |ev| menu.update(|m| { if let Some(b) = m.button_mut(path) { b.key = event_target_value(&ev); } }) />
            <FieldError error field=field_name(Some(path), "key") />
        </div>
    }
}

#[component]
fn UrlField(
    menu: RwSignal<Menu>,
    error: Signal<Option<AppError>>,
    path: ButtonPath,
    id: String,
) -> impl IntoView {
    view! {
        <div class="field wide">
            <label for=format!("{id}-url")>{t("网址", "Address")}</label>
            <input id=format!("{id}-url") type="url" class="mono" data-testid="menu-url" placeholder="https://"
                prop:value=move || menu.with(|m| m.button(path).map(|b| b.url.clone()).unwrap_or_default())
                on:input=move |ev| menu.update(|m| { if let Some(b) = m.button_mut(path) { b.url = event_target_value(&ev); } }) />
            <FieldError error field=field_name(Some(path), "url") />
        </div>
    }
}

/// The server's message for `field`, if the last answer named it.
#[component]
fn FieldError(error: Signal<Option<AppError>>, field: String) -> impl IntoView {
    let testid = format!("error-{field}");
    let message = move || error.get().and_then(|e| e.field(&field));
    view! {
        {move || message().map(|m| view! { <p class="field-error" role="alert" data-testid=testid.clone()>{m}</p> })}
    }
}
