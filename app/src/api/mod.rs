//! Server functions, one file per area: thin wrappers of auth check → service call.

pub mod accounts;
pub mod auth;
pub mod campaigns;
pub mod codec;
pub mod member;
pub mod menu;
pub mod privacy;
pub mod qrcodes;
pub mod reconcile;
pub mod referrers;
pub mod reports;
pub mod review;
pub mod sandbox;
pub mod settings;
pub mod setup;
pub mod system;
pub mod users;
pub mod webhooks;

/// A `Set-Cookie` value: HttpOnly and SameSite=Lax always, `Secure` when the site is served
/// over HTTPS (`PUBLIC_URL`), so the browser never sends it in clear; `max_age` 0 clears it.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// Server-side helpers shared by the server functions.
#[cfg(feature = "ssr")]
pub mod guard {
    use crate::model::{AppError, CurrentUser};
    use crate::service::Service;

    /// Name of the session cookie (the server sets it).
    pub const SESSION_COOKIE: &str = "tj_session";

    /// The service from context.
    pub fn service() -> Result<Service, AppError> {
        leptos::prelude::use_context::<Service>()
            .ok_or_else(|| AppError::new("unavailable", "service unavailable"))
    }

    fn parts() -> Option<http::request::Parts> {
        leptos::prelude::use_context::<http::request::Parts>()
    }

    /// The session cookie of the current request.
    pub fn session_cookie() -> Option<String> {
        let parts = parts()?;
        let header = parts.headers.get(http::header::COOKIE)?.to_str().ok()?;
        header
            .split(';')
            .filter_map(|p| p.trim().split_once('='))
            .find(|(k, _)| *k == SESSION_COOKIE)
            .map(|(_, v)| v.to_owned())
    }

    /// Refuses cross-site requests: an `Origin` header must name this host.
    pub fn same_origin() -> Result<(), AppError> {
        let Some(parts) = parts() else {
            return Ok(());
        };
        let Some(origin) = parts.headers.get(http::header::ORIGIN) else {
            return Ok(());
        };
        let host = parts
            .headers
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        let origin = origin.to_str().unwrap_or_default();
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if !host.is_empty() && origin_host == host {
            Ok(())
        } else {
            Err(AppError::new("cross_site", "cross-site request refused"))
        }
    }

    /// Gives an error answer a fitting HTTP status instead of 500 (expected failures such as
    /// validation are not server errors).
    pub fn finish<T>(result: Result<T, AppError>) -> Result<T, AppError> {
        if let Err(e) = &result {
            answer_status(e);
        }
        result
    }

    /// Sets the response's status for `e` by its code ([`AppError::status`]).
    pub fn answer_status(e: &AppError) {
        let status = http::StatusCode::from_u16(e.status())
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(resp) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            resp.set_status(status);
        }
    }

    /// The user a page request was signed in as, put into the request by the server's
    /// sign-in check: the server functions a page calls while it renders use it instead of
    /// looking the session up again each.
    #[derive(Clone, Debug)]
    pub struct SignedIn(pub CurrentUser);

    /// The signed-in user and the service. The service checks the user's role for each call.
    pub async fn user() -> Result<(Service, CurrentUser), AppError> {
        same_origin()?;
        let service = service()?;
        let checked = parts().and_then(|p| p.extensions.get::<SignedIn>().cloned());
        if let Some(SignedIn(user)) = checked {
            return Ok((service, user));
        }
        let cookie = session_cookie().ok_or_else(AppError::unauthorized)?;
        let user = service
            .session_user(&cookie)
            .await
            .ok_or_else(AppError::unauthorized)?;
        Ok((service, user))
    }
}
