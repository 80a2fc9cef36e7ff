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
    /// Names the input in the page instead of `field` (its id `f-<key>` and test id
    /// `input-<key>`), for two forms of one page that share a field name.
    #[prop(optional)]
    key: Option<&'static str>,
) -> impl IntoView {
    let key = key.unwrap_or(field);
    let id = format!("f-{key}");
    let message = move || error.get().and_then(|e| e.field(field));
    view! {
        <div class="field" class:invalid=move || message().is_some()>
            <label for=id.clone()>{move || label.get()}</label>
            <input
                id=id
                name=field
                type=input_type.unwrap_or("text")
                placeholder=placeholder
                data-testid=format!("input-{key}")
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
            {move || message().is_some().then(|| view! {
                <p class="field-error" data-testid=format!("error-{key}") role="alert">
                    {message}
                </p>
            })}
        </div>
    }
}

/// The general message of an error (field messages are shown next to the fields).
#[component]
pub fn ErrorBanner(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    view! {
        {move || error.get().is_some().then(|| view! {
            <p class="error banner" role="alert" data-testid="error-banner">
                {move || error.get().map(|e| e.message)}
            </p>
        })}
    }
}

/// Shown while a resource loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" data-testid="loading">{t("正在加载…", "Loading…")}</p> }
}

/// Previous / next page links (`href` gives the address of a page number).
#[component]
pub fn Pager(page: i64, total: i64, per_page: i64, href: impl Fn(i64) -> String) -> impl IntoView {
    let pages = ((total + per_page - 1) / per_page).max(1);
    let page = page.clamp(1, pages);
    let link = |to: i64, enabled: bool, testid: &'static str, label| {
        if enabled {
            view! { <a class="button" href=href(to) data-testid=testid>{label}</a> }.into_any()
        } else {
            view! { <span class="button disabled" aria-disabled="true" data-testid=testid>{label}</span> }
                .into_any()
        }
    };
    view! {
        <nav class="pager" aria-label="pages">
            {link(page - 1, page > 1, "page-prev", t("上一页", "Previous"))}
            <span data-testid="page-info">{format!("{page} / {pages}")}</span>
            {link(page + 1, page < pages, "page-next", t("下一页", "Next"))}
        </nav>
    }
}

/// An `<option>` of a filter's `<select>`, selected when `value` is the `current` one.
pub fn choice<L>(current: &str, value: &'static str, label: L) -> impl IntoView + use<L>
where
    L: Fn() -> &'static str + Send + Sync + 'static,
{
    let selected = current == value;
    view! { <option value=value selected=selected>{label}</option> }
}

/// A query parameter of the current page's address.
pub fn query_param(name: &str) -> Option<String> {
    leptos_router::hooks::use_query_map()
        .read_untracked()
        .get(name)
        .filter(|v| !v.trim().is_empty())
}

/// The `page` query parameter (1 when absent or invalid).
pub fn page_param() -> i64 {
    query_param("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1)
}
