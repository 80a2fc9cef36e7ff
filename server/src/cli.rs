//! The command line: `tuijian [serve]`, `tuijian migrate`.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::db::{self, Database};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::roles::Role;
use crate::referral::{settings, users};
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
    /// Manage dashboard users.
    #[command(subcommand)]
    User(UserCommand),
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
enum UserCommand {
    /// Create a user (or reset its password and role). The password is read from a prompt,
    /// or from standard input when it is not a terminal.
    Create {
        #[arg(long)]
        username: String,
        /// admin, manager or staff.
        #[arg(long)]
        role: String,
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
    /// The user sends a text message (e.g. 推广码 for a personal code, 我叫 小王 to set a name).
    Text {
        #[arg(long)]
        user: String,
        #[arg(long)]
        text: String,
    },
    /// The user clicks the account's "my referral code" menu item.
    Menu {
        #[arg(long)]
        user: String,
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
            Command::User(UserCommand::Create { username, role }) => {
                create_user(username, role).await
            }
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
    if sandbox {
        announce_sandbox_admin(&database.pool).await;
    }
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
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let result = async {
        db::migrate(&database.pool).await?;
        let account = db::events::default_account(&database.pool).await?;
        settings::mint_token(&database.pool, &Actor::cli(account), &name, role)
            .await
            .map_err(refused)
    }
    .await;
    database.shutdown().await;
    let token = result?;
    eprintln!(
        "created {role} token {:?}; it is shown only now:",
        name.trim()
    );
    println!("{token}");
    Ok(())
}

/// A service's refusal as a command-line error: every field's message.
fn refused(e: ServiceError) -> anyhow::Error {
    match e {
        ServiceError::Validation(f) => anyhow::anyhow!(
            "{}",
            f.iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        other => anyhow::anyhow!("{other}"),
    }
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
        SimulateCommand::Menu { user } => ("menu", serde_json::json!({"user": user})),
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
    match (sim.reply, sim.image_media_id) {
        (Some(text), _) => println!("公众号回复 / reply: {text}"),
        (None, Some(media_id)) => {
            println!("公众号回复图片 / image reply: {server}/sandbox/media/{media_id}")
        }
        (None, None) => println!("(no reply: success)"),
    }
    Ok(())
}

fn read_password() -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password: ");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn create_user(username: String, role: String) -> anyhow::Result<()> {
    let role = Role::parse(&role)
        .with_context(|| format!("unknown role {role:?}: use admin, manager or staff"))?;
    let password = read_password()?;
    // Refuse a bad name or password before touching the database.
    users::validate_new_user(&username, &password).map_err(refused)?;
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let result = async {
        db::migrate(&database.pool).await?;
        let account = db::events::default_account(&database.pool).await?;
        settings::add_user(
            &database.pool,
            &Actor::cli(account),
            &username,
            &password,
            role,
        )
        .await
        .map_err(refused)
    }
    .await;
    database.shutdown().await;
    result?;
    eprintln!("user {username:?} ({role}) is ready");
    Ok(())
}

/// In sandbox mode the first start creates `admin` and prints its one-time password.
async fn announce_sandbox_admin(pool: &sqlx::PgPool) {
    let account = match db::events::default_account(pool).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the account");
            return;
        }
    };
    match users::ensure_sandbox_admin(pool, account).await {
        Ok(Some(password)) => {
            // Printed once on purpose (not logged): the newcomer needs it to sign in.
            println!(
                "\n沙盒模式首次启动 / first start in sandbox mode:\n  \
                 用户名 username: admin\n  一次性密码 one-time password: {password}\n  \
                 (change it with `tuijian user create --username admin --role admin`)\n"
            );
        }
        Ok(None) => {}
        Err(e) => tracing::error!(error = %e, "cannot create the sandbox admin"),
    }
}
