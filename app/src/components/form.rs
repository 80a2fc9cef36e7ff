//! Form pieces: labelled fields with their validation message, error banners, a pager.

use leptos::prelude::*;

use crate::i18n::t;
use crate::model::AppError;

/// A labelled text input bound to `value`, with the server's message for `field` under it.
#[component]
pub fn TextField(
    #[prop(into)] label: Signal<&'static str>,
    /// The field name in validation errors (also the input's `name`).
    field: &'static str,
    value: RwSignal<String>,
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(optional)] placeholder: &'static str,
    #[prop(optional)] input_type: Option<&'static str>,
) -> impl IntoView {
    let id = format!("f-{field}");
    let message = move || error.get().and_then(|e| e.field(field));
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{move || label.get()}</label>
            <input
                id=id
                name=field
                type=input_type.unwrap_or("text")
                placeholder=placeholder
                data-testid=format!("input-{field}")
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            <Show when=move || message().is_some()>
                <p class="field-error" data-testid=format!("error-{field}") role="alert">
                    {message}
                </p>
            </Show>
        </div>
    }
}

/// The general message of an error (field messages are shown next to the fields).
#[component]
pub fn ErrorBanner(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        <Show when=move || error.get().is_some()>
            <p class="error banner" role="alert" data-testid="error-banner">
                {move || error.get().map(|e| e.message)}
            </p>
        </Show>
    }
}

/// Shown while a resource loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" data-testid="loading">{t("正在加载…", "Loading…")}</p> }
}

/// Previous / next page buttons.
#[component]
pub fn Pager(
    page: RwSignal<i64>,
    #[prop(into)] total: Signal<i64>,
    per_page: i64,
) -> impl IntoView {
    let pages = move || ((total.get() + per_page - 1) / per_page).max(1);
    view! {
        <nav class="pager" aria-label="pages">
            <button
                data-testid="page-prev"
                disabled=move || { page.get() <= 1 }
                on:click=move |_| page.update(|p| *p = (*p - 1).max(1))
            >
                {t("上一页", "Previous")}
            </button>
            <span data-testid="page-info">{move || format!("{} / {}", page.get(), pages())}</span>
            <button
                data-testid="page-next"
                disabled=move || { page.get() >= pages() }
                on:click=move |_| page.update(|p| *p += 1)
            >
                {t("下一页", "Next")}
            </button>
        </nav>
    }
}
