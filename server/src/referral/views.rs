//! What clients see of stored rows: the `app::model` types the REST API and the dashboard
//! send, made from the `db` rows (timestamps as RFC 3339 strings). The store returns rows
//! only; the services convert them here.

use app::model::{
    AuditEntry, CurrentUser, Page, QrCode, Referral, Referrer, SandboxCode, TokenSummary,
    UserSummary,
};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::db::Paged;
use crate::db::qrcodes::{CodeRow, SandboxCodeRow};
use crate::db::referrers::ReferrerRow;
use crate::db::settings::{AuditRow, TokenListRow, UserListRow};
use crate::db::stats::ReferralRow;
use crate::db::users::SessionRow;
use crate::referral::roles::Role;

/// Timestamps in API types: RFC 3339, UTC, seconds.
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A page of rows as a page of their API type.
pub fn page<R, T: From<R>>(p: Paged<R>) -> Page<T> {
    Page {
        items: p.rows.into_iter().map(T::from).collect(),
        total: p.total,
        page: p.page,
        per_page: p.per_page,
    }
}

impl From<ReferrerRow> for Referrer {
    fn from(r: ReferrerRow) -> Self {
        Referrer {
            id: r.id,
            name: r.name,
            phone: r.phone,
            note: r.note,
            tags: r.tags,
            wechat_tag: r.wechat_tag,
            openid: r.openid,
            kind: r.kind,
            name_chosen: r.name_chosen,
            archived: r.archived_at.is_some(),
            created_at: rfc3339(r.created_at),
            updated_at: rfc3339(r.updated_at),
        }
    }
}

impl From<CodeRow> for QrCode {
    fn from(r: CodeRow) -> Self {
        QrCode {
            id: r.id,
            referrer_id: r.referrer_id,
            kind: r.kind,
            scene: r.scene,
            label: r.label,
            wechat_tag: r.wechat_tag,
            ticket: r.ticket,
            url: r.url,
            expires_at: r.expires_at.map(rfc3339),
            created_at: rfc3339(r.created_at),
        }
    }
}

impl From<SandboxCodeRow> for SandboxCode {
    fn from(r: SandboxCodeRow) -> Self {
        SandboxCode {
            id: r.id,
            referrer_name: r.referrer_name,
            label: r.label,
            kind: r.kind,
        }
    }
}

impl From<ReferralRow> for Referral {
    fn from(r: ReferralRow) -> Self {
        Referral {
            id: r.id,
            openid: r.openid,
            referrer_id: r.referrer_id,
            referrer_name: r.referrer_name,
            qr_code_id: r.qr_code_id,
            followed_at: rfc3339(r.followed_at),
            // A follower who came back still has the time they left stored.
            unfollowed_at: if r.subscribed {
                None
            } else {
                r.unfollowed_at.map(rfc3339)
            },
            still_following: r.subscribed,
            voided: r.voided_at.is_some(),
            void_reason: r.void_reason,
            wechat_tag: r.wechat_tag,
            wechat_tag_state: r.wechat_tag_state,
            wechat_tag_error: r.wechat_tag_error,
        }
    }
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            actor: r.actor,
            action: r.action,
            target: r.target,
            created_at: rfc3339(r.created_at),
        }
    }
}

/// A listed user; None when the stored role is none we know (such rows are left out).
pub fn user_summary(r: UserListRow) -> Option<UserSummary> {
    Role::parse(&r.role).map(|role| UserSummary {
        id: r.id,
        username: r.username,
        role,
        created_at: rfc3339(r.created_at),
    })
}

/// A listed API token; None when the stored role is none we know (such rows are left out).
pub fn token_summary(r: TokenListRow) -> Option<TokenSummary> {
    Role::parse(&r.role).map(|role| TokenSummary {
        id: r.id,
        name: r.name,
        role,
        created_at: rfc3339(r.created_at),
        last_used_at: r.last_used_at.map(rfc3339),
        revoked: r.revoked,
        expires_at: r.expires_at.map(rfc3339),
        expired: r.expired,
    })
}

/// The user of a session; None when their stored role is none we know.
pub fn current_user(r: SessionRow) -> Option<CurrentUser> {
    Role::parse(&r.role).map(|role| CurrentUser {
        id: r.id,
        account_id: r.account_id,
        username: r.username,
        role,
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0)
            .single()
            .expect("valid timestamp")
    }

    fn referral(subscribed: bool) -> ReferralRow {
        ReferralRow {
            id: 1,
            openid: "o_1".into(),
            referrer_id: 2,
            referrer_name: "张三".into(),
            qr_code_id: 3,
            followed_at: at(1_700_000_000),
            unfollowed_at: Some(at(1_700_000_060)),
            subscribed,
            voided_at: None,
            void_reason: None,
            wechat_tag: None,
            wechat_tag_state: None,
            wechat_tag_error: None,
        }
    }

    #[test]
    fn timestamps_are_utc_seconds() {
        assert_eq!(rfc3339(at(1_700_000_000)), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn a_referral_shows_its_unfollow_only_while_unfollowed() {
        let gone = Referral::from(referral(false));
        assert_eq!(gone.unfollowed_at.as_deref(), Some("2023-11-14T22:14:20Z"));
        assert!(!gone.still_following);
        let back = Referral::from(referral(true));
        assert_eq!(back.unfollowed_at, None);
        assert!(back.still_following);
    }

    #[test]
    fn rows_with_an_unknown_role_are_left_out() {
        let row = |role: &str| SessionRow {
            id: 1,
            account_id: 2,
            username: "li".into(),
            role: role.into(),
        };
        assert_eq!(current_user(row("root")), None);
        assert_eq!(
            current_user(row("manager")).map(|u| u.role),
            Some(Role::Manager)
        );
        let user = |role: &str| UserListRow {
            id: 1,
            username: "li".into(),
            role: role.into(),
            created_at: at(0),
        };
        assert!(user_summary(user("root")).is_none());
        assert_eq!(
            user_summary(user("admin")).map(|u| u.created_at).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn a_page_keeps_its_counts() {
        let p: Page<Referral> = page(Paged {
            rows: vec![referral(true)],
            total: 41,
            page: 3,
            per_page: 20,
        });
        assert_eq!((p.items.len(), p.total, p.page, p.per_page), (1, 41, 3, 20));
    }
}
