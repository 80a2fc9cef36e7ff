//! QR codes overview: the permanent quota and batch creation for many referrers.

use leptos::prelude::*;

use crate::api::referrers::{create_qrcode, list_referrers, quota};
use crate::i18n::t;
use crate::model::{CodeKind, NewQrCode, ReferrerListQuery};

/// The quota, and a batch of codes for selected referrers with a progress bar.
#[component]
pub fn QrCodesPage() -> impl IntoView {
    let quota = Resource::new(|| (), |_| quota());
    let referrers = Resource::new(
        || (),
        |_| {
            list_referrers(ReferrerListQuery {
                page: 1,
                sort: Some("name".into()),
                ..ReferrerListQuery::default()
            })
        },
    );
    view! {
        <h1>{t("二维码", "QR codes")}</h1>
        <div data-live="quota">
            <Suspense>
                {move || quota.get().map(|r| match r {
                    Ok(q) => view! {
                        <p class="card" data-testid="quota">
                            {t("永久二维码已用 ", "Permanent codes used: ")}
                            <strong data-testid="quota-used">{q.used}</strong>
                            " / " {q.limit}
                        </p>
                    }.into_any(),
                    Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                })}
            </Suspense>
        </div>
        <section class="card">
            <h2>{t("批量生成", "Batch creation")}</h2>
            <p class="muted">{t("为选中的推荐人各生成一个二维码（单个生成请到推荐人详情页）。",
                "Creates one code for each selected referrer (for one code, open the referrer's page).")}</p>
            <Suspense>
                {move || referrers.get().map(|r| match r {
                    Ok(p) => {
                        let choices: Vec<(i64, String)> = p
                            .items
                            .into_iter()
                            .filter(|r| !r.archived)
                            .map(|r| (r.id, r.name))
                            .collect();
                        if choices.is_empty() {
                            view! {
                                <p class="empty" data-testid="batch-empty">{t("还没有推荐人。", "No referrers yet.")}</p>
                            }.into_any()
                        } else {
                            view! { <BatchCreate choices=choices /> }.into_any()
                        }
                    }
                    Err(e) => view! { <p class="error">{e.message}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Checkboxes for the referrers (id, name), the kind, and the batch's progress; the quota above
/// refreshes when the batch is done.
#[island]
fn BatchCreate(choices: Vec<(i64, String)>) -> impl IntoView {
    let selected = RwSignal::new(Vec::<i64>::new());
    let kind = RwSignal::new(CodeKind::Permanent);
    let done = RwSignal::new(0usize);
    let total = RwSignal::new(0usize);
    let failures = RwSignal::new(Vec::<String>::new());
    let batch = Action::new(move |(ids, kind): &(Vec<i64>, CodeKind)| {
        let (ids, kind) = (ids.clone(), *kind);
        async move {
            total.set(ids.len());
            done.set(0);
            failures.set(Vec::new());
            for id in ids {
                let input = NewQrCode {
                    kind: kind.as_str().into(),
                    expire_seconds: None,
                    label: Some("批量 batch".into()),
                };
                if let Err(e) = create_qrcode(id, input).await {
                    failures.update(|f| f.push(format!("#{id}: {}", e.message)));
                }
                done.update(|d| *d += 1);
            }
            crate::browser::refresh();
        }
    });
    let toggle = move |id: i64, on: bool| {
        selected.update(|s| {
            s.retain(|x| *x != id);
            if on {
                s.push(id);
            }
        })
    };
    view! {
        <ul class="checklist" data-testid="batch-list">
            {choices.into_iter().map(|(id, name)| {
                view! {
                    <li><label>
                        <input type="checkbox" data-testid="batch-check"
                            on:change=move |ev| toggle(id, event_target_checked(&ev)) />
                        {name}
                    </label></li>
                }
            }).collect_view()}
        </ul>
        <div class="actions">
            <select data-testid="batch-kind" on:change=move |ev| kind.set(CodeKind::parse(&event_target_value(&ev)).unwrap_or(CodeKind::Permanent))>
                <option value=CodeKind::Permanent.as_str()>{t("永久", "Permanent")}</option>
                <option value=CodeKind::Temporary.as_str()>{t("临时 30 天", "Temporary, 30 days")}</option>
            </select>
            <button class="primary" data-testid="batch-create"
                disabled=move || selected.get().is_empty() || batch.pending().get()
                on:click=move |_| { batch.dispatch((selected.get_untracked(), kind.get_untracked())); }>
                {move || format!("{} ({})", t("生成", "Create")(), selected.get().len())}
            </button>
        </div>
        <Show when=move || { total.get() > 0 }>
            <progress data-testid="batch-progress" max=move || total.get() value=move || done.get()></progress>
            <p data-testid="batch-status">{move || format!("{} / {}", done.get(), total.get())}</p>
            {move || failures.get().into_iter().map(|f| view! { <p class="error">{f}</p> }).collect_view()}
        </Show>
    }
}
