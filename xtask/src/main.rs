//! `cargo xtask run | test | build [--release]`: installs what is missing, builds the server and
//! the WASM bundle with plain cargo + wasm-bindgen (no cargo-leptos needed), and runs things.

mod bench;
mod migrations;
mod setup;
mod site;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use pgcluster::{Cluster, Options};

const USAGE: &str = "usage: cargo xtask <command>

commands:
  run [--release]     install what is missing, build, and serve the dashboard on
                      http://127.0.0.1:3000 (embedded PostgreSQL unless DATABASE_URL is set)
  test                install what is missing, then fmt check, the migration check, clippy, every
                      Rust test against a real PostgreSQL, and the Playwright suite in headless
                      Chromium
  check-migrations    check that no landed migration was edited: each migrations/*.sql must equal
                      the version of the commit that added it (part of `test`)
  build [--release]   build target/<profile>/tuijian and the site directory target/site
  bench [--smoke] [flags]
                      benchmarks (callbacks vs a baseline, stats at 1M/10M referrals, bundle
                      size, memory) → BENCHMARKS.md; flags go to `tuijian-bench run`, e.g.
                      --duration 5 --sizes 1000000; --smoke: seconds, tiny sizes, debug build;
                      --export-only [--debug]: only the streamed 1M-row CSV export cell
  test-db             start the tests' PostgreSQL cluster (if needed) and print its URL, for
                      running `DATABASE_URL=… cargo test` by hand
  soak [--followers N]
                      the soak (two instances, one database restarted, WeChat faults, 5 %
                      re-deliveries) with N followers (default 2000); prints lost/duplicated
                      counts. `cargo xtask test` runs a short one (120 followers)";

/// A step that failed, with the message to show.
pub type Result<T = ()> = std::result::Result<T, String>;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let release = args.iter().any(|a| a == "--release");
    let result = match args.first().map(String::as_str) {
        Some("run") => run(release),
        Some("test") => test(),
        Some("check-migrations") => migrations::check_unchanged(),
        Some("build") => build(release).map(|_| ()),
        Some("bench") if args.iter().any(|a| a == "--smoke") => bench::smoke_alone(),
        Some("bench") => bench::full(&args[1..]),
        Some("test-db") => test_cluster().map(|c| println!("{}", c.url("postgres"))),
        Some("soak") => soak(&args),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("\nxtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// Prints a step heading.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}

/// Runs a command in the workspace root, failing with its name when it fails.
pub fn sh(cmd: &mut Command) -> Result {
    let shown = format!("{cmd:?}");
    eprintln!("    $ {}", shown.replace('"', ""));
    let status = cmd
        .current_dir_if_unset(&root())
        .status()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed ({status})"))
    }
}

trait CurrentDirIfUnset {
    fn current_dir_if_unset(&mut self, dir: &Path) -> &mut Self;
}

impl CurrentDirIfUnset for Command {
    fn current_dir_if_unset(&mut self, dir: &Path) -> &mut Self {
        if self.get_current_dir().is_none() {
            self.current_dir(dir);
        }
        self
    }
}

pub fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Builds everything and returns the server binary's path.
fn build(release: bool) -> Result<PathBuf> {
    setup::wasm_toolchain()?;
    if release {
        setup::npm_tools()?;
    }
    step(if release {
        "building the server (release)"
    } else {
        "building the server"
    });
    let mut server = cargo();
    server.args(["build", "--package", "server"]);
    if release {
        server.arg("--release");
    }
    sh(&mut server)?;
    site::build(release)?;
    let profile = if release { "release" } else { "debug" };
    let bin = root().join("target").join(profile).join("tuijian");
    eprintln!(
        "\n    server binary: {}\n    site directory: {}",
        bin.display(),
        root().join("target/site").display()
    );
    Ok(bin)
}

fn run(release: bool) -> Result {
    setup::postgres_binaries()?;
    setup::poster_font()?;
    let bin = build(release)?;
    step("starting tuijian on http://127.0.0.1:3000 (Ctrl-C stops it)");
    let mut cmd = Command::new(bin);
    cmd.arg("serve").current_dir(root());
    if std::env::var_os("LEPTOS_SITE_ROOT").is_none() {
        cmd.env("LEPTOS_SITE_ROOT", root().join("target/site"));
    }
    exec(cmd)
}

#[cfg(unix)]
fn exec(mut cmd: Command) -> Result {
    use std::os::unix::process::CommandExt;
    // Replace this process so Ctrl-C and SIGTERM reach the server directly.
    Err(format!("cannot start the server: {}", cmd.exec()))
}

#[cfg(not(unix))]
fn exec(mut cmd: Command) -> Result {
    sh(&mut cmd)
}

fn test() -> Result {
    setup::wasm_toolchain()?;
    setup::postgres_binaries()?;
    setup::chromium()?;
    setup::end2end_packages()?;
    setup::cargo_deny()?;

    step("checking formatting");
    sh(cargo().args(["fmt", "--all", "--check"]))?;
    migrations::check_unchanged()?;
    step("clippy (warnings are errors)");
    // The browser crate is linted for its own target: built together with the server, cargo
    // would unify app's `ssr` and `hydrate` features.
    sh(cargo().args([
        "clippy",
        "--workspace",
        "--exclude",
        "frontend",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]))?;
    sh(cargo().args([
        "clippy",
        "--package",
        "frontend",
        "--target",
        "wasm32-unknown-unknown",
        "--",
        "-D",
        "warnings",
    ]))?;

    step("dependency audit: licenses, banned crates, sources (deny.toml)");
    sh(cargo().args([
        "deny",
        "--all-features",
        "check",
        "licenses",
        "bans",
        "sources",
    ]))?;

    step("starting a PostgreSQL cluster for the tests");
    let cluster = test_cluster()?;
    let result = rust_and_browser_tests(&cluster).and_then(|()| bench::smoke(&cluster));
    step("stopping the test PostgreSQL cluster");
    if let Err(e) = cluster.stop() {
        eprintln!("    warning: {e}");
    }
    result?;
    eprintln!("\nxtask: all checks passed");
    Ok(())
}

fn soak(args: &[String]) -> Result {
    setup::postgres_binaries()?;
    let followers = args
        .windows(2)
        .find(|w| w[0] == "--followers")
        .map(|w| w[1].clone())
        .unwrap_or_else(|| "2000".to_owned());
    if followers.parse::<u32>().map_or(true, |n| n == 0) {
        return Err(format!(
            "--followers wants a positive number, got {followers}"
        ));
    }
    step(&format!("soak with {followers} followers"));
    sh(cargo()
        .args([
            "test",
            "--package",
            "server",
            "--test",
            "api",
            "--",
            "soak::",
            "--nocapture",
        ])
        .env("SOAK_FOLLOWERS", followers))
}

pub fn test_cluster() -> Result<Cluster> {
    let dir = root().join("target/test-postgres");
    // Throw-away data: durability off makes the many per-test databases fast to create.
    let options = Options {
        settings: [
            ("fsync", "off"),
            ("synchronous_commit", "off"),
            ("full_page_writes", "off"),
            ("max_connections", "300"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    };
    Cluster::ensure_running(&dir, &options).map_err(|e| e.to_string())
}

fn rust_and_browser_tests(cluster: &Cluster) -> Result {
    let url = cluster.url("postgres");
    step("Rust tests against PostgreSQL (a fresh database per test)");
    sh(cargo()
        .args(["test", "--workspace", "--exclude", "frontend"])
        .env("DATABASE_URL", &url))?;

    let bin = build(false)?;
    step("Playwright suite in headless Chromium");
    let database = format!("e2e_{}", std::process::id());
    sh(Command::new(cluster_tool(cluster, "psql")?)
        .args(["-v", "ON_ERROR_STOP=1", "-X", "-q", &url, "-c"])
        .arg(format!("create database {database}")))?;
    let e2e_url = cluster.url(&database);
    for (user, role) in [
        ("e2e-admin", "admin"),
        ("e2e-manager", "manager"),
        ("e2e-staff", "staff"),
    ] {
        create_user(&bin, &e2e_url, user, role, E2E_PASSWORD)?;
    }
    let port = setup::free_port()?;
    let e2e = root().join("end2end");
    sh(Command::new("npx")
        .args(["playwright", "test"])
        .current_dir(&e2e)
        .env("E2E_PORT", port.to_string())
        .env("E2E_SERVER_CMD", format!("{} serve", bin.display()))
        .env("LEPTOS_SITE_ROOT", root().join("target/site"))
        .env("DATABASE_URL", &e2e_url)
        .env("E2E_PASSWORD", E2E_PASSWORD)
        .env("RUST_LOG", "warn")
        .env_remove("WECHAT_APPID"))
}

/// Password of the browser tests' users (a throw-away database).
const E2E_PASSWORD: &str = "e2e-password-1";

/// `tuijian user create`, with the password on standard input.
fn create_user(bin: &Path, url: &str, user: &str, role: &str, password: &str) -> Result {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = Command::new(bin)
        .args(["user", "create", "--username", user, "--role", role])
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run tuijian user create: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        writeln!(stdin, "{password}").map_err(|e| format!("cannot pass the password: {e}"))?;
    }
    let status = child
        .wait()
        .map_err(|e| format!("tuijian user create: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("tuijian user create {user} failed ({status})"))
    }
}

fn cluster_tool(_cluster: &Cluster, tool: &str) -> Result<PathBuf> {
    let bindir = pgcluster::find_bindir().map_err(|e| e.to_string())?;
    Ok(bindir.join(tool))
}
