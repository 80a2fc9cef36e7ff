//! Privacy (admin): erase a follower on request (their identifiers, messages and events replaced
//! by a tombstone, the counts kept) and how long raw event payloads and message text are kept.

use leptos::prelude::*;

use crate::api::privacy::{erase_follower, load_privacy, set_retention};
use crate::components::call::{Call, effect};
use crate::components::confirm::ConfirmDialog;
use crate::components::form::{ErrorBanner, TextField};
use crate::i18n::t;
use crate::model::AppError;
use crate::privacy::{MAX_RETENTION_DAYS, MIN_RETENTION_DAYS, PrivacyData};

/// The privacy page.
#[component]
pub fn PrivacyPage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_privacy());
    view! {
        <h1>{t("隐私", "Privacy")}</h1>
        <p class="lead">
            {t(
                "关注者有权要求删除其个人信息。删除后，其 OpenID、UnionID、消息和事件内容会被替换为无法还原的标记，推荐和统计数字保持不变。",
                "Followers may ask to be forgotten. Erasing one replaces their openid, unionid, messages and event contents with a tombstone that cannot be traced back; referrals and figures stay as they are.",
            )}
        </p>
        <Suspense fallback=move || {
            view! { <p class="loading" data-testid="privacy-loading">{t("正在读取…", "Loading…")}</p> }
        }>
            {move || data.get().map(|r| match r {
                Ok(data) => view! { <Sections data /> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="privacy-error">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Sections(data: PrivacyData) -> impl IntoView {
    let purged = data.purged_at.clone().unwrap_or_else(|| "—".into());
    view! {
        <Erase />
        <Retention days=data.retention_days />
        <section class="card" aria-labelledby="privacy-facts-title">
            <h2 id="privacy-facts-title">{t("记录", "Record")}</h2>
            <dl class="counts" data-testid="privacy-facts">
                <div><dt>{t("已删除的关注者", "Followers erased")}</dt><dd data-testid="privacy-erased">{data.erased}</dd></div>
                <div><dt>{t("已清空的事件内容", "Event payloads emptied")}</dt><dd>{data.purged_events}</dd></div>
                <div><dt>{t("上次清理（北京时间）", "Last purge (Beijing)")}</dt><dd>{purged}</dd></div>
            </dl>
            <p class="muted">
                {t(
                    "清理任务每小时运行：清空超过保留期的原始事件内容和消息文字，删除过期的登录会话和已完成的后台任务。",
                    "The retention job runs hourly: it empties raw event contents and message text older than the retention period and deletes expired sessions and finished background jobs.",
                )}
            </p>
        </section>
    }
}

/// Erase a follower: openid and reason, then a confirmation.
#[island]
fn Erase() -> impl IntoView {
    let openid = RwSignal::new(String::new());
    let reason = RwSignal::new(String::new());
    let confirm = RwSignal::new(false);
    let erase = Call::new(move |(o, r): &(String, String)| {
        let (o, r) = (o.clone(), r.clone());
        async move { erase_follower(o, r).await }
    });
    let error = Signal::derive(move || erase.value().get().and_then(Result::err));
    effect(move || {
        if erase.value().get().is_some() {
            confirm.set(false);
        }
        if let Some(Ok(_)) = erase.value().get() {
            openid.set(String::new());
            reason.set(String::new());
        }
    });
    let go = Callback::new(move |_: ()| {
        erase.dispatch((openid.get_untracked(), reason.get_untracked()));
    });
    let title = Signal::derive(move || t("删除这位关注者？", "Erase this follower?")().to_owned());
    let message = Signal::derive(move || {
        format!(
            "{} {}",
            openid.get(),
            t(
                "的 OpenID、UnionID、消息和事件内容将被永久替换，无法撤销。",
                "— their openid, unionid, messages and event contents are replaced for good. This cannot be undone.",
            )()
        )
    });
    let label = Signal::derive(move || t("永久删除", "Erase for good")().to_owned());
    view! {
        <form
            class="card"
            data-testid="erase-form"
            aria-labelledby="erase-title"
            on:submit=move |ev| {
                ev.prevent_default();
                confirm.set(true);
            }
        >
            <h2 id="erase-title">{t("删除关注者", "Erase a follower")}</h2>
            <TextField label=t("OpenID", "Openid") field="openid" value=openid error=error placeholder="o6_bmjrPTlm6_2sgVt7hMZOPfL2M" />
            <TextField label=t("原因（记入审计日志，如“用户 12 月 3 日来电要求”）", "Reason (kept in the audit log, e.g. “asked by phone on 3 Dec”)") field="reason" value=reason error=error />
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <button type="submit" class="danger" data-testid="erase-submit" disabled=move || erase.pending().get()>
                {t("删除…", "Erase…")}
            </button>
            {move || erase.value().get().and_then(Result::ok).map(|r| view! {
                <p class="ok" role="status" data-testid="erase-done">
                    {t("已删除：", "Erased: ")}
                    {r.follower_id.map(|id| format!("#{id} · "))}
                    {format!("{} ", r.events)}{t("个事件、", "events, ")}
                    {format!("{} ", r.scans)}{t("次扫码已匿名。", "scans anonymised.")}
                </p>
            })}
            <ConfirmDialog
                open=confirm
                id="erase-confirm"
                title=title
                message=message
                confirm_label=label
                on_confirm=go
                busy=erase.pending()
            />
        </form>
    }
}

/// How many days raw payloads are kept.
#[island]
fn Retention(days: i32) -> impl IntoView {
    let value = RwSignal::new(days.to_string());
    let save = Call::new(move |d: &String| {
        let d = d.trim().parse::<i32>().unwrap_or(0);
        async move { set_retention(d).await }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    view! {
        <form
            class="card"
            data-testid="retention-form"
            aria-labelledby="retention-title"
            on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(value.get_untracked());
            }
        >
            <h2 id="retention-title">{t("保留期", "Retention")}</h2>
            <p class="muted">
                {format!("{MIN_RETENTION_DAYS}–{MAX_RETENTION_DAYS} ")}
                {t(
                    "天。超过后，原始事件内容和消息文字会被清空（推荐记录和统计不受影响）。",
                    "days. After that, raw event contents and message text are emptied (referrals and figures are not affected).",
                )}
            </p>
            <TextField label=t("保留天数", "Days kept") field="retention_days" value=value error=error input_type="number" />
            <ErrorBanner error=Signal::derive(move || error.get().filter(|e: &AppError| e.fields.is_empty())) />
            <button type="submit" data-testid="retention-save" disabled=move || save.pending().get()>
                {t("保存", "Save")}
            </button>
            {move || matches!(save.value().get(), Some(Ok(()))).then(|| view! {
                <span class="ok" role="status" data-testid="retention-saved">{t("已保存", "Saved")}</span>
            })}
        </form>
    }
}
