//! QR codes for referrers: permanent (QR_LIMIT_STR_SCENE, a stable scene string per code) and
//! temporary (QR_STR_SCENE, 60 s to 30 days), made by WeChat and stored with ticket and url.

use app::model::{CodeKind, NewQrCode, QrCode};
use chrono::{Duration, Utc};
use rand::Rng;
use sqlx::PgPool;

use crate::accounts::Accounts;
use crate::db::qrcodes::{self as store, NewCode};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::referrers;
use crate::referral::roles::Role;
use crate::wechat::client::{ApiError, MAX_EXPIRE_SECONDS, QrRequest, Scene};

/// WeChat's limit of permanent codes per account.
pub const PERMANENT_QUOTA: i64 = 100_000;
/// Shortest temporary code we make.
pub const MIN_EXPIRE_SECONDS: i64 = 60;
pub const MAX_LABEL_CHARS: usize = 40;

/// The permanent quota: used and limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Quota {
    pub permanent_used: i64,
    pub permanent_limit: i64,
}

/// A new, unique scene string: `r<referrer>_<random>` (ASCII, well under 64 characters).
fn new_scene(referrer_id: i64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let suffix: String = (0..8)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("r{referrer_id}_{suffix}")
}

fn upstream(e: ApiError) -> ServiceError {
    match e.errcode() {
        Some(45029) => quota_exceeded(),
        _ => ServiceError::Upstream(e.to_string()),
    }
}

fn quota_exceeded() -> ServiceError {
    ServiceError::Conflict {
        code: "permanent_quota_exceeded",
        message: format!(
            "the account has used all {PERMANENT_QUOTA} permanent QR codes; create a temporary code instead"
        ),
    }
}

/// Checks the request; returns (kind, expire seconds, label).
pub fn validate(
    input: &NewQrCode,
) -> Result<(CodeKind, Option<i64>, Option<String>), ServiceError> {
    integer_scene(input)?;
    let label = input
        .label
        .as_deref()
        .map(|l| l.chars().filter(|c| !c.is_control()).collect::<String>())
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty());
    if label
        .as_ref()
        .is_some_and(|l| l.chars().count() > MAX_LABEL_CHARS)
    {
        return Err(ServiceError::field(
            "label",
            "标签最多 40 个字符 / Label is at most 40 characters",
        ));
    }
    let kind = CodeKind::parse(&input.kind).ok_or_else(|| {
        ServiceError::field(
            "kind",
            "类型须为 permanent 或 temporary / kind must be permanent or temporary",
        )
    })?;
    match kind {
        CodeKind::Permanent => {
            if input.expire_seconds.is_some() {
                return Err(ServiceError::field(
                    "expire_seconds",
                    "永久二维码没有有效期 / Permanent codes do not expire",
                ));
            }
            Ok((kind, None, label))
        }
        CodeKind::Temporary => {
            let secs = input.expire_seconds.unwrap_or(MAX_EXPIRE_SECONDS);
            if !(MIN_EXPIRE_SECONDS..=MAX_EXPIRE_SECONDS).contains(&secs) {
                return Err(ServiceError::field(
                    "expire_seconds",
                    "有效期须在 60 秒到 30 天之间 / Expiry must be 60 s to 30 days",
                ));
            }
            Ok((kind, Some(secs), label))
        }
    }
}

/// The request's WeChat tag, checked (None: the referrer's applies).
pub fn wechat_tag(input: &NewQrCode) -> Result<Option<String>, ServiceError> {
    crate::referral::wechat_tags::validate_name("wechat_tag", input.wechat_tag.as_deref())
        .map_err(|e| ServiceError::Validation(vec![e]))
}

/// Whether the request asks for an integer scene (`scene_type` `integer`; default `string`).
pub fn integer_scene(input: &NewQrCode) -> Result<bool, ServiceError> {
    match input.scene_type.as_deref().map(str::trim) {
        None | Some("" | "string") => Ok(false),
        Some("integer") => Ok(true),
        Some(_) => Err(ServiceError::field(
            "scene_type",
            "场景值类型须为 string 或 integer / scene_type must be string or integer",
        )),
    }
}

/// How many times a code is made again when its scene was taken meanwhile.
const SCENE_TRIES: usize = 3;

/// A scene for a new code, and how WeChat is asked for it: a random string, or an integer id
/// (permanent: the next free one of 1..=100,000; temporary: a random one above that range, so
/// it never names a permanent code).
async fn pick_scene(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    integer: bool,
    permanent: bool,
) -> Result<(String, Scene), ServiceError> {
    if !integer {
        let scene = new_scene(referrer_id);
        return Ok((scene.clone(), Scene::Str(scene)));
    }
    let id = if permanent {
        Some(store::next_permanent_scene_id(pool, account_id).await?)
            .filter(|id| *id <= MAX_PERMANENT_SCENE_ID)
            .ok_or_else(|| ServiceError::Conflict {
                code: "integer_scenes_exhausted",
                message: "整数场景值 1–100000 已用完，请改用字符串场景值 / every integer scene 1–100000 is taken: use a string scene".into(),
            })?
    } else {
        rand::rng().random_range(MAX_PERMANENT_SCENE_ID + 1..=i64::from(i32::MAX))
    };
    Ok((id.to_string(), Scene::Id(id)))
}

/// The largest permanent integer scene id WeChat takes.
pub const MAX_PERMANENT_SCENE_ID: i64 = 100_000;

/// Makes a code for a referrer through WeChat and stores it.
pub async fn create(
    pool: &PgPool,
    accounts: &Accounts,
    actor: &Actor,
    referrer_id: i64,
    input: &NewQrCode,
) -> Result<QrCode, ServiceError> {
    actor.require(Role::Staff)?;
    let account_id = actor.account_id;
    let (kind, expire_seconds, label) = validate(input)?;
    let integer = integer_scene(input)?;
    let wechat_tag = wechat_tag(input)?;
    let referrer = referrers::get(pool, actor, referrer_id).await?;
    if referrer.archived {
        return Err(ServiceError::Conflict {
            code: "referrer_archived",
            message: "archived referrers get no new codes".into(),
        });
    }
    if kind == CodeKind::Permanent
        && store::permanent_count(pool, account_id).await? >= PERMANENT_QUOTA
    {
        return Err(quota_exceeded());
    }
    let api = crate::referral::accounts::api(accounts, account_id).await?;
    let mut tries = 0;
    loop {
        tries += 1;
        let (scene, wechat_scene) = pick_scene(
            pool,
            account_id,
            referrer_id,
            integer,
            expire_seconds.is_none(),
        )
        .await?;
        let request = match expire_seconds {
            None => QrRequest::Permanent {
                scene: wechat_scene,
            },
            Some(secs) => QrRequest::Temporary {
                scene: wechat_scene,
                expire_seconds: secs,
            },
        };
        let ticket = api.create_qrcode(&request).await.map_err(upstream)?;
        let expires_at = expire_seconds.map(|requested| {
            Utc::now() + Duration::seconds(ticket.expire_seconds.unwrap_or(requested))
        });
        let code = NewCode {
            account_id,
            referrer_id,
            kind,
            scene: &scene,
            label: label.as_deref(),
            wechat_tag: wechat_tag.as_deref(),
            ticket: &ticket.ticket,
            url: &ticket.url,
            expires_at,
        };
        match store::insert(pool, &code, &actor.audit_name()).await {
            Ok(row) => return Ok(row.into()),
            // Another code took the scene meanwhile (two integer codes made at once): a new
            // scene. (WeChat answers a permanent scene with the same code every time.)
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() && tries < SCENE_TRIES => {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// One code of the caller's account.
pub async fn get(pool: &PgPool, actor: &Actor, id: i64) -> Result<QrCode, ServiceError> {
    actor.require(Role::Staff)?;
    store::get(pool, actor.account_id, id)
        .await?
        .map(QrCode::from)
        .ok_or(ServiceError::NotFound("QR code"))
}

/// A referrer's codes, newest first.
pub async fn of_referrer(
    pool: &PgPool,
    actor: &Actor,
    referrer_id: i64,
) -> Result<Vec<QrCode>, ServiceError> {
    referrers::get(pool, actor, referrer_id).await?;
    let rows = store::of_referrer(pool, actor.account_id, referrer_id).await?;
    Ok(rows.into_iter().map(QrCode::from).collect())
}

/// Default and allowed widths of a code's PNG image, in pixels.
pub const DEFAULT_PNG_SIZE: u32 = 512;
pub const PNG_SIZES: std::ops::RangeInclusive<u32> = 128..=2048;

/// A code's image as PNG, `size` pixels wide (staff).
pub async fn png(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    size: Option<u32>,
) -> Result<Vec<u8>, ServiceError> {
    let size = size.unwrap_or(DEFAULT_PNG_SIZE);
    if !PNG_SIZES.contains(&size) {
        return Err(ServiceError::field(
            "size",
            "图片宽度须为 128 到 2048 像素 / size must be 128 to 2048",
        ));
    }
    let code = get(pool, actor, id).await?;
    crate::qr::png(&code.url, size).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// A code's image as SVG (staff).
pub async fn svg(pool: &PgPool, actor: &Actor, id: i64) -> Result<String, ServiceError> {
    let code = get(pool, actor, id).await?;
    crate::qr::svg(&code.url).map_err(|e| ServiceError::Internal(e.to_string()))
}

/// The account's permanent-code quota.
pub async fn quota(pool: &PgPool, actor: &Actor) -> Result<Quota, ServiceError> {
    actor.require(Role::Staff)?;
    Ok(Quota {
        permanent_used: store::permanent_count(pool, actor.account_id).await?,
        permanent_limit: PERMANENT_QUOTA,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(kind: &str, secs: Option<i64>) -> NewQrCode {
        NewQrCode {
            kind: kind.into(),
            expire_seconds: secs,
            label: None,
            scene_type: None,
            wechat_tag: None,
        }
    }

    #[test]
    fn expiry_rules() {
        assert_eq!(validate(&req("permanent", None)).expect("ok").1, None);
        assert_eq!(
            validate(&req("temporary", None)).expect("ok").1,
            Some(2_592_000)
        );
        assert_eq!(
            validate(&req("temporary", Some(60))).expect("ok").1,
            Some(60)
        );
        for bad in [
            req("temporary", Some(59)),
            req("temporary", Some(2_592_001)),
            req("permanent", Some(60)),
            req("forever", None),
        ] {
            assert!(
                matches!(validate(&bad), Err(ServiceError::Validation(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn scenes_are_unique_ascii_and_short() {
        let a = new_scene(123_456_789);
        let b = new_scene(123_456_789);
        assert_ne!(a, b);
        assert!(a.is_ascii() && a.len() <= 64 && a.starts_with("r123456789_"));
    }
}
