//! Dashboard accounts: argon2id passwords, login with throttling, sessions stored in
//! PostgreSQL (the cookie holds a random id; only its hash is stored).

use app::model::{CurrentUser, Role};
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use rand::RngCore;
use sqlx::PgPool;

use crate::db::users as store;
use crate::referral::error::ServiceError;
use crate::referral::tokens::hash;
use crate::referral::views;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "tj_session";
/// How long a session lasts.
pub const SESSION_DAYS: i64 = 7;
/// Failed attempts allowed per username within [`THROTTLE_MINUTES`].
pub const MAX_FAILURES: i64 = 5;
pub const THROTTLE_MINUTES: i64 = 15;
/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// An argon2id hash in PHC format.
pub fn hash_password(password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Upstream(format!("password hashing failed: {e}")))
}

/// [`hash_password`] on the blocking pool: argon2id takes tens of milliseconds of CPU, which
/// must not stall the async workers that answer WeChat's callbacks.
pub async fn hash_password_off_thread(password: &str) -> Result<String, ServiceError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ServiceError::Internal(format!("password hashing task: {e}")))?
}

/// Checks a password against its hash on the blocking pool (see [`hash_password_off_thread`]).
async fn verify_password_off_thread(password: &str, phc: &str) -> Result<bool, ServiceError> {
    let (password, phc) = (password.to_owned(), phc.to_owned());
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .map_err(|e| ServiceError::Internal(format!("password check task: {e}")))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Checks a username and password for `user create`.
pub fn validate_new_user(username: &str, password: &str) -> Result<(), ServiceError> {
    let ok_name = !username.is_empty()
        && username.len() <= 64
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c));
    if !ok_name {
        return Err(ServiceError::field(
            "username",
            "用户名只能包含字母、数字和 ._-@ / letters, digits and ._-@ only",
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ServiceError::field(
            "password",
            "密码至少 8 个字符 / at least 8 characters",
        ));
    }
    Ok(())
}

/// Creates a user, or resets the password of an existing one, and gives them `role` in the
/// account (the CLI's `user create`; the dashboard goes through `settings::add_user`).
pub async fn create_user(
    pool: &PgPool,
    account_id: i64,
    username: &str,
    password: &str,
    role: Role,
) -> Result<i64, ServiceError> {
    validate_new_user(username, password)?;
    let phc = hash_password_off_thread(password).await?;
    let id = store::upsert(pool, account_id, username, &phc).await?;
    store::grant(pool, account_id, id, role).await?;
    Ok(id)
}

/// The accounts a user holds a role in: `(account id, role)`, the user's first account first.
pub async fn roles_of(pool: &PgPool, user_id: i64) -> Result<Vec<(i64, Role)>, ServiceError> {
    Ok(store::roles_of(pool, user_id)
        .await?
        .into_iter()
        .filter_map(|(account, role)| Role::parse(&role).map(|r| (account, r)))
        .collect())
}

/// Moves a session to another account the user holds a role in.
pub async fn switch_account(
    pool: &PgPool,
    cookie: &str,
    account_id: i64,
) -> Result<CurrentUser, ServiceError> {
    if !store::switch_session(pool, &hash(cookie), account_id).await? {
        return Err(ServiceError::NotFound("account"));
    }
    session_user(pool, cookie)
        .await?
        .ok_or(ServiceError::NotFound("account"))
}

/// A random password for the sandbox's first admin.
pub fn random_password() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// In sandbox mode, the first start creates `admin` with a one-time password to print.
pub async fn ensure_sandbox_admin(
    pool: &PgPool,
    account_id: i64,
) -> Result<Option<String>, ServiceError> {
    if store::count(pool, account_id).await? > 0 {
        return Ok(None);
    }
    let password = random_password();
    create_user(pool, account_id, "admin", &password, Role::Admin).await?;
    Ok(Some(password))
}

/// Why a login was refused.
fn bad_login() -> ServiceError {
    ServiceError::Conflict {
        code: "invalid_login",
        message: "用户名或密码错误 / Wrong username or password".into(),
    }
}

/// Verifies the password (throttled per username) and opens a session in the user's first
/// account they hold a role in; returns the user and the cookie value. `account_id` is the
/// deployment's first account (where attempts are logged).
pub async fn login(
    pool: &PgPool,
    account_id: i64,
    username: &str,
    password: &str,
) -> Result<(CurrentUser, String), ServiceError> {
    let username = username.trim();
    if username.len() > 64 || username.chars().any(char::is_control) {
        // No such user can exist (see validate_new_user); refuse without touching the store.
        let _ = hash_password_off_thread(password).await;
        return Err(bad_login());
    }
    let since = Utc::now() - Duration::minutes(THROTTLE_MINUTES);
    if store::recent_failures(pool, username, since).await? >= MAX_FAILURES {
        return Err(ServiceError::Conflict {
            code: "throttled",
            message: "登录失败次数过多，请 15 分钟后再试 / Too many failed attempts; try again in 15 minutes".into(),
        });
    }
    let row = store::by_username(pool, username).await?;
    let user = match row {
        Some(row) if verify_password_off_thread(password, &row.password_hash).await? => {
            // The account the session opens in: the first the user holds a role in.
            roles_of(pool, row.id)
                .await?
                .first()
                .map(|&(account_id, role)| CurrentUser {
                    id: row.id,
                    account_id,
                    username: row.username.clone(),
                    role,
                })
        }
        Some(_) => None,
        None => {
            // Spend the same effort as a real check, so timing does not reveal usernames.
            let _ = hash_password_off_thread(password).await;
            None
        }
    };
    store::record_attempt(pool, account_id, username, user.is_some()).await?;
    let user = user.ok_or_else(bad_login)?;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let cookie = URL_SAFE_NO_PAD.encode(bytes);
    let expires = Utc::now() + Duration::days(SESSION_DAYS);
    store::create_session(pool, user.account_id, user.id, &hash(&cookie), expires).await?;
    Ok((user, cookie))
}

/// The user behind a session cookie value.
pub async fn session_user(
    pool: &PgPool,
    cookie: &str,
) -> Result<Option<CurrentUser>, ServiceError> {
    if cookie.is_empty() || cookie.len() > 100 {
        return Ok(None);
    }
    Ok(store::session_user(pool, &hash(cookie))
        .await?
        .and_then(views::current_user))
}

pub async fn logout(pool: &PgPool, cookie: &str) -> Result<(), ServiceError> {
    Ok(store::delete_session(pool, &hash(cookie)).await?)
}

/// The `Set-Cookie` value opening a session (HttpOnly, SameSite=Lax).
pub fn session_cookie(value: &str) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}",
        SESSION_DAYS * 86_400
    )
}

/// The `Set-Cookie` value ending a session.
pub fn clear_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0")
}

/// The session cookie's value in a `Cookie` header.
pub fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("Correct horse", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn cookies_are_http_only_and_same_site() {
        let c = session_cookie("abc");
        assert!(
            c.contains("HttpOnly")
                && c.contains("SameSite=Lax")
                && c.starts_with("tj_session=abc;")
        );
        assert_eq!(cookie_value("lang=en; tj_session=xyz"), Some("xyz"));
        assert_eq!(cookie_value("lang=en"), None);
    }

    #[test]
    fn new_users_need_a_clean_name_and_a_long_password() {
        assert!(validate_new_user("ops.lead", "12345678").is_ok());
        assert!(validate_new_user("bad name", "12345678").is_err());
        assert!(validate_new_user("ok", "short").is_err());
    }
}
