//! The command line: `tuijian [serve]`, `tuijian migrate`.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::db::{self, Database};
use crate::referral::roles::Role;
use crate::referral::tokens;
use crate::sandbox::simulate::SimReply;
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
    /// Manage REST API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Play a WeChat user against a server running in sandbox mode.
    Simulate {
        #[command(subcommand)]
        action: SimulateCommand,
        /// The sandbox server (default: http://$LEPTOS_SITE_ADDR).
        #[arg(long, global = true)]
        server: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum SimulateCommand {
    /// The user scans QR code ID (follows if new, SCAN if already following).
    Scan {
        #[arg(long)]
        qrcode: i64,
        #[arg(long)]
        user: String,
    },
    /// The user follows without a code (search).
    Follow {
        #[arg(long)]
        user: String,
    },
    /// The user unfollows.
    Unfollow {
        #[arg(long)]
        user: String,
    },
    /// The user sends a text message.
    Text {
        #[arg(long)]
        user: String,
        #[arg(long)]
        text: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Mint a bearer token; it is printed once, as the last line of stdout.
    Create {
        /// A name to recognise the token by (shown in the audit log).
        #[arg(long)]
        name: String,
        /// admin, manager or staff.
        #[arg(long)]
        role: String,
    },
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
            Command::Token(TokenCommand::Create { name, role }) => create_token(name, role).await,
            Command::Simulate { action, server } => simulate(action, server).await,
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
    let state = match AppState::new(database.pool.clone(), settings, addr).await {
        Ok(state) => state,
        Err(e) => {
            database.shutdown().await;
            return Err(e);
        }
    };
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

async fn create_token(name: String, role: String) -> anyhow::Result<()> {
    let role = Role::parse(&role)
        .with_context(|| format!("unknown role {role:?}: use admin, manager or staff"))?;
    let name = name.trim().to_owned();
    anyhow::ensure!(
        !name.is_empty() && name.chars().count() <= 64,
        "--name must be 1 to 64 characters"
    );
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let result = async {
        db::migrate(&database.pool).await?;
        let account = db::events::default_account(&database.pool).await?;
        let token = tokens::mint(&database.pool, account, &name, role).await?;
        anyhow::Ok(token)
    }
    .await;
    database.shutdown().await;
    let token = result?;
    eprintln!("created {role} token {name:?}; it is shown only now:");
    println!("{token}");
    Ok(())
}

async fn simulate(action: SimulateCommand, server: Option<String>) -> anyhow::Result<()> {
    let server = match server {
        Some(s) => s.trim_end_matches('/').to_owned(),
        None => format!("http://{}", Settings::from_env()?.site_addr),
    };
    let (path, body) = match action {
        SimulateCommand::Scan { qrcode, user } => (
            "scan",
            serde_json::json!({"qrcode_id": qrcode, "user": user}),
        ),
        SimulateCommand::Follow { user } => ("follow", serde_json::json!({"user": user})),
        SimulateCommand::Unfollow { user } => ("unfollow", serde_json::json!({"user": user})),
        SimulateCommand::Text { user, text } => {
            ("text", serde_json::json!({"user": user, "content": text}))
        }
    };
    let url = format!("{server}/sandbox/simulate/{path}");
    let resp = reqwest::Client::new()
        .post(&url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("cannot reach {server}; is `tuijian serve` running?"))?;
    let status = resp.status();
    let answer: serde_json::Value = resp.json().await.unwrap_or_default();
    if status == reqwest::StatusCode::NOT_FOUND && answer.is_null() {
        anyhow::bail!("{server} is not in sandbox mode (no /sandbox routes)");
    }
    if !status.is_success() {
        let message = answer["error"]["message"]
            .as_str()
            .unwrap_or("unknown error");
        anyhow::bail!("simulation failed ({status}): {message}");
    }
    let sim: SimReply = serde_json::from_value(answer).context("unexpected answer")?;
    println!("{} → {} (HTTP {})", sim.openid, sim.sent, sim.status);
    match sim.reply {
        Some(text) => println!("公众号回复 / reply: {text}"),
        None => println!("(no reply: success)"),
    }
    Ok(())
}
