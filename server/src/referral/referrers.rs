//! Referrers: validation rules and the service calls used by the REST API and the dashboard.

use app::model::{FieldError, NewReferrer, Page, Referrer, ReferrerPatch};
use sqlx::PgPool;

use crate::db::referrers::{self as store, ReferrerFields, ReferrerQuery};
use crate::referral::error::ServiceError;

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
            err(
                "tags",
                "每个标签最多 20 个字符 / Each tag is at most 20 characters",
            );
            break;
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    if tags.len() > MAX_TAGS {
        err("tags", "最多 10 个标签 / At most 10 tags");
    }
    if !errors.is_empty() {
        return Err(ServiceError::Validation(errors));
    }
    Ok(ReferrerFields {
        name,
        phone,
        note,
        openid: openid.map(str::to_owned),
        tags,
    })
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
    account_id: i64,
    actor: &str,
    input: &NewReferrer,
) -> Result<Referrer, ServiceError> {
    let fields = validate(input)?;
    let referrer = store::insert(pool, account_id, &fields, "staff", actor).await?;
    referrer.ok_or_else(duplicate_openid)
}

/// Applies a partial update.
pub async fn update(
    pool: &PgPool,
    account_id: i64,
    actor: &str,
    id: i64,
    patch: &ReferrerPatch,
) -> Result<Referrer, ServiceError> {
    let current = get(pool, account_id, id).await?;
    let merged = NewReferrer {
        name: patch.name.clone().unwrap_or(current.name),
        phone: patch.phone.clone().unwrap_or(current.phone),
        note: patch.note.clone().unwrap_or(current.note),
        openid: patch.openid.clone().unwrap_or(current.openid),
        tags: patch.tags.clone().unwrap_or(current.tags),
    };
    let fields = validate(&merged)?;
    match store::update(pool, account_id, id, &fields, actor).await? {
        store::Updated::Ok(r) => Ok(*r),
        store::Updated::Missing => Err(ServiceError::NotFound("referrer")),
        store::Updated::DuplicateOpenid => Err(duplicate_openid()),
    }
}

/// Archives a referrer: history and existing codes stay, no new codes.
pub async fn archive(
    pool: &PgPool,
    account_id: i64,
    actor: &str,
    id: i64,
) -> Result<Referrer, ServiceError> {
    store::archive(pool, account_id, id, actor)
        .await?
        .ok_or(ServiceError::NotFound("referrer"))
}

pub async fn get(pool: &PgPool, account_id: i64, id: i64) -> Result<Referrer, ServiceError> {
    store::get(pool, account_id, id)
        .await?
        .ok_or(ServiceError::NotFound("referrer"))
}

/// Lists referrers matching `q` (name, phone, note or tag), newest first unless sorted.
pub async fn list(
    pool: &PgPool,
    account_id: i64,
    query: &ReferrerQuery,
) -> Result<Page<Referrer>, ServiceError> {
    Ok(store::list(pool, account_id, &search_query(query)).await?)
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

    fn fields_of(e: ServiceError) -> Vec<String> {
        match e {
            ServiceError::Validation(v) => v.into_iter().map(|f| f.field).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
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
        };
        assert_eq!(
            fields_of(validate(&bad).expect_err("invalid")),
            ["name", "phone", "note", "openid", "tags"]
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
