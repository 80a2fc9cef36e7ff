//! The streamed CSV export at scale: `GET /api/v1/referrals.csv?period=all` over every seeded
//! referral, read through the server as a client would, while the server's resident memory
//! is sampled. Bounded memory means the growth stays small whatever the size.

use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::procs;
use crate::run::{self, RunArgs};
use crate::seed;

/// Largest growth of the server's resident memory during an export that counts as bounded.
pub const MAX_GROWTH_MIB: f64 = 32.0;
/// How often the server's memory is read while it streams.
const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// The report's section heading (the standalone run replaces the section under it).
const HEADING: &str = "## Referrals CSV export (streamed)";
/// How the report's summary rows of this benchmark begin.
const SUMMARY_PREFIX: &str = "| referrals CSV export at ";

/// One export, measured.
#[derive(Clone, Debug)]
pub struct ExportRun {
    pub size: u64,
    /// Records after the header.
    pub rows: u64,
    pub bytes: u64,
    pub took: Duration,
    /// The server's resident memory (VmRSS, MiB) just before, and the most seen during it.
    pub rss_before: f64,
    pub rss_peak: f64,
}

impl ExportRun {
    pub fn growth_mib(&self) -> f64 {
        (self.rss_peak - self.rss_before).max(0.0)
    }

    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.took.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    fn mib(&self) -> f64 {
        self.bytes as f64 / 1024.0 / 1024.0
    }
}

/// Downloads every referral as CSV from the server at `base` (process `pid`), counting rows
/// and bytes as they arrive (nothing is kept), and samples the server's memory meanwhile.
/// Fails unless every one of the `size` referrals arrived.
pub async fn referrals_csv(
    base: &str,
    bearer: &str,
    pid: u32,
    size: u64,
) -> anyhow::Result<ExportRun> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(900))
        .build()?;
    let rss_before = procs::rss_mib(pid).unwrap_or(0.0);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn({
        let stop = stop.clone();
        async move {
            let mut peak: f64 = 0.0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(procs::rss_mib(pid).unwrap_or(0.0));
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
            peak.max(procs::rss_mib(pid).unwrap_or(0.0))
        }
    });
    let started = Instant::now();
    let result = download(&client, base, bearer).await;
    let took = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let rss_peak = sampler.await?.max(rss_before);
    let (lines, bytes) = result?;
    let run = ExportRun {
        size,
        rows: lines.saturating_sub(1),
        bytes,
        took,
        rss_before,
        rss_peak,
    };
    anyhow::ensure!(
        run.rows == size,
        "the export had {} rows, not the {size} referrals seeded",
        run.rows
    );
    Ok(run)
}

/// (lines, bytes) of the whole body.
async fn download(
    client: &reqwest::Client,
    base: &str,
    bearer: &str,
) -> anyhow::Result<(u64, u64)> {
    let mut resp = client
        .get(format!("{base}/api/v1/referrals.csv?period=all"))
        .bearer_auth(bearer)
        .send()
        .await?;
    anyhow::ensure!(
        resp.status().is_success(),
        "GET /api/v1/referrals.csv: HTTP {}",
        resp.status()
    );
    let (mut lines, mut bytes) = (0u64, 0u64);
    while let Some(chunk) = resp.chunk().await? {
        bytes += chunk.len() as u64;
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
    }
    Ok((lines, bytes))
}

/// The report's summary row for one export.
pub fn summary_row(e: &ExportRun) -> String {
    format!(
        "{SUMMARY_PREFIX}{} referrals | {} rows, {:.0} MiB in {:.1} s ({:.0} rows/s) · server RSS +{:.1} MiB (peak {:.1} MiB) | every row; RSS growth ≤ {MAX_GROWTH_MIB:.0} MiB |",
        e.size,
        e.rows,
        e.mib(),
        e.took.as_secs_f64(),
        e.rows_per_sec(),
        e.growth_mib(),
        e.rss_peak,
    )
}

/// The report's section: one row per export; `note` says how and when they ran.
pub fn section(runs: &[ExportRun], note: &str) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "{HEADING}\n");
    let _ = writeln!(
        r,
        "`GET /api/v1/referrals.csv?period=all` over every seeded referral, read by a client \
         that keeps nothing; the server's resident memory (VmRSS) is read every {} ms while it \
         streams. {note}\n",
        SAMPLE_EVERY.as_millis()
    );
    let _ = writeln!(
        r,
        "| referrals | rows | MiB | seconds | rows/s | server RSS before | peak during | growth |\n|---|---|---|---|---|---|---|---|"
    );
    for e in runs {
        let _ = writeln!(
            r,
            "| {} | {} | {:.1} | {:.1} | {:.0} | {:.1} MiB | {:.1} MiB | {:.1} MiB |",
            e.size,
            e.rows,
            e.mib(),
            e.took.as_secs_f64(),
            e.rows_per_sec(),
            e.rss_before,
            e.rss_peak,
            e.growth_mib()
        );
    }
    r
}

/// Fails when an export's memory grew past [`MAX_GROWTH_MIB`].
pub fn check_bounded(runs: &[ExportRun]) -> anyhow::Result<()> {
    for e in runs {
        anyhow::ensure!(
            e.growth_mib() <= MAX_GROWTH_MIB,
            "the server's memory grew by {:.1} MiB while exporting {} referrals",
            e.growth_mib(),
            e.size
        );
    }
    Ok(())
}

/// `tuijian-bench export`: only this benchmark, at each of `--sizes`, with its section and
/// summary rows written into the existing report `--out` (the rest of it is kept).
pub async fn standalone(args: RunArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.logs)?;
    let started = chrono::Utc::now();
    let mut runs = Vec::new();
    for &size in &args.sizes {
        let name = format!("bench_export_{size}");
        let url = seed::fresh_database(&args.admin_url, &name).await?;
        eprintln!("export: seeding {size} referrals with COPY");
        let took = seed::stats_database(&url, size).await?;
        eprintln!("export: seeded in {:.1} s", took.as_secs_f64());
        let (mut server, bearer, _) = run::stats_server(&args, &url, size).await?;
        eprintln!("export: streaming {size} referrals as CSV");
        let run = referrals_csv(&server.base, &bearer, server.child.id(), size).await;
        server.stop();
        seed::drop_database(&args.admin_url, &name).await?;
        runs.push(run?);
    }
    let note = format!(
        "Run {} · {} · build: {} · PostgreSQL: {} · `cargo xtask bench --export-only` \
         (`--debug` for a debug build), which replaces this section only.",
        started.format("%Y-%m-%d %H:%M UTC"),
        procs::machine(),
        args.build,
        args.durability
    );
    let report = std::fs::read_to_string(&args.out).unwrap_or_default();
    let report = patch(&report, &section(&runs, &note), &runs);
    std::fs::write(&args.out, &report)?;
    for e in &runs {
        println!("{}", summary_row(e));
    }
    eprintln!("section written to {}", args.out.display());
    check_bounded(&runs)
}

/// `report` with this benchmark's section replaced (or put before the bundle section, or
/// appended) and its summary rows replaced (put before the memory row of the summary).
fn patch(report: &str, section: &str, runs: &[ExportRun]) -> String {
    let lines: Vec<&str> = report.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut skipping = false;
    let mut placed = false;
    for line in &lines {
        if line.starts_with(SUMMARY_PREFIX) {
            continue;
        }
        if line.starts_with("| server peak RSS during the callback load") {
            out.extend(runs.iter().map(summary_row));
        }
        if *line == HEADING {
            skipping = true;
            continue;
        }
        if skipping && line.starts_with("## ") {
            skipping = false;
        }
        if !placed && !skipping && line.starts_with("## Frontend bundle") {
            out.extend(section.lines().map(str::to_owned));
            out.push(String::new());
            placed = true;
        }
        if !skipping {
            out.push((*line).to_owned());
        }
    }
    if !placed {
        if out.last().is_some_and(|l| !l.is_empty()) {
            out.push(String::new());
        }
        out.extend(section.lines().map(str::to_owned));
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(size: u64) -> ExportRun {
        ExportRun {
            size,
            rows: size,
            bytes: 2 * 1024 * 1024,
            took: Duration::from_secs(2),
            rss_before: 40.0,
            rss_peak: 45.5,
        }
    }

    #[test]
    fn the_section_and_summary_rows_are_replaced_in_place() {
        let report = "# Benchmarks\n\n| benchmark | result | target |\n|---|---|---|\n| a | b | c |\n| server peak RSS during the callback load | 1 | 2 |\n\n## Stats\n\nx\n\n## Frontend bundle (`p`)\n\ny\n";
        let once = patch(report, &section(&[run(10)], "first"), &[run(10)]);
        assert!(once.contains("| referrals CSV export at 10 referrals | 10 rows, 2 MiB in 2.0 s (5 rows/s) · server RSS +5.5 MiB"));
        assert!(once.find(HEADING) < once.find("## Frontend bundle"));
        assert!(once.find("## Stats") < once.find(HEADING));
        let twice = patch(&once, &section(&[run(20)], "second"), &[run(20)]);
        assert_eq!(twice.matches(HEADING).count(), 1);
        assert_eq!(twice.matches(SUMMARY_PREFIX).count(), 1);
        assert!(twice.contains("second") && !twice.contains("first"));
        assert!(twice.contains("| 20 | 20 |") && twice.ends_with("y\n"));
        assert!(check_bounded(&[run(1)]).is_ok());
        let mut fat = run(1);
        fat.rss_peak = 100.0;
        assert!(check_bounded(&[fat]).is_err());
    }
}
