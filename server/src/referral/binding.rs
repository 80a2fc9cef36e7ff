//! Binding by scan: nobody knows their own openid, so staff show a referrer a one-time code (a
//! temporary QR, ten minutes) on the referrer's page; the first scan binds the scanner's
//! WeChat identity to that referrer, which enables the self-referral check and notices. A
//! scanner already bound to another referrer is refused.

use app::model::{BindingCode, Role};
use chrono::{Duration, Utc};
use sqlx::{PgConnection, PgPool};

use crate::accounts::Accounts;
use crate::db::bindings as store;
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::wechat::client::{QrRequest, Scene};

/// Scenes of binding codes start with this (referral codes' scenes start with `r`).
pub const SCENE_PREFIX: &str = "bind_";
/// How long a binding code can be scanned.
pub const VALID_FOR: Duration = Duration::minutes(10);

/// The token of a binding code's scene, if it is one.
pub fn token_of(scene: &str) -> Option<&str> {
    scene
        .strip_prefix(SCENE_PREFIX)
        .filter(|t| !t.is_empty() && t.len() <= 48)
}

fn new_token() -> String {
    crate::referral::accounts::random_code(24)
}

/// A new binding code for a referrer of the actor's account (staff): recorded first, then the
/// temporary QR asked of WeChat (a code WeChat never made simply expires unused).
pub async fn create(
    pool: &PgPool,
    accounts: &Accounts,
    actor: &Actor,
    referrer_id: i64,
) -> Result<BindingCode, ServiceError> {
    actor.require(Role::Staff)?;
    let referrer = crate::referral::referrers::get(pool, actor, referrer_id).await?;
    if referrer.archived {
        return Err(ServiceError::Conflict {
            code: "archived",
            message: "已归档的推荐人不能绑定 / An archived referrer cannot be bound".into(),
        });
    }
    let token = new_token();
    let expires_at = Utc::now() + VALID_FOR;
    store::insert(
        pool,
        actor.account_id,
        &token,
        referrer_id,
        &actor.audit_name(),
        expires_at,
    )
    .await?;
    let api = crate::referral::accounts::api(accounts, actor.account_id).await?;
    let ticket = api
        .create_qrcode(&QrRequest::Temporary {
            scene: Scene::Str(format!("{SCENE_PREFIX}{token}")),
            expire_seconds: VALID_FOR.num_seconds(),
        })
        .await
        .map_err(|e| ServiceError::Upstream(e.to_string()))?;
    let svg = crate::qr::svg(&ticket.url).map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(BindingCode {
        referrer_id,
        url: ticket.url,
        svg,
        expires_at: crate::referral::period::local_time(expires_at),
    })
}

/// A scan of a binding code by `openid`, inside the callback's transaction: binds and returns
/// the reply to show (a confirmation naming the referrer, or why not). Scanning again the code
/// one already used answers the confirmation again (WeChat redelivers callbacks).
pub async fn redeem(
    tx: &mut PgConnection,
    account_id: i64,
    token: &str,
    openid: &str,
) -> sqlx::Result<String> {
    let Some(code) = store::lock(tx, account_id, token).await? else {
        return Ok("这个绑定码无效，请在后台重新生成。".into());
    };
    let confirmed = || {
        format!(
            "绑定成功！您的微信已绑定推荐人「{}」，有新客户通过您的二维码关注时会通知您。",
            code.referrer_name
        )
    };
    match code.used_by.as_deref() {
        Some(by) if by == openid => return Ok(confirmed()),
        Some(_) => return Ok("这个绑定码已被使用，请在后台重新生成。".into()),
        None => {}
    }
    if code.expires_at <= Utc::now() {
        return Ok("这个绑定码已过期（10 分钟有效），请在后台重新生成。".into());
    }
    if code.referrer_archived {
        return Ok("该推荐人已归档，不能绑定。".into());
    }
    if let Some((_, other)) =
        store::bound_elsewhere(tx, account_id, openid, code.referrer_id).await?
    {
        return Ok(format!(
            "您的微信已绑定推荐人「{other}」，不能再绑定「{}」。如需更换，请先在后台解除原绑定。",
            code.referrer_name
        ));
    }
    store::bind(tx, account_id, token, code.referrer_id, openid).await?;
    Ok(confirmed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_scenes_are_told_from_referral_scenes() {
        let token = new_token();
        let scene = format!("{SCENE_PREFIX}{token}");
        assert!(scene.len() <= 64, "WeChat's scene_str limit");
        assert_eq!(token_of(&scene), Some(token.as_str()));
        assert_eq!(token_of("r12_ab3"), None);
        assert_eq!(token_of("bind_"), None);
    }
}
