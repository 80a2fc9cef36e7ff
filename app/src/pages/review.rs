//! Abuse review (manager): the queue of referrals and scans flagged as suspicious, with the
//! evidence; confirm keeps a referral, void takes it out of every figure (with a reason, in the
//! audit log) and restore brings it back. Admins set when the flags are raised.

use leptos::prelude::*;

use crate::api::review::{
    confirm_flags, load_review, restore_referral, set_abuse_thresholds, void_referral,
};
use crate::components::call::{Call, effect};
use crate::components::confirm::ConfirmDialog;
use crate::components::form::{ErrorBanner, Pager, TextField, choice, page_param, query_param};
use crate::i18n::t;
use crate::model::AppError;
use crate::review::{AbuseThresholds, FLAG_KINDS, ReviewData, ReviewFlag, ReviewItem, kind_label};

/// The review page (`?status=open|confirmed|voided|all&kind=…&page=`).
#[component]
pub fn ReviewPage() -> impl IntoView {
    let status = query_param("status");
    let kind = query_param("kind");
    let page = page_param();
    let data = Resource::new(
        || (),
        move |_| load_review(status.clone(), kind.clone(), Some(page)),
    );
    view! {
        <h1>{t("推荐审核", "Referral review")}</h1>
        <p class="lead">
            {t(
                "排行榜关系到奖励，所以可疑的推荐会被标记出来：扫自己的码、关注后很快取关、反复关注取关、短时间内同一个码大量关注、二维码过期后关注、微信记录的场景与事件不符。标记的推荐照常计数，直到您确认或作废；作废的推荐不再计入排行榜和统计，可以恢复。",
                "Leaderboards pay bonuses, so suspicious referrals are flagged: a referrer scanning their own code, a quick unfollow, follow/unfollow cycles, a burst of follows through one code, a follow after a code's expiry, and a scene WeChat recorded differently. Flagged referrals keep counting until you confirm or void them; a voided referral leaves leaderboards and stats, and can be restored.",
            )}
        </p>
        <Suspense fallback=move || {
            view! { <p class="loading" data-testid="review-loading">{t("正在读取…", "Loading…")}</p> }
        }>
            {move || data.get().map(|r| match r {
                Ok(data) => view! { <Queue data /> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="review-error">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

fn label_of(kind: &str) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static + use<> {
    let (zh, en) = kind_label(kind);
    t(zh, en)
}

fn review_href(status: &str, kind: Option<&str>, page: i64) -> String {
    let mut params = form_urlencoded::Serializer::new(String::new());
    params.append_pair("status", status);
    if let Some(k) = kind {
        params.append_pair("kind", k);
    }
    if page > 1 {
        params.append_pair("page", &page.to_string());
    }
    format!("/review?{}", params.finish())
}

#[component]
fn Queue(data: ReviewData) -> impl IntoView {
    let status = data.filter.clone();
    let kind = data.kind.clone().unwrap_or_default();
    let open_total: i64 = data.open_counts.iter().map(|(_, n)| n).sum();
    let counts = data.open_counts.clone();
    let items = data.items;
    let pager = {
        let (status, kind) = (data.filter.clone(), data.kind.clone());
        move |p: i64| review_href(&status, kind.as_deref(), p)
    };
    let thresholds = data
        .can_configure
        .then(|| view! { <Thresholds current=data.thresholds /> });
    view! {
        <section class="card" aria-labelledby="review-open-title">
            <h2 id="review-open-title">{t("待审核", "Waiting for review")}</h2>
            <p data-testid="review-open-total">
                <strong>{open_total}</strong>
                " "
                {t("个待审核的标记", "open flags")}
            </p>
            {(!counts.is_empty()).then(|| view! {
                <ul class="tags" data-testid="review-open-counts">
                    {counts.into_iter().map(|(k, n)| view! {
                        <li class="tag" data-kind=k.clone()>{label_of(&k)}" · "{n}</li>
                    }).collect_view()}
                </ul>
            })}
        </section>
        <form method="get" action="/review" class="toolbar" data-testid="review-filter">
            <label class="inline">
                {t("状态", "State")}
                <select name="status" data-testid="review-status">
                    {choice(&status, "open", t("待审核", "Open"))}
                    {choice(&status, "confirmed", t("已确认", "Confirmed"))}
                    {choice(&status, "voided", t("已作废", "Voided"))}
                    {choice(&status, "all", t("全部", "All"))}
                </select>
            </label>
            <label class="inline">
                {t("标记", "Flag")}
                <select name="kind" data-testid="review-kind">
                    {choice(&kind, "", t("全部", "All"))}
                    {FLAG_KINDS.into_iter().map(|k| choice(&kind, k, label_of(k))).collect_view()}
                </select>
            </label>
            <button type="submit" data-testid="review-apply">{t("筛选", "Filter")}</button>
        </form>
        {if items.items.is_empty() {
            let text = if status == "open" {
                t("没有待审核的推荐。新的标记会在事件到达后一分钟内出现。", "Nothing waits for review. New flags appear within a minute of the events.")
            } else {
                t("没有符合条件的记录。", "Nothing matches.")
            };
            view! { <p class="empty" data-testid="review-empty">{text}</p> }.into_any()
        } else {
            view! {
                <div class="table-wrap">
                    <table class="table" data-testid="review-table">
                        <thead>
                            <tr>
                                <th scope="col">{t("标记", "Flags")}</th>
                                <th scope="col">{t("推荐人", "Referrer")}</th>
                                <th scope="col">"openid"</th>
                                <th scope="col">{t("时间（北京时间）", "Time (Beijing)")}</th>
                                <th scope="col">{t("状态", "State")}</th>
                                <th scope="col">{t("操作", "Actions")}</th>
                            </tr>
                        </thead>
                        <tbody>
                            {items.items.into_iter().map(|item| view! { <Row item /> }).collect_view()}
                        </tbody>
                    </table>
                </div>
                <Pager page=items.page total=items.total per_page=items.per_page href=pager />
            }
                .into_any()
        }}
        {thresholds}
    }
}

/// What a piece of evidence is called.
fn evidence_label(name: &str) -> &'static str {
    match name {
        "followed_at" => t("关注", "followed")(),
        "unfollowed_at" => t("取关", "unfollowed")(),
        "hours" => t("时限（小时）", "limit (hours)")(),
        "follows" => t("关注次数", "follows")(),
        "minutes" => t("时间窗（分钟）", "window (minutes)")(),
        "window_end" => t("时间窗结束", "window end")(),
        "qr_code_id" => t("二维码", "code")(),
        "scene" => t("场景值", "scene")(),
        "event" => t("事件", "event")(),
        "at" => t("时间", "at")(),
        "expired_at" => t("过期时间", "expired at")(),
        "event_scene" => t("事件场景值", "event scene")(),
        "wechat_scene" => t("微信记录的场景值", "WeChat's scene")(),
        "subscribe_scene" => t("关注来源", "subscribe scene")(),
        _ => t("其他", "other")(),
    }
}

fn flag_view(flag: ReviewFlag) -> impl IntoView {
    let label = label_of(&flag.kind);
    view! {
        <div class="flag" data-testid="review-flag" data-kind=flag.kind.clone()>
            <span class="tag warn">{label}</span>
            <span class="muted">
                {flag.evidence.into_iter().map(|(name, value)| {
                    format!("{}: {value}", evidence_label(&name))
                }).collect::<Vec<_>>().join(" · ")}
            </span>
        </div>
    }
}

#[component]
fn Row(item: ReviewItem) -> impl IntoView {
    let state = match item.state.as_str() {
        "open" => t("待审核", "open"),
        "voided" => t("已作废", "voided"),
        _ => t("已确认", "confirmed"),
    };
    let decided = match (&item.state[..], &item.void_reason) {
        ("voided", Some(reason)) => Some(format!(
            "{} · {}",
            item.voided_by.clone().unwrap_or_default(),
            reason
        )),
        _ => item
            .resolved_by
            .clone()
            .map(|by| format!("{by} · {}", item.resolved_at.clone().unwrap_or_default())),
    };
    let (subject, state_name) = (item.subject.clone(), item.state.clone());
    let no_credit = (item.subject == "scan")
        .then(|| view! { <p class="muted">{t("这次扫码没有计入推荐。", "This scan earned no credit.")}</p> });
    view! {
        <tr data-testid="review-row" data-subject=item.subject.clone() data-id=item.id.to_string() data-state=item.state.clone()>
            <td>
                {item.flags.into_iter().map(flag_view).collect_view()}
                {no_credit}
            </td>
            <td><a href=format!("/referrers/{}", item.referrer_id)>{item.referrer_name}</a></td>
            <td class="mono">{item.openid}{item.scene.map(|s| view! { <br /><span class="muted">{s}</span> })}</td>
            <td>{item.at}<br /><span class="muted">{t("标记于 ", "flagged ")}{item.flagged_at}</span></td>
            <td>
                <span class="tag" data-testid="review-state">{state}</span>
                {decided.map(|d| view! { <br /><span class="muted" data-testid="review-decided">{d}</span> })}
            </td>
            <td><Decide subject=subject id=item.id state=state_name /></td>
        </tr>
    }
}

/// What a reviewer can do with an item: confirm (open items), void (referrals not voided),
/// restore (voided referrals); void and restore ask for a reason in a confirmation. The page
/// is read again after a decision.
#[island]
fn Decide(subject: String, id: i64, state: String) -> impl IntoView {
    let is_referral = subject == "referral";
    let open = state == "open";
    let voided = state == "voided";
    let subject = StoredValue::new(subject);
    let confirm = Call::new(move |_: &()| confirm_flags(subject.get_value(), id));
    let reason = RwSignal::new(String::new());
    let asking = RwSignal::new(false);
    let decide = Call::new(move |(void, why): &(bool, String)| {
        let (void, why) = (*void, why.clone());
        async move {
            if void {
                void_referral(id, why).await
            } else {
                restore_referral(id, why).await
            }
        }
    });
    let error = Signal::derive(move || {
        decide
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| confirm.value().get().and_then(Result::err))
    });
    effect(move || {
        let done = matches!(decide.value().get(), Some(Ok(())))
            || matches!(confirm.value().get(), Some(Ok(())));
        if done {
            asking.set(false);
            #[cfg(feature = "hydrate")]
            let _ = leptos::prelude::window().location().reload();
        }
    });
    let run = Callback::new(move |_: ()| {
        decide.dispatch((!voided, reason.get_untracked()));
    });
    let title = Signal::derive(move || {
        if voided {
            t("恢复这条推荐？", "Restore this referral?")().to_owned()
        } else {
            t("作废这条推荐？", "Void this referral?")().to_owned()
        }
    });
    let message = Signal::derive(move || {
        if voided {
            t(
                "恢复后，它重新计入推荐人的排行榜和统计。",
                "It counts again on the referrer's leaderboards and stats.",
            )()
            .to_owned()
        } else {
            t(
                "作废后，它不再计入排行榜和统计（记录保留，可以恢复）。",
                "It leaves leaderboards and stats (the record stays; it can be restored).",
            )()
            .to_owned()
        }
    });
    let label = Signal::derive(move || {
        if voided {
            t("恢复", "Restore")().to_owned()
        } else {
            t("作废", "Void")().to_owned()
        }
    });
    let field_error = Signal::derive(move || decide.value().get().and_then(Result::err));
    view! {
        <div class="row-actions">
            {open.then(|| view! {
                <button type="button" data-testid="review-confirm" disabled=move || confirm.pending().get()
                    on:click=move |_| { confirm.dispatch(()); }>
                    {t("确认有效", "Confirm")}
                </button>
            })}
            {(is_referral && !voided).then(|| view! {
                <button type="button" class="danger" data-testid="review-void" on:click=move |_| asking.set(true)>
                    {t("作废…", "Void…")}
                </button>
            })}
            {(is_referral && voided).then(|| view! {
                <button type="button" data-testid="review-restore" on:click=move |_| asking.set(true)>
                    {t("恢复…", "Restore…")}
                </button>
            })}
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <ConfirmDialog
                open=asking
                id="review-decide"
                title=title
                message=message
                confirm_label=label
                on_confirm=run
                busy=decide.pending()
            >
                <TextField label=t("原因（必填，记入审计日志）", "Reason (required, kept in the audit log)") field="reason" value=reason error=field_error />
            </ConfirmDialog>
        </div>
    }
}

/// When the flags are raised (admins).
#[island]
fn Thresholds(current: AbuseThresholds) -> impl IntoView {
    let quick = RwSignal::new(current.quick_unfollow_hours.to_string());
    let cycles = RwSignal::new(current.cycle_follows.to_string());
    let burst = RwSignal::new(current.burst_follows.to_string());
    let minutes = RwSignal::new(current.burst_minutes.to_string());
    let save = Call::new(move |t: &AbuseThresholds| {
        let t = *t;
        async move { set_abuse_thresholds(t).await }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let number = |s: RwSignal<String>| s.get_untracked().trim().parse::<i32>().unwrap_or(0);
    view! {
        <form
            class="card"
            data-testid="thresholds-form"
            aria-labelledby="thresholds-title"
            on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(AbuseThresholds {
                    quick_unfollow_hours: number(quick),
                    cycle_follows: number(cycles),
                    burst_follows: number(burst),
                    burst_minutes: number(minutes),
                });
            }
        >
            <h2 id="thresholds-title">{t("标记规则（管理员）", "When to flag (admins)")}</h2>
            <div class="form-grid">
                <TextField label=t("关注后多少小时内取关算“很快取关”", "Unfollow within (hours) is a quick unfollow") field="quick_unfollow_hours" value=quick error=error input_type="number" />
                <TextField label=t("关注多少次算“反复关注”", "Follows that make cycles") field="cycle_follows" value=cycles error=error input_type="number" />
                <TextField label=t("同一个码超过多少次关注…", "More follows through one code than…") field="burst_follows" value=burst error=error input_type="number" />
                <TextField label=t("…在多少分钟内算“短时间大量关注”", "…within (minutes) is a burst") field="burst_minutes" value=minutes error=error input_type="number" />
            </div>
            <p class="muted">{t("新规则用于之后到达的事件。", "New rules apply to events from now on.")}</p>
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <button type="submit" data-testid="thresholds-save" disabled=move || save.pending().get()>
                {t("保存", "Save")}
            </button>
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! {
                <span class="ok" role="status" data-testid="thresholds-saved">{t("已保存", "Saved")}</span>
            })}
        </form>
    }
}
