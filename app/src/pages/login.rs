//! Sign in.

use leptos::prelude::*;

use crate::api::auth::login;
use crate::components::call::{Call, effect};
use crate::components::form::{ErrorBanner, TextField};
use crate::i18n::t;
use crate::model::AppError;

/// The sign-in page.
#[component]
pub fn LoginPage() -> impl IntoView {
    view! {
        <section class="login card">
            <h1>{t("登录", "Sign in")}</h1>
            <LoginForm />
        </section>
    }
}

/// Username and password; on success the browser goes to the overview.
#[island]
fn LoginForm() -> impl IntoView {
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let submit = Call::new(move |(u, p): &(String, String)| {
        let (u, p) = (u.clone(), p.clone());
        async move { login(u, p).await }
    });
    let error = Signal::derive(move || submit.value().get().and_then(Result::err));
    effect(move || {
        if let Some(Ok(_)) = submit.value().get() {
            crate::browser::go("/");
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        submit.dispatch((username.get_untracked(), password.get_untracked()));
    };
    view! {
            <form on:submit=on_submit data-testid="login-form">
                <TextField label=t("用户名", "Username") field="username" value=username error=error />
                <TextField
                    label=t("密码", "Password")
                    field="password"
                    value=password
                    error=error
                    input_type="password"
                />
                <ErrorBanner error=Signal::derive(move || {
                    error.get().filter(|e: &AppError| e.fields.is_empty())
                }) />
                <button type="submit" class="primary" data-testid="login-submit" disabled=move || submit.pending().get()>
                    {move || if submit.pending().get() { t("登录中…", "Signing in…")() } else { t("登录", "Sign in")() }}
                </button>
            </form>
    }
}
