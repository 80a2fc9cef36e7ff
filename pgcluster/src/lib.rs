//! A private PostgreSQL cluster in a project-local directory, run from the machine's own server
//! binaries and reached over a unix socket in that directory (so no TCP port can collide).
//!
//! PostgreSQL refuses to run as root; when we are root, `initdb`, `pg_ctl` and `postgres` run as
//! the `postgres` system user through `runuser`, on a directory that user owns.

use std::fmt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The port number only names the socket file (`.s.PGSQL.<port>`); nothing listens on TCP.
pub const SOCKET_PORT: u16 = 5432;
/// Unix socket paths are limited to 107 bytes on Linux.
const MAX_SOCKET_PATH: usize = 100;

/// Why the cluster could not be prepared, worded for the person who has to fix it.
#[derive(Debug)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn err(msg: impl Into<String>) -> Error {
    Error(msg.into())
}

/// A cluster that is running (started by us, or found already running).
#[derive(Debug)]
pub struct Cluster {
    base: PathBuf,
    bindir: PathBuf,
    as_postgres_user: bool,
    started_here: bool,
}

/// Options for [`Cluster::ensure_running`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Extra `-c name=value` server settings (tests turn durability off for speed).
    pub settings: Vec<(String, String)>,
}

impl Cluster {
    /// Initialises the cluster under `base` on first use and starts it unless it already runs.
    pub fn ensure_running(base: &Path, options: &Options) -> Result<Cluster, Error> {
        let bindir = find_bindir()?;
        std::fs::create_dir_all(base)
            .map_err(|e| err(format!("cannot create {}: {e}", base.display())))?;
        let base = base
            .canonicalize()
            .map_err(|e| err(format!("cannot resolve {}: {e}", base.display())))?;
        let socket = base.join(format!(".s.PGSQL.{SOCKET_PORT}"));
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            return Err(err(format!(
                "the database directory path is too long for a unix socket ({}); \
                 move the project or set TUIJIAN_DATA_DIR to a shorter path",
                base.display()
            )));
        }
        let as_postgres_user = running_as_root();
        let mut cluster = Cluster {
            base,
            bindir,
            as_postgres_user,
            started_here: false,
        };
        if as_postgres_user {
            cluster.hand_to_postgres_user()?;
        }
        if !cluster.data_dir().join("PG_VERSION").exists() {
            cluster.initdb()?;
        }
        if !cluster.is_running() {
            match cluster.start(options) {
                Ok(()) => cluster.started_here = true,
                // Another process may have started it at the same moment.
                Err(e) if !cluster.is_running() => return Err(e),
                Err(_) => {}
            }
        }
        Ok(cluster)
    }

    /// The directory holding the unix socket (use as `host` in connection options).
    pub fn socket_dir(&self) -> &Path {
        &self.base
    }

    /// The data directory inside the base directory.
    pub fn data_dir(&self) -> PathBuf {
        self.base.join("data")
    }

    /// Whether this process started the server (and so should stop it).
    pub fn started_here(&self) -> bool {
        self.started_here
    }

    /// A connection URL for `database` as the `postgres` superuser over the socket.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres@localhost:{SOCKET_PORT}/{database}?host={}",
            percent_encode(&self.base.to_string_lossy())
        )
    }

    /// Stops the server if this process started it (fast shutdown: clients are disconnected,
    /// the cluster is left consistent).
    pub fn stop(&self) -> Result<(), Error> {
        if !self.started_here {
            return Ok(());
        }
        self.shutdown()
    }

    /// Stops the server whoever started it (tests that restart a private cluster).
    pub fn shutdown(&self) -> Result<(), Error> {
        if !self.is_running() {
            return Ok(());
        }
        let data = self.data_dir();
        let out = self.run(
            "pg_ctl",
            &["-D", path_str(&data)?, "-m", "fast", "-w", "stop"],
        )?;
        check(out, "pg_ctl stop")
    }

    fn hand_to_postgres_user(&self) -> Result<(), Error> {
        let status = Command::new("id").args(["-u", "postgres"]).output();
        if !matches!(status, Ok(ref o) if o.status.success()) {
            return Err(err(
                "PostgreSQL refuses to run as root and there is no 'postgres' system user; \
                 install the server package (apt-get install postgresql) or run as a normal user",
            ));
        }
        let out = Command::new("chown")
            .args(["-R", "postgres:postgres", path_str(&self.base)?])
            .output()
            .map_err(|e| err(format!("chown failed: {e}")))?;
        check(out, "chown")?;
        let out = Command::new("runuser")
            .args(["-u", "postgres", "--", "test", "-w", path_str(&self.base)?])
            .output()
            .map_err(|e| err(format!("runuser failed: {e}")))?;
        if !out.status.success() {
            return Err(err(format!(
                "the 'postgres' user cannot write to {} (a parent directory is not \
                 searchable by it); set TUIJIAN_DATA_DIR to a directory such as /var/tmp/tuijian",
                self.base.display()
            )));
        }
        Ok(())
    }

    fn initdb(&self) -> Result<(), Error> {
        let data = self.data_dir();
        let out = self.run(
            "initdb",
            &[
                "-D",
                path_str(&data)?,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            ],
        )?;
        check(out, "initdb")
    }

    fn is_running(&self) -> bool {
        let Ok(data) = path_str(&self.data_dir()).map(str::to_owned) else {
            return false;
        };
        matches!(self.run("pg_ctl", &["-D", &data, "status"]), Ok(o) if o.status.success())
    }

    fn start(&self, options: &Options) -> Result<(), Error> {
        let data = self.data_dir();
        let log = self.base.join("postgres.log");
        let mut server_opts = format!(
            "-k {} -h '' -p {SOCKET_PORT}",
            shell_quote(path_str(&self.base)?)
        );
        for (name, value) in &options.settings {
            server_opts.push_str(&format!(" -c {name}={}", shell_quote(value)));
        }
        let out = self.run(
            "pg_ctl",
            &[
                "-D",
                path_str(&data)?,
                "-l",
                path_str(&log)?,
                "-o",
                &server_opts,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )?;
        check(out, "pg_ctl start").map_err(|e| {
            let tail = std::fs::read_to_string(&log)
                .map(|s| s.lines().rev().take(8).collect::<Vec<_>>().join("\n"))
                .unwrap_or_default();
            err(format!("{e}\nlast lines of {}:\n{tail}", log.display()))
        })
    }

    fn run(&self, tool: &str, args: &[&str]) -> Result<Output, Error> {
        let program = self.bindir.join(tool);
        let mut cmd = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(args)
            // Child processes must not inherit our locale quirks or a different PGDATA.
            .env_remove("PGDATA")
            .current_dir(&self.base)
            .output()
            .map_err(|e| err(format!("cannot run {}: {e}", program.display())))
    }
}

/// Finds the PostgreSQL server binaries: `pg_config --bindir`, else the newest
/// `/usr/lib/postgresql/<N>/bin` that has `initdb`.
pub fn find_bindir() -> Result<PathBuf, Error> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let n = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((n, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        err(
            "PostgreSQL server binaries (initdb, pg_ctl) were not found; install them with \
             `apt-get install postgresql` (Debian/Ubuntu) or set DATABASE_URL to an existing server",
        )
    })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn check(out: Output, what: &str) -> Result<(), Error> {
    if out.status.success() {
        return Ok(());
    }
    Err(err(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr).trim(),
        String::from_utf8_lossy(&out.stdout).trim()
    )))
}

fn path_str(p: &Path) -> Result<&str, Error> {
    p.to_str()
        .ok_or_else(|| err(format!("path is not UTF-8: {}", p.display())))
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encodes_the_socket_directory() {
        let c = Cluster {
            base: PathBuf::from("/work/my project/.data"),
            bindir: PathBuf::new(),
            as_postgres_user: false,
            started_here: false,
        };
        assert_eq!(
            c.url("tuijian"),
            "postgres://postgres@localhost:5432/tuijian?host=%2Fwork%2Fmy%20project%2F.data"
        );
    }

    #[test]
    fn shell_quote_survives_single_quotes() {
        assert_eq!(shell_quote("a'b"), r"'a'\''b'");
    }
}
