//! `tuijian-bench`: the benchmark driver (`run`), the baseline server (`baseline`) and a single
//! load cell (`load`). `cargo xtask bench` builds everything, starts PostgreSQL and calls `run`.

mod baseline;
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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Cmd::Run(args) => run::run(args).await,
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
    }
}
