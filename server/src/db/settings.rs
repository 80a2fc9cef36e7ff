//! Settings: greeting templates, the notification template, user and token lists, audit log.

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::db::referrers::audit;

pub async fn greetings(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("select variant, template from greeting where account_id = $1")
        .bind(account_id)
        .fetch_all(pool)
        .await
}

/// Sets a template, or restores the default when `template` is None.
pub async fn save_greeting(
    pool: &PgPool,
    account_id: i64,
    actor: &str,
    variant: &str,
    template: Option<&str>,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    match template {
        Some(t) => {
            sqlx::query(
                "insert into greeting (account_id, variant, template) values ($1, $2, $3)
                 on conflict (account_id, variant) do update
                    set template = excluded.template, updated_at = now()",
            )
            .bind(account_id)
            .bind(variant)
            .bind(t)
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query("delete from greeting where account_id = $1 and variant = $2")
                .bind(account_id)
                .bind(variant)
                .execute(&mut *tx)
                .await?;
        }
    }
    audit(
        &mut tx,
        account_id,
        actor,
        "greeting.save",
        0,
        json!({"variant": variant, "template": template}),
    )
    .await?;
    tx.commit().await
}

/// The notice template's id and its key mapping (JSON text, as the service wrote it).
pub async fn notify_template(
    pool: &PgPool,
    account_id: i64,
) -> sqlx::Result<(Option<String>, Option<String>)> {
    sqlx::query_as(
        "select notify_template_id, notify_template_fields::text from account where id = $1",
    )
    .bind(account_id)
    .fetch_one(pool)
    .await
}

pub async fn save_notify_template(
    pool: &PgPool,
    account_id: i64,
    actor: &str,
    template: Option<&str>,
    fields: &serde_json::Value,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "update account set notify_template_id = $2, notify_template_fields = $3::jsonb
         where id = $1",
    )
    .bind(account_id)
    .bind(template)
    .bind(fields.to_string())
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        account_id,
        actor,
        "notify_template.save",
        account_id,
        json!({"template_id": template, "fields": fields}),
    )
    .await?;
    tx.commit().await
}

/// A user holding a role in the account (`role` as stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserListRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
}

/// The enabled users holding a role in the account, by name.
pub async fn users(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<UserListRow>> {
    sqlx::query_as(
        "select u.id, u.username, r.role, u.created_at
         from account_role r join app_user u on u.id = r.user_id
         where r.account_id = $1 and u.disabled_at is null order by u.username",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
}

/// An API token of the account, without its hash (`role` as stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenListRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub expired: bool,
}

/// The account's API tokens, newest first.
pub async fn tokens(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<TokenListRow>> {
    sqlx::query_as(
        "select id, name, role, created_at, last_used_at, revoked_at is not null as revoked,
                expires_at, coalesce(expires_at <= now(), false) as expired
         from api_token where account_id = $1 order by id desc",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
}

/// An audit-log entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// The account's latest `limit` audit-log entries, newest first.
pub async fn audit_log(pool: &PgPool, account_id: i64, limit: i64) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as(
        "select actor, action, target, created_at from audit_log
         where account_id = $1 order by id desc limit $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
