//! The `account` table: each Official Account's WeChat configuration.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::db::referrers::audit;

/// An account row, secrets included (never serialised; the service turns it into a view).
#[derive(Clone, sqlx::FromRow)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub appid: Option<String>,
    pub original_id: Option<String>,
    pub token: Option<String>,
    pub encoding_aes_key: Option<String>,
    pub appsecret: Option<String>,
    /// `sandbox` | `live`.
    pub mode: String,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for AccountRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("appid", &self.appid)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

/// What an insert or update writes.
pub struct AccountFields<'a> {
    pub name: &'a str,
    pub appid: Option<&'a str>,
    pub original_id: Option<&'a str>,
    pub token: Option<&'a str>,
    /// `Some(None)` clears the key; `None` keeps it.
    pub encoding_aes_key: Option<Option<&'a str>>,
    /// `None` keeps the stored secret.
    pub appsecret: Option<&'a str>,
    pub mode: &'a str,
}

/// The columns of [`AccountRow`].
macro_rules! columns {
    () => {
        "id, name, appid, original_id, token, encoding_aes_key, appsecret, mode, created_at"
    };
}

pub async fn get(pool: &PgPool, id: i64) -> sqlx::Result<Option<AccountRow>> {
    sqlx::query_as(concat!(
        "select ",
        columns!(),
        " from account where id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn by_appid(pool: &PgPool, appid: &str) -> sqlx::Result<Option<AccountRow>> {
    sqlx::query_as(concat!(
        "select ",
        columns!(),
        " from account where appid = $1"
    ))
    .bind(appid)
    .fetch_optional(pool)
    .await
}

/// Notes WeChat's check of the callback URL: passed (`ok`) or refused (a bad signature). A
/// refusal is noted at most every ten seconds, so forged checks cannot make it write much.
pub async fn note_url_check(pool: &PgPool, id: i64, ok: bool) -> sqlx::Result<()> {
    let sql = if ok {
        "update account set url_verified_at = now() where id = $1"
    } else {
        "update account set url_check_failed_at = now() where id = $1
         and (url_check_failed_at is null or url_check_failed_at < now() - interval '10 seconds')"
    };
    sqlx::query(sql).bind(id).execute(pool).await?;
    Ok(())
}

/// When WeChat last verified a callback URL, and when it last failed to.
pub type UrlChecks = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// When WeChat last verified the account's callback URL, and last failed to.
pub async fn url_checks(pool: &PgPool, id: i64) -> sqlx::Result<UrlChecks> {
    let row: Option<UrlChecks> =
        sqlx::query_as("select url_verified_at, url_check_failed_at from account where id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.unwrap_or_default())
}

/// Every account, by id.
pub async fn all(pool: &PgPool) -> sqlx::Result<Vec<AccountRow>> {
    sqlx::query_as(concat!("select ", columns!(), " from account order by id"))
        .fetch_all(pool)
        .await
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .is_some_and(|d| d.is_unique_violation())
}

/// Adds an account; None when its AppID is taken.
pub async fn insert(
    pool: &PgPool,
    f: &AccountFields<'_>,
    actor: &str,
) -> sqlx::Result<Option<AccountRow>> {
    let mut tx = pool.begin().await?;
    let row: Result<AccountRow, sqlx::Error> = sqlx::query_as(concat!(
        "insert into account (name, appid, original_id, token, encoding_aes_key, appsecret, mode)
         values ($1, $2, $3, $4, $5, $6, $7) returning ",
        columns!()
    ))
    .bind(f.name)
    .bind(f.appid)
    .bind(f.original_id)
    .bind(f.token)
    .bind(f.encoding_aes_key.flatten())
    .bind(f.appsecret)
    .bind(f.mode)
    .fetch_one(&mut *tx)
    .await;
    let row = match row {
        Err(e) if is_unique_violation(&e) => return Ok(None),
        other => other?,
    };
    audit(
        &mut tx,
        row.id,
        actor,
        "account.create",
        row.id,
        serde_json::json!({"name": f.name, "appid": f.appid, "mode": f.mode}),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(row))
}

/// What an update found.
pub enum Updated {
    Ok(Box<AccountRow>),
    Missing,
    AppidTaken,
}

/// Updates an account; secrets not given keep their stored value.
pub async fn update(
    pool: &PgPool,
    id: i64,
    f: &AccountFields<'_>,
    actor: &str,
) -> sqlx::Result<Updated> {
    let mut tx = pool.begin().await?;
    let row: Result<Option<AccountRow>, sqlx::Error> = sqlx::query_as(concat!(
        "update account set name = $2, appid = $3, original_id = $4, token = $5,
                encoding_aes_key = case when $6 then $7 else encoding_aes_key end,
                appsecret = coalesce($8, appsecret), mode = $9, updated_at = now()
         where id = $1 returning ",
        columns!()
    ))
    .bind(id)
    .bind(f.name)
    .bind(f.appid)
    .bind(f.original_id)
    .bind(f.token)
    .bind(f.encoding_aes_key.is_some())
    .bind(f.encoding_aes_key.flatten())
    .bind(f.appsecret)
    .bind(f.mode)
    .fetch_optional(&mut *tx)
    .await;
    let row = match row {
        Err(e) if is_unique_violation(&e) => return Ok(Updated::AppidTaken),
        other => other?,
    };
    let Some(row) = row else {
        return Ok(Updated::Missing);
    };
    audit(
        &mut tx,
        id,
        actor,
        "account.update",
        id,
        serde_json::json!({
            "name": f.name, "appid": f.appid, "mode": f.mode,
            "appsecret_changed": f.appsecret.is_some(),
            "encoding_aes_key_changed": f.encoding_aes_key.is_some(),
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(Updated::Ok(Box::new(row)))
}

/// The accounts a user holds a role in, with the role: `(account, role)`, by id.
pub async fn of_user(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<(AccountRow, String)>> {
    #[derive(sqlx::FromRow)]
    struct WithRole {
        #[sqlx(flatten)]
        account: AccountRow,
        role: String,
    }
    let rows: Vec<WithRole> = sqlx::query_as(
        "select a.id, a.name, a.appid, a.original_id, a.token, a.encoding_aes_key, a.appsecret,
                a.mode, a.created_at, r.role
         from account_role r join account a on a.id = r.account_id
         where r.user_id = $1 and r.disabled_at is null order by a.id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|r| (r.account, r.role)).collect())
}

/// Sets an account's WeChat configuration from the environment (the first account at start;
/// no audit entry: the deployment's configuration, not a person, decides it).
#[allow(clippy::too_many_arguments)]
pub async fn configure(
    pool: &PgPool,
    id: i64,
    appid: &str,
    original_id: Option<&str>,
    token: &str,
    encoding_aes_key: Option<&str>,
    appsecret: Option<&str>,
    mode: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update account set appid = $2, original_id = coalesce($3, original_id), token = $4,
                encoding_aes_key = $5, appsecret = $6, mode = $7, updated_at = now()
         where id = $1
           and (appid, original_id, token, encoding_aes_key, appsecret, mode)
               is distinct from ($2, coalesce($3, original_id), $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(appid)
    .bind(original_id)
    .bind(token)
    .bind(encoding_aes_key)
    .bind(appsecret)
    .bind(mode)
    .execute(pool)
    .await?;
    Ok(())
}
