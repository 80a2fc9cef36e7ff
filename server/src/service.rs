//! The server's implementation of the dashboard's service interface (`app::service`).

use std::sync::Arc;
use std::time::Duration;

use app::model::{SystemStatus, WechatMode};
use app::service::AppService;
use sqlx::PgPool;

use crate::config::Settings;

/// Backs the dashboard's server functions with the database and settings.
pub struct ServerService {
    pool: PgPool,
    settings: Arc<Settings>,
}

impl ServerService {
    pub fn new(pool: PgPool, settings: Arc<Settings>) -> Self {
        ServerService { pool, settings }
    }
}

#[async_trait::async_trait]
impl AppService for ServerService {
    async fn status(&self) -> SystemStatus {
        let version = crate::db::ping(&self.pool, Duration::from_secs(2)).await;
        SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            mode: if self.settings.wechat.is_sandbox() {
                WechatMode::Sandbox
            } else {
                WechatMode::Live
            },
            database_ok: version.is_some(),
            database_version: version.map(|v| v.split(" on ").next().unwrap_or(&v).to_owned()),
            embedded_database: self.settings.database_url.is_none(),
        }
    }
}
