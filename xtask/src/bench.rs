//! `cargo xtask bench [--smoke] [flags for tuijian-bench run]`: builds the server, the site and
//! the benchmark driver, starts PostgreSQL, and runs every benchmark (see bench/).
//! `--export-only [--debug]` runs only the streamed CSV export (at `--sizes`, default 1 M) and
//! replaces its section of BENCHMARKS.md.

use std::process::Command;

use pgcluster::{Cluster, Options};

use crate::{Result, cargo, root, setup, sh, site, step};

/// The real benchmark: release builds, a durable cluster, the report in BENCHMARKS.md.
/// `extra` flags go to `tuijian-bench run` (e.g. `--duration 5 --sizes 1000000`).
pub fn full(extra: &[String]) -> Result {
    if extra.iter().any(|a| a == "--export-only") {
        return export_only(extra);
    }
    setup::postgres_binaries()?;
    setup::wasm_toolchain()?;
    setup::npm_tools()?;
    step("building the server and the benchmark driver (release)");
    sh(cargo().args([
        "build",
        "--release",
        "--package",
        "server",
        "--package",
        "bench",
    ]))?;
    site::build(true)?;
    step("starting the benchmark's PostgreSQL cluster (durable settings)");
    let cluster = bench_cluster()?;
    let result = drive(
        "run",
        &cluster,
        "release",
        "BENCHMARKS.md",
        "release build, wasm-release + wasm-opt bundle",
        "fsync on, synchronous_commit on",
        extra,
    );
    stop(&cluster);
    result
}

/// Seconds-long run with tiny sizes on a debug build, so the benchmark cannot rot. Uses the
/// given cluster (the tests' one) and writes target/bench-smoke.md.
pub fn smoke(cluster: &Cluster) -> Result {
    step("benchmark smoke run (debug build, tiny sizes)");
    sh(cargo().args(["build", "--package", "server", "--package", "bench"]))?;
    if !root().join("target/site/pkg").exists() {
        site::build(false)?;
    }
    let tiny: Vec<String> = [
        "--duration",
        "1",
        "--concurrency",
        "4",
        "--repeats",
        "1",
        "--referrers",
        "20",
        "--sizes",
        "2000",
        "--runs",
        "2",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    drive(
        "run",
        cluster,
        "debug",
        "target/bench-smoke.md",
        "debug build (smoke)",
        "the tests' cluster, fsync off (smoke)",
        &tiny,
    )
}

/// `cargo xtask bench --smoke` on its own: the tests' cluster, started if needed.
pub fn smoke_alone() -> Result {
    setup::postgres_binaries()?;
    setup::wasm_toolchain()?;
    let cluster = crate::test_cluster()?;
    let result = smoke(&cluster);
    stop(&cluster);
    result
}

/// Only the export benchmark (`tuijian-bench export`), release build unless `--debug`, on the
/// benchmark's durable cluster; its section of BENCHMARKS.md is replaced.
fn export_only(extra: &[String]) -> Result {
    let debug = extra.iter().any(|a| a == "--debug");
    let profile = if debug { "debug" } else { "release" };
    let mut rest: Vec<String> = extra
        .iter()
        .filter(|a| !matches!(a.as_str(), "--export-only" | "--debug"))
        .cloned()
        .collect();
    if !rest.iter().any(|a| a.starts_with("--sizes")) {
        rest.extend(["--sizes".to_owned(), "1000000".to_owned()]);
    }
    setup::postgres_binaries()?;
    step(&format!(
        "building the server and the benchmark driver ({profile})"
    ));
    let mut build = cargo();
    build.args(["build", "--package", "server", "--package", "bench"]);
    if !debug {
        build.arg("--release");
    }
    sh(&mut build)?;
    if !root().join("target/site/pkg").exists() {
        setup::wasm_toolchain()?;
        site::build(false)?;
    }
    step("starting the benchmark's PostgreSQL cluster (durable settings)");
    let cluster = bench_cluster()?;
    let label = if debug {
        "debug build (dependencies at opt-level 1)"
    } else {
        "release build"
    };
    let result = drive(
        "export",
        &cluster,
        profile,
        "BENCHMARKS.md",
        label,
        "fsync on, synchronous_commit on",
        &rest,
    );
    stop(&cluster);
    result
}

fn drive(
    command: &str,
    cluster: &Cluster,
    profile: &str,
    out: &str,
    build: &str,
    durability: &str,
    extra: &[String],
) -> Result {
    let bin = root().join("target").join(profile).join("tuijian-bench");
    let server = root().join("target").join(profile).join("tuijian");
    step(&format!("running the benchmarks; report → {out}"));
    sh(Command::new(bin)
        .arg(command)
        .arg("--admin-url")
        .arg(cluster.url("postgres"))
        .arg("--server-bin")
        .arg(&server)
        .arg("--site-root")
        .arg(root().join("target/site"))
        .arg("--out")
        .arg(root().join(out))
        .arg("--logs")
        .arg(root().join("target/bench-logs"))
        .args(["--build", build, "--durability", durability])
        .args(extra))
}

/// A cluster of its own under target/bench-postgres with PostgreSQL's durable defaults (fsync
/// and synchronous_commit on), a little more memory than the defaults and room for the
/// connection pools.
fn bench_cluster() -> Result<Cluster> {
    let dir = root().join("target/bench-postgres");
    let options = Options {
        settings: [
            ("fsync", "on"),
            ("synchronous_commit", "on"),
            ("full_page_writes", "on"),
            ("max_connections", "200"),
            ("shared_buffers", "512MB"),
            ("work_mem", "32MB"),
            ("max_wal_size", "4GB"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    };
    Cluster::ensure_running(&dir, &options).map_err(|e| e.to_string())
}

fn stop(cluster: &Cluster) {
    if let Err(e) = cluster.stop() {
        eprintln!("    warning: {e}");
    }
}
