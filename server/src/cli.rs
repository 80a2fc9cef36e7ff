//! The command line: `tuijian [serve]`, `tuijian migrate`.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::db::{self, Database};
use crate::startup::{self, AppState};

/// Tuijian: WeChat Official Account referral tracking.
#[derive(Debug, Parser)]
#[command(name = "tuijian", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command.unwrap_or(Command::Serve) {
            Command::Serve => serve().await,
            Command::Migrate => migrate().await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    if let Err(e) = db::migrate(&database.pool).await {
        database.shutdown().await;
        return Err(e);
    }
    let listener = match TcpListener::bind(settings.site_addr).await {
        Ok(l) => l,
        Err(e) => {
            database.shutdown().await;
            return Err(e).with_context(|| format!("cannot listen on {}", settings.site_addr));
        }
    };
    let addr = listener.local_addr()?;
    let sandbox = settings.wechat.is_sandbox();
    let state = AppState::new(database.pool.clone(), settings);
    tracing::info!(
        %addr,
        mode = if sandbox { "sandbox" } else { "live" },
        "tuijian is listening on http://{addr}"
    );
    let served = startup::serve(listener, state, startup::shutdown_signal()).await;
    database.shutdown().await;
    served.context("server error")?;
    tracing::info!("stopped");
    Ok(())
}

async fn migrate() -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let result = db::migrate(&database.pool).await;
    database.shutdown().await;
    result?;
    tracing::info!("migrations applied");
    Ok(())
}
