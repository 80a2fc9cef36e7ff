//! Settings: greeting templates, the notification template, user and token lists, audit log.

use app::model::{AuditEntry, Role, TokenSummary, UserSummary};
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::db::referrers::{audit, rfc3339};

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

pub async fn notify_template(pool: &PgPool, account_id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select notify_template_id from account where id = $1")
        .bind(account_id)
        .fetch_one(pool)
        .await
}

pub async fn save_notify_template(
    pool: &PgPool,
    account_id: i64,
    actor: &str,
    template: Option<&str>,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("update account set notify_template_id = $2 where id = $1")
        .bind(account_id)
        .bind(template)
        .execute(&mut *tx)
        .await?;
    audit(
        &mut tx,
        account_id,
        actor,
        "notify_template.save",
        account_id,
        json!({"template_id": template}),
    )
    .await?;
    tx.commit().await
}

pub async fn users(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<UserSummary>> {
    let rows: Vec<(i64, String, String, DateTime<Utc>)> = sqlx::query_as(
        "select u.id, u.username, r.role, u.created_at
         from account_role r join app_user u on u.id = r.user_id
         where r.account_id = $1 and u.disabled_at is null order by u.username",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, username, role, created)| {
            Role::parse(&role).map(|role| UserSummary {
                id,
                username,
                role,
                created_at: rfc3339(created),
            })
        })
        .collect())
}

type TokenRow = (
    i64,
    String,
    String,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
    bool,
);

pub async fn tokens(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<TokenSummary>> {
    let rows: Vec<TokenRow> = sqlx::query_as(
        "select id, name, role, created_at, last_used_at, revoked_at is not null
         from api_token where account_id = $1 order by id desc",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, name, role, created, used, revoked)| {
            Role::parse(&role).map(|role| TokenSummary {
                id,
                name,
                role,
                created_at: rfc3339(created),
                last_used_at: used.map(rfc3339),
                revoked,
            })
        })
        .collect())
}

pub async fn audit_log(
    pool: &PgPool,
    account_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<AuditEntry>> {
    let rows: Vec<(String, String, Option<String>, DateTime<Utc>)> = sqlx::query_as(
        "select actor, action, target, created_at from audit_log
         where account_id = $1 order by id desc limit $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(actor, action, target, created)| AuditEntry {
            actor,
            action,
            target,
            created_at: rfc3339(created),
        })
        .collect())
}
