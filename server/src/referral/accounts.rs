//! Official Accounts: their settings (validated to WeChat's rules), who may see and change
//! them, and the view clients get (never a secret).

use std::sync::Arc;

use app::model::{AccountChoice, AccountInput, AccountView, CurrentUser, Role, WechatMode};
use rand::Rng;
use sqlx::PgPool;

use crate::accounts::{AccountError, Accounts, Mode, sandbox_appid, sandbox_original_id};
use crate::db::accounts::{self as store, AccountFields, AccountRow};
use crate::referral::actor::{Actor, Principal};
use crate::referral::error::ServiceError;
use crate::wechat::api::WechatApi;

/// An account's WeChat API, for a service call.
pub async fn api(accounts: &Accounts, account_id: i64) -> Result<Arc<WechatApi>, ServiceError> {
    accounts.api(account_id).await.map_err(account_error)
}

fn account_error(e: AccountError) -> ServiceError {
    match e {
        AccountError::Unknown(_) => ServiceError::NotFound("account"),
        AccountError::Database(e) => ServiceError::Database(e),
        e @ AccountError::Misconfigured { .. } => ServiceError::Conflict {
            code: "account_not_configured",
            message: format!("公众号配置不完整 / {e}"),
        },
    }
}

/// The view of an account: whether each secret is set, never its value. `first_id` is the
/// deployment's first account (configured by the environment).
pub fn view(row: &AccountRow, first_id: i64) -> AccountView {
    AccountView {
        id: row.id,
        name: row.name.clone(),
        appid: row.appid.clone(),
        original_id: row.original_id.clone(),
        mode: if row.mode == "live" {
            WechatMode::Live
        } else {
            WechatMode::Sandbox
        },
        token_set: row.token.is_some(),
        safe_mode: row.encoding_aes_key.is_some(),
        appsecret_set: row.appsecret.is_some(),
        callback_path: format!("/wechat/callback/{}", row.id),
        env_configured: row.id == first_id,
        created_at: crate::referral::views::rfc3339(row.created_at),
    }
}

/// Accepted settings, ready to store.
#[derive(Debug)]
pub struct Fields {
    pub name: String,
    pub appid: Option<String>,
    pub original_id: Option<String>,
    pub token: Option<String>,
    /// `Some(None)`: clear; None: keep.
    pub encoding_aes_key: Option<Option<String>>,
    pub appsecret: Option<String>,
    pub mode: Mode,
}

fn trimmed(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn alnum(s: &str) -> bool {
    s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Checks an account's fields against WeChat's rules; `existing` is the stored row of an edit
/// (a secret left empty keeps its value). Every problem is reported at once.
pub fn validate(
    input: &AccountInput,
    existing: Option<&AccountRow>,
    default_mode: Mode,
) -> Result<Fields, ServiceError> {
    let mut errors = Vec::new();
    let mut err = |field: &str, message: &str| {
        errors.push(app::model::FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let name: String = input.name.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 64 {
        err(
            "name",
            "名称须为 1–64 个字符 / The name is 1 to 64 characters",
        );
    }
    let mode = match input.mode.as_deref().map(str::trim) {
        None | Some("") => existing
            .and_then(|e| Mode::parse(&e.mode))
            .unwrap_or(default_mode),
        Some(m) => Mode::parse(m).unwrap_or_else(|| {
            err(
                "mode",
                "模式须为 sandbox 或 live / mode must be sandbox or live",
            );
            default_mode
        }),
    };
    let appid = trimmed(&input.appid);
    if let Some(a) = &appid
        && !(a.starts_with("wx") && (10..=32).contains(&a.len()) && alnum(a))
    {
        err(
            "appid",
            "AppID 以 wx 开头，10–32 个字母或数字 / The AppID starts with wx: 10 to 32 letters or digits",
        );
    }
    let original_id = trimmed(&input.original_id);
    if let Some(o) = &original_id
        && !(o.starts_with("gh_") && (9..=35).contains(&o.len()) && alnum(&o[3..]))
    {
        err(
            "original_id",
            "原始 ID 形如 gh_ 加 6–32 个字母或数字 / The original id is gh_ and 6 to 32 letters or digits",
        );
    }
    let token = trimmed(&input.token).or_else(|| existing.and_then(|e| e.token.clone()));
    if let Some(t) = &token
        && !((3..=32).contains(&t.len()) && alnum(t))
    {
        err(
            "token",
            "Token 为 3–32 个字母或数字 / The Token is 3 to 32 letters or digits",
        );
    }
    let aes_key = match input.encoding_aes_key.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(None),
        Some(k) if k.len() == 43 && alnum(k) => Some(Some(k.to_owned())),
        Some(_) => {
            err(
                "encoding_aes_key",
                "EncodingAESKey 为 43 个字母或数字 / The EncodingAESKey is 43 letters or digits",
            );
            None
        }
    };
    let appsecret = trimmed(&input.appsecret);
    if let Some(s) = &appsecret
        && !((16..=64).contains(&s.len()) && alnum(s))
    {
        err(
            "appsecret",
            "AppSecret 为 16–64 个字母或数字 / The AppSecret is 16 to 64 letters or digits",
        );
    }
    if mode == Mode::Live {
        if appid.is_none() {
            err(
                "appid",
                "真实公众号须填写 AppID / A live account needs its AppID",
            );
        }
        if token.is_none() {
            err(
                "token",
                "真实公众号须填写 Token / A live account needs its Token",
            );
        }
        if appsecret.is_none() && existing.and_then(|e| e.appsecret.as_ref()).is_none() {
            err(
                "appsecret",
                "真实公众号须填写 AppSecret / A live account needs its AppSecret",
            );
        }
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    Ok(Fields {
        name,
        appid,
        original_id,
        token,
        encoding_aes_key: aes_key,
        appsecret,
        mode,
    })
}

/// `len` random letters and digits, without look-alikes (0/O, 1/l/I).
pub fn random_code(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A live account sends followers to `PUBLIC_URL` (member pages, web authorization): without
/// it the server would not start again.
fn needs_public_url(accounts: &Accounts, mode: Mode) -> Result<(), ServiceError> {
    if mode == Mode::Live && accounts.public_url().is_none() {
        return Err(ServiceError::field(
            "mode",
            "正式模式需要先设置环境变量 PUBLIC_URL / Live mode needs the PUBLIC_URL variable set first",
        ));
    }
    Ok(())
}

fn appid_taken() -> ServiceError {
    ServiceError::Conflict {
        code: "appid_taken",
        message: "该 AppID 已属于另一个公众号 / Another account has this AppID".into(),
    }
}

/// Adds an account (admin); a dashboard user who adds one becomes its admin. A sandbox
/// account gets a simulated AppID, original id and a random Token when none are given.
pub async fn create(
    pool: &PgPool,
    accounts: &Accounts,
    actor: &Actor,
    input: &AccountInput,
    default_mode: Mode,
) -> Result<AccountView, ServiceError> {
    actor.require(Role::Admin)?;
    let mut f = validate(input, None, default_mode)?;
    needs_public_url(accounts, f.mode)?;
    if f.mode == Mode::Sandbox && f.token.is_none() {
        // A random callback Token for a sandbox account (32 letters and digits).
        f.token = Some(random_code(32));
    }
    let fields = AccountFields {
        name: &f.name,
        appid: f.appid.as_deref(),
        original_id: f.original_id.as_deref(),
        token: f.token.as_deref(),
        encoding_aes_key: f.encoding_aes_key.as_ref().map(|k| k.as_deref()),
        appsecret: f.appsecret.as_deref(),
        mode: f.mode.as_str(),
    };
    let mut row = store::insert(pool, &fields, &actor.audit_name())
        .await?
        .ok_or_else(appid_taken)?;
    if row.mode == "sandbox" && (row.appid.is_none() || row.original_id.is_none()) {
        let appid = row.appid.clone().unwrap_or_else(|| sandbox_appid(row.id));
        let original = row
            .original_id
            .clone()
            .unwrap_or_else(|| sandbox_original_id(row.id));
        let fill = AccountFields {
            appid: Some(&appid),
            original_id: Some(&original),
            encoding_aes_key: None,
            appsecret: None,
            ..fields
        };
        row = match store::update(pool, row.id, &fill, &actor.audit_name()).await? {
            store::Updated::Ok(r) => *r,
            store::Updated::Missing => return Err(ServiceError::NotFound("account")),
            store::Updated::AppidTaken => return Err(appid_taken()),
        };
    }
    if let Principal::User { id, .. } = &actor.principal {
        crate::db::users::grant(pool, row.id, *id, Role::Admin).await?;
    }
    accounts.invalidate(row.id).await;
    Ok(view(&row, accounts.first_id()))
}

/// Changes the caller's own account (admin of it). The first account's WeChat settings follow
/// the `WECHAT_*` variables (or the sandbox's defaults) at every start; only its name can
/// change here.
pub async fn update(
    pool: &PgPool,
    accounts: &Accounts,
    actor: &Actor,
    id: i64,
    input: &AccountInput,
) -> Result<AccountView, ServiceError> {
    actor.require(Role::Admin)?;
    if actor.account_id != id {
        return Err(ServiceError::NotFound("account"));
    }
    let existing = store::get(pool, id)
        .await?
        .ok_or(ServiceError::NotFound("account"))?;
    let default_mode = Mode::parse(&existing.mode).unwrap_or(Mode::Sandbox);
    let f = if id == accounts.first_id() {
        // Only the name: the WeChat settings are the environment's, kept as they are.
        let named = validate(
            &AccountInput {
                name: input.name.clone(),
                ..AccountInput::default()
            },
            None,
            default_mode,
        )?;
        Fields {
            name: named.name,
            appid: existing.appid.clone(),
            original_id: existing.original_id.clone(),
            token: existing.token.clone(),
            encoding_aes_key: None,
            appsecret: None,
            mode: default_mode,
        }
    } else {
        let mut f = validate(input, Some(&existing), default_mode)?;
        needs_public_url(accounts, f.mode)?;
        f.appid = f.appid.or_else(|| existing.appid.clone());
        f.original_id = f.original_id.or_else(|| existing.original_id.clone());
        f
    };
    let fields = AccountFields {
        name: &f.name,
        appid: f.appid.as_deref(),
        original_id: f.original_id.as_deref(),
        token: f.token.as_deref(),
        encoding_aes_key: f.encoding_aes_key.as_ref().map(|k| k.as_deref()),
        appsecret: f.appsecret.as_deref(),
        mode: f.mode.as_str(),
    };
    let row = match store::update(pool, id, &fields, &actor.audit_name()).await? {
        store::Updated::Ok(r) => *r,
        store::Updated::Missing => return Err(ServiceError::NotFound("account")),
        store::Updated::AppidTaken => return Err(appid_taken()),
    };
    accounts.invalidate(id).await;
    Ok(view(&row, accounts.first_id()))
}

/// The accounts the caller administers (the command line: every account).
pub async fn administered(pool: &PgPool, actor: &Actor) -> Result<Vec<AccountView>, ServiceError> {
    actor.require(Role::Admin)?;
    let rows = match &actor.principal {
        Principal::Cli => store::all(pool).await?,
        Principal::User { id, .. } => store::of_user(pool, *id)
            .await?
            .into_iter()
            .filter(|(_, role)| role == "admin")
            .map(|(row, _)| row)
            .collect(),
        _ => store::get(pool, actor.account_id)
            .await?
            .into_iter()
            .collect(),
    };
    let first = crate::db::events::default_account(pool).await?;
    Ok(rows.iter().map(|row| view(row, first)).collect())
}

/// The caller's own account.
pub async fn current(pool: &PgPool, actor: &Actor) -> Result<AccountView, ServiceError> {
    let first = crate::db::events::default_account(pool).await?;
    store::get(pool, actor.account_id)
        .await?
        .map(|row| view(&row, first))
        .ok_or(ServiceError::NotFound("account"))
}

/// The accounts a signed-in user may switch to, with their role in each.
pub async fn choices(
    pool: &PgPool,
    user: &CurrentUser,
) -> Result<Vec<AccountChoice>, ServiceError> {
    Ok(store::of_user(pool, user.id)
        .await?
        .into_iter()
        .filter_map(|(row, role)| {
            Role::parse(&role).map(|role| AccountChoice {
                id: row.id,
                name: row.name.clone(),
                mode: if row.mode == "live" {
                    WechatMode::Live
                } else {
                    WechatMode::Sandbox
                },
                role,
                current: row.id == user.account_id,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::Validation(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("expected validation, got {other:?}"),
        }
    }

    #[test]
    fn a_sandbox_account_needs_only_a_name() {
        let f = validate(
            &AccountInput {
                name: "  华东区  ".into(),
                ..AccountInput::default()
            },
            None,
            Mode::Sandbox,
        )
        .expect("valid");
        assert_eq!((f.name.as_str(), f.mode), ("华东区", Mode::Sandbox));
        assert_eq!(f.encoding_aes_key, None);
    }

    #[test]
    fn a_live_account_needs_its_credentials_in_wechats_shapes() {
        let live = AccountInput {
            name: "品牌号".into(),
            mode: Some("live".into()),
            ..AccountInput::default()
        };
        assert_eq!(
            fields(validate(&live, None, Mode::Sandbox).expect_err("incomplete")),
            ["appid", "token", "appsecret"]
        );
        let bad = AccountInput {
            appid: Some("xy123".into()),
            original_id: Some("gh_!".into()),
            token: Some("to ken".into()),
            encoding_aes_key: Some("short".into()),
            appsecret: Some("s".into()),
            ..live.clone()
        };
        assert_eq!(
            fields(validate(&bad, None, Mode::Sandbox).expect_err("bad")),
            [
                "appid",
                "original_id",
                "token",
                "encoding_aes_key",
                "appsecret"
            ]
        );
        let good = AccountInput {
            appid: Some("wx49f0ab532d5d035a".into()),
            original_id: Some("gh_0123456789ab".into()),
            token: Some("spamtest".into()),
            encoding_aes_key: Some("a".repeat(43)),
            appsecret: Some("0123456789abcdef0123456789abcdef".into()),
            ..live
        };
        let f = validate(&good, None, Mode::Sandbox).expect("valid");
        assert_eq!(f.mode, Mode::Live);
        assert_eq!(f.encoding_aes_key, Some(Some("a".repeat(43))));
    }

    #[test]
    fn an_edit_keeps_secrets_left_empty_and_can_clear_the_aes_key() {
        let existing = AccountRow {
            id: 2,
            name: "old".into(),
            appid: Some("wx49f0ab532d5d035a".into()),
            original_id: None,
            token: Some("spamtest".into()),
            encoding_aes_key: Some("a".repeat(43)),
            appsecret: Some("0123456789abcdef".into()),
            mode: "live".into(),
            created_at: chrono::Utc::now(),
        };
        let edit = AccountInput {
            name: "new".into(),
            appid: Some("wx49f0ab532d5d035a".into()),
            encoding_aes_key: Some(String::new()),
            ..AccountInput::default()
        };
        let f = validate(&edit, Some(&existing), Mode::Sandbox).expect("valid");
        assert_eq!(f.mode, Mode::Live);
        assert_eq!(f.token.as_deref(), Some("spamtest"));
        assert_eq!(f.appsecret, None, "None keeps the stored secret");
        assert_eq!(f.encoding_aes_key, Some(None), "empty clears the key");
    }
}
