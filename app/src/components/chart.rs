//! Charts drawn as SVG on the server (no external chart service, readable without the WASM
//! bundle): the daily series with axes, a legend whose checkboxes show and hide each series
//! (CSS `:has()`, no script), each day's values on hover (a native tooltip) or keyboard focus
//! (a label drawn in the chart), the same numbers as a table for screen readers; and the
//! leaderboard's sparklines.

use leptos::prelude::*;

use crate::i18n::t;
use crate::model::DailyPoint;

/// Chart geometry: the points of one series as an SVG polyline, scaled to `w`×`h`.
pub fn polyline(values: &[i64], max: i64, w: f64, h: f64) -> String {
    if values.is_empty() {
        return String::new();
    }
    let step = if values.len() > 1 {
        w / (values.len() - 1) as f64
    } else {
        0.0
    };
    let max = max.max(1) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| format!("{:.1},{:.1}", i as f64 * step, h - (*v as f64 / max) * h))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A "nice" top for the count axis (1, 2 or 5 × a power of ten, at least `max`), so the tick
/// labels are round numbers.
pub fn nice_top(max: i64) -> i64 {
    let max = max.max(1);
    let mut unit = 1;
    loop {
        for m in [1, 2, 5] {
            if m * unit >= max {
                return m * unit;
            }
        }
        unit *= 10;
    }
}

/// Which days get a date under the axis: about `labels` of them, evenly spaced, always the
/// first and the last.
pub fn label_days(days: usize, labels: usize) -> Vec<usize> {
    if days == 0 {
        return Vec::new();
    }
    if days <= labels {
        return (0..days).collect();
    }
    let step = (days - 1) as f64 / (labels - 1).max(1) as f64;
    let mut out: Vec<usize> = (0..labels)
        .map(|i| (i as f64 * step).round() as usize)
        .collect();
    out.dedup();
    out
}

/// One series of a daily chart: its CSS key (colour and toggle), its labels and a value per
/// day.
pub struct ChartSeries {
    pub key: &'static str,
    pub zh: &'static str,
    pub en: &'static str,
    pub values: Vec<i64>,
}

fn series(points: &[DailyPoint]) -> Vec<ChartSeries> {
    let of = |f: fn(&DailyPoint) -> i64| points.iter().map(f).collect::<Vec<_>>();
    vec![
        ChartSeries {
            key: "scans",
            zh: "扫码",
            en: "Scans",
            values: of(|p| p.scans),
        },
        ChartSeries {
            key: "follows",
            zh: "新关注",
            en: "Follows",
            values: of(|p| p.follows),
        },
        ChartSeries {
            key: "unfollows",
            zh: "取关",
            en: "Unfollows",
            values: of(|p| p.unfollows),
        },
        ChartSeries {
            key: "net",
            zh: "净增",
            en: "Net",
            values: of(|p| p.follows - p.unfollows),
        },
    ]
}

/// Scans, follows, unfollows and net per day (see [`SeriesChart`]). `id` makes the toggles'
/// ids unique on the page.
#[component]
pub fn DailyChart(points: Vec<DailyPoint>, #[prop(optional)] id: &'static str) -> impl IntoView {
    let dates = points.iter().map(|p| p.date.clone()).collect();
    view! { <SeriesChart dates series=series(&points) id /> }
}

/// Series per day (`dates` as `YYYY-MM-DD`, each series a value per date) with axes, a legend
/// with toggles, each day's values on hover or focus and a data table. `id` makes the
/// toggles' ids unique on the page.
#[component]
pub fn SeriesChart(
    dates: Vec<String>,
    series: Vec<ChartSeries>,
    #[prop(optional)] id: &'static str,
) -> impl IntoView {
    let id = if id.is_empty() { "daily" } else { id };
    let all = series;
    let (w, h) = (640.0_f64, 200.0_f64);
    let (left, right, top, bottom) = (44.0_f64, 12.0_f64, 12.0_f64, 36.0_f64);
    let hi = all
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .max()
        .unwrap_or(0);
    let lo = all
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .min()
        .unwrap_or(0)
        .min(0);
    let top_value = nice_top(hi);
    let bottom_value = if lo < 0 { -nice_top(-lo) } else { 0 };
    let span = (top_value - bottom_value) as f64;
    let n = dates.len();
    let x = move |i: usize| {
        if n <= 1 {
            left + (w - left - right) / 2.0
        } else {
            left + i as f64 * (w - left - right) / (n - 1) as f64
        }
    };
    let y = move |v: i64| top + (top_value - v) as f64 / span * (h - top - bottom);
    let empty = hi == 0 && lo == 0;
    let first = dates.first().cloned().unwrap_or_default();
    let last = dates.last().cloned().unwrap_or_default();
    let summary = format!("{first} – {last}");
    let ticks: Vec<i64> = {
        let mut v = vec![bottom_value, 0, top_value / 2, top_value];
        v.sort_unstable();
        v.dedup();
        v
    };
    let grid = ticks
        .into_iter()
        .map(|v| {
            let yy = y(v);
            view! {
                <g class="tick">
                    <line x1=left y1=yy x2=w - right y2=yy class=if v == 0 { "axis" } else { "grid" } />
                    <text x=left - 6.0 y=yy + 4.0 text-anchor="end">{v.to_string()}</text>
                </g>
            }
        })
        .collect_view();
    let date_labels = label_days(n, 7)
        .into_iter()
        .map(|i| {
            let date = dates[i].get(5..).unwrap_or_default().to_owned();
            view! { <text x=x(i) y=h - bottom + 16.0 text-anchor="middle" class="date">{date}</text> }
        })
        .collect_view();
    let lines = all
        .iter()
        .map(|s| {
            let pts: Vec<String> = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
                .collect();
            let dots = s
                .values
                .iter()
                .enumerate()
                .map(|(i, v)| view! { <circle cx=x(i) cy=y(*v) r="2.5" /> })
                .collect_view();
            view! {
                <g class=format!("series {}", s.key) data-series=s.key>
                    <polyline points=pts.join(" ") />
                    {dots}
                </g>
            }
        })
        .collect_view();
    let column = if n <= 1 {
        w - left - right
    } else {
        (w - left - right) / (n - 1) as f64
    };
    let days = dates
        .iter()
        .enumerate()
        .map(|(i, date)| {
            let values: Vec<String> = all
                .iter()
                .map(|s| {
                    let v = s.values.get(i).copied().unwrap_or(0);
                    format!("{} {v}", t(s.zh, s.en)())
                })
                .collect();
            let text = format!("{date}: {}", values.join(" · "));
            let (title, aria) = (text.clone(), text.clone());
            let cx = x(i);
            // The label stays inside the chart.
            let tip_x = cx.clamp(left + 130.0, w - right - 130.0);
            view! {
                <g class="day" tabindex="0" role="img" aria-label=aria data-testid="chart-day" data-date=date.clone()>
                    <title>{title}</title>
                    <rect x=cx - column / 2.0 y=top width=column height=h - top - bottom class="hit" />
                    <line x1=cx y1=top x2=cx y2=h - bottom class="cursor" />
                    <g class="tip">
                        <rect x=tip_x - 130.0 y="-6" width="260" height="18" rx="3" />
                        <text x=tip_x y="7" text-anchor="middle">{text}</text>
                    </g>
                </g>
            }
        })
        .collect_view();
    let legend = all
        .iter()
        .map(|s| {
            let input = format!("{id}-show-{}", s.key);
            view! {
                <li>
                    <input type="checkbox" checked id=input.clone() class=format!("toggle-{}", s.key) data-testid=format!("chart-toggle-{}", s.key) />
                    <label for=input><span class=format!("swatch {}", s.key) aria-hidden="true"></span>{t(s.zh, s.en)}</label>
                </li>
            }
        })
        .collect_view();
    let heads = all
        .iter()
        .map(|s| view! { <th scope="col">{t(s.zh, s.en)}</th> })
        .collect_view();
    let rows = dates
        .iter()
        .enumerate()
        .map(|(i, date)| {
            let cells = all
                .iter()
                .map(|s| view! { <td>{s.values.get(i).copied().unwrap_or(0)}</td> })
                .collect_view();
            view! {
                <tr>
                    <th scope="row">{date.clone()}</th>
                    {cells}
                </tr>
            }
        })
        .collect_view();
    view! {
        <figure class="chart" data-testid="daily-chart">
            <ul class="legend" aria-label=t("显示的数据", "Series shown")>{legend}</ul>
            <svg viewBox=format!("0 0 {w} {h}") role="group" aria-label=format!("{} {summary}", t("每日趋势", "Daily series")())>
                {grid}
                {date_labels}
                {lines}
                {days}
            </svg>
            <figcaption>
                {summary}
                " · "
                {t("北京时间，每个点为一天；悬停或用 Tab 键查看当天数值。", "Beijing days, one point a day; hover or Tab to a day for its values.")}
                {empty.then(|| view! { " " <span data-testid="chart-empty">{t("这个时段还没有数据。", "No data in this period yet.")}</span> })}
            </figcaption>
            <details class="chart-table">
                <summary>{t("数据表", "Data table")}</summary>
                <div class="table-wrap">
                    <table class="table" data-testid="chart-table">
                        <thead>
                            <tr>
                                <th scope="col">{t("日期", "Date")}</th>
                                {heads}
                            </tr>
                        </thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            </details>
        </figure>
    }
}

/// A small line of the last days' follows, for a leaderboard row.
#[component]
pub fn Sparkline(values: Vec<i64>) -> impl IntoView {
    let (w, h) = (64.0, 18.0);
    let max = values.iter().copied().max().unwrap_or(0);
    let label = format!(
        "{}{}",
        t("近 14 天每日新关注：", "New follows, last 14 days: ")(),
        values
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let aria = label.clone();
    view! {
        <svg class="sparkline" viewBox=format!("-1 -1 {} {}", w + 2.0, h + 2.0) width="66" height="20"
            role="img" aria-label=aria data-testid="trend">
            <title>{label}</title>
            <polyline points=polyline(&values, max, w, h) />
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_scaled_into_the_box() {
        assert_eq!(
            polyline(&[0, 5, 10], 10, 100.0, 50.0),
            "0.0,50.0 50.0,25.0 100.0,0.0"
        );
        assert_eq!(polyline(&[], 0, 100.0, 50.0), "");
        assert_eq!(polyline(&[0], 0, 100.0, 50.0), "0.0,50.0");
    }

    #[test]
    fn the_count_axis_ends_on_a_round_number() {
        assert_eq!(nice_top(0), 1);
        assert_eq!(nice_top(1), 1);
        assert_eq!(nice_top(3), 5);
        assert_eq!(nice_top(7), 10);
        assert_eq!(nice_top(11), 20);
        assert_eq!(nice_top(480), 500);
        assert_eq!(nice_top(501), 1000);
    }

    #[test]
    fn dates_label_the_first_the_last_and_days_between() {
        assert_eq!(label_days(0, 7), Vec::<usize>::new());
        assert_eq!(label_days(1, 7), [0]);
        assert_eq!(label_days(5, 7), [0, 1, 2, 3, 4]);
        assert_eq!(label_days(31, 7), [0, 5, 10, 15, 20, 25, 30]);
        let year = label_days(365, 7);
        assert_eq!((year[0], *year.last().expect("last")), (0, 364));
    }
}
