//! Greeting templates: `{referrer}` and `{follower}` placeholders, one template per variant,
//! rendered inside the ingest transaction so the reply never waits on WeChat.

/// Which greeting a follow or scan gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Variant {
    /// A new follower credited to a referrer.
    Referred,
    /// A follow with no referrer (no scene, unknown or expired code, own code).
    Plain,
    /// Someone who followed before follows again.
    Refollow,
    /// An existing follower scanned a code.
    Scan,
}

impl Variant {
    pub const ALL: [Variant; 4] = [
        Variant::Referred,
        Variant::Plain,
        Variant::Refollow,
        Variant::Scan,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Referred => "referred",
            Variant::Plain => "plain",
            Variant::Refollow => "refollow",
            Variant::Scan => "scan",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Variant::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// The built-in template used until staff configure one.
    pub fn default_template(self) -> &'static str {
        match self {
            Variant::Referred => "欢迎关注！您是{referrer}推荐的客户。",
            Variant::Plain => "欢迎关注！",
            Variant::Refollow => "欢迎回来，{follower}！很高兴再次见到您。",
            Variant::Scan => "您已关注本公众号，感谢扫码！",
        }
    }
}

pub use app::greeting::{FOLLOWER_FALLBACK, REFERRER_FALLBACK, render};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_referred_greeting_names_the_referrer() {
        let text = render(Variant::Referred.default_template(), Some("张三"), None);
        assert_eq!(text, "欢迎关注！您是张三推荐的客户。");
    }

    #[test]
    fn missing_names_use_fallbacks() {
        assert_eq!(
            render("{follower}/{referrer}", None, Some(" ")),
            "朋友/我们的伙伴"
        );
    }

    #[test]
    fn names_are_not_reinterpreted_as_placeholders() {
        assert_eq!(
            render("{referrer}{follower}", Some("{follower}"), Some("x")),
            "{follower}x"
        );
    }

    #[test]
    fn variants_round_trip_through_their_names() {
        for v in Variant::ALL {
            assert_eq!(Variant::parse(v.as_str()), Some(v));
        }
        assert_eq!(Variant::parse("nope"), None);
    }
}
