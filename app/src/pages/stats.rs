//! Stats: the funnel and a daily chart for a period.

use leptos::prelude::*;

use crate::api::reports::get_stats;
use crate::components::chart::DailyChart;
use crate::components::live::LiveFilter;
use crate::i18n::t;
use crate::model::Stats;
use crate::pages::leaderboard::{PeriodChoice, PeriodSelect};

/// Scans → unique scanners → new follows → still following, and the daily series
/// (`?period=…`).
#[component]
pub fn StatsPage() -> impl IntoView {
    let choice = PeriodChoice::from_query();
    let query = choice.query();
    let stats = Resource::new(|| (), move |_| get_stats(query.clone()));
    let params = choice.params(&[]);
    let funnel_csv = format!("/api/v1/stats.csv?{params}");
    let daily_csv = format!("/api/v1/stats/daily.csv?{params}");
    view! {
        <h1>{t("统计", "Stats")}</h1>
        <div class="toolbar">
            <LiveFilter>
                <form method="get" action="/stats" class="toolbar" data-testid="stats-filter">
                    <PeriodSelect choice=choice />
                </form>
            </LiveFilter>
            <span class="toolbar" data-live="stats-links">
                <a class="button" href=funnel_csv download data-testid="csv-stats">{t("导出漏斗 CSV", "Export funnel CSV")}</a>
                <a class="button" href=daily_csv download data-testid="csv-daily">{t("导出每日 CSV", "Export daily CSV")}</a>
            </span>
        </div>
        <div data-live="stats">
            <Suspense>
                {move || {
                    stats.get().map(|result| match result {
                        Ok(s) => view! { <Funnel stats=s /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.full_message()}</p> }.into_any(),
                    })
                }}
            </Suspense>
        </div>
    }
}

#[component]
fn Funnel(stats: Stats) -> impl IntoView {
    let steps = [
        (t("扫码次数", "Scans"), stats.scans, "funnel-scans"),
        (
            t("扫码人数", "Unique scanners"),
            stats.unique_scanners,
            "funnel-scanners",
        ),
        (
            t("新关注", "New follows"),
            stats.new_follows,
            "funnel-follows",
        ),
        (
            t("仍在关注", "Still following"),
            stats.still_following,
            "funnel-following",
        ),
    ];
    let top = steps[0].1.max(1);
    let empty = stats.scans == 0 && stats.new_follows == 0;
    let range = if stats.first_day == stats.last_day {
        stats.first_day.clone()
    } else {
        format!("{} – {}", stats.first_day, stats.last_day)
    };
    view! {
        <p class="period-range" data-testid="stats-range">
            {t("时段：", "Period: ")}
            <strong>{range}</strong>
            " "
            {t("（北京时间，Asia/Shanghai；含首尾两天）", "(Beijing time, Asia/Shanghai; both days included)")}
        </p>
        <section class="card">
            <h2>{t("转化漏斗", "Funnel")}</h2>
            <ol class="funnel" data-testid="funnel">
                {steps.into_iter().map(|(label, value, testid)| {
                    let width = format!("width: {}%", (value * 100 / top).clamp(2, 100));
                    view! {
                        <li>
                            <span class="funnel-label">{label}</span>
                            <span class="funnel-bar" style=width></span>
                            <span class="funnel-value" data-testid=testid>{value}</span>
                        </li>
                    }
                }).collect_view()}
            </ol>
            <p class="muted">
                {t("取关 ", "Unfollows ")} {stats.unfollows} " · "
                {t("净增 ", "Net ")} {stats.net_follows} " · "
                {t("7 日留存 ", "7-day retained ")} {stats.retained_7d} " · "
                {t("30 日留存 ", "30-day retained ")} {stats.retained_30d}
            </p>
        </section>
        <section class="card">
            <h2>{t("每日趋势", "Daily")}</h2>
            {empty.then(|| view! { <p class="empty" data-testid="stats-empty">{t("这个时段还没有数据。", "No data in this period yet.")}</p> })}
            <DailyChart points=stats.daily id="stats-daily" />
        </section>
    }
}
