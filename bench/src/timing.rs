//! Read-side timings against a running server: the leaderboard for each period and metric,
//! a referrer's stats, the overall stats with the daily series, and the SSR leaderboard page.

use std::time::{Duration, Instant};

use chrono::{Datelike, NaiveDate};

/// One timed request, repeated.
#[derive(Clone, Debug)]
pub struct Timed {
    pub what: String,
    pub p50_ms: f64,
    pub p95_ms: f64,
}

/// Percentile of sorted samples (nearest rank).
pub fn percentile(sorted: &[Duration], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

/// A client for the server's REST API and pages.
pub struct Reader {
    pub client: reqwest::Client,
    pub base: String,
    pub bearer: String,
    pub cookie: String,
}

impl Reader {
    /// A reader of the server at `base`, signed in with `bearer` (REST) and `cookie` (pages).
    pub fn new(base: String, bearer: String, cookie: String) -> anyhow::Result<Reader> {
        Ok(Reader {
            client: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(120))
                .build()?,
            base,
            bearer,
            cookie,
        })
    }

    /// GETs `path` once unmeasured, then `runs` times; fails on any non-200.
    pub async fn time(&self, what: &str, path: &str, runs: usize) -> anyhow::Result<Timed> {
        let mut samples = Vec::with_capacity(runs);
        for i in 0..=runs {
            let started = Instant::now();
            let resp = self
                .client
                .get(format!("{}{path}", self.base))
                .bearer_auth(&self.bearer)
                .header("cookie", format!("tj_session={}", self.cookie))
                .send()
                .await?;
            let status = resp.status();
            let body = resp.bytes().await?;
            let took = started.elapsed();
            anyhow::ensure!(status.is_success(), "GET {path}: HTTP {status}");
            anyhow::ensure!(!body.is_empty(), "GET {path}: empty body");
            if i > 0 {
                samples.push(took);
            }
        }
        samples.sort();
        Ok(Timed {
            what: what.to_owned(),
            p50_ms: percentile(&samples, 0.50),
            p95_ms: percentile(&samples, 0.95),
        })
    }

    /// Every read the dashboard and API offer over the seeded data.
    pub async fn all(&self, runs: usize, referrer: i64) -> anyhow::Result<Vec<Timed>> {
        let mut out = Vec::new();
        for period in ["day", "week", "month", "all"] {
            for metric in ["follows", "net", "retained"] {
                let path = format!("/api/v1/leaderboard?period={period}&metric={metric}");
                out.push(
                    self.time(&format!("leaderboard {period}/{metric}"), &path, runs)
                        .await?,
                );
            }
        }
        // Custom periods (dates are China Standard Time, both inclusive): the last 7 days
        // (whole weeks and days), the last calendar week (one week row), and the last 90
        // days (months, the weeks on either side, days).
        let today = tuijian::referral::period::local_date(chrono::Utc::now());
        let ago = |n: u64| today - chrono::Days::new(n);
        let monday = tuijian::referral::period::week_start(today);
        let last_week = (monday - chrono::Days::new(7), monday - chrono::Days::new(1));
        for (label, from, to) in [
            ("last 7 days", ago(6), today),
            ("last calendar week", last_week.0, last_week.1),
            ("last 90 days", ago(89), today),
        ] {
            let path = format!("/api/v1/leaderboard?period=custom&from={from}&to={to}");
            out.push(
                self.time(&format!("leaderboard {label}/follows"), &path, runs)
                    .await?,
            );
        }
        // Ranges that start and end inside a month, the ones the month, week and day roll-ups
        // read the most rows for, and the stats of the same ranges.
        let ranges = custom_ranges(today);
        for (label, from, to) in &ranges {
            for metric in ["follows", "net", "retained"] {
                let path = format!(
                    "/api/v1/leaderboard?period=custom&from={from}&to={to}&metric={metric}"
                );
                out.push(
                    self.time(&format!("leaderboard {label}/{metric}"), &path, runs)
                        .await?,
                );
            }
        }
        for period in ["month", "all"] {
            let path = format!("/api/v1/referrers/{referrer}/stats?period={period}");
            out.push(
                self.time(&format!("referrer stats + daily ({period})"), &path, runs)
                    .await?,
            );
            let path = format!("/api/v1/stats?period={period}");
            out.push(
                self.time(&format!("overall stats + daily ({period})"), &path, runs)
                    .await?,
            );
        }
        for (label, from, to) in &ranges {
            let query = format!("period=custom&from={from}&to={to}");
            let path = format!("/api/v1/referrers/{referrer}/stats?{query}");
            out.push(
                self.time(&format!("referrer stats + daily ({label})"), &path, runs)
                    .await?,
            );
            let path = format!("/api/v1/stats?{query}");
            out.push(
                self.time(&format!("overall stats + daily ({label})"), &path, runs)
                    .await?,
            );
        }
        for page in ssr_pages(referrer) {
            out.push(self.time(&format!("SSR page {page}"), &page, runs).await?);
        }
        Ok(out)
    }
}

/// The dashboard's pages a manager (the bench's user) sees, each rendered whole on the server.
pub fn ssr_pages(referrer: i64) -> Vec<String> {
    [
        "/",
        "/leaderboard",
        "/stats",
        "/referrers",
        "/qrcodes",
        "/review",
        "/campaigns",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([format!("/referrers/{referrer}")])
    .collect()
}

/// Custom ranges (CST dates, both inclusive) over the seeded year that start and end inside a
/// month: the 15th to the 14th over 5 and 8 months (ending last month), the last 365 days,
/// and one day a year ago.
pub fn custom_ranges(today: NaiveDate) -> Vec<(&'static str, NaiveDate, NaiveDate)> {
    let month = today.with_day(1).expect("day 1 exists");
    let mid = |months_back: u32, day: u32| {
        (month - chrono::Months::new(months_back))
            .with_day(day)
            .expect("days 14 and 15 exist")
    };
    vec![
        ("mid-month 5 months", mid(6, 15), mid(1, 14)),
        ("mid-month 8 months", mid(9, 15), mid(1, 14)),
        ("whole year", today - chrono::Days::new(364), today),
        (
            "one day a year ago",
            today - chrono::Days::new(362),
            today - chrono::Days::new(362),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ranges_start_and_end_mid_month() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 4).expect("date");
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        let ranges = custom_ranges(today);
        assert_eq!(
            (ranges[0].1, ranges[0].2),
            (d("2026-06-15"), d("2026-11-14"))
        );
        assert_eq!(
            (ranges[1].1, ranges[1].2),
            (d("2026-03-15"), d("2026-11-14"))
        );
        assert_eq!(
            (ranges[2].1, ranges[2].2),
            (d("2025-12-05"), d("2026-12-04"))
        );
        assert_eq!(ranges[3].1, ranges[3].2);
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let samples: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&samples, 0.5), 10.0);
        assert_eq!(percentile(&samples, 0.95), 19.0);
        assert_eq!(percentile(&[], 0.5), 0.0);
    }
}
