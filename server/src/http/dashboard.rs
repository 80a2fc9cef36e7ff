//! File uploads from the dashboard's plain forms (they work without the WASM bundle): a
//! campaign's poster background and its coupon stock. The session cookie is the credential
//! (SameSite=Lax: a cross-site form never carries it) and a cross-site `Origin` is refused;
//! each answers with a redirect back to the campaign's page, saying what happened.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::{campaigns, users};
use crate::startup::AppState;

/// The largest upload taken (a background at its limit, with the form around it).
pub const MAX_UPLOAD_BYTES: usize = app::campaigns::MAX_BACKGROUND_BYTES + 64 * 1024;

/// The signed-in caller, if the request is same-origin and carries a live session.
async fn caller(state: &AppState, headers: &HeaderMap) -> Option<Actor> {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        let origin_host = origin.split_once("://").map_or(origin, |(_, h)| h);
        if Some(origin_host) != host {
            return None;
        }
    }
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(users::cookie_value)?;
    let user = users::session_user(&state.pool, cookie).await.ok()??;
    Some(Actor::user(&user))
}

/// Back to the campaign's page with `query` (already encoded).
fn back(id: i64, query: &str) -> Response {
    Redirect::to(&format!("/campaigns/{id}?{query}")).into_response()
}

fn failed(id: i64, e: ServiceError) -> Response {
    let e = app::model::AppError::from(e);
    let message = e.full_message();
    let query: String = form_urlencoded_pair("error", &message);
    back(id, &query)
}

fn form_urlencoded_pair(key: &str, value: &str) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair(key, value)
        .finish()
}

/// The fields of a multipart form: `(name, bytes)`.
async fn fields(mut form: Multipart) -> Result<Vec<(String, Vec<u8>)>, ServiceError> {
    let mut out = Vec::new();
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or_default().to_owned();
                let bytes = field.bytes().await.map_err(|e| {
                    ServiceError::field("file", format!("上传失败 / The upload failed: {e}"))
                })?;
                out.push((name, bytes.to_vec()));
            }
            Ok(None) => return Ok(out),
            Err(e) => {
                return Err(ServiceError::field(
                    "file",
                    format!("上传失败 / The upload failed: {e}"),
                ));
            }
        }
    }
}

fn file(fields: &[(String, Vec<u8>)]) -> Result<&[u8], ServiceError> {
    fields
        .iter()
        .find(|(name, bytes)| name == "file" && !bytes.is_empty())
        .map(|(_, bytes)| bytes.as_slice())
        .ok_or_else(|| ServiceError::field("file", "请选择文件 / Choose a file"))
}

/// Runs an upload for the signed-in caller and redirects back with what it came to.
async fn upload<F, Fut>(
    state: AppState,
    id: i64,
    headers: &HeaderMap,
    form: Multipart,
    f: F,
) -> Response
where
    F: FnOnce(AppState, Actor, Vec<(String, Vec<u8>)>) -> Fut,
    Fut: std::future::Future<Output = Result<String, ServiceError>>,
{
    let Some(actor) = caller(&state, headers).await else {
        return Redirect::to("/login").into_response();
    };
    let result = match fields(form).await {
        Ok(fields) => f(state, actor, fields).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(query) => back(id, &query),
        Err(e) => failed(id, e),
    }
}

/// `POST /dashboard/campaigns/{id}/background` (`file`: PNG or JPEG).
pub async fn upload_background(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    upload(
        state,
        id,
        &headers,
        form,
        async move |state, actor, fields| {
            campaigns::set_background(&state.pool, &actor, id, file(&fields)?).await?;
            Ok("uploaded=background".to_owned())
        },
    )
    .await
}

/// `POST /dashboard/campaigns/{id}/coupons` (`milestone`: its id; `file`: the CSV).
pub async fn upload_coupons(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    form: Multipart,
) -> Response {
    upload(
        state,
        id,
        &headers,
        form,
        async move |state, actor, fields| {
            let milestone = fields
                .iter()
                .find(|(name, _)| name == "milestone")
                .and_then(|(_, v)| std::str::from_utf8(v).ok()?.trim().parse::<i64>().ok())
                .ok_or_else(|| {
                    ServiceError::field("milestone", "请选择目标 / Choose a milestone")
                })?;
            let text = std::str::from_utf8(file(&fields)?).map_err(|_| {
                ServiceError::field("file", "CSV 须为 UTF-8 / The CSV must be UTF-8")
            })?;
            let (added, duplicates) =
                campaigns::add_coupons(&state.pool, &actor, id, milestone, text).await?;
            Ok(format!(
                "uploaded=coupons&added={added}&duplicates={duplicates}"
            ))
        },
    )
    .await
}
