//! The honest "nothing here yet" panel.

use leptos::prelude::*;

/// A titled empty state with an explanation; `testid` lets tests find it.
#[component]
pub fn EmptyState(
    #[prop(into)] title: Signal<&'static str>,
    #[prop(into)] body: Signal<&'static str>,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView {
    view! {
        <section class="empty-state" data-testid=testid>
            <h2>{move || title.get()}</h2>
            <p>{move || body.get()}</p>
        </section>
    }
}
