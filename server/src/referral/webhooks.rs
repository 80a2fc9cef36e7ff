//! Webhooks (admin, per account): endpoints with a URL, the events they take and a secret
//! (shown once, on creation and rotation); a test event; the delivery log and redelivery.
//! Delivering is [`crate::webhooks`]; emitting the events is done where they happen, in the
//! statements of [`crate::db::webhooks`].

use app::model::{FieldError, Role};
use app::webhooks::{
    MAX_ENDPOINTS, QueuedEvent, WebhookDelivery, WebhookEndpoint, WebhookInput, WebhookWithSecret,
};
use chrono::{DateTime, FixedOffset, Utc};
use sqlx::PgPool;

use crate::db::webhooks::{self as store, DeliveryRow, EndpointRow};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::views::rfc3339;
use crate::webhooks::{ROTATION_OVERLAP, sign, ssrf};

/// Delivery attempts listed per endpoint.
const LOG_ROWS: i64 = 100;

fn view(row: EndpointRow) -> WebhookEndpoint {
    let rotating = row
        .previous_secret_until
        .filter(|until| *until > Utc::now() && row.previous_secret.is_some());
    WebhookEndpoint {
        id: row.id,
        url: row.url,
        events: row.events,
        allow_private: row.allow_private,
        enabled: row.enabled,
        disabled_reason: row.disabled_reason,
        consecutive_failures: row.consecutive_failures,
        previous_secret_until: rotating.map(rfc3339),
        created_at: rfc3339(row.created_at),
    }
}

fn beijing(t: DateTime<Utc>) -> String {
    let cst = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    t.with_timezone(&cst)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn delivery(row: DeliveryRow) -> WebhookDelivery {
    WebhookDelivery {
        id: row.id,
        event_id: row.event_id,
        event_type: row.event_type,
        attempt: row.attempt,
        ok: row.ok,
        status_code: row.status_code,
        error: row.error,
        latency_ms: row.latency_ms,
        response_excerpt: row.response_excerpt,
        created_at: rfc3339(row.created_at),
        local_time: beijing(row.created_at),
    }
}

/// The input checked: the trimmed URL and the events (known, each once, in the documented
/// order), or every field's error. The destination's addresses are checked by [`checked`].
pub fn validate(input: &WebhookInput) -> Result<(String, Vec<String>), ServiceError> {
    let mut errors = Vec::new();
    let url = match ssrf::parse_url(&input.url) {
        Ok(url) => Some(url.to_string()),
        Err(message) => {
            errors.push(FieldError {
                field: "url".into(),
                message: message.into(),
            });
            None
        }
    };
    let unknown = input.events.iter().find(|e| !app::webhooks::is_event(e));
    let events: Vec<String> = app::webhooks::EVENTS
        .iter()
        .map(|(e, ..)| *e)
        .filter(|e| input.events.iter().any(|chosen| chosen == e))
        .map(str::to_owned)
        .collect();
    let events_error = match unknown {
        Some(e) => Some(format!(
            "未知的事件 {e} / Unknown event {e:?}",
            e = e.chars().take(40).collect::<String>()
        )),
        None if events.is_empty() => {
            Some("请至少选择一个事件 / Choose at least one event".to_owned())
        }
        None => None,
    };
    if let Some(message) = events_error {
        errors.push(FieldError {
            field: "events".into(),
            message,
        });
    }
    match url {
        Some(url) if errors.is_empty() => Ok((url, events)),
        _ => Err(ServiceError::Validation(errors)),
    }
}

/// [`validate`], then the SSRF rule on the addresses the host has now (unless private ones
/// are allowed).
async fn checked(input: &WebhookInput) -> Result<(String, Vec<String>), ServiceError> {
    let (url, events) = validate(input)?;
    if !input.allow_private {
        let parsed = ssrf::parse_url(&url).map_err(|m| ServiceError::field("url", m))?;
        if let Err(refused) = ssrf::check(&parsed).await {
            return Err(ServiceError::field(
                "url",
                format!(
                    "不允许发送到内网、本机或链路本地地址（{}）；如确需，请勾选“允许私有地址” / {refused}",
                    refused.addr
                ),
            ));
        }
    }
    Ok((url, events))
}

async fn audit(
    pool: &PgPool,
    actor: &Actor,
    action: &str,
    id: i64,
    detail: serde_json::Value,
) -> Result<(), ServiceError> {
    let mut tx = pool.begin().await?;
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        action,
        id,
        detail,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The account's endpoints, oldest first (admin; never their secrets).
pub async fn list(pool: &PgPool, actor: &Actor) -> Result<Vec<WebhookEndpoint>, ServiceError> {
    actor.require(Role::Admin)?;
    Ok(store::list(pool, actor.account_id)
        .await?
        .into_iter()
        .map(view)
        .collect())
}

/// One endpoint of the account (admin).
pub async fn get(pool: &PgPool, actor: &Actor, id: i64) -> Result<WebhookEndpoint, ServiceError> {
    actor.require(Role::Admin)?;
    store::get(pool, actor.account_id, id)
        .await?
        .map(view)
        .ok_or(ServiceError::NotFound("webhook"))
}

/// Adds an endpoint with a new secret, returned this once (admin; at most
/// [`MAX_ENDPOINTS`] per account).
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    input: &WebhookInput,
) -> Result<WebhookWithSecret, ServiceError> {
    actor.require(Role::Admin)?;
    let (url, events) = checked(input).await?;
    let secret = sign::new_secret();
    let mut tx = pool.begin().await?;
    let max = MAX_ENDPOINTS as i64;
    let id = store::insert(
        &mut tx,
        actor.account_id,
        &url,
        &events,
        input.allow_private,
        &secret,
        max,
    )
    .await?
    .ok_or_else(|| ServiceError::Conflict {
        code: "webhook_limit",
        message: format!(
            "每个公众号最多 {MAX_ENDPOINTS} 个 Webhook / At most {MAX_ENDPOINTS} webhooks per account"
        ),
    })?;
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        "webhook.create",
        id,
        serde_json::json!({"url": url, "events": events, "allow_private": input.allow_private}),
    )
    .await?;
    tx.commit().await?;
    Ok(WebhookWithSecret {
        endpoint: get(pool, actor, id).await?,
        secret,
    })
}

/// Changes an endpoint's URL, events and address rule (admin).
pub async fn update(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    input: &WebhookInput,
) -> Result<WebhookEndpoint, ServiceError> {
    actor.require(Role::Admin)?;
    let (url, events) = checked(input).await?;
    let mut conn = pool.acquire().await?;
    if !store::update(
        &mut conn,
        actor.account_id,
        id,
        &url,
        &events,
        input.allow_private,
    )
    .await?
    {
        return Err(ServiceError::NotFound("webhook"));
    }
    drop(conn);
    let detail =
        serde_json::json!({"url": url, "events": events, "allow_private": input.allow_private});
    audit(pool, actor, "webhook.update", id, detail).await?;
    get(pool, actor, id).await
}

/// Enables (the failure count starts again) or disables an endpoint (admin).
pub async fn set_enabled(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<WebhookEndpoint, ServiceError> {
    actor.require(Role::Admin)?;
    let mut conn = pool.acquire().await?;
    if !store::set_enabled(&mut conn, actor.account_id, id, enabled).await? {
        return Err(ServiceError::NotFound("webhook"));
    }
    drop(conn);
    let action = if enabled {
        "webhook.enable"
    } else {
        "webhook.disable"
    };
    audit(pool, actor, action, id, serde_json::json!({})).await?;
    get(pool, actor, id).await
}

/// A new secret, returned this once; the old one keeps signing for 24 hours (admin).
pub async fn rotate(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
) -> Result<WebhookWithSecret, ServiceError> {
    actor.require(Role::Admin)?;
    let secret = sign::new_secret();
    let until = Utc::now() + ROTATION_OVERLAP;
    let mut conn = pool.acquire().await?;
    if !store::rotate(&mut conn, actor.account_id, id, &secret, until).await? {
        return Err(ServiceError::NotFound("webhook"));
    }
    drop(conn);
    let detail = serde_json::json!({"previous_valid_until": rfc3339(until)});
    audit(pool, actor, "webhook.rotate", id, detail).await?;
    Ok(WebhookWithSecret {
        endpoint: get(pool, actor, id).await?,
        secret,
    })
}

/// Removes an endpoint and its log (admin).
pub async fn delete(pool: &PgPool, actor: &Actor, id: i64) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    let url = get(pool, actor, id).await?.url;
    let mut conn = pool.acquire().await?;
    if !store::delete(&mut conn, actor.account_id, id).await? {
        return Err(ServiceError::NotFound("webhook"));
    }
    drop(conn);
    audit(
        pool,
        actor,
        "webhook.delete",
        id,
        serde_json::json!({"url": url}),
    )
    .await
}

/// Queues a `webhook.test` event to this endpoint, whatever it subscribes to (admin; enabled
/// endpoints only, like real events).
pub async fn send_test(pool: &PgPool, actor: &Actor, id: i64) -> Result<QueuedEvent, ServiceError> {
    let endpoint = get(pool, actor, id).await?;
    if !endpoint.enabled {
        return Err(disabled());
    }
    let data = serde_json::json!({
        "endpoint_id": id,
        "message": "来自推荐的测试事件 / A test event from tuijian",
    });
    let mut tx = pool.begin().await?;
    let event_id =
        crate::db::webhook_events::emit_test(&mut tx, actor.account_id, id, &data).await?;
    tx.commit().await?;
    Ok(QueuedEvent { event_id })
}

fn disabled() -> ServiceError {
    ServiceError::Conflict {
        code: "webhook_disabled",
        message: "此 Webhook 已停用，请先启用 / This webhook is disabled; enable it first".into(),
    }
}

/// The endpoint's latest delivery attempts, newest first (admin).
pub async fn deliveries(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
) -> Result<Vec<WebhookDelivery>, ServiceError> {
    get(pool, actor, id).await?;
    Ok(store::deliveries(pool, actor.account_id, id, LOG_ROWS)
        .await?
        .into_iter()
        .map(delivery)
        .collect())
}

/// Delivers an event of the endpoint's log again, with the same id (admin).
pub async fn redeliver(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    event_id: &str,
) -> Result<QueuedEvent, ServiceError> {
    let endpoint = get(pool, actor, id).await?;
    if event_id.len() > 64 || !store::event_for(pool, actor.account_id, id, event_id).await? {
        return Err(ServiceError::NotFound("webhook event"));
    }
    if !endpoint.enabled {
        return Err(disabled());
    }
    let mut tx = pool.begin().await?;
    crate::db::webhook_events::enqueue(&mut tx, actor.account_id, id, event_id).await?;
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        "webhook.redeliver",
        id,
        serde_json::json!({"event_id": event_id}),
    )
    .await?;
    tx.commit().await?;
    Ok(QueuedEvent {
        event_id: event_id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, events: &[&str]) -> WebhookInput {
        WebhookInput {
            url: url.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            allow_private: false,
        }
    }

    fn fields(result: Result<(String, Vec<String>), ServiceError>) -> Vec<String> {
        match result {
            Err(ServiceError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("not a validation error: {other:?}"),
        }
    }

    #[test]
    fn bad_urls_and_event_sets_name_their_fields() {
        assert_eq!(fields(validate(&input("ftp://x", &[]))), ["url", "events"]);
        assert_eq!(
            fields(validate(&input("https://example.com", &["referral.*"]))),
            ["events"]
        );
        assert_eq!(
            fields(validate(&input("nope", &["referral.created"]))),
            ["url"]
        );
    }

    #[test]
    fn events_are_kept_once_in_the_documented_order() {
        let (url, events) = validate(&input(
            " https://example.com/hook ",
            &["referral.lost", "referral.created", "referral.lost"],
        ))
        .expect("valid");
        assert_eq!(url, "https://example.com/hook");
        assert_eq!(events, ["referral.created", "referral.lost"]);
    }

    #[test]
    fn log_times_are_beijing_time() {
        let t = DateTime::parse_from_rfc3339("2026-12-03T16:30:05Z")
            .expect("time")
            .with_timezone(&Utc);
        assert_eq!(beijing(t), "2026-12-04 00:30:05");
    }
}
