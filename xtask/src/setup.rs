//! Installs what the build and the tests need, when it is missing, and says clearly what could
//! not be installed.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;

use crate::{Result, root, sh, step};

/// Must match `wasm-bindgen` in Cargo.toml exactly.
const WASM_BINDGEN_VERSION: &str = "0.2.130";
const WASM_TARGET: &str = "wasm32-unknown-unknown";

fn output(cmd: &mut Command) -> Option<String> {
    cmd.output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|s| s.trim() == "0")
}

/// The wasm32 target and wasm-bindgen-cli at the pinned version.
pub fn wasm_toolchain() -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))
        .ok_or("rustup was not found: install Rust with rustup (https://rustup.rs)")?;
    if !installed.lines().any(|l| l.trim() == WASM_TARGET) {
        step("installing the wasm32 target");
        sh(Command::new("rustup").args(["target", "add", WASM_TARGET]))?;
    }
    let version = output(Command::new("wasm-bindgen").arg("--version")).unwrap_or_default();
    if version.split_whitespace().nth(1) != Some(WASM_BINDGEN_VERSION) {
        step(&format!(
            "installing wasm-bindgen-cli {WASM_BINDGEN_VERSION} (a few minutes, once)"
        ));
        // Not --locked: the crate's lock file no longer resolves.
        sh(Command::new("cargo").args([
            "install",
            "wasm-bindgen-cli",
            "--version",
            WASM_BINDGEN_VERSION,
            "--force",
        ]))?;
    }
    Ok(())
}

/// Must match the version the dependency audit (`deny.toml`) was written for.
const CARGO_DENY_VERSION: &str = "0.20.2";

/// cargo-deny at the pinned version, for the dependency audit.
pub fn cargo_deny() -> Result {
    let version = output(Command::new("cargo").args(["deny", "--version"])).unwrap_or_default();
    if version.split_whitespace().nth(1) != Some(CARGO_DENY_VERSION) {
        step(&format!(
            "installing cargo-deny {CARGO_DENY_VERSION} (a few minutes, once)"
        ));
        sh(Command::new("cargo").args([
            "install",
            "cargo-deny",
            "--version",
            CARGO_DENY_VERSION,
            "--locked",
            "--force",
        ]))?;
    }
    Ok(())
}

/// Installs Debian packages when we may (root, or password-less sudo).
fn apt_install(packages: &[&str], why: &str) -> Result {
    step(&format!("installing {} ({why})", packages.join(" ")));
    let sudo: &[&str] = if is_root() {
        &[]
    } else if Command::new("sudo")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        &["sudo", "-n"]
    } else {
        return Err(format!(
            "{why} needs the packages {pkgs}, which are missing and cannot be installed without \
             root; run: sudo apt-get install -y {pkgs}",
            pkgs = packages.join(" ")
        ));
    };
    if Command::new("apt-get").arg("--version").output().is_err() {
        return Err(format!(
            "{why} needs {} and this is not a Debian-like system (no apt-get); install them \
             with your package manager",
            packages.join(" ")
        ));
    }
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = sudo.to_vec();
        all.extend_from_slice(args);
        let mut cmd = Command::new(all[0]);
        cmd.args(&all[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        sh(&mut cmd)
    };
    run(&["apt-get", "update", "-q"])?;
    let mut install = vec!["apt-get", "install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(packages);
    run(&install)
}

/// PostgreSQL server binaries for the embedded cluster.
pub fn postgres_binaries() -> Result {
    if pgcluster::find_bindir().is_ok() {
        return Ok(());
    }
    apt_install(&["postgresql"], "the embedded database")?;
    pgcluster::find_bindir()
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The CJK font campaign posters are drawn with (WenQuanYi Micro Hei, Apache-2.0 or GPLv3),
/// also what makes the Chinese dashboard readable in screenshots.
const CJK_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";

/// The poster font (the server's default `POSTER_FONT`).
pub fn poster_font() -> Result {
    if Path::new(CJK_FONT).exists() || std::env::var_os("POSTER_FONT").is_some() {
        return Ok(());
    }
    apt_install(&["fonts-wqy-microhei"], "campaign posters")
}

/// Debian's Chromium and ChromeDriver (never a browser download), plus the CJK font.
pub fn chromium() -> Result {
    if Path::new("/usr/bin/chromium").exists()
        && Path::new("/usr/bin/chromedriver").exists()
        && Path::new(CJK_FONT).exists()
    {
        return Ok(());
    }
    apt_install(
        &["chromium", "chromium-driver", "fonts-wqy-microhei"],
        "the browser tests",
    )
}

fn node_and_npm() -> Result {
    if output(Command::new("npm").arg("--version")).is_some() {
        return Ok(());
    }
    apt_install(&["nodejs", "npm"], "the browser tests")
}

/// end2end's npm packages, exactly as locked, without Playwright's own browser download.
pub fn end2end_packages() -> Result {
    node_and_npm()?;
    step("installing end2end's npm packages");
    sh(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(root().join("end2end"))
        .env("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1"))
}

/// wasm-opt from npm's binaryen (Debian's older wasm-opt produces a module browsers reject).
pub fn npm_tools() -> Result {
    node_and_npm()?;
    let dir = root().join("xtask/npm");
    if dir.join("node_modules/.bin/wasm-opt").exists() {
        return Ok(());
    }
    step("installing wasm-opt (npm binaryen)");
    sh(Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(dir))
}

/// A free loopback port for the browser tests' server.
pub fn free_port() -> Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port: {e}"))
}
