//! `tuijian-bench run`: every benchmark in one go, one report.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::export::{self, ExportRun};
use crate::load::{Cell, CellResult, Target};
use crate::procs::{self, Proc};
use crate::timing::{Reader, Timed};
use crate::wire::{AES_KEY, Mode, TOKEN};
use crate::{seed, sizes};

/// What to run, from the command line.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The maintenance database of the benchmark cluster (postgres://…/postgres?host=…).
    #[arg(long)]
    pub admin_url: String,
    /// The tuijian server binary to measure.
    #[arg(long)]
    pub server_bin: PathBuf,
    /// The site directory (holding pkg/) the server serves and whose bundle is measured.
    #[arg(long)]
    pub site_root: PathBuf,
    /// Where the report goes (Markdown).
    #[arg(long)]
    pub out: PathBuf,
    /// Where server logs go.
    #[arg(long, default_value = "target/bench-logs")]
    pub logs: PathBuf,
    /// Seconds per load cell.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Concurrency levels.
    #[arg(long, value_delimiter = ',', default_value = "16,64")]
    pub concurrency: Vec<usize>,
    /// Interleaved repetitions of each (ours, baseline) pair of cells.
    #[arg(long, default_value_t = 2)]
    pub repeats: usize,
    /// Referrers the callbacks' scenes are spread over.
    #[arg(long, default_value_t = 1000)]
    pub referrers: usize,
    /// Referrals seeded for the stats benchmark, one database per size.
    #[arg(long, value_delimiter = ',', default_value = "1000000,10000000")]
    pub sizes: Vec<u64>,
    /// Timed repetitions of each read.
    #[arg(long, default_value_t = 20)]
    pub runs: usize,
    /// Words describing the build (e.g. "release"), for the report.
    #[arg(long, default_value = "release")]
    pub build: String,
    /// Database settings, for the report.
    #[arg(long, default_value = "fsync on, synchronous_commit on")]
    pub durability: String,
}

/// One (ours, baseline) pair of cells.
struct Pair {
    mode: Mode,
    concurrency: usize,
    ours: CellResult,
    base: CellResult,
    /// Outbox jobs still due after the drain wait, and how long the wait took.
    outbox_left: i64,
    drain: Duration,
}

struct Callbacks {
    pairs: Vec<Pair>,
    ours_sent: u64,
    ours_recorded: i64,
    base_sent: u64,
    base_recorded: i64,
    ours_rss: f64,
    base_rss: f64,
}

struct StatsRun {
    size: u64,
    seed: Duration,
    reads: Vec<Timed>,
    export: ExportRun,
}

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.logs)?;
    let started = chrono::Utc::now();
    let callbacks = callbacks(&args).await?;
    let mut stats = Vec::new();
    for &size in &args.sizes {
        stats.push(stats_at(&args, size).await?);
    }
    let bundle = sizes::bundle(&args.site_root.join("pkg"))?;
    let report = report(&args, started, &callbacks, &stats, &bundle);
    println!("{report}");
    std::fs::write(&args.out, &report)?;
    eprintln!("report written to {}", args.out.display());
    let counts_ok = callbacks.ours_recorded == callbacks.ours_sent as i64
        && callbacks.base_recorded == callbacks.base_sent as i64;
    let errors: u64 = callbacks
        .pairs
        .iter()
        .map(|p| p.ours.errors + p.base.errors)
        .sum();
    anyhow::ensure!(counts_ok, "referrals recorded differ from requests sent");
    anyhow::ensure!(
        errors == 0,
        "{errors} callbacks failed or had a wrong reply"
    );
    let exports: Vec<ExportRun> = stats.iter().map(|s| s.export.clone()).collect();
    export::check_bounded(&exports)
}

/// Our server; with `wechat_api`, in live mode against that API (see [`crate::fake_wechat`]),
/// otherwise in sandbox mode.
fn server_cmd(
    args: &RunArgs,
    database_url: &str,
    port: u16,
    mode: Mode,
    wechat_api: Option<&str>,
) -> Command {
    let mut cmd = Command::new(&args.server_bin);
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_SITE_ROOT", &args.site_root)
        .env("WECHAT_TOKEN", TOKEN)
        .env("RUST_LOG", "warn");
    if mode == Mode::Safe {
        cmd.env("WECHAT_ENCODING_AES_KEY", AES_KEY);
    }
    if let Some(base) = wechat_api {
        cmd.env("WECHAT_APPID", crate::wire::APPID)
            .env("WECHAT_APPSECRET", "bench-app-secret")
            .env("WECHAT_API_BASE", base)
            .env("PUBLIC_URL", "https://tuijian.example.com");
    }
    cmd
}

async fn callbacks(args: &RunArgs) -> anyhow::Result<Callbacks> {
    let targets: Arc<Vec<Target>> = Arc::new(seed::targets(args.referrers));
    let ours_db = seed::fresh_database(&args.admin_url, "bench_callbacks").await?;
    seed::callback_database(&ours_db, &targets).await?;
    let base_db = seed::fresh_database(&args.admin_url, "bench_baseline").await?;
    seed::baseline_database(&base_db, &targets).await?;
    let ours_pool = seed::pool(&ours_db).await?;
    let duration = Duration::from_secs_f64(args.duration);
    let mut out = Callbacks {
        pairs: Vec::new(),
        ours_sent: 0,
        ours_recorded: 0,
        base_sent: 0,
        base_recorded: 0,
        ours_rss: 0.0,
        base_rss: 0.0,
    };
    let run_id = chrono::Utc::now().timestamp();
    let wechat_api = crate::fake_wechat::spawn().await?;
    for mode in [Mode::Plain, Mode::Safe] {
        let tag = if mode == Mode::Plain { "plain" } else { "safe" };
        let port = procs::free_port()?;
        let log = args.logs.join(format!("server-{tag}.log"));
        let mut ours = Proc::start(
            "tuijian",
            server_cmd(args, &ours_db, port, mode, Some(&wechat_api)),
            port,
            &log,
        )
        .await?;
        let port = procs::free_port()?;
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["baseline", "--database-url", &base_db, "--listen"])
            .arg(format!("127.0.0.1:{port}"));
        let log = args.logs.join(format!("baseline-{tag}.log"));
        let mut base = Proc::start("baseline", cmd, port, &log).await?;
        for &concurrency in &args.concurrency {
            for rep in 0..args.repeats {
                let cell = |proc: &Proc, who: &str| Cell {
                    base: proc.base.clone(),
                    mode,
                    concurrency,
                    duration,
                    targets: targets.clone(),
                    tag: format!("{run_id}{who}{tag}c{concurrency}r{rep}"),
                };
                eprintln!("callbacks: {} c={concurrency} #{rep}: ours", mode.label());
                let ours_result = cell(&ours, "o").run().await?;
                let drain_started = Instant::now();
                let outbox_left = drain(&ours_pool, duration * 3 + Duration::from_secs(10)).await?;
                let drain = drain_started.elapsed();
                eprintln!(
                    "callbacks: {} c={concurrency} #{rep}: baseline",
                    mode.label()
                );
                let base_result = cell(&base, "b").run().await?;
                out.ours_sent += ours_result.sent;
                out.base_sent += base_result.sent;
                out.pairs.push(Pair {
                    mode,
                    concurrency,
                    ours: ours_result,
                    base: base_result,
                    outbox_left,
                    drain,
                });
            }
        }
        out.ours_rss = out.ours_rss.max(ours.peak_rss_mib().unwrap_or(0.0));
        out.base_rss = out.base_rss.max(base.peak_rss_mib().unwrap_or(0.0));
        ours.stop();
        base.stop();
    }
    out.ours_recorded = sqlx::query_scalar("select count(*) from referral")
        .fetch_one(&ours_pool)
        .await?;
    let base_pool = seed::pool(&base_db).await?;
    out.base_recorded = sqlx::query_scalar("select count(*) from referral")
        .fetch_one(&base_pool)
        .await?;
    Ok(out)
}

/// Waits until no outbox job is due (the worker has caught up), at most `limit`; returns how
/// many were still due.
async fn drain(pool: &sqlx::PgPool, limit: Duration) -> anyhow::Result<i64> {
    let deadline = Instant::now() + limit;
    loop {
        let due: i64 = sqlx::query_scalar(
            "select count(*) from outbox where status = 'pending' and next_attempt_at <= now()",
        )
        .fetch_one(pool)
        .await?;
        if due == 0 || Instant::now() >= deadline {
            return Ok(due);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn stats_at(args: &RunArgs, size: u64) -> anyhow::Result<StatsRun> {
    let name = format!("bench_stats_{size}");
    let url = seed::fresh_database(&args.admin_url, &name).await?;
    eprintln!("stats: seeding {size} referrals with COPY");
    let seed = seed::stats_database(&url, size).await?;
    eprintln!("stats: seeded in {:.1} s", seed.as_secs_f64());
    let (mut server, bearer, cookie) = stats_server(args, &url, size).await?;
    let reader = Reader::new(server.base.clone(), bearer, cookie)?;
    eprintln!("stats: timing reads over {size} referrals");
    let reads = reader.all(args.runs, 1).await?;
    eprintln!("stats: streaming {size} referrals as CSV");
    let export =
        export::referrals_csv(&server.base, &reader.bearer, server.child.id(), size).await?;
    server.stop();
    seed::drop_database(&args.admin_url, &name).await?;
    Ok(StatsRun {
        size,
        seed,
        reads,
        export,
    })
}

/// The reads of [`stats_at`] over the database `name` that `tuijian-bench seed` kept (the
/// server migrates it first, as an upgrade would); prints their table and writes it to
/// `args.out`.
pub async fn kept_reads(args: &RunArgs, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.logs)?;
    let url = seed::database_url(&args.admin_url, name);
    let pool = seed::pool(&url).await?;
    let size: i64 = sqlx::query_scalar("select count(*) from referral")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    let (mut server, bearer, cookie) = stats_server(args, &url, size as u64).await?;
    let reader = Reader::new(server.base.clone(), bearer, cookie)?;
    let reads = reader.all(args.runs, 1).await;
    server.stop();
    let mut table = format!(
        "{size} referrals, {} runs each\n\n| read | p50 ms | p95 ms |\n|---|---|---|\n",
        args.runs
    );
    for t in reads? {
        let _ = writeln!(table, "| {} | {:.1} | {:.1} |", t.what, t.p50_ms, t.p95_ms);
    }
    println!("{table}");
    std::fs::write(&args.out, &table)?;
    Ok(())
}

/// Our server over a seeded stats database, with a manager's bearer token and a dashboard
/// session cookie for it: (server, bearer, cookie).
pub async fn stats_server(
    args: &RunArgs,
    url: &str,
    size: u64,
) -> anyhow::Result<(Proc, String, String)> {
    let pool = seed::pool(url).await?;
    let bearer =
        tuijian::referral::tokens::mint(&pool, 1, "bench", tuijian::referral::roles::Role::Manager)
            .await?;
    let password = "bench-password-1";
    tuijian::referral::users::create_user(
        &pool,
        1,
        "bench",
        password,
        tuijian::referral::roles::Role::Manager,
    )
    .await
    .map_err(|e| anyhow::anyhow!("create the bench user: {e:?}"))?;
    let (_, cookie) = tuijian::referral::users::login(&pool, 1, "bench", password)
        .await
        .map_err(|e| anyhow::anyhow!("log the bench user in: {e:?}"))?;
    pool.close().await;
    let port = procs::free_port()?;
    let log = args.logs.join(format!("server-stats-{size}.log"));
    let server = Proc::start(
        "tuijian",
        server_cmd(args, url, port, Mode::Plain, None),
        port,
        &log,
    )
    .await?;
    Ok((server, bearer, cookie))
}

fn report(
    args: &RunArgs,
    started: chrono::DateTime<chrono::Utc>,
    cb: &Callbacks,
    stats: &[StatsRun],
    bundle: &[sizes::FileSize],
) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# Benchmarks\n");
    let _ = writeln!(
        r,
        "Run {} · {} · build: {} · PostgreSQL: {} · {} s per load cell, {} interleaved \
         repetition(s) · `cargo xtask bench` (see the README).\n",
        started.format("%Y-%m-%d %H:%M UTC"),
        procs::machine(),
        args.build,
        args.durability,
        args.duration,
        args.repeats,
    );
    let _ = writeln!(
        r,
        "The load generator, the server, the baseline and PostgreSQL share this machine.\n"
    );
    summary(&mut r, cb, stats, bundle);
    let _ = writeln!(
        r,
        "## Callbacks (signed `subscribe`, unique follower each, scenes over {} referrers)\n",
        args.referrers
    );
    let _ = writeln!(
        r,
        "| mode | conc | server | req/s | p50 ms | p90 ms | p99 ms | max ms | errors | ours/baseline req/s | ours/baseline p99 |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|---|---|---|---|---|");
    for p in &cb.pairs {
        let row = |who: &str, c: &CellResult, ratios: &str| {
            format!(
                "| {} | {} | {who} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} | {} | {ratios} |",
                p.mode.label(),
                p.concurrency,
                c.rps(),
                c.ms(0.5),
                c.ms(0.9),
                c.ms(0.99),
                c.max_ms(),
                c.errors,
            )
        };
        let ratios = format!(
            "{:.2}× | {:.2}×",
            p.ours.rps() / p.base.rps().max(f64::MIN_POSITIVE),
            p.ours.ms(0.99) / p.base.ms(0.99).max(f64::MIN_POSITIVE)
        );
        let _ = writeln!(r, "{}", row("tuijian", &p.ours, &ratios));
        let _ = writeln!(r, "{}", row("baseline", &p.base, " | "));
    }
    let _ = writeln!(r);
    let check = |recorded: i64, sent: u64| {
        if recorded == sent as i64 {
            "✓"
        } else {
            "✗ MISMATCH"
        }
    };
    let _ = writeln!(
        r,
        "Referrals recorded = requests sent: tuijian {} / {} {}, baseline {} / {} {}.",
        cb.ours_recorded,
        cb.ours_sent,
        check(cb.ours_recorded, cb.ours_sent),
        cb.base_recorded,
        cb.base_sent,
        check(cb.base_recorded, cb.base_sent),
    );
    let worst_left = cb.pairs.iter().map(|p| p.outbox_left).max().unwrap_or(0);
    let worst_drain = cb.pairs.iter().map(|p| p.drain).max().unwrap_or_default();
    let _ = writeln!(
        r,
        "Outbox after each tuijian cell: drained in at most {:.1} s ({} jobs still due at the \
         worst); the baseline cell runs after the drain.\n",
        worst_drain.as_secs_f64(),
        worst_left
    );
    let _ = writeln!(r, "## Memory\n");
    let _ = writeln!(r, "| process | peak RSS (VmHWM) |\n|---|---|");
    let _ = writeln!(
        r,
        "| tuijian server (during the callback load) | {:.1} MiB |",
        cb.ours_rss
    );
    let _ = writeln!(r, "| baseline | {:.1} MiB |\n", cb.base_rss);
    let _ = writeln!(
        r,
        "## Stats at scale ({} referrers, one year, 10% unfollowed)\n",
        seed::SEED_REFERRERS
    );
    let _ = writeln!(
        r,
        "| referrals | seed (COPY) | read | p50 ms | p95 ms |\n|---|---|---|---|---|"
    );
    for s in stats {
        for (i, t) in s.reads.iter().enumerate() {
            let (size, seed) = if i == 0 {
                (s.size.to_string(), format!("{:.0} s", s.seed.as_secs_f64()))
            } else {
                (String::new(), String::new())
            };
            let _ = writeln!(
                r,
                "| {size} | {seed} | {} | {:.1} | {:.1} |",
                t.what, t.p50_ms, t.p95_ms
            );
        }
    }
    let exports: Vec<ExportRun> = stats.iter().map(|s| s.export.clone()).collect();
    let _ = write!(
        r,
        "\n{}",
        export::section(
            &exports,
            "Run with the stats reads above, on the same server."
        )
    );
    let _ = writeln!(
        r,
        "\n## Frontend bundle (`{}`)\n",
        args.site_root.join("pkg").display()
    );
    let _ = writeln!(r, "| file | raw KiB | gzip -6 KiB |\n|---|---|---|");
    for f in bundle {
        let _ = writeln!(
            r,
            "| {} | {:.1} | {:.1} |",
            f.name,
            f.raw as f64 / 1024.0,
            f.gzip as f64 / 1024.0
        );
    }
    r
}

/// The one table: each figure against its target.
fn summary(r: &mut String, cb: &Callbacks, stats: &[StatsRun], bundle: &[sizes::FileSize]) {
    let _ = writeln!(r, "| benchmark | result | target |\n|---|---|---|");
    let mut keys: Vec<(Mode, usize)> = Vec::new();
    for p in &cb.pairs {
        if !keys.contains(&(p.mode, p.concurrency)) {
            keys.push((p.mode, p.concurrency));
        }
    }
    for (mode, conc) in keys {
        let pairs: Vec<&Pair> = cb
            .pairs
            .iter()
            .filter(|p| p.mode == mode && p.concurrency == conc)
            .collect();
        let (ours, base) = (
            merged(pairs.iter().map(|p| &p.ours)),
            merged(pairs.iter().map(|p| &p.base)),
        );
        let (Some(ours), Some(base)) = (ours, base) else {
            continue;
        };
        let _ = writeln!(
            r,
            "| callbacks, {}, concurrency {conc} | tuijian {:.0} req/s, p99 {:.1} ms · baseline {:.0} req/s, p99 {:.1} ms · **{:.2}× throughput, {:.2}× p99** | ≥ 1.0× throughput, ≤ 1.2× p99 |",
            mode.label(),
            ours.rps(),
            ours.ms(0.99),
            base.rps(),
            base.ms(0.99),
            ours.rps() / base.rps().max(f64::MIN_POSITIVE),
            ours.ms(0.99) / base.ms(0.99).max(f64::MIN_POSITIVE),
        );
    }
    let errors: u64 = cb.pairs.iter().map(|p| p.ours.errors + p.base.errors).sum();
    let _ = writeln!(
        r,
        "| callbacks: bad replies, referrals recorded vs sent | {errors} errors · tuijian {} / {} · baseline {} / {} | 0 errors, equal |",
        cb.ours_recorded, cb.ours_sent, cb.base_recorded, cb.base_sent
    );
    for s in stats {
        if let Some(worst) = s
            .reads
            .iter()
            .filter(|t| !t.what.starts_with("SSR"))
            .max_by(|a, b| a.p95_ms.total_cmp(&b.p95_ms))
        {
            let _ = writeln!(
                r,
                "| stats at {} referrals: slowest read (p95) | {}: {:.1} ms (seeded in {:.0} s) | p95 ≤ 25 ms at 10 M |",
                s.size,
                worst.what,
                worst.p95_ms,
                s.seed.as_secs_f64()
            );
        }
        for ssr in s.reads.iter().filter(|t| t.what.starts_with("SSR")) {
            let _ = writeln!(
                r,
                "| {} at {} referrals | p50 {:.1} ms, p95 {:.1} ms | p95 ≤ 20 ms at 10 M |",
                ssr.what, s.size, ssr.p50_ms, ssr.p95_ms
            );
        }
    }
    for f in bundle.iter().filter(|f| !f.name.ends_with(".css")) {
        let target = if f.name.ends_with(".wasm") {
            "≤ 250 KB gzipped"
        } else {
            ""
        };
        let _ = writeln!(
            r,
            "| bundle {} | {:.1} KiB raw, {:.1} KiB gzipped | {target} |",
            f.name,
            f.raw as f64 / 1024.0,
            f.gzip as f64 / 1024.0
        );
    }
    for s in stats {
        let _ = writeln!(r, "{}", export::summary_row(&s.export));
    }
    let _ = writeln!(
        r,
        "| server peak RSS during the callback load | {:.1} MiB (baseline {:.1} MiB) | ≤ 100 MB |\n",
        cb.ours_rss, cb.base_rss
    );
}

/// Cells of the same kind as one: latencies merged, throughput over the summed time.
fn merged<'a>(cells: impl Iterator<Item = &'a CellResult>) -> Option<CellResult> {
    let mut out: Option<CellResult> = None;
    for c in cells {
        match &mut out {
            None => out = Some(c.clone()),
            Some(m) => {
                m.sent += c.sent;
                m.ok += c.ok;
                m.errors += c.errors;
                m.elapsed += c.elapsed;
                let _ = m.latency.add(&c.latency);
            }
        }
    }
    out
}
