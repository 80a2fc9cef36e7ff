//! The `qr_code` table.

use app::model::CodeKind;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;

use crate::db::referrers::audit;

/// A stored QR code.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CodeRow {
    pub id: i64,
    pub referrer_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: CodeKind,
    pub scene: String,
    pub label: Option<String>,
    pub wechat_tag: Option<String>,
    pub ticket: String,
    pub url: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A code with its referrer's name, for the sandbox panel.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SandboxCodeRow {
    pub id: i64,
    pub referrer_name: String,
    pub label: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: CodeKind,
}

const COLUMNS: &str =
    "id, referrer_id, kind, scene, label, wechat_tag, ticket, url, expires_at, created_at";

/// A code WeChat has made, about to be stored.
pub struct NewCode<'a> {
    pub account_id: i64,
    pub referrer_id: i64,
    pub kind: CodeKind,
    pub scene: &'a str,
    pub label: Option<&'a str>,
    pub wechat_tag: Option<&'a str>,
    pub ticket: &'a str,
    pub url: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(pool: &PgPool, c: &NewCode<'_>, actor: &str) -> sqlx::Result<CodeRow> {
    let mut tx = pool.begin().await?;
    let row: CodeRow = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into qr_code (account_id, referrer_id, kind, scene, label, ticket, url, expires_at,
                              wechat_tag)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9) returning {COLUMNS}"
    )))
    .bind(c.account_id)
    .bind(c.referrer_id)
    .bind(c.kind.as_str())
    .bind(c.scene)
    .bind(c.label)
    .bind(c.ticket)
    .bind(c.url)
    .bind(c.expires_at)
    .bind(c.wechat_tag)
    .fetch_one(&mut *tx)
    .await?;
    audit(
        &mut tx,
        c.account_id,
        actor,
        "qrcode.create",
        row.id,
        json!({"referrer_id": c.referrer_id, "kind": c.kind.as_str(), "scene": c.scene}),
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

pub async fn get(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<CodeRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from qr_code where account_id = $1 and id = $2"
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn of_referrer(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
) -> sqlx::Result<Vec<CodeRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from qr_code where account_id = $1 and referrer_id = $2
         order by created_at desc, id desc"
    )))
    .bind(account_id)
    .bind(referrer_id)
    .fetch_all(pool)
    .await
}

/// Permanent codes made so far (WeChat allows 100,000 per account).
pub async fn permanent_count(pool: &PgPool, account_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from qr_code where account_id = $1 and kind = 'permanent'")
        .bind(account_id)
        .fetch_one(pool)
        .await
}

/// Every code with its referrer's name, newest first (for the sandbox panel).
pub async fn all_for_sandbox(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<SandboxCodeRow>> {
    sqlx::query_as(
        "select q.id, r.name as referrer_name, q.label, q.kind
         from qr_code q join referrer r on r.account_id = q.account_id and r.id = q.referrer_id
         where q.account_id = $1 order by q.id desc limit 500",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
}

/// A code with its referrer's name, for exports and choosing codes.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NamedCodeRow {
    pub id: i64,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub label: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: CodeKind,
    pub url: String,
    pub created_at: DateTime<Utc>,
}

const NAMED: &str = "select q.id, q.referrer_id, r.name as referrer_name, q.label, q.kind, q.url,
        q.created_at
    from qr_code q join referrer r on r.account_id = q.account_id and r.id = q.referrer_id";

/// The account's codes among `ids`, with their referrers' names (any order; ids of other
/// accounts or of no code are absent).
pub async fn named(pool: &PgPool, account_id: i64, ids: &[i64]) -> sqlx::Result<Vec<NamedCodeRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{NAMED} where q.account_id = $1 and q.id = any($2)"
    )))
    .bind(account_id)
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// The account's newest `limit` codes with their referrers' names, newest first.
pub async fn newest_named(
    pool: &PgPool,
    account_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<NamedCodeRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{NAMED} where q.account_id = $1 order by q.id desc limit $2"
    )))
    .bind(account_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The next permanent integer scene id of the account: one above the largest taken (WeChat
/// allows 1..=100,000; the caller checks the bound).
pub async fn next_permanent_scene_id(pool: &PgPool, account_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select coalesce(max(scene::bigint), 0) + 1 from qr_code
         where account_id = $1 and kind = 'permanent' and scene ~ '^[0-9]{1,6}$'",
    )
    .bind(account_id)
    .fetch_one(pool)
    .await
}
