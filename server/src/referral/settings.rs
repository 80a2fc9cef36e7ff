//! Admin settings: greetings (validated), the notification template, users and API tokens.

use app::model::{AuditEntry, FieldError, GreetingSetting, Role, SettingsData, WechatInfo};
use app::notice::{FieldMapping, default_mapping, validate_mapping};
use sqlx::PgPool;

use crate::config::Settings;
use crate::db::settings as store;
use crate::referral::actor::{Actor, Principal};
use crate::referral::error::ServiceError;
use crate::referral::greeting::Variant;
use crate::referral::{tokens, users, views};

/// Longest greeting template (the reply must stay under 2,048 bytes with names filled in).
pub const MAX_TEMPLATE_CHARS: usize = 600;

/// Everything the settings page shows (admin).
pub async fn load(
    pool: &PgPool,
    settings: &Settings,
    public_url: &str,
    actor: &Actor,
) -> Result<SettingsData, ServiceError> {
    actor.require(Role::Admin)?;
    let account_id = actor.account_id;
    let custom = store::greetings(pool, account_id).await?;
    let greetings = Variant::ALL
        .into_iter()
        .map(|v| {
            let stored = custom.iter().find(|(name, _)| name == v.as_str());
            GreetingSetting {
                variant: v.as_str().to_owned(),
                template: stored
                    .map(|(_, t)| t.clone())
                    .unwrap_or_else(|| v.default_template().to_owned()),
                default_template: v.default_template().to_owned(),
                custom: stored.is_some(),
            }
        })
        .collect();
    let mut conn = pool.acquire().await?;
    let members = crate::db::members::settings(&mut conn, account_id).await?;
    drop(conn);
    let account = crate::referral::accounts::current(pool, actor).await?;
    let accounts = crate::referral::accounts::administered(pool, actor).await?;
    let user_rows = store::users(pool, account_id).await?;
    let token_rows = store::tokens(pool, account_id).await?;
    let audit_rows = store::audit_log(pool, account_id, 50).await?;
    let (notify_template_id, fields) = store::notify_template(pool, account_id).await?;
    let notify_template_fields = template_fields(fields.as_deref());
    Ok(SettingsData {
        greetings,
        member_keywords: members.member_keywords,
        member_menu_key: members.member_menu_key,
        notify_template_id,
        notify_template_fields,
        wechat: WechatInfo {
            mode: account.mode,
            appid: account.appid.clone(),
            appsecret_set: account.appsecret_set,
            token_set: account.token_set,
            aes_key_set: account.safe_mode,
            api_base: settings.wechat.api_base.clone(),
            public_url: public_url.to_owned(),
        },
        account,
        accounts,
        users: user_rows
            .into_iter()
            .filter_map(views::user_summary)
            .collect(),
        tokens: token_rows
            .into_iter()
            .filter_map(views::token_summary)
            .collect(),
        audit: audit_rows.into_iter().map(AuditEntry::from).collect(),
    })
}

/// Saves how followers ask for a personal code: 1 to 10 keywords of 1 to 20 characters, and a
/// menu key of 1 to 128 ASCII characters (WeChat's limit for CLICK keys).
pub async fn save_member_settings(
    pool: &PgPool,
    actor: &Actor,
    keywords: &[String],
    menu_key: &str,
) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    let mut clean: Vec<String> = Vec::new();
    for k in keywords {
        let k: String = k.chars().filter(|c| !c.is_control()).collect();
        let k = k.trim();
        if k.is_empty() {
            continue;
        }
        if k.chars().count() > 20 {
            return Err(ServiceError::field(
                "member_keywords",
                "关键词最多 20 个字 / Keywords are at most 20 characters",
            ));
        }
        if k.starts_with("我叫") {
            return Err(ServiceError::field(
                "member_keywords",
                "关键词不能以「我叫」开头 / Keywords cannot start with 我叫",
            ));
        }
        if !clean.iter().any(|c| c == k) {
            clean.push(k.to_owned());
        }
    }
    if clean.is_empty() || clean.len() > 10 {
        return Err(ServiceError::field(
            "member_keywords",
            "请填写 1 到 10 个关键词 / Give 1 to 10 keywords",
        ));
    }
    let menu_key = menu_key.trim();
    if menu_key.is_empty()
        || menu_key.len() > 128
        || !menu_key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ServiceError::field(
            "member_menu_key",
            "菜单 key 为 1 到 128 个 ASCII 字符 / The menu key is 1 to 128 ASCII characters",
        ));
    }
    let s = crate::db::members::MemberSettings {
        member_keywords: clean,
        member_menu_key: menu_key.to_owned(),
    };
    Ok(crate::db::members::save_settings(pool, actor.account_id, &actor.audit_name(), &s).await?)
}

/// Saves a greeting; an empty template restores the default.
pub async fn save_greeting(
    pool: &PgPool,
    actor: &Actor,
    variant: &str,
    template: &str,
) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    let variant = Variant::parse(variant).ok_or_else(|| {
        ServiceError::field("variant", "未知的欢迎语类型 / unknown greeting variant")
    })?;
    let template: String = template
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    let template = template.trim();
    if template.chars().count() > MAX_TEMPLATE_CHARS {
        return Err(ServiceError::field(
            "template",
            "欢迎语最多 600 个字符 / At most 600 characters",
        ));
    }
    let value = (!template.is_empty()).then_some(template);
    Ok(store::save_greeting(
        pool,
        actor.account_id,
        &actor.audit_name(),
        variant.as_str(),
        value,
    )
    .await?)
}

/// An account's template key mapping as stored (JSON), or the old `keyword1..3` one when
/// none was saved (or what was stored no longer reads).
pub fn template_fields(stored: Option<&str>) -> Vec<FieldMapping> {
    stored
        .and_then(|json| serde_json::from_str::<Vec<FieldMapping>>(json).ok())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(default_mapping)
}

/// Sets the template message used to notify referrers and which of its keys gets which value;
/// an empty id means customer-service messages only (admin).
pub async fn save_notify_template(
    pool: &PgPool,
    actor: &Actor,
    template_id: &str,
    fields: &[FieldMapping],
) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    let id = template_id.trim();
    let mut errors = Vec::new();
    if id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        errors.push(FieldError {
            field: "notify_template_id".into(),
            message: "模板 ID 只含字母、数字、_ 和 - / letters, digits, _ and - only".into(),
        });
    }
    let fields = if fields.is_empty() && id.is_empty() {
        default_mapping()
    } else {
        fields.to_vec()
    };
    if let Err(e) = validate_mapping(&fields) {
        errors.extend(e);
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    let value = (!id.is_empty()).then_some(id);
    let json = serde_json::to_value(&fields)
        .map_err(|e| ServiceError::Internal(format!("mapping: {e}")))?;
    Ok(
        store::save_notify_template(pool, actor.account_id, &actor.audit_name(), value, &json)
            .await?,
    )
}

/// Creates a dashboard user, or gives an existing user (of another account this admin also
/// runs) a role in this one (admin). A user who already works in this account is changed in the
/// users table instead (role, password), where the self and last-admin rules apply.
pub async fn add_user(
    pool: &PgPool,
    actor: &Actor,
    username: &str,
    password: &str,
    role: Role,
) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    let username = username.trim();
    // Users are global: resetting the password of someone who also works in accounts this
    // admin does not administer would hand over those accounts.
    if let Some(existing) = crate::db::users::by_username(pool, username).await? {
        let administered: Vec<i64> = match &actor.principal {
            Principal::Cli => Vec::new(),
            Principal::User { id, .. } => users::roles_of(pool, *id)
                .await?
                .into_iter()
                .filter(|(_, r)| *r == Role::Admin)
                .map(|(account, _)| account)
                .collect(),
            _ => vec![actor.account_id],
        };
        let roles = users::roles_of(pool, existing.id).await?;
        if roles
            .iter()
            .any(|(account, _)| *account == actor.account_id)
        {
            return Err(ServiceError::Conflict {
                code: "user_exists",
                message:
                    "该用户已在本公众号：请在用户列表中修改角色或重置密码 / This user already \
                          works in this account: change their role or password in the users table"
                        .into(),
            });
        }
        let foreign = roles
            .iter()
            .any(|(account, _)| !administered.contains(account));
        if foreign && actor.principal != Principal::Cli {
            return Err(ServiceError::Conflict {
                code: "username_taken",
                message: "该用户名已被其他公众号的用户使用 / This username belongs to a user of \
                          another account"
                    .into(),
            });
        }
    }
    users::create_user(pool, actor.account_id, username, password, role).await?;
    Ok(())
}

/// Longest validity a token can be minted with, in days.
pub const MAX_TOKEN_DAYS: i64 = 3650;

/// Mints an API token valid for `days` (None: until revoked); it is returned once and only its
/// hash is stored.
pub async fn mint_token(
    pool: &PgPool,
    actor: &Actor,
    name: &str,
    role: Role,
    days: Option<i64>,
) -> Result<String, ServiceError> {
    actor.require(Role::Admin)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(ServiceError::field(
            "token_name",
            "名称须为 1–64 个字符 / 1 to 64 characters",
        ));
    }
    if days.is_some_and(|d| !(1..=MAX_TOKEN_DAYS).contains(&d)) {
        return Err(ServiceError::field(
            "token_days",
            "有效期须为 1–3650 天 / 1 to 3650 days",
        ));
    }
    let expires_at = days.map(|d| chrono::Utc::now() + chrono::Duration::days(d));
    let token = tokens::mint_until(pool, actor.account_id, name, role, expires_at).await?;
    let mut tx = pool.begin().await?;
    crate::db::referrers::audit(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        "token.create",
        0,
        serde_json::json!({"name": name, "role": role.as_str(), "days": days}),
    )
    .await?;
    tx.commit().await?;
    Ok(token)
}

/// Revokes an API token of the account (admin): it authenticates nothing from now on. Revoking
/// a revoked token changes nothing.
pub async fn revoke_token(pool: &PgPool, actor: &Actor, id: i64) -> Result<(), ServiceError> {
    actor.require(Role::Admin)?;
    match crate::db::api_tokens::revoke(pool, actor.account_id, id).await? {
        Some(name) => {
            let mut tx = pool.begin().await?;
            crate::db::referrers::audit(
                &mut tx,
                actor.account_id,
                &actor.audit_name(),
                "token.revoke",
                id,
                serde_json::json!({"name": name}),
            )
            .await?;
            tx.commit().await?;
            Ok(())
        }
        None if crate::db::api_tokens::exists(pool, actor.account_id, id).await? => Ok(()),
        None => Err(ServiceError::NotFound("token")),
    }
}

/// The account's API tokens, newest first (admin).
pub async fn list_tokens(
    pool: &PgPool,
    actor: &Actor,
) -> Result<Vec<app::model::TokenSummary>, ServiceError> {
    actor.require(Role::Admin)?;
    Ok(crate::db::settings::tokens(pool, actor.account_id)
        .await?
        .into_iter()
        .filter_map(crate::referral::views::token_summary)
        .collect())
}
