//! The attribution rules, as plain functions: who gets credit for a follow.

use chrono::{DateTime, Utc};

/// Why a scan earned no credit (stored in `scan.flag`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// No QR code has this scene.
    UnknownScene,
    /// The temporary code had expired when the follow happened.
    ExpiredScene,
    /// The referrer's own bound openid scanned its own code.
    SelfReferral,
    /// The follower already has a referrer (first touch wins, also after an unfollow).
    AlreadyReferred,
    /// A SCAN by someone who already follows the account.
    ExistingFollower,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::UnknownScene => "unknown_scene",
            Flag::ExpiredScene => "expired_scene",
            Flag::SelfReferral => "self_referral",
            Flag::AlreadyReferred => "already_referred",
            Flag::ExistingFollower => "existing_follower",
        }
    }
}

/// What we know about the scanned code.
#[derive(Clone, Debug)]
pub struct CodeFacts {
    pub expires_at: Option<DateTime<Utc>>,
    pub referrer_openid: Option<String>,
}

/// The outcome for one follow through a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Credit,
    NoCredit(Flag),
}

/// Decides a `subscribe` through a scene: credit only for a known, unexpired code, not the
/// referrer's own openid, and only if the follower has no referrer yet.
pub fn decide_follow(
    code: Option<&CodeFacts>,
    follower_openid: &str,
    follower_has_referral: bool,
    at: DateTime<Utc>,
) -> Decision {
    let Some(code) = code else {
        return Decision::NoCredit(Flag::UnknownScene);
    };
    if code.expires_at.is_some_and(|expiry| expiry <= at) {
        return Decision::NoCredit(Flag::ExpiredScene);
    }
    if code.referrer_openid.as_deref() == Some(follower_openid) {
        return Decision::NoCredit(Flag::SelfReferral);
    }
    if follower_has_referral {
        return Decision::NoCredit(Flag::AlreadyReferred);
    }
    Decision::Credit
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    fn code(expires_in: Option<i64>, openid: Option<&str>) -> CodeFacts {
        CodeFacts {
            expires_at: expires_in.map(|s| now() + Duration::seconds(s)),
            referrer_openid: openid.map(str::to_owned),
        }
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("valid time")
    }

    #[test]
    fn follow_rules_table() {
        let cases = [
            (
                "unknown scene",
                None,
                false,
                Decision::NoCredit(Flag::UnknownScene),
            ),
            (
                "permanent code",
                Some(code(None, None)),
                false,
                Decision::Credit,
            ),
            (
                "temporary, valid",
                Some(code(Some(60), None)),
                false,
                Decision::Credit,
            ),
            (
                "temporary, expired",
                Some(code(Some(-1), None)),
                false,
                Decision::NoCredit(Flag::ExpiredScene),
            ),
            (
                "expires this very second",
                Some(code(Some(0), None)),
                false,
                Decision::NoCredit(Flag::ExpiredScene),
            ),
            (
                "own code",
                Some(code(None, Some("o_me"))),
                false,
                Decision::NoCredit(Flag::SelfReferral),
            ),
            (
                "someone else's bound code",
                Some(code(None, Some("o_other"))),
                false,
                Decision::Credit,
            ),
            (
                "already referred",
                Some(code(None, None)),
                true,
                Decision::NoCredit(Flag::AlreadyReferred),
            ),
        ];
        for (name, code, has_referral, expected) in cases {
            assert_eq!(
                decide_follow(code.as_ref(), "o_me", has_referral, now()),
                expected,
                "{name}"
            );
        }
    }
}
