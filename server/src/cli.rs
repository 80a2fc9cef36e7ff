//! The command line: `tuijian [serve]`, `tuijian migrate`, `tuijian doctor`, and the
//! management commands.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::config::Settings;
use crate::db::{self, Database};
use std::sync::Arc;

use app::model::AccountInput;

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
    /// Manage the Official Accounts this server serves.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Check each account's connection to WeChat (as the setup page does); exits non-zero
    /// when a check fails.
    Doctor {
        /// Only this account (default: every account).
        #[arg(long)]
        account: Option<i64>,
    },
    /// Followers' privacy.
    #[command(subcommand)]
    Follower(FollowerCommand),
    /// The account's outbound webhooks.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Reconcile an account's followers with WeChat now (as the dashboard's button does): recover
    /// the follows whose callback never arrived, mark the followers WeChat no longer lists as
    /// lost, and print what changed. Continues the account's run that stopped on an error, or
    /// follows the one the server is running. A sandbox account needs its server running.
    Reconcile {
        /// The account (default: the first).
        #[arg(long)]
        account: Option<i64>,
        /// Also tell the referrers of recovered referrals.
        #[arg(long)]
        notify: bool,
    },
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
enum WebhookCommand {
    /// List the webhook endpoints (never their secrets): id, state, failures in a row, events,
    /// URL.
    List {
        /// The account (default: the first).
        #[arg(long)]
        account: Option<i64>,
    },
}

#[derive(Debug, Subcommand)]
enum FollowerCommand {
    /// Erase a follower on their request: their openid, unionid, messages and events are
    /// replaced by a tombstone everywhere; their referral and every count stay.
    Erase {
        #[arg(long)]
        openid: String,
        /// Why (kept in the audit log), e.g. the request's reference.
        #[arg(long)]
        reason: String,
        /// The account (default: the first).
        #[arg(long)]
        account: Option<i64>,
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
        /// The account the role is for (default: the first).
        #[arg(long)]
        account: Option<i64>,
    },
}

/// An account's settings on the command line. The AppSecret is never an argument (it would
/// stay in the shell's history): `--read-appsecret` reads it from a prompt or standard input.
#[derive(Debug, clap::Args)]
struct AccountArgs {
    /// Display name (1 to 64 characters).
    #[arg(long)]
    name: Option<String>,
    /// sandbox (the built-in simulator) or live (WeChat).
    #[arg(long)]
    mode: Option<String>,
    #[arg(long)]
    appid: Option<String>,
    /// The original id, gh_…
    #[arg(long)]
    original_id: Option<String>,
    /// The callback Token (3 to 32 letters or digits).
    #[arg(long)]
    token: Option<String>,
    /// The 43-character EncodingAESKey (safe mode); "" clears it.
    #[arg(long)]
    aes_key: Option<String>,
    /// Read the AppSecret from a prompt (or standard input).
    #[arg(long)]
    read_appsecret: bool,
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Add an account; prints its id and callback path.
    Create(AccountArgs),
    /// List the accounts (secrets only as set / not set).
    List,
    /// Change an account; options not given keep their value.
    Update {
        #[arg(long)]
        id: i64,
        #[command(flatten)]
        args: AccountArgs,
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
    /// The user clicks the account's "my referral code" menu item (or, with --key, the
    /// published menu's CLICK item with that key).
    Menu {
        #[arg(long)]
        user: String,
        #[arg(long)]
        key: Option<String>,
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
        /// The account the token works in (default: the first).
        #[arg(long)]
        account: Option<i64>,
        /// Days the token is valid (default: until revoked).
        #[arg(long)]
        expires_days: Option<i64>,
    },
    /// List the account's tokens: id, name, role, created, last used, expiry, state.
    List {
        #[arg(long)]
        account: Option<i64>,
    },
    /// Revoke a token: it authenticates nothing from now on.
    Revoke {
        #[arg(long)]
        id: i64,
        #[arg(long)]
        account: Option<i64>,
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
            Command::Token(TokenCommand::Create {
                name,
                role,
                account,
                expires_days,
            }) => create_token(name, role, account, expires_days).await,
            Command::Token(TokenCommand::List { account }) => list_tokens(account).await,
            Command::Token(TokenCommand::Revoke { id, account }) => revoke_token(id, account).await,
            Command::Account(command) => account(command).await,
            Command::Doctor { account } => match doctor(account).await {
                Ok(true) => Ok(()),
                Ok(false) => Err(anyhow::anyhow!(
                    "a check failed: fix it as described above and run `tuijian doctor` again"
                )),
                Err(e) => Err(e),
            },
            Command::Reconcile { account, notify } => reconcile(account, notify).await,
            Command::Follower(FollowerCommand::Erase {
                openid,
                reason,
                account,
            }) => erase_follower(openid, reason, account).await,
            Command::Simulate { action, server } => simulate(action, server).await,
            Command::Webhook(WebhookCommand::List { account }) => list_webhooks(account).await,
            Command::User(UserCommand::Create {
                username,
                role,
                account,
            }) => create_user(username, role, account).await,
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

async fn create_token(
    name: String,
    role: String,
    account: Option<i64>,
    days: Option<i64>,
) -> anyhow::Result<()> {
    let role = Role::parse(&role)
        .with_context(|| format!("unknown role {role:?}: use admin, manager or staff"))?;
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let result = async {
        db::migrate(&database.pool).await?;
        let account = match account {
            Some(id) => id,
            None => db::events::default_account(&database.pool).await?,
        };
        settings::mint_token(&database.pool, &Actor::cli(account), &name, role, days)
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

/// `tuijian token list`: one line per token.
async fn list_tokens(account: Option<i64>) -> anyhow::Result<()> {
    with_account(account, |pool, account| async move {
        let list = settings::list_tokens(&pool, &Actor::cli(account))
            .await
            .map_err(refused)?;
        println!(
            "{:<6} {:<24} {:<8} {:<21} {:<21} {:<21} state",
            "id", "name", "role", "created", "last used", "expires"
        );
        for t in list {
            let state = if t.revoked {
                "revoked"
            } else if t.expired {
                "expired"
            } else {
                "active"
            };
            println!(
                "{:<6} {:<24} {:<8} {:<21} {:<21} {:<21} {state}",
                t.id,
                t.name,
                t.role.as_str(),
                t.created_at,
                t.last_used_at.as_deref().unwrap_or("-"),
                t.expires_at.as_deref().unwrap_or("never"),
            );
        }
        Ok(())
    })
    .await
}

/// `tuijian webhook list`: one line per endpoint.
async fn list_webhooks(account: Option<i64>) -> anyhow::Result<()> {
    with_account(account, |pool, account| async move {
        let list = crate::referral::webhooks::list(&pool, &Actor::cli(account))
            .await
            .map_err(refused)?;
        println!(
            "{:<6} {:<9} {:<9} {:<60} url",
            "id", "state", "failures", "events"
        );
        for e in list {
            let state = match (e.enabled, &e.disabled_reason) {
                (true, _) => "enabled",
                (false, Some(_)) => "failing",
                (false, None) => "disabled",
            };
            println!(
                "{:<6} {:<9} {:<9} {:<60} {}",
                e.id,
                state,
                e.consecutive_failures,
                e.events.join(","),
                e.url
            );
        }
        Ok(())
    })
    .await
}

/// `tuijian token revoke`.
async fn revoke_token(id: i64, account: Option<i64>) -> anyhow::Result<()> {
    with_account(account, |pool, account| async move {
        settings::revoke_token(&pool, &Actor::cli(account), id)
            .await
            .map_err(refused)?;
        println!("token {id} revoked");
        Ok(())
    })
    .await
}

/// Runs `work` on the migrated database for the account asked for (default: the first), then
/// shuts the database down (an embedded cluster stops with it).
async fn with_account<T, F, Fut>(account: Option<i64>, work: F) -> anyhow::Result<T>
where
    F: FnOnce(sqlx::PgPool, i64) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<T>>,
{
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let pool = database.pool.clone();
    let result = async {
        db::migrate(&pool).await?;
        let account = match account {
            Some(id) => id,
            None => db::events::default_account(&pool).await?,
        };
        work(pool, account).await
    }
    .await;
    database.shutdown().await;
    result
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
        SimulateCommand::Menu { user, key } => {
            ("menu", serde_json::json!({"user": user, "key": key}))
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
    match (sim.reply, sim.image_media_id) {
        (Some(text), _) => println!("公众号回复 / reply: {text}"),
        (None, Some(media_id)) => {
            println!("公众号回复图片 / image reply: {server}/sandbox/media/{media_id}")
        }
        (None, None) => println!("(no reply: success)"),
    }
    Ok(())
}

/// `tuijian account create|list|update`.
async fn account(command: AccountCommand) -> anyhow::Result<()> {
    use crate::referral::accounts;
    let settings = Settings::from_env()?;
    let mode = if settings.wechat.is_sandbox() {
        crate::accounts::Mode::Sandbox
    } else {
        crate::accounts::Mode::Live
    };
    let input = |args: &AccountArgs, name: String| -> anyhow::Result<AccountInput> {
        let appsecret = if args.read_appsecret {
            Some(read_line("AppSecret: ")?)
        } else {
            None
        };
        Ok(AccountInput {
            name,
            appid: args.appid.clone(),
            original_id: args.original_id.clone(),
            token: args.token.clone(),
            encoding_aes_key: args.aes_key.clone(),
            appsecret,
            mode: args.mode.clone(),
        })
    };
    let database = Database::connect(&settings).await?;
    let pool = database.pool.clone();
    let result = async {
        db::migrate(&pool).await?;
        let self_url = format!("http://{}", settings.site_addr);
        let registry =
            crate::accounts::Accounts::open(pool.clone(), Arc::new(settings), self_url).await?;
        let cli = Actor::cli(registry.first_id());
        match command {
            AccountCommand::Create(args) => {
                let name = args.name.clone().context("--name is required")?;
                let input = input(&args, name)?;
                let view = accounts::create(&pool, &registry, &cli, &input, mode)
                    .await
                    .map_err(refused)?;
                eprintln!("created account {} ({}):", view.id, view.name);
                println!("{}\t{}", view.id, view.callback_path);
            }
            AccountCommand::List => {
                for a in accounts::administered(&pool, &cli).await.map_err(refused)? {
                    let mode = match a.mode {
                        app::model::WechatMode::Live => "live",
                        app::model::WechatMode::Sandbox => "sandbox",
                    };
                    println!(
                        "{}\t{}\t{}\t{mode}\t{}\t{}\tappsecret {}",
                        a.id,
                        a.name,
                        a.appid.as_deref().unwrap_or("-"),
                        if a.safe_mode {
                            "safe mode"
                        } else {
                            "plaintext"
                        },
                        a.callback_path,
                        if a.appsecret_set { "set" } else { "not set" },
                    );
                }
            }
            AccountCommand::Update { id, args } => {
                let actor = Actor::cli(id);
                let current = accounts::current(&pool, &actor).await.map_err(refused)?;
                let input = input(&args, args.name.clone().unwrap_or(current.name))?;
                let view = accounts::update(&pool, &registry, &actor, id, &input)
                    .await
                    .map_err(refused)?;
                eprintln!("account {} ({}) updated", view.id, view.name);
            }
        }
        anyhow::Ok(())
    }
    .await;
    database.shutdown().await;
    result
}

/// `tuijian doctor`: every account's (or one account's) setup checks, printed with their fixes;
/// whether all passed. Sandbox accounts are checked against the running server's simulator.
async fn doctor(account: Option<i64>) -> anyhow::Result<bool> {
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let pool = database.pool.clone();
    let result = async {
        db::migrate(&pool).await?;
        let self_url = crate::startup::self_url(settings.site_addr);
        let public_url = settings.public_url.clone();
        let registry =
            crate::accounts::Accounts::open(pool.clone(), Arc::new(settings), self_url.clone())
                .await?;
        let ids = match account {
            Some(id) => vec![id],
            None => db::accounts::all(&pool)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect(),
        };
        let ctx = crate::referral::setup::SetupContext {
            pool: &pool,
            accounts: &registry,
            public_url: public_url.as_deref(),
            self_url: &self_url,
        };
        let mut healthy = true;
        for id in ids {
            let report = crate::referral::setup::report(&Actor::cli(id), &ctx)
                .await
                .map_err(refused)?;
            healthy &= !report.failed();
            print!("{}", doctor_text(&report));
        }
        anyhow::Ok(healthy)
    }
    .await;
    database.shutdown().await;
    result
}

/// `tuijian follower erase`.
async fn erase_follower(
    openid: String,
    reason: String,
    account: Option<i64>,
) -> anyhow::Result<()> {
    with_account(account, |pool, account| async move {
        let report = crate::referral::privacy::erase(&pool, &Actor::cli(account), &openid, &reason)
            .await
            .map_err(refused)?;
        println!(
            "erased: follower {} · {} events and {} scans anonymised, {} other rows",
            report
                .follower_id
                .map(|id| format!("#{id}"))
                .unwrap_or_else(|| "(none recorded)".into()),
            report.events,
            report.scans,
            report.others
        );
        Ok(())
    })
    .await
}

/// `tuijian reconcile`: drives the account's run to its end, printing progress, then the report.
async fn reconcile(account: Option<i64>, notify: bool) -> anyhow::Result<()> {
    use crate::db::reconcile as runs;
    use crate::referral::reconcile::{self, LEASE_SECS, Reconciler};
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let pool = database.pool.clone();
    let result = async {
        db::migrate(&pool).await?;
        let self_url = crate::startup::self_url(settings.site_addr);
        let accounts = Arc::new(
            crate::accounts::Accounts::open(pool.clone(), Arc::new(settings), self_url).await?,
        );
        let account_id = account.unwrap_or_else(|| accounts.first_id());
        let actor = Actor::cli(account_id);
        let latest = runs::recent(&pool, account_id, 1).await?.pop();
        let run = match latest {
            Some(run) if run.status == "active" => run,
            Some(run) if run.status == "failed" => {
                eprintln!(
                    "continuing run #{} from where it stopped ({})",
                    run.id,
                    run.error.as_deref().unwrap_or("no error")
                );
                reconcile::resume(&pool, &actor, run.id)
                    .await
                    .map_err(refused)?
            }
            _ => reconcile::start(&pool, &actor, notify)
                .await
                .map_err(refused)?,
        };
        let reconciler = Reconciler {
            pool: pool.clone(),
            accounts,
        };
        let mut shown = String::new();
        let mut show = |r: &runs::RunRow| {
            let line = progress_line(&reconcile::view(r.clone()));
            if line != shown {
                eprintln!("{line}");
                shown = line;
            }
        };
        let last = loop {
            match runs::claim(&pool, Some(account_id), Some(run.id), LEASE_SECS).await? {
                Some(claimed) => break reconciler.drive(claimed, None, &mut show).await,
                None => {
                    // Another process (the server) drives it: follow its progress.
                    let now = runs::get(&pool, account_id, run.id)
                        .await?
                        .context("the run disappeared")?;
                    show(&now);
                    if now.status != "active" {
                        break now;
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            }
        };
        let changes = runs::changes(&pool, account_id, last.id, 1000).await?;
        for c in &changes {
            println!(
                "{:<10} {:<32} {:<20} {:<16} {}",
                c.change,
                c.openid,
                c.referrer_name.as_deref().unwrap_or("-"),
                c.scene.as_deref().unwrap_or("-"),
                crate::referral::period::local_time(c.at)
            );
        }
        let view = reconcile::view(last);
        println!("{}", summary_line(&view));
        match view.status.as_str() {
            "done" => anyhow::Ok(()),
            "active" => Err(anyhow::anyhow!(
                "the run paused (the database went away): run `tuijian reconcile` again to continue"
            )),
            _ => Err(anyhow::anyhow!(
                "the run stopped: {} — run `tuijian reconcile` again to continue",
                view.error.unwrap_or_else(|| view.status.clone())
            )),
        }
    }
    .await;
    database.shutdown().await;
    result
}

/// One progress line of `tuijian reconcile`.
pub fn progress_line(run: &app::reconcile::ReconcileRun) -> String {
    format!(
        "[{:>3}%] run #{} {}: listed {}/{}, looked up {}/{}, recovered {}, recorded {}, lost {}",
        run.percent(),
        run.id,
        run.phase,
        run.listed,
        run.wechat_total
            .map(|n| n.to_string())
            .unwrap_or_else(|| "?".into()),
        run.checked,
        run.to_check,
        run.recovered,
        run.recorded,
        run.lost
    )
}

/// The last line of `tuijian reconcile`.
pub fn summary_line(run: &app::reconcile::ReconcileRun) -> String {
    format!(
        "run #{} {}: {} followers at WeChat; {} referrals recovered, {} follows recorded without credit, {} not through our codes, {} lost; {} API calls",
        run.id,
        run.status,
        run.wechat_total.unwrap_or(0),
        run.recovered,
        run.recorded,
        run.unattributed,
        run.lost,
        run.api_calls
    )
}

/// A setup report as the doctor prints it: one line per check, its fix below (in English,
/// then Chinese).
pub fn doctor_text(report: &app::setup::SetupReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let mode = match report.mode {
        app::model::WechatMode::Live => "live",
        app::model::WechatMode::Sandbox => "sandbox",
    };
    let _ = writeln!(
        out,
        "account {} ({}, {mode}, {})\n  callback URL: {}",
        report.account_id, report.account_name, report.appid, report.callback_url
    );
    if let Some(domain) = &report.oauth_domain {
        let _ = writeln!(out, "  web authorization domain: {domain}");
    }
    if let Some(ip) = &report.outbound_ip {
        let _ = writeln!(out, "  outbound IP seen by WeChat: {ip}");
    }
    for check in &report.checks {
        let errcode = check
            .errcode
            .map(|c| format!("errcode {c}: "))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "  [{:<4}] {:<17} {errcode}{}",
            check.state.as_str(),
            check.kind.as_str(),
            check.detail
        );
        if let Some(fix) = &check.fix {
            let (zh, en) = fix.text();
            let _ = writeln!(out, "         fix: {en}\n         修正：{zh}");
        }
    }
    out
}

/// One line from a prompt (or from standard input when it is not a terminal): secrets are
/// typed or piped, never passed as arguments that stay in the shell's history.
fn read_line(prompt: &str) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("{prompt}");
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn read_password() -> anyhow::Result<String> {
    read_line("password: ")
}

async fn create_user(username: String, role: String, account: Option<i64>) -> anyhow::Result<()> {
    let role = Role::parse(&role)
        .with_context(|| format!("unknown role {role:?}: use admin, manager or staff"))?;
    let password = read_password()?;
    // Refuse a bad name or password before touching the database.
    users::validate_new_user(&username, &password).map_err(refused)?;
    let settings = Settings::from_env()?;
    let database = Database::connect(&settings).await?;
    let result = async {
        db::migrate(&database.pool).await?;
        let account = match account {
            Some(id) => id,
            None => db::events::default_account(&database.pool).await?,
        };
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
