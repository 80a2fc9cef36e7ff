//! The site directory `target/site/pkg`: the hydration bundle (wasm-bindgen output) and the CSS.

use std::process::Command;

use crate::{Result, root, sh, step};

/// Bundle name; must match `app::BUNDLE_NAME` and cargo-leptos' `name`.
const NAME: &str = "tuijian";

/// Builds the WASM bundle and copies the stylesheet into `target/site/pkg`.
pub fn build(release: bool) -> Result {
    let profile = if release { "wasm-release" } else { "debug" };
    step(&format!("building the WASM bundle ({profile})"));
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.args([
        "build",
        "--package",
        "frontend",
        "--lib",
        "--target",
        "wasm32-unknown-unknown",
    ]);
    if release {
        cargo.args(["--profile", "wasm-release"]);
    }
    sh(&mut cargo)?;

    let root = root();
    let pkg = root.join("target/site/pkg");
    std::fs::create_dir_all(&pkg).map_err(|e| format!("cannot create {}: {e}", pkg.display()))?;
    let wasm = root
        .join("target/wasm32-unknown-unknown")
        .join(profile)
        .join("frontend.wasm");
    sh(Command::new("wasm-bindgen")
        .args(["--target", "web", "--out-name", NAME, "--out-dir"])
        .arg(&pkg)
        .arg(&wasm))?;
    if release {
        let bg = pkg.join(format!("{NAME}_bg.wasm"));
        step("optimising the WASM bundle for size (wasm-opt -Oz)");
        sh(
            Command::new(root.join("xtask/npm/node_modules/.bin/wasm-opt"))
                .args([
                    // Leptos' generic views and signals leave many functions that differ only in
                    // constants; merging them first saves about 3 % gzipped (BENCHMARKS.md).
                    "--merge-similar-functions",
                    "-Oz",
                    "--enable-bulk-memory",
                    "--enable-nontrapping-float-to-int",
                ])
                .arg(&bg)
                .arg("-o")
                .arg(&bg),
        )?;
    }
    let css = pkg.join(format!("{NAME}.css"));
    std::fs::copy(root.join("style/main.css"), &css)
        .map_err(|e| format!("cannot copy the stylesheet: {e}"))?;
    Ok(())
}
