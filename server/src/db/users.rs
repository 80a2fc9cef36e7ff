//! Dashboard users (global), their roles per account, sessions and login attempts.

use app::model::Role;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// A user row with its password hash (never serialised).
#[derive(sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    /// The account the user was first made in.
    pub account_id: i64,
    pub username: String,
    pub password_hash: String,
}

/// A user in the account a session is open for, with their role there (as stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    pub id: i64,
    pub account_id: i64,
    pub username: String,
    pub role: String,
}

/// Creates a user (first made in `account_id`), or replaces the password of an existing one
/// (and enables it again); returns the id.
pub async fn upsert(
    pool: &PgPool,
    account_id: i64,
    username: &str,
    password_hash: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into app_user (account_id, username, password_hash) values ($1, $2, $3)
         on conflict (username) do update
            set password_hash = excluded.password_hash, disabled_at = null
         returning id",
    )
    .bind(account_id)
    .bind(username)
    .bind(password_hash)
    .fetch_one(pool)
    .await
}

/// Gives a user `role` in an account (replacing the role they had there).
pub async fn grant(pool: &PgPool, account_id: i64, user_id: i64, role: Role) -> sqlx::Result<()> {
    sqlx::query(
        "insert into account_role (account_id, user_id, role) values ($1, $2, $3)
         on conflict (account_id, user_id) do update set role = excluded.role",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(role.as_str())
    .execute(pool)
    .await?;
    Ok(())
}

/// How many users hold a role in the account.
pub async fn count(pool: &PgPool, account_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from account_role where account_id = $1")
        .bind(account_id)
        .fetch_one(pool)
        .await
}

/// An enabled user by name.
pub async fn by_username(pool: &PgPool, username: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(
        "select id, account_id, username, password_hash from app_user
         where username = $1 and disabled_at is null",
    )
    .bind(username)
    .fetch_optional(pool)
    .await
}

/// The accounts a user holds a role in (and is not disabled in), with the role:
/// `(account id, role)`, the account the user was first made in first, then by id.
pub async fn roles_of(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "select r.account_id, r.role from account_role r join app_user u on u.id = r.user_id
         where r.user_id = $1 and r.disabled_at is null
         order by r.account_id <> u.account_id, r.account_id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// Failed attempts for `username` since `since` (after its last success), in any account.
pub async fn recent_failures(
    pool: &PgPool,
    username: &str,
    since: DateTime<Utc>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from login_attempt
         where username = $1 and not succeeded and attempted_at > $2
           and attempted_at > coalesce((select max(attempted_at) from login_attempt
                                        where username = $1 and succeeded),
                                       '-infinity')",
    )
    .bind(username)
    .bind(since)
    .fetch_one(pool)
    .await
}

pub async fn record_attempt(
    pool: &PgPool,
    account_id: i64,
    username: &str,
    succeeded: bool,
) -> sqlx::Result<()> {
    sqlx::query("insert into login_attempt (account_id, username, succeeded) values ($1, $2, $3)")
        .bind(account_id)
        .bind(username)
        .bind(succeeded)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn create_session(
    pool: &PgPool,
    account_id: i64,
    user_id: i64,
    id_hash: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into session (id_hash, account_id, user_id, expires_at) values ($1, $2, $3, $4)",
    )
    .bind(id_hash)
    .bind(account_id)
    .bind(user_id)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The user of a live session with their role in the session's account (and notes the
/// visit). None when the session ended or the user holds no role there any more.
pub async fn session_user(pool: &PgPool, id_hash: &str) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(
        "with s as (update session set last_seen_at = now()
                    where id_hash = $1 and expires_at > now() returning user_id, account_id)
         select u.id, s.account_id, u.username, r.role
         from s join app_user u on u.id = s.user_id
         join account_role r on r.account_id = s.account_id and r.user_id = u.id
         where u.disabled_at is null and r.disabled_at is null",
    )
    .bind(id_hash)
    .fetch_optional(pool)
    .await
}

/// Moves a session to another account the user holds a role in; false when they hold none.
pub async fn switch_session(pool: &PgPool, id_hash: &str, account_id: i64) -> sqlx::Result<bool> {
    let moved = sqlx::query(
        "update session s set account_id = $2
         where s.id_hash = $1 and s.expires_at > now()
           and exists (select 1 from account_role r
                       where r.account_id = $2 and r.user_id = s.user_id
                         and r.disabled_at is null)",
    )
    .bind(id_hash)
    .bind(account_id)
    .execute(pool)
    .await?;
    Ok(moved.rows_affected() == 1)
}

pub async fn delete_session(pool: &PgPool, id_hash: &str) -> sqlx::Result<()> {
    sqlx::query("delete from session where id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Notes a successful sign-in.
pub async fn record_sign_in(pool: &PgPool, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("update app_user set last_sign_in_at = now() where id = $1")
        .bind(user_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// A user holding a role in an account, as its admins see them (`role` as stored).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub username: String,
    pub role: String,
    /// Disabled in this account.
    pub disabled: bool,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

const MEMBERS: &str = "select u.id, u.username, r.role, r.disabled_at is not null as disabled,
                u.last_sign_in_at, u.created_at
         from account_role r join app_user u on u.id = r.user_id
         where r.account_id = $1 and u.disabled_at is null order by u.username";

/// The account's users, by name.
pub async fn members(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as(MEMBERS)
        .bind(account_id)
        .fetch_all(pool)
        .await
}

/// The account's users, their memberships locked until the transaction ends (so two admins
/// changing roles at once cannot both remove the last admin).
pub async fn lock_members(
    conn: &mut PgConnection,
    account_id: i64,
) -> sqlx::Result<Vec<MemberRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("{MEMBERS} for update of r")))
        .bind(account_id)
        .fetch_all(conn)
        .await
}

/// Every account a user holds a role in, disabled or not.
pub async fn memberships(pool: &PgPool, user_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar("select account_id from account_role where user_id = $1")
        .bind(user_id)
        .fetch_all(pool)
        .await
}

pub async fn set_member_role(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
    role: Role,
) -> sqlx::Result<()> {
    sqlx::query("update account_role set role = $3 where account_id = $1 and user_id = $2")
        .bind(account_id)
        .bind(user_id)
        .bind(role.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Disables (`true`) or enables a user's membership of the account.
pub async fn set_member_disabled(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
    disabled: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "update account_role set disabled_at = case when $3 then coalesce(disabled_at, now()) end
         where account_id = $1 and user_id = $2",
    )
    .bind(account_id)
    .bind(user_id)
    .bind(disabled)
    .execute(conn)
    .await?;
    Ok(())
}

/// Ends the user's sessions open in the account.
pub async fn end_sessions_in(
    conn: &mut PgConnection,
    account_id: i64,
    user_id: i64,
) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("delete from session where account_id = $1 and user_id = $2")
            .bind(account_id)
            .bind(user_id)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}

/// Replaces a user's password and ends every session they have.
pub async fn set_password(
    conn: &mut PgConnection,
    user_id: i64,
    password_hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("update app_user set password_hash = $2 where id = $1")
        .bind(user_id)
        .bind(password_hash)
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from session where user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
