//! What islands do to the page around them: navigate, reload, and refresh the server-rendered
//! regions (`data-live="key"`) in place after a change or on a timer. Every function is a no-op
//! on the server.
//!
//! A refresh fetches the current URL (the server renders the whole page, see `SsrMode::Async`
//! on the routes), and replaces the contents of each `data-live` region with the region of the
//! same key in the fresh page. Islands are never inside live regions, so nothing that was
//! hydrated is replaced. Only the newest refresh is applied when several overlap.

/// Marks `<body data-hydrated="true">` once the islands of the page are hydrated (the island
/// script hydrates them right after `hydrate()` returns), so scripts and browser tests know
/// clicks will be handled.
pub fn mark_hydrated_after_islands() {
    #[cfg(feature = "hydrate")]
    leptos::prelude::set_timeout(
        || {
            if let Some(body) = leptos::prelude::document().body() {
                let _ = body.set_attribute("data-hydrated", "true");
            }
        },
        std::time::Duration::ZERO,
    );
}

/// Goes to `url` (a new history entry).
pub fn go(url: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().location().set_href(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// Loads the page again (after changes that reshape more than the live regions).
pub fn reload() {
    #[cfg(feature = "hydrate")]
    {
        let _ = leptos::prelude::window().location().reload();
    }
}

/// Replaces the address bar's query (`?a=b`, or nothing) without loading, then refreshes the
/// live regions for it.
pub fn show_query(query: &str) {
    #[cfg(feature = "hydrate")]
    {
        let window = leptos::prelude::window();
        let path = window.location().pathname().unwrap_or_default();
        let url = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
        }
        refresh();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = query;
}

/// Tells the page's islands that something changed (a `CustomEvent` named `name` on the
/// window), for islands that keep their own lists (see [`on_change`]).
pub fn changed(name: &str) {
    #[cfg(feature = "hydrate")]
    if let Ok(event) = web_sys::CustomEvent::new(name) {
        let _ = leptos::prelude::window().dispatch_event(&event);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = name;
}

/// Runs `f` whenever [`changed`] announces `name` (for the page's lifetime).
pub fn on_change(name: &str, f: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let callback = wasm_bindgen::closure::Closure::<dyn Fn()>::new(f);
        let _ = leptos::prelude::window()
            .add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        // The listener lives as long as the page.
        callback.forget();
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, f);
}

/// Fetches the current page again and swaps in its live regions.
pub fn refresh() {
    #[cfg(feature = "hydrate")]
    live::refresh();
}

/// Whether the page is on screen (timers skip refreshes of hidden tabs).
pub fn visible() -> bool {
    #[cfg(feature = "hydrate")]
    {
        leptos::prelude::document().visibility_state() == web_sys::VisibilityState::Visible
    }
    #[cfg(not(feature = "hydrate"))]
    true
}

#[cfg(feature = "hydrate")]
mod live {
    use std::sync::atomic::{AtomicU32, Ordering};

    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    /// The newest refresh; an older one that finishes later is dropped.
    static LATEST: AtomicU32 = AtomicU32::new(0);

    pub fn refresh() {
        let ticket = LATEST.fetch_add(1, Ordering::SeqCst) + 1;
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = swap(ticket).await {
                leptos::logging::warn!("refresh failed: {e:?}");
            }
        });
    }

    async fn swap(ticket: u32) -> Result<(), JsValue> {
        let window = leptos::prelude::window();
        let url = window.location().href()?;
        let response: web_sys::Response = JsFuture::from(window.fetch_with_str(&url))
            .await?
            .dyn_into()?;
        if response.redirected() {
            // The session ended: the server sent the login page.
            return window.location().set_href(&response.url());
        }
        // A refused filter (422) or a failed read (5xx) is a page too, with the message in its
        // region: it is shown like any other.
        let html = JsFuture::from(response.text()?)
            .await?
            .as_string()
            .unwrap_or_default();
        if LATEST.load(Ordering::SeqCst) != ticket {
            return Ok(());
        }
        let fresh = web_sys::DomParser::new()?
            .parse_from_string(&html, web_sys::SupportedType::TextHtml)?;
        let regions = leptos::prelude::document().query_selector_all("[data-live]")?;
        for i in 0..regions.length() {
            let Some(region) = regions
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
            else {
                continue;
            };
            let key = region.get_attribute("data-live").unwrap_or_default();
            if let Some(new) = fresh.query_selector(&format!("[data-live=\"{key}\"]"))? {
                region.set_inner_html(&new.inner_html());
            }
        }
        Ok(())
    }
}
