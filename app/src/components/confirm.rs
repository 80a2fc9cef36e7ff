//! A confirmation dialog for destructive actions: a modal `role="alertdialog"` labelled by its
//! title and described by its message, which takes the focus when it opens (its first field,
//! else Cancel), keeps Tab inside, cancels on Escape or a click beside it, and gives the focus
//! back to what had it (the button that opened it). For use inside islands.

use leptos::prelude::*;

use crate::i18n::t;

/// The dialog, shown while `open` is true. Confirm runs `on_confirm` (which closes the dialog
/// itself once done, so a refused action can show its error in `children`).
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    /// Unique on the page: the ids of the title and message are made from it.
    id: &'static str,
    #[prop(into)] title: Signal<String>,
    #[prop(into)] message: Signal<String>,
    #[prop(into)] confirm_label: Signal<String>,
    on_confirm: Callback<()>,
    /// While true the confirm button is disabled (the action is running).
    #[prop(optional, into)]
    busy: Signal<bool>,
    /// Fields or messages between the message and the buttons.
    #[prop(optional)]
    children: Option<ChildrenFn>,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Div>::new();
    focus::manage(open, dialog);
    let title_id = format!("{id}-title");
    let message_id = format!("{id}-message");
    let keydown = move |ev: leptos::ev::KeyboardEvent| match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            open.set(false);
        }
        "Tab" => focus::trap(&ev, dialog),
        _ => {}
    };
    let beside = move |ev: leptos::ev::MouseEvent| {
        if ev.target() == ev.current_target() {
            open.set(false);
        }
    };
    view! {
        {move || open.get().then(|| view! {
            <div class="modal-backdrop" on:click=beside>
                <div
                    class="modal card"
                    role="alertdialog"
                    aria-modal="true"
                    aria-labelledby=title_id.clone()
                    aria-describedby=message_id.clone()
                    data-testid="confirm-dialog"
                    node_ref=dialog
                    on:keydown=keydown
                >
                    <h2 id=title_id.clone()>{move || title.get()}</h2>
                    <p id=message_id.clone()>{move || message.get()}</p>
                    {children.clone().map(|c| c())}
                    <div class="actions">
                        <button type="button" data-testid="confirm-cancel" on:click=move |_| open.set(false)>
                            {t("取消", "Cancel")}
                        </button>
                        <button
                            type="button"
                            class="danger"
                            data-testid="confirm-ok"
                            disabled=move || busy.get()
                            on:click=move |_| on_confirm.run(())
                        >
                            {move || confirm_label.get()}
                        </button>
                    </div>
                </div>
            </div>
        })}
    }
}

/// Where the focus goes (browser only).
mod focus {
    use leptos::prelude::*;

    /// What can take the focus inside the dialog.
    #[cfg(feature = "hydrate")]
    const FOCUSABLE: &str = "input:not([disabled]), select:not([disabled]), \
        textarea:not([disabled]), button:not([disabled]), [href]";

    /// Moves the focus into the dialog when it opens and back to its opener when it closes.
    pub fn manage(open: RwSignal<bool>, dialog: NodeRef<leptos::html::Div>) {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let opener = StoredValue::new_local(None::<web_sys::HtmlElement>);
            // Once the dialog is in the page: note what had the focus, then focus the dialog's
            // first field, else its first button (Cancel).
            crate::components::call::effect(move || {
                let Some(dialog) = dialog.get() else {
                    return;
                };
                if !open.get_untracked() {
                    return;
                }
                opener.set_value(
                    document()
                        .active_element()
                        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()),
                );
                let first = dialog
                    .query_selector("input, select, textarea")
                    .ok()
                    .flatten()
                    .or_else(|| dialog.query_selector("button").ok().flatten())
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
                if let Some(el) = first {
                    let _ = el.focus();
                }
            });
            Effect::new(move |was_open: Option<bool>| {
                let is_open = open.get();
                if !is_open
                    && was_open == Some(true)
                    && let Some(el) = opener.get_value()
                {
                    let _ = el.focus();
                }
                is_open
            });
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (open, dialog);
    }

    /// Keeps Tab and Shift+Tab cycling inside the dialog.
    pub fn trap(ev: &leptos::ev::KeyboardEvent, dialog: NodeRef<leptos::html::Div>) {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            let Some(dialog) = dialog.get_untracked() else {
                return;
            };
            let Ok(list) = dialog.query_selector_all(FOCUSABLE) else {
                return;
            };
            let items: Vec<web_sys::HtmlElement> = (0..list.length())
                .filter_map(|i| list.item(i))
                .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
                .collect();
            let (Some(first), Some(last)) = (items.first(), items.last()) else {
                return;
            };
            let active = document().active_element();
            let is = |el: &web_sys::HtmlElement| {
                active
                    .as_ref()
                    .is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>())
            };
            let inside = items.iter().any(is);
            if ev.shift_key() && (is(first) || !inside) {
                ev.prevent_default();
                let _ = last.focus();
            } else if !ev.shift_key() && (is(last) || !inside) {
                ev.prevent_default();
                let _ = first.focus();
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = (ev, dialog);
    }
}
