//! Dashboard accounts: argon2id passwords, login with throttling, sessions stored in
//! PostgreSQL (the cookie holds a random id; only its hash is stored).

use app::model::{CurrentUser, ManagedUser, Role};
use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{Duration, Utc};
use rand::RngCore;
use serde_json::json;
use sqlx::PgPool;

use crate::db::users as store;
use crate::referral::actor::{Actor, Principal};
use crate::referral::error::ServiceError;
use crate::referral::period::local_time;
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
    let mut disabled = false;
    let user = match row {
        Some(row) if verify_password_off_thread(password, &row.password_hash).await? => {
            // The account the session opens in: the first the user holds a role in (and is
            // not disabled in).
            let user = roles_of(pool, row.id)
                .await?
                .first()
                .map(|&(account_id, role)| CurrentUser {
                    id: row.id,
                    account_id,
                    username: row.username.clone(),
                    role,
                });
            disabled = user.is_none() && !store::memberships(pool, row.id).await?.is_empty();
            user
        }
        Some(_) => None,
        None => {
            // Spend the same effort as a real check, so timing does not reveal usernames.
            let _ = hash_password_off_thread(password).await;
            None
        }
    };
    store::record_attempt(pool, account_id, username, user.is_some()).await?;
    if disabled {
        // Said only to someone who knows the password.
        return Err(ServiceError::Conflict {
            code: "user_disabled",
            message: "该用户已被停用，请联系管理员 / This user has been disabled; ask an admin"
                .into(),
        });
    }
    let user = user.ok_or_else(bad_login)?;
    store::record_sign_in(pool, user.id).await?;
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

/// The session cookie's value in a `Cookie` header.
pub fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

/// A membership as the rules of user administration see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Member {
    pub id: i64,
    pub role: Role,
    pub active: bool,
}

/// Whether an admin (`actor_id`, None for the command line) may turn a member of the account
/// into `next`: nobody disables or demotes themselves, and the account keeps an active admin.
pub fn check_change(
    members: &[Member],
    actor_id: Option<i64>,
    next: Member,
) -> Result<(), ServiceError> {
    let current = members
        .iter()
        .find(|m| m.id == next.id)
        .ok_or(ServiceError::NotFound("user"))?;
    let loses_admin =
        current.active && current.role == Role::Admin && (!next.active || next.role != Role::Admin);
    if actor_id == Some(next.id) && (loses_admin || !next.active || next.role < current.role) {
        return Err(ServiceError::Conflict {
            code: "self_change",
            message: "不能停用自己或降低自己的角色 / You cannot disable or demote yourself".into(),
        });
    }
    let admins = members
        .iter()
        .filter(|m| m.active && m.role == Role::Admin)
        .count();
    if loses_admin && admins <= 1 {
        return Err(ServiceError::Conflict {
            code: "last_admin",
            message: "这是公众号最后一位启用的管理员，不能停用或降级 / This is the account's last \
                      active admin: they cannot be disabled or demoted"
                .into(),
        });
    }
    Ok(())
}

fn self_id(actor: &Actor) -> Option<i64> {
    match &actor.principal {
        Principal::User { id, .. } => Some(*id),
        _ => None,
    }
}

fn member(row: &store::MemberRow) -> Option<Member> {
    Role::parse(&row.role).map(|role| Member {
        id: row.id,
        role,
        active: !row.disabled,
    })
}

fn managed(row: store::MemberRow, actor_id: Option<i64>) -> Option<ManagedUser> {
    Role::parse(&row.role).map(|role| ManagedUser {
        id: row.id,
        username: row.username,
        role,
        active: !row.disabled,
        last_sign_in_at: row.last_sign_in_at.map(local_time),
        created_at: local_time(row.created_at),
        is_self: actor_id == Some(row.id),
    })
}

/// The account's users with their role, standing and last sign-in (admin).
pub async fn members(pool: &PgPool, actor: &Actor) -> Result<Vec<ManagedUser>, ServiceError> {
    actor.require(Role::Admin)?;
    let me = self_id(actor);
    Ok(store::members(pool, actor.account_id)
        .await?
        .into_iter()
        .filter_map(|row| managed(row, me))
        .collect())
}

/// Changes a user's role in the account (admin).
pub async fn set_role(
    pool: &PgPool,
    actor: &Actor,
    user_id: i64,
    role: Role,
) -> Result<ManagedUser, ServiceError> {
    change_member(pool, actor, user_id, Some(role), None).await
}

/// Disables (`active` false) or enables a user in the account (admin). A disabled user's
/// sessions in the account end at once and they cannot sign in to it.
pub async fn set_active(
    pool: &PgPool,
    actor: &Actor,
    user_id: i64,
    active: bool,
) -> Result<ManagedUser, ServiceError> {
    change_member(pool, actor, user_id, None, Some(active)).await
}

/// One membership change, checked against the account's members locked in the same
/// transaction, and audit-logged.
async fn change_member(
    pool: &PgPool,
    actor: &Actor,
    user_id: i64,
    role: Option<Role>,
    active: Option<bool>,
) -> Result<ManagedUser, ServiceError> {
    actor.require(Role::Admin)?;
    let account_id = actor.account_id;
    let mut tx = pool.begin().await?;
    let rows = store::lock_members(&mut tx, account_id).await?;
    let members: Vec<Member> = rows.iter().filter_map(member).collect();
    let current = *members
        .iter()
        .find(|m| m.id == user_id)
        .ok_or(ServiceError::NotFound("user"))?;
    let next = Member {
        id: user_id,
        role: role.unwrap_or(current.role),
        active: active.unwrap_or(current.active),
    };
    check_change(&members, self_id(actor), next)?;
    let username = rows
        .iter()
        .find(|r| r.id == user_id)
        .map(|r| r.username.clone())
        .unwrap_or_default();
    let audit = |action| {
        (
            action,
            json!({"username": username, "from": current.role, "to": next.role}),
        )
    };
    let mut entries = Vec::new();
    if next.role != current.role {
        store::set_member_role(&mut tx, account_id, user_id, next.role).await?;
        entries.push(audit("user.role"));
    }
    if next.active != current.active {
        store::set_member_disabled(&mut tx, account_id, user_id, !next.active).await?;
        if next.active {
            entries.push(audit("user.enable"));
        } else {
            store::end_sessions_in(&mut tx, account_id, user_id).await?;
            entries.push(audit("user.disable"));
        }
    }
    for (action, detail) in entries {
        crate::db::referrers::audit(
            &mut tx,
            account_id,
            &actor.audit_name(),
            action,
            user_id,
            detail,
        )
        .await?;
    }
    tx.commit().await?;
    members_row(pool, actor, user_id).await
}

async fn members_row(
    pool: &PgPool,
    actor: &Actor,
    user_id: i64,
) -> Result<ManagedUser, ServiceError> {
    members(pool, actor)
        .await?
        .into_iter()
        .find(|u| u.id == user_id)
        .ok_or(ServiceError::NotFound("user"))
}

/// Sets a new password for a user of the account (admin), checked by the rules for new users;
/// every session of theirs ends. Passwords are global, so a user who also works in an account
/// this admin does not administer is refused (the new password would open that account).
pub async fn reset_password(
    pool: &PgPool,
    actor: &Actor,
    user_id: i64,
    password: &str,
) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    let me = self_id(actor);
    if me == Some(user_id) {
        return Err(ServiceError::Conflict {
            code: "self_change",
            message: "不能在这里重置自己的密码 / You cannot reset your own password here".into(),
        });
    }
    let target = store::members(pool, actor.account_id)
        .await?
        .into_iter()
        .find(|m| m.id == user_id)
        .ok_or(ServiceError::NotFound("user"))?;
    validate_new_user(&target.username, password)?;
    if let Some(me) = me {
        let administered: Vec<i64> = roles_of(pool, me)
            .await?
            .into_iter()
            .filter(|(_, r)| *r == Role::Admin)
            .map(|(account, _)| account)
            .collect();
        let foreign = store::memberships(pool, user_id)
            .await?
            .into_iter()
            .any(|account| !administered.contains(&account));
        if foreign {
            return Err(ServiceError::Conflict {
                code: "user_elsewhere",
                message:
                    "该用户也在您不管理的公众号工作，只有那里的管理员也同意才能重置密码 / This \
                          user also works in an account you do not administer; their password \
                          cannot be reset here"
                        .into(),
            });
        }
    }
    let phc = hash_password_off_thread(password).await?;
    let mut tx = pool.begin().await?;
    store::set_password(&mut tx, user_id, &phc).await?;
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        "user.password_reset",
        user_id,
        json!({"username": target.username}),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: i64, role: Role, active: bool) -> Member {
        Member { id, role, active }
    }

    #[test]
    fn admins_cannot_disable_or_demote_themselves() {
        let members = [m(1, Role::Admin, true), m(2, Role::Admin, true)];
        for next in [m(1, Role::Manager, true), m(1, Role::Admin, false)] {
            assert!(matches!(
                check_change(&members, Some(1), next),
                Err(ServiceError::Conflict {
                    code: "self_change",
                    ..
                })
            ));
        }
        // The other admin may.
        assert!(check_change(&members, Some(2), m(1, Role::Staff, true)).is_ok());
        assert!(check_change(&members, Some(1), m(1, Role::Admin, true)).is_ok());
    }

    #[test]
    fn the_last_active_admin_stays() {
        let members = [
            m(1, Role::Admin, true),
            m(2, Role::Admin, false),
            m(3, Role::Manager, true),
        ];
        for next in [m(1, Role::Manager, true), m(1, Role::Admin, false)] {
            assert!(matches!(
                check_change(&members, None, next),
                Err(ServiceError::Conflict {
                    code: "last_admin",
                    ..
                })
            ));
        }
        // A disabled admin does not count, may be changed, and may be enabled again.
        assert!(check_change(&members, None, m(2, Role::Staff, false)).is_ok());
        assert!(check_change(&members, None, m(2, Role::Admin, true)).is_ok());
        assert!(check_change(&members, Some(1), m(3, Role::Admin, true)).is_ok());
        assert!(matches!(
            check_change(&members, None, m(9, Role::Staff, true)),
            Err(ServiceError::NotFound("user"))
        ));
    }

    #[test]
    fn passwords_verify_only_against_their_hash() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("Correct horse", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn cookies_are_http_only_and_same_site_and_secure_over_https() {
        let c = app::api::set_cookie(SESSION_COOKIE, "abc", "/", 60, false);
        assert!(
            c.contains("HttpOnly")
                && c.contains("SameSite=Lax")
                && c.starts_with("tj_session=abc;")
                && !c.contains("Secure")
        );
        assert!(app::api::set_cookie(SESSION_COOKIE, "abc", "/", 60, true).ends_with("; Secure"));
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
