//! Fission campaigns (任务宝) as the dashboard, the REST API and members see them: a member
//! joins by keyword or menu click, gets a poster with their own code, and earns rewards as
//! friends follow through it.

use serde::{Deserialize, Serialize};

/// The most milestones a campaign has.
pub const MAX_MILESTONES: usize = 5;
/// The longest holding period, in days.
pub const MAX_HOLDING_DAYS: i32 = 30;
/// The most characters of a campaign's name.
pub const NAME_MAX_CHARS: usize = 40;
/// The most characters of a join keyword.
pub const KEYWORD_MAX_CHARS: usize = 20;
/// The most characters of the poster's text template.
pub const TEXT_MAX_CHARS: usize = 40;
/// The most characters of a reward's name.
pub const REWARD_NAME_MAX_CHARS: usize = 40;
/// The placeholder of the member's name in the poster's text.
pub const NAME_PLACEHOLDER: &str = "{name}";
/// The default poster text.
pub const DEFAULT_TEXT: &str = "{name} 邀请你扫码关注";
/// The default background's size (a phone screen), used when none is uploaded.
pub const DEFAULT_WIDTH: u32 = 750;
pub const DEFAULT_HEIGHT: u32 = 1334;
/// The largest background accepted, in pixels per side and in bytes.
pub const MAX_BACKGROUND_SIDE: u32 = 2400;
pub const MAX_BACKGROUND_BYTES: usize = 4 * 1024 * 1024;

/// A square on the poster, in the background's pixels: its top-left corner and side.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Square {
    pub x: u32,
    pub y: u32,
    pub size: u32,
}

/// The member's name line: `x` is the horizontal centre of the text, `y` its top, `size` the
/// font size in pixels and `color` `#rrggbb`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TextLine {
    pub x: u32,
    pub y: u32,
    pub size: u32,
    pub color: String,
}

/// Where the poster's parts go on the background.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PosterLayout {
    /// The member's QR code.
    pub qr: Square,
    /// The text line naming the member.
    pub name: TextLine,
    /// A round avatar placeholder (the first character of the member's name), if any.
    #[serde(default)]
    pub avatar: Option<Square>,
}

impl Default for PosterLayout {
    /// A layout for the default 750 × 1334 background.
    fn default() -> Self {
        PosterLayout {
            qr: Square {
                x: 215,
                y: 820,
                size: 320,
            },
            name: TextLine {
                x: 375,
                y: 700,
                size: 40,
                color: "#1f2328".into(),
            },
            avatar: Some(Square {
                x: 315,
                y: 560,
                size: 120,
            }),
        }
    }
}

/// Parses `#rrggbb`.
pub fn parse_color(color: &str) -> Option<[u8; 3]> {
    let hex = color.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// How a milestone's reward is handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RewardKind {
    /// One code from an uploaded stock, never the same twice.
    Coupon,
    /// A link (the same for every winner).
    Link,
    /// Collected in store with a redemption code that staff confirm.
    Store,
}

impl RewardKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RewardKind::Coupon => "coupon",
            RewardKind::Link => "link",
            RewardKind::Store => "store",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [RewardKind::Coupon, RewardKind::Link, RewardKind::Store]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A milestone as entered: `goal` credited friends earn the reward.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MilestoneInput {
    pub goal: i32,
    pub reward_kind: RewardKind,
    /// What the member wins, e.g. "10 元代金券".
    pub reward_name: String,
    /// The link (kind `link` only).
    #[serde(default)]
    pub link: Option<String>,
}

/// A campaign as entered (create and update).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CampaignInput {
    pub name: String,
    /// The text message that joins the campaign.
    pub keyword: String,
    /// The menu CLICK key that joins it too, if any.
    #[serde(default)]
    pub menu_key: Option<String>,
    /// First and last day, Beijing time (`YYYY-MM-DD`, both included).
    pub starts_on: String,
    pub ends_on: String,
    /// A friend who unfollows within this many days is taken back off the count.
    #[serde(default = "default_holding_days")]
    pub holding_days: i32,
    pub milestones: Vec<MilestoneInput>,
    /// The campaign ends when a milestone's coupon stock runs out.
    #[serde(default)]
    pub end_when_out_of_stock: bool,
    /// The poster's text line; `{name}` is the member's name.
    #[serde(default = "default_text")]
    pub poster_text: String,
    #[serde(default)]
    pub layout: PosterLayout,
}

fn default_holding_days() -> i32 {
    3
}

fn default_text() -> String {
    DEFAULT_TEXT.to_owned()
}

/// A milestone with its stock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Milestone {
    pub id: i64,
    pub goal: i32,
    pub reward_kind: RewardKind,
    pub reward_name: String,
    pub link: Option<String>,
    /// Coupon codes uploaded, and those not handed out yet (kind `coupon`).
    pub stock_total: i64,
    pub stock_left: i64,
}

/// A campaign as shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub keyword: String,
    pub menu_key: Option<String>,
    pub starts_on: String,
    pub ends_on: String,
    pub holding_days: i32,
    pub milestones: Vec<Milestone>,
    pub end_when_out_of_stock: bool,
    pub poster_text: String,
    pub layout: PosterLayout,
    /// Whether a background image was uploaded (else the default one is used).
    pub has_background: bool,
    /// The background's size in pixels (the default one's when none was uploaded).
    pub width: u32,
    pub height: u32,
    /// `scheduled`, `running` or `ended`.
    pub status: String,
    /// Why it ended early (`out_of_stock`, `stopped`), if it did.
    pub ended_reason: Option<String>,
}

/// A milestone's standing on the board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MilestoneStanding {
    pub milestone_id: i64,
    pub goal: i32,
    pub reward_name: String,
    /// Members who reached it.
    pub reached: i64,
    /// Rewards handed out (issued or redeemed), waiting for review, and refused for want of
    /// stock.
    pub issued: i64,
    pub held: i64,
    pub out_of_stock: i64,
    /// Coupons left (kind `coupon`).
    pub remaining: i64,
}

/// One day of a campaign (Beijing time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CampaignDay {
    pub day: String,
    pub joined: i64,
    pub credited: i64,
    pub taken_back: i64,
    pub rewards: i64,
}

/// A member on the campaign's top list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TopInviter {
    pub referrer_id: i64,
    pub name: String,
    /// Friends counting now (taken-back ones excluded).
    pub credited: i64,
    pub rewards: i64,
}

/// A reward handed out (or waiting), as staff see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Reward {
    pub id: i64,
    pub referrer_id: i64,
    pub member: String,
    pub goal: i32,
    pub reward_name: String,
    pub reward_kind: RewardKind,
    /// `issued`, `held` (waiting for review), `out_of_stock` or `redeemed`.
    pub status: String,
    /// The coupon or redemption code, if any.
    pub code: Option<String>,
    /// When it was earned, Beijing time.
    pub created_at: String,
    pub redeemed_at: Option<String>,
}

/// The campaign board.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CampaignBoard {
    pub campaign: Campaign,
    pub participants: i64,
    /// Friends counting now, and those taken back (unfollowed within the holding period).
    pub credited: i64,
    pub taken_back: i64,
    pub milestones: Vec<MilestoneStanding>,
    pub days: Vec<CampaignDay>,
    pub top: Vec<TopInviter>,
    /// The latest rewards.
    pub rewards: Vec<Reward>,
}

/// A campaign as a member sees it on their page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCampaign {
    pub campaign_id: i64,
    pub name: String,
    pub ends_on: String,
    pub credited: i64,
    /// The next goal and how many friends are still needed, unless every goal is reached.
    pub next_goal: Option<i32>,
    pub left: Option<i64>,
    /// The poster's address (under the member's page).
    pub poster_url: String,
    pub rewards: Vec<MemberReward>,
}

/// A reward as its winner sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberReward {
    pub goal: i32,
    pub reward_name: String,
    pub status: String,
    pub code: Option<String>,
    pub link: Option<String>,
}

/// What the member notices say (also the sandbox's and the tests' reading of them).
pub fn progress_text(campaign: &str, credited: i64, goal: i32) -> String {
    let left = i64::from(goal) - credited;
    format!("【{campaign}】已有 {credited} 位好友助力，还差 {left} 位即可领取奖励！")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_six_hex_digits() {
        assert_eq!(parse_color("#1f2328"), Some([0x1f, 0x23, 0x28]));
        assert_eq!(parse_color("#FFFFFF"), Some([255, 255, 255]));
        for bad in ["1f2328", "#fff", "#12345g", "#1234567", ""] {
            assert_eq!(parse_color(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_progress_notice_says_how_many_are_left() {
        assert_eq!(
            progress_text("春季助力", 2, 3),
            "【春季助力】已有 2 位好友助力，还差 1 位即可领取奖励！"
        );
    }

    #[test]
    fn reward_kinds_keep_their_strings() {
        for kind in [RewardKind::Coupon, RewardKind::Link, RewardKind::Store] {
            assert_eq!(RewardKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(RewardKind::parse("cash"), None);
    }
}
