//! The leaderboard: period and metric selectors, ranks with ties, drill-down, auto-refresh.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::reports::get_leaderboard;
use crate::components::form::Loading;
use crate::i18n::t;
use crate::model::{LeaderboardRow, ReportQuery};

/// How often the board refreshes itself.
#[cfg(feature = "hydrate")]
const REFRESH_SECS: u64 = 10;

/// Ranks referrers for a period by a metric; refreshes every few seconds.
#[component]
pub fn LeaderboardPage() -> impl IntoView {
    let period = RwSignal::new("month".to_owned());
    let metric = RwSignal::new("follows".to_owned());
    let kind = RwSignal::new(String::new());
    let tick = RwSignal::new(0u32);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let handle = set_interval_with_handle(
            move || tick.update(|n| *n += 1),
            std::time::Duration::from_secs(REFRESH_SECS),
        );
        on_cleanup(move || {
            if let Ok(h) = handle {
                h.clear();
            }
        });
    });
    let query = move || ReportQuery {
        period: Some(period.get()),
        metric: Some(metric.get()),
        kind: Some(kind.get()).filter(|k| !k.is_empty()),
        ..ReportQuery::default()
    };
    let board = Resource::new(move || (query(), tick.get()), |(q, _)| get_leaderboard(q));
    let csv = move || format!("/api/v1/referrals.csv?period={}", period.get());
    let board_csv = move || {
        format!(
            "/api/v1/leaderboard.csv?period={}&metric={}&kind={}",
            period.get(),
            metric.get(),
            kind.get()
        )
    };
    view! {
        <h1>{t("排行榜", "Leaderboard")}</h1>
        <div class="toolbar">
            <PeriodSelect period=period />
            <label class="inline">
                {t("指标", "Metric")}
                <select data-testid="metric-select" on:change=move |ev| metric.set(event_target_value(&ev))>
                    <option value="follows">{t("新关注", "New follows")}</option>
                    <option value="net">{t("净增", "Net follows")}</option>
                    <option value="retained">{t("留存", "Retained")}</option>
                </select>
            </label>
            <label class="inline">
                {t("推荐人类型", "Referrers")}
                <select data-testid="kind-select" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="">{t("全部", "All")}</option>
                    <option value="staff">{t("员工创建", "Staff-made")}</option>
                    <option value="member">{t("会员", "Members")}</option>
                </select>
            </label>
            <a class="button" href=board_csv download data-testid="csv-leaderboard">{t("导出排行榜 CSV", "Export leaderboard CSV")}</a>
            <a class="button" href=csv download data-testid="csv-referrals">{t("导出推荐记录 CSV", "Export referrals CSV")}</a>
            <span class="muted">{t("每 10 秒自动刷新", "Refreshes every 10 s")}</span>
        </div>
        <Transition fallback=Loading>
            {move || {
                board.get().map(|result| match result {
                    Ok(rows) if rows.is_empty() => view! {
                        <p class="empty" data-testid="leaderboard-empty">
                            {t("这个时段还没有推荐。", "No referrals in this period yet.")}
                        </p>
                    }.into_any(),
                    Ok(rows) => view! { <Board rows=rows /> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.message}</p> }.into_any(),
                })
            }}
        </Transition>
    }
}

/// The period selector shared by the leaderboard and the stats page.
#[component]
pub fn PeriodSelect(period: RwSignal<String>) -> impl IntoView {
    view! {
        <label class="inline">
            {t("时段", "Period")}
            <select data-testid="period-select" on:change=move |ev| period.set(event_target_value(&ev))>
                <option value="day" selected=move || period.get() == "day">{t("今天", "Today")}</option>
                <option value="week" selected=move || period.get() == "week">{t("本周", "This week")}</option>
                <option value="month" selected=move || period.get() == "month">{t("本月", "This month")}</option>
                <option value="all" selected=move || period.get() == "all">{t("全部", "All time")}</option>
            </select>
        </label>
    }
}

#[component]
fn Board(rows: Vec<LeaderboardRow>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="leaderboard-table">
                <thead>
                    <tr>
                        <th>{t("名次", "Rank")}</th>
                        <th>{t("推荐人", "Referrer")}</th>
                        <th>{t("新关注", "Follows")}</th>
                        <th>{t("取关", "Unfollows")}</th>
                        <th>{t("净增", "Net")}</th>
                        <th>{t("留存", "Retained")}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|r| view! {
                        <tr data-testid="leaderboard-row">
                            <td class="rank">{r.rank}</td>
                            <td><A href=format!("/referrers/{}", r.referrer_id)>{r.name}</A></td>
                            <td data-testid="row-follows">{r.follows}</td>
                            <td>{r.unfollows}</td>
                            <td>{r.net_follows}</td>
                            <td>{r.retained}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
