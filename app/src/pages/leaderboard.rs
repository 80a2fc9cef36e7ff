//! The leaderboard: period and metric selectors, ranks with ties, drill-down, auto-refresh.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::reports::get_leaderboard;
use crate::components::chart::Sparkline;
use crate::components::form::{self, query_param};
use crate::components::live::{AutoRefresh, LiveFilter};
use crate::i18n::t;
use crate::model::{LeaderboardRow, PeriodName, ReferrerKind, ReportQuery};

/// How often the board refreshes itself.
const REFRESH_SECS: u64 = 10;

/// Ranks referrers for a period by a metric (`?period=…&metric=…&kind=…`); refreshes itself.
#[component]
pub fn LeaderboardPage() -> impl IntoView {
    let choice = PeriodChoice::from_query();
    let metric = query_param("metric").unwrap_or_else(|| "follows".into());
    let kind = query_param("kind").unwrap_or_default();
    let query = ReportQuery {
        metric: Some(metric.clone()),
        kind: Some(kind.clone()).filter(|k| !k.is_empty()),
        ..choice.query()
    };
    let board = Resource::new(|| (), move |_| get_leaderboard(query.clone()));
    let csv = format!("/api/v1/referrals.csv?{}", choice.params(&[]));
    let board_csv = format!(
        "/api/v1/leaderboard.csv?{}",
        choice.params(&[("metric", &metric), ("kind", &kind)])
    );
    view! {
        <h1>{t("排行榜", "Leaderboard")}</h1>
        <div class="toolbar">
            <LiveFilter>
                <form method="get" action="/leaderboard" class="toolbar" data-testid="leaderboard-filter">
                    <PeriodSelect choice=choice.clone() />
                    <label class="inline">
                        {t("指标", "Metric")}
                        <select name="metric" data-testid="metric-select">
                            {form::choice(&metric, "follows", t("新关注", "New follows"))}
                            {form::choice(&metric, "net", t("净增", "Net follows"))}
                            {form::choice(&metric, "retained", t("留存", "Retained"))}
                        </select>
                    </label>
                    <label class="inline">
                        {t("推荐人类型", "Referrers")}
                        <select name="kind" data-testid="kind-select">
                            {form::choice(&kind, "", t("全部", "All"))}
                            {form::choice(&kind, ReferrerKind::Staff.as_str(), t("员工创建", "Staff-made"))}
                            {form::choice(&kind, ReferrerKind::Member.as_str(), t("会员", "Members"))}
                        </select>
                    </label>
                </form>
            </LiveFilter>
            <span class="toolbar" data-live="board-links">
                <a class="button" href=board_csv download data-testid="csv-leaderboard">{t("导出排行榜 CSV", "Export leaderboard CSV")}</a>
                <a class="button" href=csv download data-testid="csv-referrals">{t("导出推荐记录 CSV", "Export referrals CSV")}</a>
            </span>
            <AutoRefresh secs=REFRESH_SECS />
        </div>
        <div data-live="board">
            <Suspense>
                {move || {
                    board.get().map(|result| match result {
                        Ok(rows) if rows.is_empty() => view! {
                            <p class="empty" data-testid="leaderboard-empty">
                                {t("这个时段还没有推荐。", "No referrals in this period yet.")}
                            </p>
                        }.into_any(),
                        Ok(rows) => view! { <Board rows=rows /> }.into_any(),
                        Err(e) => view! { <p class="error" role="alert">{e.full_message()}</p> }.into_any(),
                    })
                }}
            </Suspense>
        </div>
    }
}

/// The period chosen in the address: `?period=day|week|month|all`, or `custom` with `from` and
/// `to` dates (both inclusive; ignored for the other periods).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodChoice {
    pub period: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl PeriodChoice {
    /// From the page's query; `month` when absent.
    pub fn from_query() -> Self {
        let period = query_param("period").unwrap_or_else(|| PeriodName::Month.as_str().into());
        let custom = PeriodName::parse(&period) == Some(PeriodName::Custom);
        PeriodChoice {
            from: query_param("from").filter(|_| custom),
            to: query_param("to").filter(|_| custom),
            period,
        }
    }

    /// The report filters for this period.
    pub fn query(&self) -> ReportQuery {
        ReportQuery {
            period: Some(self.period.clone()),
            from: self.from.clone(),
            to: self.to.clone(),
            ..ReportQuery::default()
        }
    }

    /// `period=…` (and `from=…&to=…` for a custom period) followed by `more`, for links to
    /// the CSV exports.
    pub fn params(&self, more: &[(&str, &str)]) -> String {
        let mut params = form_urlencoded::Serializer::new(String::new());
        params.append_pair("period", &self.period);
        for (name, value) in [("from", &self.from), ("to", &self.to)] {
            if let Some(v) = value {
                params.append_pair(name, v);
            }
        }
        params.extend_pairs(more);
        params.finish()
    }
}

/// The period fields shared by the leaderboard's and the stats page's filter forms: a preset,
/// or 自定义 with two dates (shown only while 自定义 is chosen).
#[component]
pub fn PeriodSelect(choice: PeriodChoice) -> impl IntoView {
    let period = choice.period.as_str();
    view! {
        <label class="inline">
            {t("时段", "Period")}
            <select name="period" data-testid="period-select">
                {form::choice(period, PeriodName::Day.as_str(), t("今天", "Today"))}
                {form::choice(period, PeriodName::Week.as_str(), t("本周", "This week"))}
                {form::choice(period, PeriodName::Month.as_str(), t("本月", "This month"))}
                {form::choice(period, PeriodName::All.as_str(), t("全部", "All time"))}
                {form::choice(period, PeriodName::Custom.as_str(), t("自定义", "Custom"))}
            </select>
        </label>
        <span class="inline custom-range">
            <label class="inline">
                {t("从", "From")}
                <input type="date" name="from" data-testid="period-from" value=choice.from.unwrap_or_default() />
            </label>
            <label class="inline">
                {t("至", "To")}
                <input type="date" name="to" data-testid="period-to" value=choice.to.unwrap_or_default() />
            </label>
        </span>
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
                        <th>{t("近 14 天", "Last 14 days")}</th>
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
                            <td><Sparkline values=r.trend /></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
