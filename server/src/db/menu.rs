//! The custom menu lives at WeChat; here only the audit-log entries of its changes.

use sqlx::PgPool;

/// Records a menu change (`menu.publish` with the menu sent, `menu.delete`).
pub async fn record(
    pool: &PgPool,
    account_id: i64,
    actor: &str,
    action: &str,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    let mut conn = pool.acquire().await?;
    crate::db::referrers::audit(&mut conn, account_id, actor, action, 0, detail).await
}
