//! Referrers: validation rules and the service calls used by the REST API and the dashboard.

use app::model::{
    AppError, BULK_ROLE, BulkFailure, BulkOutcome, FieldError, MAX_BULK_IDS, NewQrCode,
    NewReferrer, Page, QrCodeView, Referrer, ReferrerDetail, ReferrerKind, ReferrerPatch,
    ReportQuery,
};
use app::notice::NoticeAttempt;
use serde_json::json;
use sqlx::PgPool;

use crate::db::referrers::{self as store, ReferrerFields, ReferrerQuery, ReferrerSort};
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::roles::Role;
use crate::referral::views;

/// Limits of referrer fields.
pub const MAX_NAME_CHARS: usize = 64;
pub const MAX_NOTE_CHARS: usize = 500;
pub const MAX_TAGS: usize = 10;
pub const MAX_TAG_CHARS: usize = 20;

/// Trims and checks every field; returns all problems at once.
pub fn validate(input: &NewReferrer) -> Result<ReferrerFields, ServiceError> {
    let mut errors = Vec::new();
    let mut err = |field: &str, message: &str| {
        errors.push(FieldError {
            field: field.into(),
            message: message.into(),
        })
    };
    let name = clean(&input.name);
    if name.is_empty() {
        err("name", "请填写姓名 / Name is required");
    } else if name.chars().count() > MAX_NAME_CHARS {
        err("name", "姓名最多 64 个字符 / Name is at most 64 characters");
    } else if name.contains(['<', '>']) {
        err("name", "姓名不能包含 < 或 > / Name cannot contain < or >");
    }
    let phone = input.phone.as_deref().map(clean).filter(|s| !s.is_empty());
    if let Some(p) = &phone {
        let digits = p.chars().filter(char::is_ascii_digit).count();
        let allowed = p.chars().all(|c| c.is_ascii_digit() || "+- ()".contains(c));
        if !allowed || !(5..=20).contains(&digits) {
            err("phone", "电话号码格式不正确 / Phone number is not valid");
        }
    }
    let note = input.note.as_deref().map(clean).filter(|s| !s.is_empty());
    if note
        .as_ref()
        .is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS)
    {
        err(
            "note",
            "备注最多 500 个字符 / Note is at most 500 characters",
        );
    }
    let openid = input
        .openid
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if let Some(o) = openid
        && (o.len() > 64
            || !o
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'))
    {
        err("openid", "openid 格式不正确 / openid is not valid");
    }
    let mut tags: Vec<String> = Vec::new();
    for tag in input
        .tags
        .iter()
        .map(|t| clean(t))
        .filter(|t| !t.is_empty())
    {
        if tag.chars().count() > MAX_TAG_CHARS {
            err("tags", TAG_TOO_LONG);
            break;
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        err("tags", "最多 10 个标签 / At most 10 tags");
    }
    let wechat_tag = match crate::referral::wechat_tags::validate_name(
        "wechat_tag",
        input.wechat_tag.as_deref(),
    ) {
        Ok(tag) => tag,
        Err(e) => {
            errors.push(e);
            None
        }
    };
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    Ok(ReferrerFields {
        name,
        phone,
        note,
        openid: openid.map(str::to_owned),
        tags,
        wechat_tag,
    })
}

const TAG_TOO_LONG: &str = "每个标签最多 20 个字符 / Each tag is at most 20 characters";

/// One tag, cleaned and checked as [`validate`] checks a referrer's tags.
pub fn validate_tag(tag: &str) -> Result<String, ServiceError> {
    let tag = clean(tag);
    if tag.is_empty() {
        return Err(ServiceError::field("tag", "请填写标签 / Tag is required"));
    }
    if tag.chars().count() > MAX_TAG_CHARS {
        return Err(ServiceError::field("tag", TAG_TOO_LONG));
    }
    Ok(tag)
}

/// Trims and drops control characters.
fn clean(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Creates a referrer (staff-made).
pub async fn create(
    pool: &PgPool,
    actor: &Actor,
    input: &NewReferrer,
) -> Result<Referrer, ServiceError> {
    actor.require(Role::Staff)?;
    let fields = validate(input)?;
    let referrer = store::insert(
        pool,
        actor.account_id,
        &fields,
        ReferrerKind::Staff,
        &actor.audit_name(),
    )
    .await?;
    referrer.map(Referrer::from).ok_or_else(duplicate_openid)
}

/// Applies a partial update.
pub async fn update(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    patch: &ReferrerPatch,
) -> Result<Referrer, ServiceError> {
    let current = get(pool, actor, id).await?;
    let merged = NewReferrer {
        name: patch.name.clone().unwrap_or(current.name),
        phone: patch.phone.clone().unwrap_or(current.phone),
        note: patch.note.clone().unwrap_or(current.note),
        openid: patch.openid.clone().unwrap_or(current.openid),
        tags: patch.tags.clone().unwrap_or(current.tags),
        wechat_tag: patch.wechat_tag.clone().unwrap_or(current.wechat_tag),
    };
    let fields = validate(&merged)?;
    match store::update(pool, actor.account_id, id, &fields, &actor.audit_name()).await? {
        store::Updated::Ok(r) => Ok(Referrer::from(*r)),
        store::Updated::Missing => Err(ServiceError::NotFound("referrer")),
        store::Updated::DuplicateOpenid => Err(duplicate_openid()),
    }
}

/// Archives a referrer: history and existing codes stay, no new codes.
pub async fn archive(pool: &PgPool, actor: &Actor, id: i64) -> Result<Referrer, ServiceError> {
    actor.require(Role::Staff)?;
    store::archive(pool, actor.account_id, id, &actor.audit_name())
        .await?
        .map(Referrer::from)
        .ok_or(ServiceError::NotFound("referrer"))
}

/// Restores an archived referrer: it shows in the list again and can get new codes.
pub async fn restore(pool: &PgPool, actor: &Actor, id: i64) -> Result<Referrer, ServiceError> {
    actor.require(Role::Staff)?;
    store::restore(pool, actor.account_id, id, &actor.audit_name())
        .await?
        .map(Referrer::from)
        .ok_or(ServiceError::NotFound("referrer"))
}

/// The ids of a bulk request: each once, 1 to [`MAX_BULK_IDS`] of them.
pub fn bulk_ids(ids: &[i64]) -> Result<Vec<i64>, ServiceError> {
    let mut unique: Vec<i64> = Vec::with_capacity(ids.len().min(MAX_BULK_IDS));
    for &id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
        if unique.len() > MAX_BULK_IDS {
            break;
        }
    }
    if unique.is_empty() {
        return Err(ServiceError::field(
            "ids",
            "请至少选择一位推荐人 / Select at least one referrer",
        ));
    }
    if unique.len() > MAX_BULK_IDS {
        return Err(ServiceError::field(
            "ids",
            format!(
                "一次最多 {MAX_BULK_IDS} 位推荐人 / At most {MAX_BULK_IDS} referrers at a time"
            ),
        ));
    }
    Ok(unique)
}

/// The ids of `asked` that are not among `found` (another account's, or none at all).
fn missing(asked: &[i64], found: &[store::Picked]) -> Vec<i64> {
    asked
        .iter()
        .copied()
        .filter(|id| !found.iter().any(|p| p.id == *id))
        .collect()
}

/// Archives (`archived`) or restores the account's referrers among `ids`, in one transaction,
/// one audit entry per referrer changed. Ids of other accounts are reported missing and left
/// alone.
pub async fn bulk_archive(
    pool: &PgPool,
    actor: &Actor,
    ids: &[i64],
    archived: bool,
) -> Result<BulkOutcome, ServiceError> {
    actor.require(BULK_ROLE)?;
    let ids = bulk_ids(ids)?;
    let mut tx = pool.begin().await?;
    let picked = store::pick(&mut tx, actor.account_id, &ids).await?;
    let (change, same): (Vec<&store::Picked>, Vec<&store::Picked>) =
        picked.iter().partition(|p| p.archived != archived);
    let done: Vec<i64> = change.iter().map(|p| p.id).collect();
    store::set_archived(&mut tx, actor.account_id, &done, archived).await?;
    let action = if archived {
        "referrer.archive"
    } else {
        "referrer.restore"
    };
    store::audit_each(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        action,
        &done,
        json!({"bulk": true}),
    )
    .await?;
    tx.commit().await?;
    Ok(BulkOutcome {
        done,
        unchanged: same.iter().map(|p| p.id).collect(),
        missing: missing(&ids, &picked),
        failed: Vec::new(),
    })
}

/// Adds one tag (checked as referrer tags are) to the account's referrers among `ids`, in one
/// transaction; a referrer that has [`MAX_TAGS`] tags already is reported failed.
pub async fn bulk_tag(
    pool: &PgPool,
    actor: &Actor,
    ids: &[i64],
    tag: &str,
) -> Result<BulkOutcome, ServiceError> {
    actor.require(BULK_ROLE)?;
    let tag = validate_tag(tag)?;
    let ids = bulk_ids(ids)?;
    let mut tx = pool.begin().await?;
    let picked = store::pick(&mut tx, actor.account_id, &ids).await?;
    let mut outcome = BulkOutcome {
        missing: missing(&ids, &picked),
        ..BulkOutcome::default()
    };
    for p in &picked {
        if p.tags.contains(&tag) {
            outcome.unchanged.push(p.id);
        } else if p.tags.len() >= MAX_TAGS {
            outcome.failed.push(BulkFailure {
                id: p.id,
                name: p.name.clone(),
                message: "已有 10 个标签 / Already has 10 tags".into(),
            });
        } else {
            outcome.done.push(p.id);
        }
    }
    store::add_tag(&mut tx, actor.account_id, &outcome.done, &tag).await?;
    store::audit_each(
        &mut tx,
        actor.account_id,
        &actor.audit_name(),
        "referrer.tag",
        &outcome.done,
        json!({"tag": tag, "bulk": true}),
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// One new code for each of the account's referrers among `ids`, through the same service as
/// a single code (so the quota and WeChat's limits apply, and each code is audit-logged).
/// Each code is its own WeChat call: one that fails is reported, the others are still made.
pub async fn bulk_codes(
    pool: &PgPool,
    accounts: &crate::accounts::Accounts,
    actor: &Actor,
    ids: &[i64],
    input: &NewQrCode,
) -> Result<BulkOutcome, ServiceError> {
    actor.require(BULK_ROLE)?;
    let ids = bulk_ids(ids)?;
    crate::referral::qrcodes::validate(input)?;
    crate::referral::qrcodes::wechat_tag(input)?;
    let picked = store::picked(pool, actor.account_id, &ids).await?;
    let mut outcome = BulkOutcome {
        missing: missing(&ids, &picked),
        ..BulkOutcome::default()
    };
    for p in picked {
        let made = if p.archived {
            Err(AppError::new(
                "referrer_archived",
                "已归档，不能生成新二维码 / Archived referrers get no new codes",
            ))
        } else {
            crate::referral::qrcodes::create(pool, accounts, actor, p.id, input)
                .await
                .map_err(AppError::from)
        };
        match made {
            Ok(_) => outcome.done.push(p.id),
            Err(e) => outcome.failed.push(BulkFailure {
                id: p.id,
                name: p.name,
                message: e.message,
            }),
        }
    }
    Ok(outcome)
}

/// One referrer of the caller's account.
pub async fn get(pool: &PgPool, actor: &Actor, id: i64) -> Result<Referrer, ServiceError> {
    actor.require(Role::Staff)?;
    store::get(pool, actor.account_id, id)
        .await?
        .map(Referrer::from)
        .ok_or(ServiceError::NotFound("referrer"))
}

/// Everything a referrer's page shows: the referrer, their codes with images, a page of their
/// referrals and their all-time figures (staff).
pub async fn detail(
    pool: &PgPool,
    actor: &Actor,
    id: i64,
    referrals_page: Option<i64>,
) -> Result<ReferrerDetail, ServiceError> {
    use crate::referral::{qrcodes, reports};
    let referrer = get(pool, actor, id).await?;
    let codes = qrcodes::of_referrer(pool, actor, id)
        .await?
        .into_iter()
        .map(|code| {
            let svg = crate::qr::svg(&code.url).unwrap_or_default();
            QrCodeView { code, svg }
        })
        .collect();
    let referrals = reports::referrals_of(pool, actor, id, referrals_page, None).await?;
    let stats = reports::referrer_stats(pool, actor, id, &ReportQuery::default()).await?;
    let account_name = crate::db::events::account_name(pool, actor.account_id).await?;
    let notices = crate::db::jobs::attempts_of(pool, actor.account_id, id, 10)
        .await?
        .into_iter()
        .map(|a| NoticeAttempt {
            at: crate::referral::period::local_time(a.created_at),
            channel: a.channel,
            status: if a.status == "queued" {
                "pending".into()
            } else {
                a.status
            },
            errcode: a.errcode.map(i64::from),
        })
        .collect();
    let credit_moves = crate::referral::credit::history(pool, actor, id).await?;
    let move_targets = crate::referral::credit::targets(pool, actor, id).await?;
    let wechat_tags = crate::db::wechat_tags::counts_for_referrer(pool, actor.account_id, id)
        .await?
        .into_iter()
        .map(|c| app::model::WechatTagCount {
            tag: c.tag,
            state: c.state,
            followers: c.followers,
            last_error: c.last_error,
        })
        .collect();
    Ok(ReferrerDetail {
        referrer,
        codes,
        referrals,
        stats,
        account_name,
        notices,
        credit_moves,
        move_targets,
        can_void: actor.require(app::model::Role::Manager).is_ok(),
        wechat_tags,
    })
}

/// What a referrer list may be asked for, as the caller gave it (REST query or dashboard
/// filters): parsed and bounded here, once.
#[derive(Debug, Clone, Default)]
pub struct ListInput {
    /// Search in name, phone, note and tags.
    pub q: Option<String>,
    /// 1-based page; default 1.
    pub page: Option<i64>,
    /// 1–200 items per page; default 20.
    pub per_page: Option<i64>,
    /// `newest` (default), `oldest` or `name`.
    pub sort: Option<String>,
    pub archived: bool,
}

/// Default and largest page size of a referrer list.
pub const DEFAULT_PER_PAGE: i64 = 20;
pub const MAX_PER_PAGE: i64 = 200;

/// Lists referrers matching `q` (name, phone, note or tag), newest first unless sorted.
pub async fn list(
    pool: &PgPool,
    actor: &Actor,
    input: &ListInput,
) -> Result<Page<Referrer>, ServiceError> {
    actor.require(Role::Staff)?;
    let query = list_query(input)?;
    let rows = store::list(pool, actor.account_id, &query).await?;
    Ok(views::page(rows))
}

/// The store's query for a list request: the sort parsed, search text cleaned, page and page
/// size in range.
pub fn list_query(input: &ListInput) -> Result<ReferrerQuery, ServiceError> {
    let sort = match input.sort.as_deref().map(str::trim) {
        None | Some("") => ReferrerSort::default(),
        Some(s) => ReferrerSort::parse(s).ok_or_else(|| {
            ServiceError::field(
                "sort",
                "排序须为 newest、oldest 或 name / sort must be newest, oldest or name",
            )
        })?,
    };
    Ok(search_query(&ReferrerQuery {
        q: input.q.clone(),
        page: input.page.unwrap_or(1),
        per_page: input
            .per_page
            .unwrap_or(DEFAULT_PER_PAGE)
            .clamp(1, MAX_PER_PAGE),
        sort,
        include_archived: input.archived,
    }))
}

/// The longest search text used; longer input is cut (no stored field is longer).
pub const MAX_SEARCH_CHARS: usize = MAX_NOTE_CHARS;
/// The last page anyone can ask for; beyond it the offset would overflow.
const MAX_PAGE: i64 = 1_000_000;

/// Search text without control characters (stored fields never hold any, and
/// PostgreSQL refuses NUL), cut to a sane length, and a page number in range.
fn search_query(query: &ReferrerQuery) -> ReferrerQuery {
    ReferrerQuery {
        q: query
            .q
            .as_deref()
            .map(|q| clean(q).chars().take(MAX_SEARCH_CHARS).collect()),
        page: query.page.clamp(1, MAX_PAGE),
        ..query.clone()
    }
}

fn duplicate_openid() -> ServiceError {
    ServiceError::Conflict {
        code: "openid_taken",
        message: "another referrer is already bound to this openid".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(name: &str) -> NewReferrer {
        NewReferrer {
            name: name.into(),
            ..NewReferrer::default()
        }
    }

    #[test]
    fn search_text_drops_control_characters_and_pages_stay_in_range() {
        let q = search_query(&ReferrerQuery {
            q: Some(" 张\u{0}三\n ".into()),
            page: i64::MAX,
            per_page: 20,
            sort: Default::default(),
            include_archived: false,
        });
        assert_eq!(q.q.as_deref(), Some("张三"));
        assert_eq!(q.page, MAX_PAGE);
        let long = search_query(&ReferrerQuery {
            q: Some("x".repeat(10_000)),
            page: -5,
            per_page: 20,
            sort: Default::default(),
            include_archived: false,
        });
        assert_eq!(long.q.map(|q| q.len()), Some(MAX_SEARCH_CHARS));
        assert_eq!(long.page, 1);
    }

    #[test]
    fn list_requests_are_parsed_once_for_every_caller() {
        let q = list_query(&ListInput::default()).expect("defaults");
        assert_eq!((q.page, q.per_page), (1, DEFAULT_PER_PAGE));
        assert_eq!(q.sort, ReferrerSort::default());
        let q = list_query(&ListInput {
            per_page: Some(10_000),
            sort: Some("name".into()),
            ..ListInput::default()
        })
        .expect("name sort");
        assert_eq!((q.per_page, q.sort), (MAX_PER_PAGE, ReferrerSort::Name));
        assert_eq!(
            fields_of(
                list_query(&ListInput {
                    sort: Some("nope".into()),
                    ..ListInput::default()
                })
                .expect_err("unknown sort")
            ),
            ["sort"]
        );
    }

    fn fields_of(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::Validation(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn bulk_ids_are_deduplicated_and_capped() {
        assert_eq!(bulk_ids(&[3, 1, 3, 2]).expect("ids"), [3, 1, 2]);
        assert_eq!(fields_of(bulk_ids(&[]).expect_err("none")), ["ids"]);
        let cap: Vec<i64> = (1..=MAX_BULK_IDS as i64).collect();
        assert_eq!(bulk_ids(&cap).expect("the cap").len(), MAX_BULK_IDS);
        let over: Vec<i64> = (1..=MAX_BULK_IDS as i64 + 1).collect();
        assert_eq!(fields_of(bulk_ids(&over).expect_err("over")), ["ids"]);
        // Repeats do not count against the cap.
        let repeated: Vec<i64> = cap.iter().chain(cap.iter()).copied().collect();
        assert!(bulk_ids(&repeated).is_ok());
    }

    #[test]
    fn a_bulk_tag_is_checked_like_a_referrer_tag() {
        assert_eq!(validate_tag("  金牌\u{7} ").expect("tag"), "金牌");
        assert_eq!(fields_of(validate_tag(" ").expect_err("empty")), ["tag"]);
        assert!(validate_tag(&"签".repeat(MAX_TAG_CHARS)).is_ok());
        assert_eq!(
            fields_of(validate_tag(&"签".repeat(MAX_TAG_CHARS + 1)).expect_err("long")),
            ["tag"]
        );
    }

    #[test]
    fn names_are_trimmed_and_cleaned() {
        let f = validate(&input("  张三\u{7}  ")).expect("valid");
        assert_eq!(f.name, "张三");
    }

    #[test]
    fn bad_fields_are_all_reported() {
        let bad = NewReferrer {
            name: " ".into(),
            phone: Some("call me".into()),
            note: Some("x".repeat(501)),
            openid: Some("o p".into()),
            tags: vec!["y".repeat(21)],
            wechat_tag: Some("标".repeat(31)),
        };
        assert_eq!(
            fields_of(validate(&bad).expect_err("invalid")),
            ["name", "phone", "note", "openid", "tags", "wechat_tag"]
        );
    }

    #[test]
    fn limits_are_inclusive() {
        assert!(validate(&input(&"名".repeat(64))).is_ok());
        assert!(validate(&input(&"名".repeat(65))).is_err());
        assert!(validate(&input("<b>x</b>")).is_err());
        let ok = NewReferrer {
            phone: Some("+86 138-0013-8000".into()),
            tags: (0..10).map(|i| format!("t{i}")).collect(),
            ..input("李四")
        };
        assert!(validate(&ok).is_ok());
        let too_many = NewReferrer {
            tags: (0..11).map(|i| format!("t{i}")).collect(),
            ..input("李四")
        };
        assert_eq!(
            fields_of(validate(&too_many).expect_err("11 tags")),
            ["tags"]
        );
    }

    #[test]
    fn empty_optionals_become_none_and_tags_dedupe() {
        let f = validate(&NewReferrer {
            phone: Some("  ".into()),
            tags: vec!["a".into(), " a ".into(), "".into()],
            ..input("王五")
        })
        .expect("valid");
        assert_eq!(f.phone, None);
        assert_eq!(f.tags, ["a"]);
    }
}
