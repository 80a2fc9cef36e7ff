//! A custom menu drawn as WeChat's bottom bar: up to three cells, a parent opening its
//! sub-buttons above it. Read-only (the menu page's live menu and preview show every parent
//! open), or played (the sandbox: a pick clicks a click item or opens a link item).

use leptos::prelude::*;

use crate::i18n::t;
use crate::menu::{ButtonKind, Menu, MenuButton};

/// The bar of `menu`. With `on_pick`, items are buttons and links; a parent toggles its list.
#[component]
pub fn MenuBar(
    #[prop(into)] menu: Signal<Menu>,
    /// The test id of the bar.
    testid: &'static str,
    #[prop(optional)] on_pick: Option<Callback<MenuButton>>,
) -> impl IntoView {
    let open = RwSignal::new(None::<usize>);
    // Read-only, every parent shows its list: the bar leaves room above for the longest.
    let room = move || {
        let most = menu.with(|m| m.buttons.iter().map(|b| b.sub_buttons.len()).max());
        format!("--subs: {}", most.unwrap_or(0))
    };
    let class = if on_pick.is_some() {
        "wx-menu"
    } else {
        "wx-menu static"
    };
    view! {
        <nav class=class style=room data-testid=testid aria-label=t("公众号菜单", "Account menu")>
            <span class="wx-menu-keyboard" aria-hidden="true">"⌨"</span>
            {move || {
                menu.get()
                    .buttons
                    .into_iter()
                    .enumerate()
                    .map(|(i, b)| view! { <Cell button=b index=i open on_pick /> })
                    .collect_view()
            }}
        </nav>
    }
}

/// One top-level cell, with its sub-buttons when it is a parent.
#[component]
fn Cell(
    button: MenuButton,
    index: usize,
    open: RwSignal<Option<usize>>,
    on_pick: Option<Callback<MenuButton>>,
) -> impl IntoView {
    if button.kind != ButtonKind::Parent {
        return view! { <div class="wx-cell">{item(button, "wx-menu-item", on_pick)}</div> }
            .into_any();
    }
    let played = on_pick.is_some();
    let shown = move || !played || open.get() == Some(index);
    // Picking a sub-button closes the list, as in WeChat.
    let on_pick = on_pick.map(|pick| {
        Callback::new(move |b: MenuButton| {
            open.set(None);
            pick.run(b);
        })
    });
    let subs = button.sub_buttons.clone();
    view! {
        <div class="wx-cell">
            {move || shown().then(|| view! {
                <ul class="wx-submenu">
                    {subs
                        .clone()
                        .into_iter()
                        .map(|s| view! { <li>{item(s, "wx-sub-item", on_pick)}</li> })
                        .collect_view()}
                </ul>
            })}
            {if played {
                view! {
                    <button
                        class="wx-menu-item parent"
                        data-testid="wx-menu-item"
                        aria-expanded=move || (open.get() == Some(index)).to_string()
                        on:click=move |_| {
                            open.update(|o| *o = if *o == Some(index) { None } else { Some(index) })
                        }
                    >
                        "≡ "
                        {button.name.clone()}
                    </button>
                }
                    .into_any()
            } else {
                view! { <span class="wx-menu-item parent" data-testid="wx-menu-item">"≡ " {button.name.clone()}</span> }
                    .into_any()
            }}
        </div>
    }
    .into_any()
}

/// A click or link item: played, a button or a link (the link also reports the pick); read-only,
/// its name with what it does as a tooltip.
fn item(b: MenuButton, class: &'static str, on_pick: Option<Callback<MenuButton>>) -> AnyView {
    let name = b.name.clone();
    let what = match b.kind {
        ButtonKind::Click => format!("CLICK · {}", b.key),
        ButtonKind::View => format!("VIEW · {}", b.url),
        _ => b.wechat_type.clone().unwrap_or_default(),
    };
    let testid = class;
    match (on_pick, b.kind) {
        (Some(pick), ButtonKind::Click) => view! {
            <button class=class data-testid=testid title=what on:click=move |_| pick.run(b.clone())>
                {name}
            </button>
        }
        .into_any(),
        (Some(pick), ButtonKind::View) => {
            let url = b.url.clone();
            view! {
                <a class=class data-testid=testid href=url target="_blank" rel="noopener" title=what
                    on:click=move |_| pick.run(b.clone())>
                    {name}
                </a>
            }
            .into_any()
        }
        (Some(_), _) => view! {
            <button class=class data-testid=testid title=what disabled=true>
                {name}
                <span class="visually-hidden">{t("（此类型不能在沙盒中试用）", " (not playable in the sandbox)")}</span>
            </button>
        }
        .into_any(),
        (None, _) => view! { <span class=class data-testid=testid title=what>{name}</span> }.into_any(),
    }
}
