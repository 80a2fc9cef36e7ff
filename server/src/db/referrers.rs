//! The `referrer` table (and its audit-log entries).

use app::model::ReferrerKind;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use crate::db::Paged;

/// Validated referrer fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferrerFields {
    pub name: String,
    pub phone: Option<String>,
    pub note: Option<String>,
    pub openid: Option<String>,
    pub tags: Vec<String>,
    pub wechat_tag: Option<String>,
}

/// Search, sort and paging for the referrer list.
#[derive(Debug, Clone, Default)]
pub struct ReferrerQuery {
    pub q: Option<String>,
    pub page: i64,
    pub per_page: i64,
    pub sort: ReferrerSort,
    pub include_archived: bool,
}

/// List order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReferrerSort {
    #[default]
    Newest,
    Oldest,
    Name,
}

impl ReferrerSort {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "newest" | "-created_at" => Some(ReferrerSort::Newest),
            "oldest" | "created_at" => Some(ReferrerSort::Oldest),
            "name" => Some(ReferrerSort::Name),
            _ => None,
        }
    }

    fn order_by(self) -> &'static str {
        match self {
            ReferrerSort::Newest => "created_at desc, id desc",
            ReferrerSort::Oldest => "created_at asc, id asc",
            ReferrerSort::Name => "lower(name) asc, id asc",
        }
    }
}

/// A stored referrer.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReferrerRow {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
    pub wechat_tag: Option<String>,
    pub openid: Option<String>,
    #[sqlx(try_from = "String")]
    pub kind: ReferrerKind,
    pub name_chosen: bool,
    pub archived_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str =
    "id, name, phone, note, tags, wechat_tag, openid, kind, name_chosen, archived_at, created_at,
     updated_at";

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// Inserts a referrer; `None` when the openid is bound to another referrer already.
pub async fn insert(
    pool: &PgPool,
    account_id: i64,
    f: &ReferrerFields,
    kind: ReferrerKind,
    actor: &str,
) -> sqlx::Result<Option<ReferrerRow>> {
    let mut tx = pool.begin().await?;
    let row: Result<ReferrerRow, _> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into referrer (account_id, name, phone, note, openid, tags, kind, wechat_tag)
         values ($1, $2, $3, $4, $5, $6, $7, $8) returning {COLUMNS}"
    )))
    .bind(account_id)
    .bind(&f.name)
    .bind(&f.phone)
    .bind(&f.note)
    .bind(&f.openid)
    .bind(&f.tags)
    .bind(kind.as_str())
    .bind(&f.wechat_tag)
    .fetch_one(&mut *tx)
    .await;
    let row = match row {
        Ok(row) => row,
        Err(e) if is_unique_violation(&e) => return Ok(None),
        Err(e) => return Err(e),
    };
    audit(
        &mut tx,
        account_id,
        actor,
        "referrer.create",
        row.id,
        json!({"name": f.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(row))
}

/// Result of an update.
pub enum Updated {
    Ok(Box<ReferrerRow>),
    Missing,
    DuplicateOpenid,
}

pub async fn update(
    pool: &PgPool,
    account_id: i64,
    id: i64,
    f: &ReferrerFields,
    actor: &str,
) -> sqlx::Result<Updated> {
    let mut tx = pool.begin().await?;
    let row: Result<Option<ReferrerRow>, _> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update referrer set name = $3, phone = $4, note = $5, openid = $6, tags = $7,
                wechat_tag = $8, name_chosen = name_chosen or name is distinct from $3, updated_at = now()
         where account_id = $1 and id = $2 returning {COLUMNS}"
    )))
    .bind(account_id)
    .bind(id)
    .bind(&f.name)
    .bind(&f.phone)
    .bind(&f.note)
    .bind(&f.openid)
    .bind(&f.tags)
    .bind(&f.wechat_tag)
    .fetch_optional(&mut *tx)
    .await;
    let row = match row {
        Ok(Some(row)) => row,
        Ok(None) => return Ok(Updated::Missing),
        Err(e) if is_unique_violation(&e) => return Ok(Updated::DuplicateOpenid),
        Err(e) => return Err(e),
    };
    audit(
        &mut tx,
        account_id,
        actor,
        "referrer.update",
        id,
        json!({"name": f.name}),
    )
    .await?;
    tx.commit().await?;
    Ok(Updated::Ok(Box::new(row)))
}

/// Archives (idempotent: archiving twice keeps the first time).
pub async fn archive(
    pool: &PgPool,
    account_id: i64,
    id: i64,
    actor: &str,
) -> sqlx::Result<Option<ReferrerRow>> {
    let mut tx = pool.begin().await?;
    let row: Option<ReferrerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update referrer set archived_at = coalesce(archived_at, now()), updated_at = now()
         where account_id = $1 and id = $2 returning {COLUMNS}"
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    if row.is_some() {
        audit(
            &mut tx,
            account_id,
            actor,
            "referrer.archive",
            id,
            json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(row)
}

pub async fn get(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<ReferrerRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from referrer where account_id = $1 and id = $2"
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// One page of referrers.
pub async fn list(
    pool: &PgPool,
    account_id: i64,
    query: &ReferrerQuery,
) -> sqlx::Result<Paged<ReferrerRow>> {
    let per_page = query.per_page.clamp(1, 200);
    let page = query.page.max(1);
    let pattern = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| {
            format!(
                "%{}%",
                q.replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        });
    let filter = "account_id = $1
        and ($2::text is null or name ilike $2 or phone ilike $2 or note ilike $2
             or exists (select 1 from unnest(tags) t where t ilike $2))
        and ($3 or archived_at is null)";
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select count(*) from referrer where {filter}"
    )))
    .bind(account_id)
    .bind(&pattern)
    .bind(query.include_archived)
    .fetch_one(pool)
    .await?;
    // order_by() only returns fixed strings, never user input.
    let rows: Vec<ReferrerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from referrer where {filter}
         order by {} limit $4 offset $5",
        query.sort.order_by()
    )))
    .bind(account_id)
    .bind(&pattern)
    .bind(query.include_archived)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(pool)
    .await?;
    Ok(Paged {
        rows,
        total,
        page,
        per_page,
    })
}

/// Records who changed what, in the caller's transaction.
pub async fn audit(
    conn: &mut PgConnection,
    account_id: i64,
    actor: &str,
    action: &str,
    target_id: i64,
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_log (account_id, actor, action, target, detail)
         values ($1, $2, $3, $4, $5)",
    )
    .bind(account_id)
    .bind(actor)
    .bind(action)
    .bind(target_id.to_string())
    .bind(detail)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Restores an archived referrer; one that is not archived is returned unchanged (and nothing
/// is logged).
pub async fn restore(
    pool: &PgPool,
    account_id: i64,
    id: i64,
    actor: &str,
) -> sqlx::Result<Option<ReferrerRow>> {
    let mut tx = pool.begin().await?;
    let restored: Option<ReferrerRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update referrer set archived_at = null, updated_at = now()
         where account_id = $1 and id = $2 and archived_at is not null returning {COLUMNS}"
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let row = match restored {
        Some(row) => {
            audit(
                &mut tx,
                account_id,
                actor,
                "referrer.restore",
                id,
                json!({}),
            )
            .await?;
            Some(row)
        }
        None => {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "select {COLUMNS} from referrer where account_id = $1 and id = $2"
            )))
            .bind(account_id)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        }
    };
    tx.commit().await?;
    Ok(row)
}

/// A referrer picked for a bulk action, locked until the transaction ends.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Picked {
    pub id: i64,
    pub name: String,
    pub tags: Vec<String>,
    pub archived: bool,
}

/// Locks the account's referrers among `ids` (others' ids are not found) for a bulk change.
pub async fn pick(
    conn: &mut PgConnection,
    account_id: i64,
    ids: &[i64],
) -> sqlx::Result<Vec<Picked>> {
    sqlx::query_as(
        "select id, name, tags, archived_at is not null as archived from referrer
         where account_id = $1 and id = any($2) order by id for update",
    )
    .bind(account_id)
    .bind(ids)
    .fetch_all(conn)
    .await
}

/// The account's referrers among `ids`, unlocked (for names in a report).
pub async fn picked(pool: &PgPool, account_id: i64, ids: &[i64]) -> sqlx::Result<Vec<Picked>> {
    sqlx::query_as(
        "select id, name, tags, archived_at is not null as archived from referrer
         where account_id = $1 and id = any($2) order by id",
    )
    .bind(account_id)
    .bind(ids)
    .fetch_all(pool)
    .await
}

/// Archives (`true`) or restores (`false`) the account's referrers among `ids`.
pub async fn set_archived(
    conn: &mut PgConnection,
    account_id: i64,
    ids: &[i64],
    archived: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "update referrer
         set archived_at = case when $3 then coalesce(archived_at, now()) end, updated_at = now()
         where account_id = $1 and id = any($2)",
    )
    .bind(account_id)
    .bind(ids)
    .bind(archived)
    .execute(conn)
    .await?;
    Ok(())
}

/// Adds `tag` to the account's referrers among `ids` that lack it.
pub async fn add_tag(
    conn: &mut PgConnection,
    account_id: i64,
    ids: &[i64],
    tag: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update referrer set tags = array_append(tags, $3), updated_at = now()
         where account_id = $1 and id = any($2) and not ($3 = any(tags))",
    )
    .bind(account_id)
    .bind(ids)
    .bind(tag)
    .execute(conn)
    .await?;
    Ok(())
}

/// One audit entry per referrer in `ids`, in the caller's transaction.
pub async fn audit_each(
    conn: &mut PgConnection,
    account_id: i64,
    actor: &str,
    action: &str,
    ids: &[i64],
    detail: serde_json::Value,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into audit_log (account_id, actor, action, target, detail)
         select $1, $2, $3, id::text, $5 from unnest($4::bigint[]) as id",
    )
    .bind(account_id)
    .bind(actor)
    .bind(action)
    .bind(ids)
    .bind(detail)
    .execute(conn)
    .await?;
    Ok(())
}
