//! Login, logout and the current user.

use leptos::prelude::*;

use crate::model::{AppError, CurrentUser};

/// How long the session cookie lasts (the server's sessions last as long).
pub const SESSION_SECONDS: i64 = 7 * 86_400;

/// Signs in and sets the session cookie; then goes to the overview.
#[server(prefix = "/sfn", endpoint = "login", output = crate::api::codec::JsonAnswer)]
pub async fn login(username: String, password: String) -> Result<CurrentUser, AppError> {
    use crate::api::guard;
    guard::finish(guard::same_origin())?;
    let service = guard::service()?;
    let (user, cookie) = guard::finish(service.login(&username, &password).await)?;
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        let value = crate::api::set_cookie(
            guard::SESSION_COOKIE,
            &cookie,
            "/",
            SESSION_SECONDS,
            service.secure_cookies(),
        );
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            resp.append_header(http::header::SET_COOKIE, v);
        }
    }
    Ok(user)
}

/// Ends the session.
#[server(prefix = "/sfn", endpoint = "logout", output = crate::api::codec::JsonAnswer)]
pub async fn logout() -> Result<(), AppError> {
    use crate::api::guard;
    guard::same_origin()?;
    let service = guard::service()?;
    if let Some(cookie) = guard::session_cookie() {
        service.logout(&cookie).await;
    }
    if let Some(resp) = use_context::<leptos_axum::ResponseOptions>() {
        let value =
            crate::api::set_cookie(guard::SESSION_COOKIE, "", "/", 0, service.secure_cookies());
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            resp.append_header(http::header::SET_COOKIE, v);
        }
    }
    Ok(())
}

/// The signed-in user, if any.
#[server(prefix = "/sfn", endpoint = "me", output = crate::api::codec::JsonAnswer)]
pub async fn whoami() -> Result<Option<CurrentUser>, AppError> {
    use crate::api::guard;
    let service = guard::service()?;
    Ok(match guard::session_cookie() {
        Some(cookie) => service.session_user(&cookie).await,
        None => None,
    })
}
