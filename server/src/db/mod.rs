//! The database: pool, embedded cluster, migrations. The only place with SQL.

pub mod abuse;
pub mod accounts;
pub mod api_tokens;
pub mod attribution;
pub mod bindings;
pub mod campaign_credit;
pub mod campaigns;
pub mod credit;
pub mod embedded;
pub mod events;
pub mod jobs;
pub mod members;
pub mod menu;
pub mod outbox;
pub mod privacy;
pub mod qrcodes;
pub mod reconcile;
pub mod referrers;
pub mod rollup;
pub mod sandbox;
pub mod settings;
pub mod stats;
pub mod token;
pub mod users;
pub mod webhook_events;
pub mod webhooks;
pub mod wechat_tags;

use std::time::Duration;

use anyhow::Context;
use secrecy::ExposeSecret;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::Settings;

/// One page of a list as stored rows: the rows, how many match in all, and the page number
/// and page size used (each in range).
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub rows: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// The migrations in `migrations/`, embedded at compile time.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A pool plus, when we started it, the embedded cluster behind it.
pub struct Database {
    pub pool: PgPool,
    pub embedded: Option<embedded::Embedded>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster when it is unset.
    pub async fn connect(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.database_url {
            Some(url) => {
                let options: PgConnectOptions = url
                    .expose_secret()
                    .parse()
                    .context("DATABASE_URL is not a valid PostgreSQL URL")?;
                let pool = pool_options()
                    .connect_with(options)
                    .await
                    .context("cannot connect to DATABASE_URL")?;
                Ok(Database {
                    pool,
                    embedded: None,
                })
            }
            None => {
                let embedded = embedded::Embedded::start(&settings.data_dir).await?;
                let pool = pool_options()
                    .connect_with(embedded.connect_options())
                    .await
                    .context("cannot connect to the embedded PostgreSQL")?;
                Ok(Database {
                    pool,
                    embedded: Some(embedded),
                })
            }
        }
    }

    /// Closes the pool and stops the embedded cluster if we started it.
    pub async fn shutdown(self) {
        self.pool.close().await;
        if let Some(embedded) = self.embedded {
            embedded.stop().await;
        }
    }
}

fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(3))
        // No ping before every checkout (a round trip per callback): a connection that broke
        // while idle fails its first query instead and is discarded; callers treat that as
        // the database being unavailable, and WeChat's redelivery retries the callback.
        .test_before_acquire(false)
}

/// A session to `pool`'s database for batch statements over arrays (one row per element, such
/// as a batch of follows), which PostgreSQL would otherwise plan again on every call (a custom
/// plan for each array costs more than running it). The session keeps generic plans, made
/// again every `replan_every` so that they follow the tables' growth (a plan made while a
/// table was empty scans it whole), and cancels statements running longer than
/// `statement_timeout` (and connecting when it takes longer). A failed statement drops the
/// connection; the next use reconnects.
pub struct BatchSession {
    options: PgConnectOptions,
    /// How long connecting may take (the statement timeout).
    connect_timeout: Duration,
    replan_every: Duration,
    conn: Option<(sqlx::PgConnection, std::time::Instant)>,
}

impl BatchSession {
    pub fn new(pool: &PgPool, statement_timeout: Duration, replan_every: Duration) -> Self {
        let timeout_ms = statement_timeout.as_millis().max(1).to_string();
        let options = (*pool.connect_options()).clone().options([
            ("plan_cache_mode", "force_generic_plan"),
            ("statement_timeout", timeout_ms.as_str()),
        ]);
        BatchSession {
            options,
            connect_timeout: statement_timeout,
            replan_every,
            conn: None,
        }
    }

    /// Runs `work` on the session's connection; an error drops the connection.
    pub async fn run<T>(
        &mut self,
        work: impl AsyncFnOnce(&mut sqlx::PgConnection) -> sqlx::Result<T>,
    ) -> sqlx::Result<T> {
        use sqlx::Connection as _;
        let (conn, prepared) = match &mut self.conn {
            Some(open) => open,
            None => {
                let connect = sqlx::PgConnection::connect_with(&self.options);
                let conn = tokio::time::timeout(self.connect_timeout, connect)
                    .await
                    .map_err(|_| {
                        sqlx::Error::Io(std::io::Error::new(
                            std::io::ErrorKind::TimedOut,
                            "connecting to the database took too long",
                        ))
                    })??;
                self.conn.insert((conn, std::time::Instant::now()))
            }
        };
        if prepared.elapsed() >= self.replan_every {
            *prepared = std::time::Instant::now();
            if let Err(e) = conn.clear_cached_statements().await {
                self.conn = None;
                return Err(e);
            }
        }
        let done = work(conn).await;
        if done.is_err() {
            self.conn = None;
        }
        done
    }
}

/// Applies pending migrations; an error names the failing migration.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("database migration failed")
}

/// Whether the database answers within `timeout`, and its version string.
pub async fn ping(pool: &PgPool, timeout: Duration) -> Option<String> {
    let query = sqlx::query_scalar::<_, String>("select version()").fetch_one(pool);
    match tokio::time::timeout(timeout, query).await {
        Ok(Ok(version)) => Some(version),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    /// The store knows no business rule: no module of `db/` uses the referral domain (the
    /// services call the store, never the other way round).
    #[test]
    fn the_store_never_imports_the_domain() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/db");
        // Built, so that this file's own text is not a match.
        let needle = ["crate", "referral"].join("::");
        let mut offenders = Vec::new();
        for entry in std::fs::read_dir(&dir).expect("src/db") {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("source");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if code.contains(&needle) {
                    offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "db/ uses the domain:\n{}",
            offenders.join("\n")
        );
    }
}
