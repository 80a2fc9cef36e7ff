//! The embedded PostgreSQL: a private cluster under the data directory, from the machine's
//! server binaries, reached over a unix socket. Created on first start, kept across restarts.

use std::path::{Path, PathBuf};

use anyhow::Context;
use pgcluster::{Cluster, Options};
use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, Connection};

/// The database our data lives in, inside the embedded cluster.
const DATABASE: &str = "tuijian";

/// A running embedded cluster.
pub struct Embedded {
    cluster: Cluster,
}

impl Embedded {
    /// Initialises (first run) and starts the cluster, then makes sure our database exists.
    pub async fn start(data_dir: &Path) -> anyhow::Result<Self> {
        let base: PathBuf = data_dir.join("postgres");
        tracing::info!(dir = %base.display(), "starting embedded PostgreSQL");
        let cluster = tokio::task::spawn_blocking(move || {
            Cluster::ensure_running(&base, &Options::default())
        })
        .await
        .context("embedded PostgreSQL start-up task failed")??;
        let embedded = Embedded { cluster };
        embedded.create_database().await?;
        Ok(embedded)
    }

    /// Options for connecting to our database over the socket.
    pub fn connect_options(&self) -> PgConnectOptions {
        self.options_for(DATABASE)
    }

    fn options_for(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(self.cluster.socket_dir())
            .port(pgcluster::SOCKET_PORT)
            .username("postgres")
            .database(database)
    }

    async fn create_database(&self) -> anyhow::Result<()> {
        let mut conn = self
            .options_for("postgres")
            .connect()
            .await
            .context("cannot connect to the embedded PostgreSQL")?;
        let exists: bool =
            sqlx::query_scalar("select exists(select 1 from pg_database where datname = $1)")
                .bind(DATABASE)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            // Identifiers cannot be bound; keep this literal in step with DATABASE.
            sqlx::query("create database tuijian")
                .execute(&mut conn)
                .await?;
        }
        conn.close().await?;
        Ok(())
    }

    /// Stops the cluster if this process started it.
    pub async fn stop(self) {
        let cluster = self.cluster;
        let result = tokio::task::spawn_blocking(move || cluster.stop()).await;
        match result {
            Ok(Ok(())) => tracing::info!("embedded PostgreSQL stopped"),
            Ok(Err(e)) => tracing::error!(error = %e, "embedded PostgreSQL did not stop cleanly"),
            Err(e) => tracing::error!(error = %e, "embedded PostgreSQL stop task failed"),
        }
    }
}
