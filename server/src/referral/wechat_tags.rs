//! WeChat user tags (用户标签) for credited followers: a referrer, or one of its codes, names a
//! tag; a follower credited through it is tagged in WeChat, and when the credit moves, is
//! voided or restored, the old tag comes off and the new one goes on.
//!
//! What a follower should carry is kept in `follower_wechat_tag` (see
//! [`crate::db::wechat_tags::want`]); a `wechat_tags` outbox job per changed follower makes
//! WeChat agree. The worker takes a batch of such jobs together: one `batchtagging` (or
//! `batchuntagging`) call per tag and 50 followers, the tag found with `tags/get` or made with
//! `tags/create` the first time, its id kept.

use std::collections::HashMap;

use app::model::FieldError;
use sqlx::PgPool;

use crate::db::wechat_tags::{self as store, Pending, Settled};
use crate::wechat::api::WechatApi;
use crate::wechat::client::ApiError;

/// WeChat's limit for a tag name, in characters.
pub const MAX_TAG_CHARS: usize = 30;
/// Followers per `batchtagging` call (WeChat's limit).
pub const PER_CALL: usize = 50;

/// The tag id is not (or no longer) the account's.
const INVALID_TAG: i64 = 45159;
/// `tags/create`: the account has a tag of that name already.
const NAME_TAKEN: i64 = 45157;
/// Errcodes that refuse a whole call for one follower in it: an unknown openid (40003), one of
/// another account (49003), a follower with 20 tags already (45059). The followers of such a
/// call are then tagged one by one, so only that follower fails.
const ONE_REFUSES_ALL: [i64; 3] = [40003, 49003, 45059];

/// Checks a tag name as WeChat limits it: trimmed, empty means none, 1..=30 characters, no
/// control characters. `field` names the form field in the error.
pub fn validate_name(field: &str, name: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    let problem = if name.chars().any(char::is_control) {
        Some("微信标签不能包含控制字符 / The WeChat tag cannot contain control characters")
    } else if name.chars().count() > MAX_TAG_CHARS {
        Some("微信标签最多 30 个字符 / The WeChat tag is at most 30 characters")
    } else {
        None
    };
    match problem {
        Some(message) => Err(FieldError {
            field: field.into(),
            message: message.into(),
        }),
        None => Ok(Some(name.to_owned())),
    }
}

/// What syncing one follower's tags came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Synced {
    /// WeChat agrees with every wanted change (or there was none).
    Done,
    /// WeChat refused a change for good (kept as `failed` with the reason).
    Refused { errcode: Option<i64>, error: String },
    /// Try again later; nothing was settled for the failed changes.
    Retry { errcode: Option<i64>, error: String },
}

/// Makes WeChat agree with the pending tag changes of `followers` (one account's). A change
/// that fails transiently stays pending, unless `last_try` says this is the job's last
/// attempt: it is then settled as refused, so nothing stays pending for ever. One outcome per
/// follower with changes (followers without any are `Done`).
pub async fn sync(
    pool: &PgPool,
    api: &WechatApi,
    account_id: i64,
    followers: &[i64],
    last_try: &(dyn Fn(i64) -> bool + Sync),
) -> sqlx::Result<HashMap<i64, Synced>> {
    let pending = store::pending(pool, account_id, followers).await?;
    let mut outcomes: HashMap<i64, Synced> = followers.iter().map(|f| (*f, Synced::Done)).collect();
    let mut settled: Vec<Settled<'_>> = Vec::new();
    let mut note = rows_of(
        &pending,
        |row: &Pending, result: Result<(), ApiError>| match result {
            Ok(()) => settled.push(Settled {
                follower_id: row.follower_id,
                tag: &row.tag,
                wanted: row.wanted,
                refused: None,
            }),
            Err(e) if e.is_transient() && !last_try(row.follower_id) => {
                outcomes.insert(
                    row.follower_id,
                    Synced::Retry {
                        errcode: e.errcode(),
                        error: e.to_string(),
                    },
                );
            }
            Err(e) => {
                let error = refusal(&e);
                settled.push(Settled {
                    follower_id: row.follower_id,
                    tag: &row.tag,
                    wanted: row.wanted,
                    refused: Some((e.errcode(), error.clone())),
                });
                let outcome = outcomes.entry(row.follower_id).or_insert(Synced::Done);
                if *outcome == Synced::Done {
                    *outcome = Synced::Refused {
                        errcode: e.errcode(),
                        error,
                    };
                }
            }
        },
    );
    // `pending` is ordered by tag and direction: each run of equal (tag, wanted) is a group.
    for group in pending.chunk_by(|a, b| a.tag == b.tag && a.wanted == b.wanted) {
        let (tag, wanted) = (&group[0].tag, group[0].wanted);
        let id = match resolve(pool, api, account_id, tag, wanted).await {
            Ok(Some(id)) => id,
            // Taking off a tag the account does not have: nothing to take off.
            Ok(None) => {
                group.iter().for_each(|row| note(row, Ok(())));
                continue;
            }
            Err(Failure::Api(e)) => {
                group.iter().for_each(|row| note(row, Err(e.clone())));
                continue;
            }
            Err(Failure::Database(e)) => return Err(e),
        };
        for chunk in group.chunks(PER_CALL) {
            let openids: Vec<String> = chunk.iter().map(|r| r.openid.clone()).collect();
            let mut sent = call(api, wanted, id, &openids).await;
            if sent.as_ref().err().and_then(ApiError::errcode) == Some(INVALID_TAG) {
                // The kept id is stale (the tag was deleted in WeChat): find or make it again.
                store::forget_tag_id(pool, account_id, tag, id).await?;
                sent = match resolve(pool, api, account_id, tag, wanted).await {
                    Ok(Some(id)) => call(api, wanted, id, &openids).await,
                    Ok(None) => Ok(()),
                    Err(Failure::Api(e)) => Err(e),
                    Err(Failure::Database(e)) => return Err(e),
                };
            }
            match sent {
                Err(e)
                    if chunk.len() > 1
                        && e.errcode().is_some_and(|c| ONE_REFUSES_ALL.contains(&c)) =>
                {
                    for (row, openid) in chunk.iter().zip(&openids) {
                        let one = call(api, wanted, id, std::slice::from_ref(openid)).await;
                        note(row, one);
                    }
                }
                sent => chunk.iter().for_each(|row| note(row, sent.clone())),
            }
        }
    }
    store::settle(pool, account_id, &settled).await?;
    if !settled.is_empty() {
        let refused = settled.iter().filter(|s| s.refused.is_some()).count();
        tracing::info!(
            account = account_id,
            changes = settled.len(),
            refused,
            "WeChat tags synced"
        );
    }
    Ok(outcomes)
}

/// Ties the rows a closure is given to `pending`'s borrow (so it may keep references to them).
fn rows_of<'p, F: FnMut(&'p Pending, Result<(), ApiError>)>(_: &'p [Pending], f: F) -> F {
    f
}

enum Failure {
    Api(ApiError),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Failure::Database(e)
    }
}

/// The WeChat id of the account's tag `name`: kept, else found with `tags/get`, else (when
/// `create`) made with `tags/create`. None when the account has no such tag and none is to be
/// made.
async fn resolve(
    pool: &PgPool,
    api: &WechatApi,
    account_id: i64,
    name: &str,
    create: bool,
) -> Result<Option<i64>, Failure> {
    if let Some(id) = store::tag_id(pool, account_id, name).await? {
        return Ok(Some(id));
    }
    let found = |tags: Vec<crate::wechat::client::Tag>| {
        tags.into_iter().find(|t| t.name == name).map(|t| t.id)
    };
    let mut id = found(api.get_tags().await.map_err(Failure::Api)?);
    if id.is_none() && create {
        id = match api.create_tag(name).await {
            Ok(tag) => Some(tag.id),
            // Made meanwhile (another instance, or by hand in WeChat's backend).
            Err(e) if e.errcode() == Some(NAME_TAKEN) => {
                found(api.get_tags().await.map_err(Failure::Api)?)
            }
            Err(e) => return Err(Failure::Api(e)),
        };
    }
    if let Some(id) = id {
        store::save_tag_id(pool, account_id, name, id).await?;
    }
    Ok(id)
}

async fn call(api: &WechatApi, tag: bool, id: i64, openids: &[String]) -> Result<(), ApiError> {
    if tag {
        api.tag_users(id, openids).await
    } else {
        api.untag_users(id, openids).await
    }
}

/// A refusal as staff read it on the referrer's page.
fn refusal(e: &ApiError) -> String {
    let why = match e.errcode() {
        Some(45059) => "该粉丝的标签已达 20 个上限 / The follower carries 20 tags already",
        Some(45056) => "公众号的标签已达上限 / The account has as many tags as WeChat allows",
        Some(45157) => "标签名与其他标签重复 / The tag name clashes with another tag",
        Some(45158) => "标签名过长 / The tag name is too long for WeChat",
        Some(40003) | Some(49003) => {
            "微信不认识这位粉丝（可能已取关很久） / WeChat does not know this follower"
        }
        _ => return e.to_string(),
    };
    format!("{why} ({e})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tag_names_are_trimmed_and_limited() {
        assert_eq!(validate_name("t", None), Ok(None));
        assert_eq!(validate_name("t", Some("   ")), Ok(None));
        assert_eq!(
            validate_name("t", Some(" 渠道-地推 ")),
            Ok(Some("渠道-地推".to_owned()))
        );
        let thirty = "标".repeat(30);
        assert_eq!(validate_name("t", Some(&thirty)), Ok(Some(thirty.clone())));
        let long = validate_name("wechat_tag", Some(&"标".repeat(31))).expect_err("31");
        assert_eq!(long.field, "wechat_tag");
        assert!(long.message.contains("30"), "{}", long.message);
        assert!(validate_name("t", Some("a\u{7}b")).is_err());
    }

    #[test]
    fn refusals_say_why_in_both_languages() {
        let e = ApiError::Api {
            errcode: 45059,
            errmsg: "user tag count exceeds limit".into(),
        };
        let text = refusal(&e);
        assert!(text.contains("20 个上限") && text.contains("20 tags") && text.contains("45059"));
        let other = ApiError::Api {
            errcode: 40013,
            errmsg: "invalid appid".into(),
        };
        assert_eq!(refusal(&other), "errcode 40013: invalid appid");
    }
}
