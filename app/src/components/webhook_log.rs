//! An endpoint's delivery log: each attempt's time (Beijing), event, result, latency and the
//! start of the answer, newest first, with "redeliver" per event. Read when opened and every
//! two seconds while it is open and the page is on screen (deliveries happen after the reply).
//! Only made in the browser (it opens on a click), inside the webhooks island.

use leptos::prelude::*;

use crate::api::webhooks::{redeliver_webhook, webhook_deliveries};
use crate::components::call::{Call, effect};
use crate::components::form::{ErrorBanner, Loading};
use crate::i18n::t;
use crate::model::AppError;
use crate::webhooks::WebhookDelivery;

/// What an attempt came to, as shown: the status code, else the error.
pub fn outcome(d: &WebhookDelivery) -> String {
    match (d.status_code, &d.error) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, Some(error)) => error.clone(),
        (None, None) => "—".to_owned(),
    }
}

#[component]
pub fn DeliveryLog(id: i64) -> impl IntoView {
    // None while the first read is under way.
    let rows = RwSignal::new(None::<Result<Vec<WebhookDelivery>, AppError>>);
    let load = move || {
        leptos::task::spawn_local(async move {
            let fresh = webhook_deliveries(id).await;
            // A failed refresh keeps what is shown, unless nothing is.
            if fresh.is_ok() || rows.with_untracked(|r| !matches!(r, Some(Ok(_)))) {
                rows.set(Some(fresh));
            }
        });
    };
    load();
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                if crate::browser::visible() {
                    load();
                }
            },
            std::time::Duration::from_secs(2),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    }
    let redeliver = Call::new(move |event_id: &String| {
        let event_id = event_id.clone();
        async move { redeliver_webhook(id, event_id).await }
    });
    effect(move || {
        if let Some(Ok(_)) = redeliver.value().get() {
            load();
        }
    });
    let error = Signal::derive(move || redeliver.value().get().and_then(Result::err));
    let row = move |d: WebhookDelivery| {
        let event_id = d.event_id.clone();
        let label = format!("{} {}", t("重新投递", "Redeliver")(), d.event_id);
        view! {
            <tr data-testid="delivery-row" data-event-id=d.event_id.clone() data-ok=d.ok.to_string()>
                <td>{d.local_time.clone()}</td>
                <td><code>{d.event_type.clone()}</code><br /><span class="mono muted">{d.event_id.clone()}</span></td>
                <td>{d.attempt}</td>
                <td class=if d.ok { "ok" } else { "error" } data-testid="delivery-outcome">{outcome(&d)}</td>
                <td>{format!("{} ms", d.latency_ms)}</td>
                <td><code class="excerpt" data-testid="delivery-excerpt">{d.response_excerpt.clone().unwrap_or_default()}</code></td>
                <td>
                    <button type="button" class="link" data-testid="delivery-redeliver" aria-label=label
                        disabled=move || redeliver.pending().get()
                        on:click=move |_| { redeliver.dispatch(event_id.clone()); }>
                        {t("重新投递", "Redeliver")}
                    </button>
                </td>
            </tr>
        }
    };
    view! {
        <div class="webhook-log" data-testid="delivery-log">
            <h4>{t("投递记录（北京时间）", "Deliveries (Beijing time)")}</h4>
            <ErrorBanner error=error />
            {move || match rows.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert" data-testid="delivery-error">{e.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="muted" data-testid="delivery-empty">{t("还没有投递记录。", "No deliveries yet.")}</p>
                }.into_any(),
                Some(Ok(list)) => view! {
                    <div class="table-wrap">
                        <table class="table" data-testid="delivery-table">
                            <thead><tr>
                                <th scope="col">{t("时间", "Time")}</th>
                                <th scope="col">{t("事件", "Event")}</th>
                                <th scope="col">{t("第几次", "Attempt")}</th>
                                <th scope="col">{t("结果", "Result")}</th>
                                <th scope="col">{t("耗时", "Latency")}</th>
                                <th scope="col">{t("响应", "Response")}</th>
                                <th scope="col"><span class="sr-only">{t("操作", "Actions")}</span></th>
                            </tr></thead>
                            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    </div>
                }.into_any(),
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attempt_shows_its_status_else_its_error() {
        let mut d = WebhookDelivery {
            id: 1,
            event_id: "evt_1".into(),
            event_type: "webhook.test".into(),
            attempt: 1,
            ok: false,
            status_code: Some(503),
            error: None,
            latency_ms: 12,
            response_excerpt: None,
            created_at: String::new(),
            local_time: String::new(),
        };
        assert_eq!(outcome(&d), "HTTP 503");
        d.status_code = None;
        d.error = Some("connection failed".into());
        assert_eq!(outcome(&d), "connection failed");
    }
}
