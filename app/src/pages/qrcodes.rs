//! QR codes overview: the permanent quota, batch creation for many referrers, and the images
//! of chosen codes as one ZIP.

use leptos::prelude::*;

use crate::api::qrcodes::list_codes;
use crate::api::referrers::{create_qrcode, list_referrers, quota};
use crate::components::call::Call;
use crate::i18n::t;
use crate::model::{CodeEntry, CodeKind, NewQrCode, ReferrerListQuery};

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
        <CodeImages />
    }
}

/// The account's newest codes to tick, and a link to their images as one ZIP.
#[component]
fn CodeImages() -> impl IntoView {
    let codes = Resource::new(|| (), |_| list_codes());
    view! {
        <section class="card">
            <h2>{t("下载二维码图片", "Download code images")}</h2>
            <p class="muted">{t("勾选二维码，打包下载图片（文件以推荐人命名；列出最新的 500 个）。",
                "Tick codes to download their images as one ZIP (files named by referrer; the newest 500 are listed).")}</p>
            <Suspense>
                {move || codes.get().map(|r| match r {
                    Ok(list) => view! { <CodeZip codes=list /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.full_message()}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// Where the ZIP of the codes `ids` as `format` (`png` or `svg`) downloads from; None while
/// nothing is chosen.
pub fn zip_href(ids: &[i64], format: &str) -> Option<String> {
    if ids.is_empty() {
        return None;
    }
    let format = if format == "svg" { "svg" } else { "png" };
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    Some(format!(
        "/api/v1/qrcodes.zip?ids={}&format={format}",
        ids.join(",")
    ))
}

/// What a code is called in the list: referrer, label (or kind) and id.
fn code_caption(c: &CodeEntry) -> String {
    let what = c
        .label
        .clone()
        .unwrap_or_else(|| c.kind.as_str().to_owned());
    format!("{} · {what} · #{}", c.referrer_name, c.id)
}

/// The event a batch creation announces, on which the ZIP list reads the codes again.
const CODES_CHANGED: &str = "tuijian:codes-changed";

/// Checkboxes for the codes, all or none at once, PNG or SVG, and the download link (its
/// address follows the choice). The list reads the codes again after a batch creation.
#[island]
fn CodeZip(codes: Vec<CodeEntry>) -> impl IntoView {
    let codes = RwSignal::new(codes);
    crate::browser::on_change(CODES_CHANGED, move || {
        leptos::task::spawn_local(async move {
            if let Ok(list) = list_codes().await {
                codes.set(list);
            }
        });
    });
    let all = move || codes.with(|c| c.iter().map(|c| c.id).collect::<Vec<i64>>());
    let count = move || codes.with(Vec::len);
    let selected = RwSignal::new(Vec::<i64>::new());
    let format = RwSignal::new("png".to_owned());
    let (select_all, select_none) = (t("全选", "Select all"), t("全不选", "Select none"));
    let download = t("下载所选二维码 ZIP", "Download selected (ZIP)");
    let none = move || selected.with(Vec::is_empty);
    let toggle = move |id: i64, on: bool| {
        selected.update(|s| {
            s.retain(|x| *x != id);
            if on {
                s.push(id);
            }
        })
    };
    view! {
        {move || codes.with(Vec::is_empty).then(|| view! {
            <p class="empty" data-testid="zip-empty">{t("还没有二维码。", "No QR codes yet.")}</p>
        })}
        <div class="actions" class:hidden=move || codes.with(Vec::is_empty)>
            <button type="button" data-testid="zip-select-all"
                on:click=move |_| {
                    let all = all();
                    selected.update(|s| if s.len() == all.len() { s.clear() } else { *s = all });
                }>
                {move || if selected.with(Vec::len) == count() { select_none() } else { select_all() }}
            </button>
            <label class="inline">
                {t("格式", "Format")}
                <select data-testid="zip-format" on:change=move |ev| format.set(event_target_value(&ev))>
                    <option value="png">"PNG"</option>
                    <option value="svg">"SVG"</option>
                </select>
            </label>
            <a data-testid="zip-download" download
                class=move || if none() { "button primary disabled" } else { "button primary" }
                aria-disabled=move || none().to_string()
                href=move || selected.with(|ids| format.with(|f| zip_href(ids, f)))>
                {move || format!("{} ({})", download(), selected.with(Vec::len))}
            </a>
        </div>
        <ul class="checklist" data-testid="zip-list">
            {move || codes.get().into_iter().map(|c| {
                let id = c.id;
                view! {
                    <li><label>
                        <input type="checkbox" data-testid="zip-check" value=id.to_string()
                            prop:checked=move || selected.with(|s| s.contains(&id))
                            on:change=move |ev| toggle(id, event_target_checked(&ev)) />
                        {code_caption(&c)}
                    </label></li>
                }
            }).collect_view()}
        </ul>
    }
}

#[cfg(test)]
mod tests {
    use super::zip_href;

    #[test]
    fn the_zip_link_follows_the_choice() {
        assert_eq!(zip_href(&[], "png"), None);
        assert_eq!(
            zip_href(&[3, 1], "svg").as_deref(),
            Some("/api/v1/qrcodes.zip?ids=3,1&format=svg")
        );
        assert_eq!(
            zip_href(&[7], "gif").as_deref(),
            Some("/api/v1/qrcodes.zip?ids=7&format=png")
        );
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
    let batch = Call::new(move |(ids, kind): &(Vec<i64>, CodeKind)| {
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
                    scene_type: None,
                    wechat_tag: None,
                };
                if let Err(e) = create_qrcode(id, input).await {
                    failures.update(|f| f.push(format!("#{id}: {}", e.message)));
                }
                done.update(|d| *d += 1);
            }
            crate::browser::refresh();
            crate::browser::changed(CODES_CHANGED);
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
            <label class="inline">
                {t("类型", "Kind")}
                <select data-testid="batch-kind" on:change=move |ev| kind.set(CodeKind::parse(&event_target_value(&ev)).unwrap_or(CodeKind::Permanent))>
                    <option value=CodeKind::Permanent.as_str()>{t("永久", "Permanent")}</option>
                    <option value=CodeKind::Temporary.as_str()>{t("临时 30 天", "Temporary, 30 days")}</option>
                </select>
            </label>
            <button class="primary" data-testid="batch-create"
                disabled=move || selected.get().is_empty() || batch.pending().get()
                on:click=move |_| { batch.dispatch((selected.get_untracked(), kind.get_untracked())); }>
                {move || format!("{} ({})", t("生成", "Create")(), selected.get().len())}
            </button>
        </div>
        {move || (total.get() > 0).then(|| view! {
            <progress data-testid="batch-progress" max=move || total.get() value=move || done.get()></progress>
            <p data-testid="batch-status">{move || format!("{} / {}", done.get(), total.get())}</p>
            {move || failures.get().into_iter().map(|f| view! { <p class="error">{f}</p> }).collect_view()}
        })}
    }
}
