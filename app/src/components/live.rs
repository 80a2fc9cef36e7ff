//! Islands that keep server-rendered regions current: filter forms that apply as you type or
//! choose, and a timer that refreshes a page's live regions.

use leptos::prelude::*;

use crate::i18n::t;

/// Wraps a `<form method="get">` of filters. A choice applies at once, typing after a short
/// pause (and not while an input method is composing): the query goes to the address bar (so the view can be shared and survives a reload)
/// and the page's live regions are refreshed in place, keeping the focus and what was typed.
/// Without the browser bundle the form still works as a plain GET form.
#[island]
pub fn LiveFilter(children: Children) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let apply = move |ev: &leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            if let Some(h) = pending.get_value() {
                h.clear();
            }
            let form = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("form").ok().flatten())
                .and_then(|f| f.dyn_into::<web_sys::HtmlFormElement>().ok());
            if let Some(form) = form.filter(|f| !incomplete(f)) {
                crate::browser::show_query(&form_query(&form));
            }
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    let typed = move |ev: leptos::ev::Event| {
        #[cfg(feature = "hydrate")]
        {
            use wasm_bindgen::JsCast;
            // While an input method composes (pinyin not yet turned into characters) nothing
            // applies; the end of the composition does.
            if ev
                .dyn_ref::<web_sys::InputEvent>()
                .is_some_and(|e| e.is_composing())
            {
                return;
            }
            if let Some(h) = pending.get_value() {
                h.clear();
            }
            let handle = set_timeout_with_handle(
                move || apply(&ev),
                std::time::Duration::from_millis(TYPING_PAUSE_MS),
            );
            pending.set_value(handle.ok());
        }
        #[cfg(not(feature = "hydrate"))]
        let _ = ev;
    };
    view! {
        <div
            class="live-filter"
            on:input=typed
            on:compositionend=move |ev| typed(ev.into())
            on:change=move |ev| apply(&ev)
            on:submit=move |ev| {
                ev.prevent_default();
                apply(&ev);
            }
        >
            {children()}
        </div>
    }
}

/// How long typing must pause before the filter applies.
#[cfg(feature = "hydrate")]
const TYPING_PAUSE_MS: u64 = 300;

/// Whether a date field on screen is still empty (a custom period waits for both dates).
#[cfg(feature = "hydrate")]
fn incomplete(form: &web_sys::HtmlFormElement) -> bool {
    use wasm_bindgen::JsCast;
    let Ok(dates) = form.query_selector_all("input[type=date]") else {
        return false;
    };
    (0..dates.length())
        .filter_map(|i| dates.item(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlInputElement>().ok())
        .any(|input| input.value().is_empty() && input.offset_parent().is_some())
}

/// The form's fields as a query string.
#[cfg(feature = "hydrate")]
fn form_query(form: &web_sys::HtmlFormElement) -> String {
    web_sys::FormData::new_with_form(form)
        .and_then(|data| web_sys::UrlSearchParams::new_with_str_sequence_sequence(&data))
        .map(|params| String::from(params.to_string()))
        .unwrap_or_default()
}

/// Refreshes the page's live regions every `secs` seconds while the page is on screen.
#[island]
pub fn AutoRefresh(secs: u64) -> impl IntoView {
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            || {
                if crate::browser::visible() {
                    crate::browser::refresh();
                }
            },
            std::time::Duration::from_secs(secs),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    view! {
        <span class="muted" data-testid="auto-refresh">
            {move || t("每 {} 秒自动刷新", "Refreshes every {} s")().replace("{}", &secs.to_string())}
        </span>
    }
}
