//! The `referrer_binding` table: one-time codes that bind a scanner's openid to a referrer.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::db::referrers::audit;

/// Records a new binding code, valid until `expires_at`.
pub async fn insert(
    pool: &PgPool,
    account_id: i64,
    token: &str,
    referrer_id: i64,
    actor: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into referrer_binding (account_id, token, referrer_id, created_by, expires_at)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(account_id)
    .bind(token)
    .bind(referrer_id)
    .bind(actor)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// A binding code as stored, locked for the transaction, with its referrer's name.
#[derive(Debug, sqlx::FromRow)]
pub struct BindingRow {
    pub referrer_id: i64,
    pub referrer_name: String,
    pub referrer_archived: bool,
    pub expires_at: DateTime<Utc>,
    pub used_by: Option<String>,
}

pub async fn lock(
    conn: &mut PgConnection,
    account_id: i64,
    token: &str,
) -> sqlx::Result<Option<BindingRow>> {
    sqlx::query_as(
        "select b.referrer_id, r.name as referrer_name, r.archived_at is not null
                as referrer_archived, b.expires_at, b.used_by
         from referrer_binding b
              join referrer r on r.account_id = b.account_id and r.id = b.referrer_id
         where b.account_id = $1 and b.token = $2
         for update of b",
    )
    .bind(account_id)
    .bind(token)
    .fetch_optional(conn)
    .await
}

/// The referrer other than `except` this openid is bound to, if any: `(id, name)`.
pub async fn bound_elsewhere(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    except: i64,
) -> sqlx::Result<Option<(i64, String)>> {
    sqlx::query_as(
        "select id, name from referrer where account_id = $1 and openid = $2 and id <> $3",
    )
    .bind(account_id)
    .bind(openid)
    .bind(except)
    .fetch_optional(conn)
    .await
}

/// Binds `openid` to the code's referrer and uses the code up, with an audit entry.
pub async fn bind(
    conn: &mut PgConnection,
    account_id: i64,
    token: &str,
    referrer_id: i64,
    openid: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update referrer set openid = $3, updated_at = now() where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(openid)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update referrer_binding set used_at = now(), used_by = $3
         where account_id = $1 and token = $2",
    )
    .bind(account_id)
    .bind(token)
    .bind(openid)
    .execute(&mut *conn)
    .await?;
    audit(
        conn,
        account_id,
        "wechat-scan",
        "referrer.bind",
        referrer_id,
        serde_json::json!({"openid": openid}),
    )
    .await
}
