//! `tuijian-bench`: the benchmark driver (`run`), the export benchmark alone (`export`), the
//! baseline server (`baseline`), a single load cell (`load`), a kept stats database (`seed`) and
//! the reads over it (`reads`).
//! `cargo xtask bench` builds everything, starts PostgreSQL and calls `run`.

mod baseline;
mod export;
mod fake_wechat;
mod load;
mod procs;
mod run;
mod seed;
mod sizes;
mod timing;
mod wire;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "tuijian benchmarks")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Every benchmark, one report.
    Run(run::RunArgs),
    /// Only the streamed CSV export at each of `--sizes`; its section of the report `--out`
    /// is replaced, the rest kept.
    Export(run::RunArgs),
    /// The minimal baseline server.
    Baseline {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        listen: SocketAddr,
    },
    /// One load cell against a running server whose referrers are `b00001`… (for profiling).
    Load {
        #[arg(long)]
        url: String,
        #[arg(long)]
        safe: bool,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        #[arg(long, default_value_t = 1000)]
        referrers: usize,
    },
    /// Times the reads of `run` over a database `seed` kept (for before/after comparisons);
    /// writes their table to `--out`.
    Reads {
        #[command(flatten)]
        args: run::RunArgs,
        /// The kept database.
        #[arg(long, default_value = "bench_stats_kept")]
        name: String,
    },
    /// Seeds a stats database the way `run` does and keeps it (for profiling the reads).
    Seed {
        /// The maintenance database's URL (…/postgres).
        #[arg(long)]
        admin_url: String,
        #[arg(long, default_value_t = 10_000_000)]
        size: u64,
        /// The database to (re)create.
        #[arg(long, default_value = "bench_stats_kept")]
        name: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Run(args) => run::run(args).await,
        Cmd::Export(args) => export::standalone(args).await,
        Cmd::Baseline {
            database_url,
            listen,
        } => baseline::serve(&database_url, listen).await,
        Cmd::Load {
            url,
            safe,
            concurrency,
            duration,
            referrers,
        } => {
            let cell = load::Cell {
                base: url,
                mode: if safe {
                    wire::Mode::Safe
                } else {
                    wire::Mode::Plain
                },
                concurrency,
                duration: Duration::from_secs_f64(duration),
                targets: Arc::new(seed::targets(referrers)),
                tag: chrono::Utc::now().timestamp_millis().to_string(),
            };
            let r = cell.run().await?;
            println!(
                "sent {} ok {} errors {} req/s {:.0} p50 {:.1} ms p90 {:.1} ms p99 {:.1} ms max {:.1} ms{}",
                r.sent,
                r.ok,
                r.errors,
                r.rps(),
                r.ms(0.5),
                r.ms(0.9),
                r.ms(0.99),
                r.max_ms(),
                r.first_error
                    .map(|e| format!(" first error: {e}"))
                    .unwrap_or_default()
            );
            Ok(())
        }
        Cmd::Reads { args, name } => run::kept_reads(&args, &name).await,
        Cmd::Seed {
            admin_url,
            size,
            name,
        } => {
            let url = seed::fresh_database(&admin_url, &name).await?;
            let took = seed::stats_database(&url, size).await?;
            println!(
                "seeded {size} referrals in {:.1} s: {url}",
                took.as_secs_f64()
            );
            Ok(())
        }
    }
}
