//! Actions on the referrer list: restoring an archived referrer from its row, and bulk actions
//! (archive, restore, add a tag, create codes) on the rows picked with their checkboxes.
//!
//! The rows are server-rendered in a live region (`data-live="referrers"`), which a search or
//! a change refreshes in place, and islands never sit inside one. So the checkboxes and the
//! restore buttons are plain HTML (`input[data-bulk-id]`, `input[data-bulk-all]`,
//! `button[data-restore-id]`) and the island beside the region listens to them through the
//! window; when a refresh replaces the rows, the ones still on the page stay picked.

use leptos::prelude::*;

use crate::api::referrers::{bulk_archive, bulk_codes, bulk_restore, bulk_tag, restore_referrer};
use crate::components::call::{Call, effect};
use crate::components::confirm::ConfirmDialog;
use crate::components::form::ErrorBanner;
use crate::i18n::{Lang, t, use_lang};
use crate::model::{AppError, BulkOutcome, NewQrCode};

/// A bulk action of the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BulkKind {
    Archive,
    Restore,
    Tag,
    Codes,
}

/// A picked row: the referrer's id and whether it is archived.
pub type Picked = (i64, bool);

/// "已选 N 位" in the current language.
pub fn selected_text(lang: Lang, n: usize) -> String {
    match (lang, n) {
        (Lang::Zh, 0) => "未选择推荐人（勾选下方的行）".to_owned(),
        (Lang::Zh, n) => format!("已选 {n} 位"),
        (Lang::En, 0) => "No referrer selected (tick rows below)".to_owned(),
        (Lang::En, n) => format!("{n} selected"),
    }
}

/// What a bulk action did, in one sentence (with the referrers that failed and why).
pub fn summary(lang: Lang, kind: BulkKind, tag: &str, o: &BulkOutcome) -> String {
    let (done, same, missing) = (o.done.len(), o.unchanged.len(), o.missing.len());
    let mut parts = vec![match (lang, kind) {
        (Lang::Zh, BulkKind::Archive) => format!("已归档 {done} 位"),
        (Lang::Zh, BulkKind::Restore) => format!("已恢复 {done} 位"),
        (Lang::Zh, BulkKind::Tag) => format!("已为 {done} 位添加标签「{tag}」"),
        (Lang::Zh, BulkKind::Codes) => format!("已生成 {done} 个二维码"),
        (Lang::En, BulkKind::Archive) => format!("Archived {done}"),
        (Lang::En, BulkKind::Restore) => format!("Restored {done}"),
        (Lang::En, BulkKind::Tag) => format!("Tagged {done} with “{tag}”"),
        (Lang::En, BulkKind::Codes) => format!("Created {done} QR codes"),
    }];
    if same > 0 {
        parts.push(match (lang, kind) {
            (Lang::Zh, BulkKind::Tag) => format!("{same} 位已有此标签"),
            (Lang::Zh, _) => format!("{same} 位无需更改"),
            (Lang::En, BulkKind::Tag) => format!("{same} already had it"),
            (Lang::En, _) => format!("{same} unchanged"),
        });
    }
    if missing > 0 {
        parts.push(match lang {
            Lang::Zh => format!("{missing} 位未找到"),
            Lang::En => format!("{missing} not found"),
        });
    }
    if !o.failed.is_empty() {
        let who: Vec<String> = o
            .failed
            .iter()
            .map(|f| format!("{}（{}）", f.name, f.message))
            .collect();
        parts.push(match lang {
            Lang::Zh => format!("{} 位失败：{}", o.failed.len(), who.join("；")),
            Lang::En => format!("{} failed: {}", o.failed.len(), who.join("; ")),
        });
    }
    let sep = if lang == Lang::Zh { "，" } else { ", " };
    parts.join(sep)
}

/// The list's actions: restore buttons on archived rows (for everyone), and, when `bulk`
/// (managers and admins), the bar of bulk actions on the picked rows.
#[island]
pub fn ListActions(bulk: bool) -> impl IntoView {
    let selected = RwSignal::new(Vec::<Picked>::new());
    let restore_one = Call::new(move |id: &i64| restore_referrer(*id));
    #[cfg(feature = "hydrate")]
    dom::watch(selected, restore_one);
    let restored = move || {
        restore_one.value().get().map(|r| match r {
            Ok(r) => view! {
                <p class="ok" role="status" data-testid="restore-ok">{t("已恢复：", "Restored: ")}{r.name}</p>
            }
            .into_any(),
            Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
        })
    };
    effect(move || {
        if let Some(Ok(_)) = restore_one.value().get() {
            crate::browser::refresh();
        }
    });
    view! {
        <div class="list-actions">
            {restored}
            {bulk.then(|| view! { <BulkBar selected=selected /> })}
        </div>
    }
}

/// The bulk bar: how many rows are picked and what to do with them.
#[component]
fn BulkBar(selected: RwSignal<Vec<Picked>>) -> impl IntoView {
    let lang = use_lang();
    let tag = RwSignal::new(String::new());
    let confirm = RwSignal::new(false);
    let run = Call::new(move |(kind, ids, tag): &(BulkKind, Vec<i64>, String)| {
        let (kind, ids, tag) = (*kind, ids.clone(), tag.clone());
        async move {
            let outcome = match kind {
                BulkKind::Archive => bulk_archive(ids).await,
                BulkKind::Restore => bulk_restore(ids).await,
                BulkKind::Tag => bulk_tag(ids, tag.clone()).await,
                BulkKind::Codes => {
                    let input = NewQrCode {
                        kind: "permanent".into(),
                        expire_seconds: None,
                        label: None,
                        scene_type: None,
                        wechat_tag: None,
                    };
                    bulk_codes(ids, input).await
                }
            };
            outcome.map(|o| (kind, tag, o))
        }
    });
    effect(move || {
        if let Some(Ok((kind, ..))) = run.value().get() {
            if kind == BulkKind::Tag {
                tag.set(String::new());
            }
            crate::browser::refresh();
        }
    });
    let ids = move || selected.with_untracked(|s| s.iter().map(|(id, _)| *id).collect::<Vec<_>>());
    let count = move || selected.with(Vec::len);
    let archived = move || selected.with(|s| s.iter().filter(|(_, a)| *a).count());
    let busy = run.pending();
    let none = move || count() == 0 || busy.get();
    let error = Signal::derive(move || run.value().get().and_then(Result::err));
    let tag_error = move || error.get().and_then(|e| e.field("tag"));
    let general = Signal::derive(move || {
        error
            .get()
            .filter(|e| e.field("tag").is_none())
            .map(|e| AppError {
                message: e.full_message(),
                ..e
            })
    });
    let result = move || {
        run.value()
            .get()
            .and_then(Result::ok)
            .map(|(kind, tag, o)| summary(lang.get(), kind, &tag, &o))
    };
    let archive_now = Callback::new(move |_: ()| {
        confirm.set(false);
        run.dispatch((BulkKind::Archive, ids(), String::new()));
    });
    let title_text = t("归档推荐人？", "Archive referrers?");
    let label_text = t("归档", "Archive");
    let confirm_title = Signal::derive(move || title_text().to_owned());
    let confirm_message = Signal::derive(move || {
        let n = selected.with(|s| s.iter().filter(|(_, a)| !*a).count());
        match lang.get() {
            Lang::Zh => format!(
                "将归档已选的 {n} 位推荐人：他们不再出现在列表中，也不能生成新二维码；推荐记录和已有二维码保留，之后可以恢复。"
            ),
            Lang::En => format!(
                "Archive the {n} selected referrers? They leave the list and get no new codes; their referrals and codes stay, and they can be restored later."
            ),
        }
    });
    let confirm_label = Signal::derive(move || label_text().to_owned());
    view! {
        <section class="bulk-bar card" data-testid="bulk-bar" aria-label=t("批量操作", "Bulk actions")>
            <strong data-testid="bulk-count" role="status">{move || selected_text(lang.get(), count())}</strong>
            <button type="button" class="danger" data-testid="bulk-archive"
                disabled=move || none() || archived() == count()
                on:click=move |_| confirm.set(true)>
                {t("归档", "Archive")}
            </button>
            {move || (archived() > 0).then(|| view! {
                <button type="button" data-testid="bulk-restore" disabled=move || busy.get()
                    on:click=move |_| { run.dispatch((BulkKind::Restore, ids(), String::new())); }>
                    {t("恢复", "Restore")}
                </button>
            })}
            <span class="bulk-tag" class:invalid=move || tag_error().is_some()>
                <input
                    data-testid="bulk-tag-input"
                    aria-label=t("要添加的标签", "Tag to add")
                    placeholder=t("标签", "Tag")
                    aria-invalid=move || tag_error().is_some().to_string()
                    aria-describedby="bulk-tag-error"
                    prop:value=move || tag.get()
                    on:input=move |ev| tag.set(event_target_value(&ev))
                />
                <button type="button" data-testid="bulk-tag" disabled=none
                    on:click=move |_| { run.dispatch((BulkKind::Tag, ids(), tag.get_untracked())); }>
                    {t("添加标签", "Add tag")}
                </button>
            </span>
            <button type="button" data-testid="bulk-codes" disabled=move || none() || archived() == count()
                on:click=move |_| { run.dispatch((BulkKind::Codes, ids(), String::new())); }>
                {t("各生成一个二维码", "Create a code for each")}
            </button>
            {move || busy.get().then(|| view! {
                <span class="muted" role="status">{t("处理中…", "Working…")}</span>
            })}
            {move || tag_error().map(|m| view! {
                <p class="field-error" role="alert" id="bulk-tag-error" data-testid="bulk-tag-error">{m}</p>
            })}
            <ErrorBanner error=general />
            {move || result().map(|text| view! { <p class="ok" role="status" data-testid="bulk-result">{text}</p> })}
            <ConfirmDialog
                open=confirm
                id="bulk-archive-confirm"
                title=confirm_title
                message=confirm_message
                confirm_label=confirm_label
                on_confirm=archive_now
                busy=busy
            />
        </section>
    }
}

/// The rows on the page, read from and written to the DOM (browser only).
#[cfg(feature = "hydrate")]
mod dom {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use web_sys::HtmlInputElement;

    use super::Picked;
    use crate::components::call::Call;
    use crate::model::{AppError, Referrer};

    #[wasm_bindgen]
    extern "C" {
        /// The DOM's MutationObserver (not among the web-sys features this crate enables).
        type MutationObserver;
        #[wasm_bindgen(constructor)]
        fn new(callback: &JsValue) -> MutationObserver;
        #[wasm_bindgen(method)]
        fn observe(this: &MutationObserver, target: &web_sys::Element, options: &JsValue);
    }

    fn boxes() -> Vec<HtmlInputElement> {
        let Ok(list) = document().query_selector_all("input[data-bulk-id]") else {
            return Vec::new();
        };
        (0..list.length())
            .filter_map(|i| list.item(i))
            .filter_map(|n| n.dyn_into::<HtmlInputElement>().ok())
            .collect()
    }

    fn id_of(input: &HtmlInputElement) -> Option<i64> {
        input.get_attribute("data-bulk-id")?.parse().ok()
    }

    /// Ticks the rows of `keep` (when given), then reads the picked rows back and sets the
    /// "all on this page" box to match.
    fn sync(selected: RwSignal<Vec<Picked>>, keep: Option<&[i64]>) {
        let boxes = boxes();
        if let Some(keep) = keep {
            for b in &boxes {
                b.set_checked(id_of(b).is_some_and(|id| keep.contains(&id)));
            }
        }
        let picked: Vec<Picked> = boxes
            .iter()
            .filter(|b| b.checked())
            .filter_map(|b| {
                let archived = b.get_attribute("data-archived").as_deref() == Some("true");
                Some((id_of(b)?, archived))
            })
            .collect();
        let all = document()
            .query_selector("input[data-bulk-all]")
            .ok()
            .flatten()
            .and_then(|e| e.dyn_into::<HtmlInputElement>().ok());
        if let Some(all) = all {
            all.set_checked(!boxes.is_empty() && picked.len() == boxes.len());
            all.set_indeterminate(!picked.is_empty() && picked.len() < boxes.len());
        }
        selected.set(picked);
    }

    /// Follows the checkboxes and restore buttons of the rows, and the refreshes of the rows.
    pub fn watch(selected: RwSignal<Vec<Picked>>, restore: Call<i64, Result<Referrer, AppError>>) {
        let changes = window_event_listener(leptos::ev::change, move |ev| {
            let Some(input) = ev
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            if input.has_attribute("data-bulk-all") {
                let on = input.checked();
                for b in boxes() {
                    b.set_checked(on);
                }
                sync(selected, None);
            } else if input.has_attribute("data-bulk-id") {
                sync(selected, None);
            }
        });
        let clicks = window_event_listener(leptos::ev::click, move |ev| {
            let button = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|el| el.closest("button[data-restore-id]").ok().flatten());
            let id = button
                .and_then(|b| b.get_attribute("data-restore-id"))
                .and_then(|id| id.parse::<i64>().ok());
            if let Some(id) = id {
                restore.dispatch(id);
            }
        });
        // The listeners live as long as the page (links load pages).
        std::mem::forget((changes, clicks));
        let region = document()
            .query_selector("[data-live=\"referrers\"]")
            .ok()
            .flatten();
        if let Some(region) = region {
            let refreshed = Closure::<dyn FnMut()>::new(move || {
                let keep: Vec<i64> =
                    selected.with_untracked(|s| s.iter().map(|(id, _)| *id).collect());
                sync(selected, Some(&keep));
            });
            let observer = MutationObserver::new(refreshed.as_ref());
            let options = web_sys::js_sys::Object::new();
            let _ = web_sys::js_sys::Reflect::set(&options, &"childList".into(), &true.into());
            observer.observe(&region, &options);
            // The page owns the observer and its callback from here on.
            refreshed.forget();
            std::mem::forget(observer);
        }
        // The browser may have kept ticks across a reload.
        sync(selected, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::BulkFailure;

    #[test]
    fn a_summary_names_what_was_done_and_what_failed() {
        let o = BulkOutcome {
            done: vec![1, 2],
            unchanged: vec![3],
            missing: vec![9],
            failed: vec![BulkFailure {
                id: 4,
                name: "李雷".into(),
                message: "已有 10 个标签 / Already has 10 tags".into(),
            }],
        };
        assert_eq!(
            summary(Lang::Zh, BulkKind::Tag, "金牌", &o),
            "已为 2 位添加标签「金牌」，1 位已有此标签，1 位未找到，1 位失败：李雷（已有 10 个标签 / Already has 10 tags）"
        );
        let plain = BulkOutcome {
            done: vec![1],
            ..BulkOutcome::default()
        };
        assert_eq!(
            summary(Lang::En, BulkKind::Archive, "", &plain),
            "Archived 1"
        );
        assert_eq!(selected_text(Lang::Zh, 2), "已选 2 位");
        assert_eq!(selected_text(Lang::En, 2), "2 selected");
    }
}
