//! Reconciliation (manager): compare WeChat's follower list with what we recorded, recover the
//! follows whose callback never arrived and mark the followers WeChat no longer lists. The
//! current run's progress and report are live regions; the controls are an island that keeps
//! them current while a run is going.

use leptos::prelude::*;

use crate::api::reconcile::{
    cancel_reconcile, load_reconcile, resume_reconcile, schedule_reconcile, start_reconcile,
};
use crate::components::call::Call;
use crate::components::form::ErrorBanner;
use crate::i18n::t;
use crate::model::AppError;
use crate::reconcile::{REPORT_ROWS, ReconcileChange, ReconcileData, ReconcileRun};

/// The reconciliation page.
#[component]
pub fn ReconcilePage() -> impl IntoView {
    let data = Resource::new(|| (), |_| load_reconcile());
    view! {
        <h1>{t("对账", "Reconciliation")}</h1>
        <p class="lead">
            {t(
                "微信最多重试三次就会放弃推送事件。对账会逐页读取微信的关注者列表，补记漏掉的扫码关注（按首次推荐规则归属，不发欢迎语），并把微信上已取消关注的人标记为流失。再次运行不会重复记录。",
                "WeChat gives up on a callback after three tries. Reconciliation pages through WeChat's follower list, records the follows through our codes that never reached us (credited by the same first-touch rules, without a greeting) and marks followers WeChat no longer lists as lost. Running it again records nothing twice.",
            )}
        </p>
        <Suspense fallback=move || {
            view! { <p class="loading" data-testid="reconcile-loading">{t("正在读取…", "Loading…")}</p> }
        }>
            {move || data.get().map(|r| match r {
                Ok(data) => view! { <Sections data /> }.into_any(),
                Err(e) => view! { <p class="error" role="alert" data-testid="reconcile-error">{e.message}</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Sections(data: ReconcileData) -> impl IntoView {
    let current = data.runs.first().cloned();
    let schedule = data.can_schedule.then(|| {
        view! { <Schedule hour=data.schedule_hour.map(i32::from).unwrap_or(-1) live=data.live /> }
    });
    view! {
        <section class="card" aria-labelledby="reconcile-run-title">
            <h2 id="reconcile-run-title">{t("当前对账", "Current run")}</h2>
            <Controls />
            <div data-live="reconcile-current">
                <Current run=current changes=data.changes />
            </div>
        </section>
        <section class="card" aria-labelledby="reconcile-history-title">
            <h2 id="reconcile-history-title">{t("最近的对账", "Recent runs")}</h2>
            <div data-live="reconcile-runs">
                <History runs=data.runs />
            </div>
        </section>
        {schedule}
    }
}

/// What a phase is called.
fn phase_label(run: &ReconcileRun) -> &'static str {
    match (run.status.as_str(), run.phase.as_str()) {
        ("done", _) => t("已完成", "Done")(),
        ("cancelled", _) => t("已取消", "Cancelled")(),
        ("failed", _) => t("已中断（可继续）", "Stopped (can be resumed)")(),
        (_, "list") => t(
            "第 1 步：读取关注者列表",
            "Step 1: reading the follower list",
        )(),
        (_, "check") => t(
            "第 2 步：查询未记录的关注者",
            "Step 2: looking up unrecorded followers",
        )(),
        _ => t(
            "第 3 步：标记流失的关注者",
            "Step 3: marking lost followers",
        )(),
    }
}

fn starter(run: &ReconcileRun) -> String {
    match run.started_by.as_str() {
        "schedule" => t("每日定时", "nightly schedule")().to_owned(),
        "cli" => t("命令行", "command line")().to_owned(),
        other => other.to_owned(),
    }
}

/// The newest run: progress, counts, error and report.
#[component]
fn Current(run: Option<ReconcileRun>, changes: Vec<ReconcileChange>) -> impl IntoView {
    let Some(run) = run else {
        return view! {
            <p class="empty" data-testid="reconcile-none" data-run-id="" data-run-status="">
                {t("还没有对过账。点“开始对账”读取微信上的关注者。", "No reconciliation yet. Choose “Start” to read the followers WeChat has.")}
            </p>
        }
        .into_any();
    };
    let percent = run.percent();
    let active = run.is_active();
    let total = run
        .wechat_total
        .map(|n| n.to_string())
        .unwrap_or_else(|| "…".into());
    view! {
        <div
            class="reconcile-run"
            data-testid="reconcile-current"
            data-run-id=run.id.to_string()
            data-run-status=run.status.clone()
            data-active=active.to_string()
        >
            <p>
                <strong data-testid="reconcile-phase">{phase_label(&run)}</strong>
                <span class="muted">
                    {format!(" · #{} · {} · ", run.id, run.created_at)}
                    {starter(&run)}
                    {run.notify.then(|| t(" · 通知推荐人", " · referrers told"))}
                </span>
            </p>
            <label class="progress-label" for="reconcile-progress">
                {t("进度", "Progress")}{format!(" {percent}%")}
            </label>
            <progress
                id="reconcile-progress"
                data-testid="reconcile-progress"
                max="100"
                value=percent.to_string()
            >
                {format!("{percent}%")}
            </progress>
            <dl class="counts" data-testid="reconcile-counts">
                <div><dt>{t("微信关注者", "Followers at WeChat")}</dt><dd data-testid="count-total">{total}</dd></div>
                <div><dt>{t("已读取", "Listed")}</dt><dd data-testid="count-listed">{run.listed}</dd></div>
                <div><dt>{t("已查询 / 待查询", "Looked up / to look up")}</dt><dd data-testid="count-checked">{format!("{} / {}", run.checked, run.to_check)}</dd></div>
                <div><dt>{t("补记的推荐", "Referrals recovered")}</dt><dd data-testid="count-recovered">{run.recovered}</dd></div>
                <div><dt>{t("补记的关注（无推荐）", "Follows recorded without credit")}</dt><dd data-testid="count-recorded">{run.recorded}</dd></div>
                <div><dt>{t("非本系统二维码", "Not through our codes")}</dt><dd data-testid="count-unattributed">{run.unattributed}</dd></div>
                <div><dt>{t("流失", "Lost")}</dt><dd data-testid="count-lost">{run.lost}</dd></div>
                <div><dt>{t("接口调用", "API calls")}</dt><dd>{run.api_calls}</dd></div>
            </dl>
            {run.error.clone().map(|e| view! {
                <p class="error banner" role="alert" data-testid="reconcile-run-error">{e}</p>
            })}
            <Report changes active />
        </div>
    }
    .into_any()
}

/// What the run changed.
#[component]
fn Report(changes: Vec<ReconcileChange>, active: bool) -> impl IntoView {
    if changes.is_empty() {
        let text = if active {
            t("还没有发现差异。", "No differences found yet.")
        } else {
            t(
                "没有差异：记录与微信一致。",
                "No differences: our records match WeChat.",
            )
        };
        return view! { <p class="empty" data-testid="reconcile-report-empty">{text}</p> }
            .into_any();
    }
    let more = (changes.len() >= REPORT_ROWS).then(|| {
        view! {
            <p class="muted">{t("只显示前 200 条。", "Showing the first 200 lines.")}</p>
        }
    });
    view! {
        <h3>{t("变更报告", "What changed")}</h3>
        <div class="table-wrap">
            <table class="table" data-testid="reconcile-report">
                <thead>
                    <tr>
                        <th scope="col">{t("变更", "Change")}</th>
                        <th scope="col">"OpenID"</th>
                        <th scope="col">{t("推荐人", "Referrer")}</th>
                        <th scope="col">{t("场景值", "Scene")}</th>
                        <th scope="col">{t("时间（北京时间）", "Time (Beijing)")}</th>
                    </tr>
                </thead>
                <tbody>
                    {changes
                        .into_iter()
                        .map(|c| {
                            let label = match c.change.as_str() {
                                "recovered" => t("补记推荐", "referral recovered"),
                                "recorded" => t("补记关注（无推荐）", "follow recorded, no credit"),
                                _ => t("流失", "lost"),
                            };
                            let referrer = match (c.referrer_id, c.referrer_name) {
                                (Some(id), name) => view! {
                                    <a href=format!("/referrers/{id}")>{name.unwrap_or_else(|| format!("#{id}"))}</a>
                                }
                                .into_any(),
                                (None, _) => view! { <span class="muted">"—"</span> }.into_any(),
                            };
                            let openid = c.openid.clone();
                            view! {
                                <tr data-testid="reconcile-change" data-change=c.change.clone() data-openid=openid>
                                    <td>{label}</td>
                                    <td><code>{c.openid}</code></td>
                                    <td>{referrer}</td>
                                    <td>{c.scene.unwrap_or_default()}</td>
                                    <td>{c.at}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        {more}
    }
    .into_any()
}

/// The latest runs.
#[component]
fn History(runs: Vec<ReconcileRun>) -> impl IntoView {
    if runs.is_empty() {
        return view! { <p class="empty">{t("暂无记录。", "None yet.")}</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="reconcile-history">
                <thead>
                    <tr>
                        <th scope="col">"#"</th>
                        <th scope="col">{t("开始（北京时间）", "Started (Beijing)")}</th>
                        <th scope="col">{t("发起", "By")}</th>
                        <th scope="col">{t("状态", "Status")}</th>
                        <th scope="col" class="num">{t("补记推荐", "Recovered")}</th>
                        <th scope="col" class="num">{t("补记关注", "Recorded")}</th>
                        <th scope="col" class="num">{t("流失", "Lost")}</th>
                    </tr>
                </thead>
                <tbody>
                    {runs
                        .into_iter()
                        .map(|r| view! {
                            <tr data-testid="reconcile-history-row" data-status=r.status.clone()>
                                <td>{r.id}</td>
                                <td>{r.created_at.clone()}</td>
                                <td>{starter(&r)}</td>
                                <td>{phase_label(&r)}</td>
                                <td class="num">{r.recovered}</td>
                                <td class="num">{r.recorded}</td>
                                <td class="num">{r.lost}</td>
                            </tr>
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The newest run as the live region shows it: `(id, status)`.
#[cfg(feature = "hydrate")]
fn shown_run() -> Option<(i64, String)> {
    let el = leptos::prelude::document()
        .query_selector("[data-live=\"reconcile-current\"] [data-run-id]")
        .ok()
        .flatten()?;
    let id = el.get_attribute("data-run-id")?.parse().ok()?;
    Some((id, el.get_attribute("data-run-status").unwrap_or_default()))
}

/// Start, resume and cancel. While the shown run is active the live regions are refreshed
/// every two seconds; the buttons follow the run shown.
#[island]
fn Controls() -> impl IntoView {
    let shown = RwSignal::new(None::<(i64, String)>);
    let notify = RwSignal::new(false);
    let error = RwSignal::new(None::<AppError>);
    let busy = RwSignal::new(false);
    #[cfg(feature = "hydrate")]
    {
        shown.set(shown_run());
        let handle = set_interval_with_handle(
            move || {
                let now = shown_run();
                let active = now.as_ref().is_some_and(|(_, s)| s == "active");
                shown.set(now);
                if active && crate::browser::visible() {
                    crate::browser::refresh();
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
    let status = move || shown.get().map(|(_, s)| s).unwrap_or_default();
    let run_id = move || shown.get().map(|(id, _)| id);
    let after = move |result: Result<(), AppError>| {
        busy.set(false);
        match result {
            Ok(()) => {
                error.set(None);
                shown.update(|s| {
                    if let Some((_, status)) = s {
                        *status = "active".into();
                    }
                });
                crate::browser::refresh();
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let start = move |_| {
        busy.set(true);
        let notify = notify.get_untracked();
        leptos::task::spawn_local(async move {
            let result = start_reconcile(notify).await.map(|run| {
                shown.set(Some((run.id, run.status)));
            });
            after(result);
        });
    };
    let resume = move |_| {
        let Some(id) = run_id() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            after(resume_reconcile(id).await.map(|_| ()));
        });
    };
    let cancel = move |_| {
        let Some(id) = run_id() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let result = cancel_reconcile(id).await;
            busy.set(false);
            match result {
                Ok(()) => {
                    error.set(None);
                    shown.set(Some((id, "cancelled".into())));
                    crate::browser::refresh();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <div class="actions reconcile-controls">
            <label class="check-inline">
                <input
                    type="checkbox"
                    data-testid="reconcile-notify"
                    prop:checked=move || notify.get()
                    on:change=move |ev| notify.set(event_target_checked(&ev))
                />
                {t("补记的推荐也通知推荐人", "Also tell the referrers of recovered referrals")}
            </label>
            <button
                data-testid="reconcile-start"
                disabled=move || busy.get() || status() == "active"
                on:click=start
            >
                {t("开始对账", "Start")}
            </button>
            {move || (status() == "failed").then(|| view! {
                <button class="secondary" data-testid="reconcile-resume" disabled=move || busy.get() on:click=resume>
                    {t("继续", "Resume")}
                </button>
            })}
            {move || { let s = status(); s == "active" || s == "failed" }.then(|| view! {
                <button class="secondary" data-testid="reconcile-cancel" disabled=move || busy.get() on:click=cancel>
                    {t("取消", "Cancel")}
                </button>
            })}
        </div>
        <ErrorBanner error=Signal::derive(move || error.get()) />
        <p class="sr-only" role="status" aria-live="polite">
            {move || match status().as_str() {
                "active" => t("对账进行中", "Reconciliation running")(),
                "done" => t("对账完成", "Reconciliation done")(),
                "failed" => t("对账已中断", "Reconciliation stopped")(),
                _ => "",
            }}
        </p>
    }
}

/// The nightly run's hour (admins); `hour` −1: off.
#[island]
fn Schedule(hour: i32, live: bool) -> impl IntoView {
    let chosen = RwSignal::new(hour);
    let save = Call::new(move |h: &i32| {
        let h = *h;
        async move { schedule_reconcile(u8::try_from(h).ok()).await }
    });
    let error = Signal::derive(move || save.value().get().and_then(Result::err));
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    view! {
        <section class="card" aria-labelledby="reconcile-schedule-title">
            <h2 id="reconcile-schedule-title">{t("每日定时对账", "Nightly run")}</h2>
            <p class="muted">
                {if live {
                    t("正式公众号每天在选定的时间（北京时间）自动对账一次。", "A live account is reconciled once a day at the chosen hour (Beijing time).")
                } else {
                    t("沙盒公众号不定时对账（只在手动开始时运行）；接入正式公众号后按这里的时间每天运行。", "Sandbox accounts are reconciled on demand only; once the account is live it runs daily at this hour.")
                }}
            </p>
            <form class="inline" on:submit=move |ev| {
                ev.prevent_default();
                save.dispatch(chosen.get_untracked());
            }>
                <label for="reconcile-hour">{t("时间（北京时间）", "Hour (Beijing time)")}</label>
                <select
                    id="reconcile-hour"
                    data-testid="reconcile-hour"
                    on:change=move |ev| chosen.set(event_target_value(&ev).parse().unwrap_or(-1))
                >
                    <option value="-1" selected=move || chosen.get() == -1>{t("关闭", "Off")}</option>
                    {(0..24)
                        .map(|h| view! {
                            <option value=h.to_string() selected=move || chosen.get() == h>
                                {format!("{h:02}:00")}
                            </option>
                        })
                        .collect_view()}
                </select>
                <button type="submit" data-testid="reconcile-schedule-save" disabled=move || save.pending().get()>
                    {t("保存", "Save")}
                </button>
            </form>
            <ErrorBanner error=error />
            {move || saved().then(|| view! {
                <p class="ok" role="status" data-testid="reconcile-schedule-saved">{t("已保存。", "Saved.")}</p>
            })}
        </section>
    }
}
