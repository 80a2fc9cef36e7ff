//! A daily time-series chart drawn as SVG (no external chart service).

use leptos::prelude::*;

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

/// Follows (green) and scans (grey) per day.
#[component]
pub fn DailyChart(points: Vec<DailyPoint>) -> impl IntoView {
    let (w, h) = (600.0, 160.0);
    let follows: Vec<i64> = points.iter().map(|p| p.follows).collect();
    let scans: Vec<i64> = points.iter().map(|p| p.scans).collect();
    let max = follows
        .iter()
        .chain(scans.iter())
        .copied()
        .max()
        .unwrap_or(0);
    let first = points.first().map(|p| p.date.clone()).unwrap_or_default();
    let last = points.last().map(|p| p.date.clone()).unwrap_or_default();
    let label = format!("{first} – {last}, max {max}");
    view! {
        <figure class="chart" data-testid="daily-chart">
            <svg viewBox=format!("-4 -8 {} {}", w + 8.0, h + 16.0) role="img" aria-label=label.clone()>
                <line x1="0" y1=h x2=w y2=h class="axis" />
                <polyline points=polyline(&scans, max, w, h) class="series scans" />
                <polyline points=polyline(&follows, max, w, h) class="series follows" />
            </svg>
            <figcaption>{label}</figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::polyline;

    #[test]
    fn points_are_scaled_into_the_box() {
        assert_eq!(
            polyline(&[0, 5, 10], 10, 100.0, 50.0),
            "0.0,50.0 50.0,25.0 100.0,0.0"
        );
        assert_eq!(polyline(&[], 0, 100.0, 50.0), "");
        assert_eq!(polyline(&[0], 0, 100.0, 50.0), "0.0,50.0");
    }
}
