//! Plain serde types shared by the server and the browser.

use serde::{Deserialize, Serialize};

/// How the server talks to WeChat.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WechatMode {
    /// No credentials configured: the built-in simulator plays WeChat.
    Sandbox,
    /// Real WeChat credentials are configured.
    Live,
}

/// What the overview page and the header show about the running system.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub version: String,
    pub mode: WechatMode,
    pub database_ok: bool,
    /// PostgreSQL's own version string, when the database answered.
    pub database_version: Option<String>,
    pub embedded_database: bool,
}

/// The error a server function returns to the browser: a stable code, a safe message (never
/// database or internal error text) and per-field problems for forms.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AppError {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub fields: Vec<FieldError>,
}

impl AppError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        AppError {
            code: code.to_owned(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn unauthorized() -> Self {
        Self::new("unauthorized", "请先登录 / Please sign in")
    }

    pub fn forbidden() -> Self {
        Self::new(
            "forbidden",
            "您的角色无权执行此操作 / Your role may not do this",
        )
    }

    /// The message with every field's message after it, for places without form fields.
    pub fn full_message(&self) -> String {
        if self.fields.is_empty() {
            return self.message.clone();
        }
        let fields: Vec<&str> = self.fields.iter().map(|f| f.message.as_str()).collect();
        format!("{}: {}", self.message, fields.join("; "))
    }

    /// The HTTP status of this error by its code: the one table of code → status, used by the
    /// REST API and the server functions alike.
    pub fn status(&self) -> u16 {
        match self.code.as_str() {
            "bad_request" => 400,
            "unauthorized" | "invalid_login" => 401,
            "forbidden" | "cross_site" | "not_sandbox" => 403,
            "not_found" => 404,
            "payload_too_large" => 413,
            "unsupported_media_type" => 415,
            "validation_failed" | "simulation_failed" => 422,
            "throttled" => 429,
            "wechat_error" => 502,
            "unavailable" => 503,
            "request_failed" | "internal_error" => 500,
            // Every other code names a conflict with the current state (openid_taken, …).
            _ => 409,
        }
    }

    /// The message for `field`, if the error names it.
    pub fn field(&self, field: &str) -> Option<String> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.message.clone())
    }
}

impl server_fn::error::FromServerFnError for AppError {
    type Encoder = crate::api::codec::JsonText;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        #[cfg(feature = "ssr")]
        use server_fn::error::ServerFnErrorErr as E;
        match value {
            // On the server these mean the request's arguments could not be read: the
            // caller's mistake, answered 400 (the browser never sends such a request).
            #[cfg(feature = "ssr")]
            E::Args(detail) | E::MissingArg(detail) | E::Deserialization(detail) => {
                let e = AppError::new(
                    "bad_request",
                    format!(
                        "请求参数无法读取 / The request's arguments could not be read: {detail}"
                    ),
                );
                crate::api::guard::answer_status(&e);
                e
            }
            other => AppError::new("request_failed", other.to_string()),
        }
    }
}

/// Who someone is to the system. Ordered: each role may do everything the ones below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Role {
    /// Referrers and QR codes.
    Staff,
    /// All data, leaderboards, exports.
    Manager,
    /// Everything: settings, users, API tokens.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "staff" => Some(Role::Staff),
            "manager" => Some(Role::Manager),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Staff => "staff",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Whether this role includes `needed`.
    pub fn allows(self, needed: Role) -> bool {
        self >= needed
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored or sent value that names none of an enum's variants.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

/// A closed set of names that travel as lowercase strings: `as_str`/`parse`, `Display`, and
/// `TryFrom<String>` (for decoding text columns).
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownValue;

            fn try_from(value: String) -> Result<Self, UnknownValue> {
                $name::parse(&value).ok_or(UnknownValue { what: $what, value })
            }
        }
    };
}

string_enum! {
    /// Who made a referrer.
    ReferrerKind, "referrer kind" {
        /// Made by staff.
        Staff => "staff",
        /// A follower who asked for a code.
        Member => "member",
    }
}

string_enum! {
    /// A WeChat parametric QR code's lifetime.
    CodeKind, "QR code kind" {
        /// Never expires (the account has 100,000).
        Permanent => "permanent",
        /// Expires after at most 30 days.
        Temporary => "temporary",
    }
}

string_enum! {
    /// A named reporting period (`custom` takes `from`/`to` dates).
    PeriodName, "period" {
        Day => "day",
        Week => "week",
        Month => "month",
        All => "all",
        Custom => "custom",
    }
}

/// The signed-in dashboard user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub account_id: i64,
    pub username: String,
    pub role: Role,
}

/// Referrer list filters of the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferrerListQuery {
    pub q: Option<String>,
    pub page: i64,
    /// `newest`, `oldest` or `name`.
    pub sort: Option<String>,
    pub archived: bool,
}

/// Period (and leaderboard) filters of the dashboard.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportQuery {
    pub period: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub metric: Option<String>,
    pub kind: Option<String>,
    /// Leaderboard rows wanted (1–1000, default 100).
    #[serde(default)]
    pub limit: Option<i64>,
}

/// A QR code with its image, for display.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrCodeView {
    pub code: QrCode,
    /// An inline SVG image of the code.
    pub svg: String,
}

/// Everything the referrer detail page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferrerDetail {
    pub referrer: Referrer,
    pub codes: Vec<QrCodeView>,
    pub referrals: Page<Referral>,
    pub stats: Stats,
    pub account_name: String,
    /// The latest attempts to tell the referrer about a follower, newest first.
    pub notices: Vec<crate::notice::NoticeAttempt>,
    /// Credit moved to or from this referrer by an admin, newest first.
    #[serde(default)]
    pub credit_moves: Vec<CreditMove>,
    /// Referrers this one's credit can be moved to, `(id, name)` (admins only; else empty).
    #[serde(default)]
    pub move_targets: Vec<(i64, String)>,
    /// The viewer may void (remove) and restore this referrer's referrals (managers).
    #[serde(default)]
    pub can_void: bool,
    /// How the WeChat tags of this referrer's credited followers stand, by tag and state.
    #[serde(default)]
    pub wechat_tags: Vec<WechatTagCount>,
}

/// Followers credited to a referrer whose WeChat tag is in one state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatTagCount {
    pub tag: String,
    /// `pending` (WeChat not told yet), `done` (tagged) or `failed` (WeChat refused).
    pub state: String,
    pub followers: i64,
    /// The latest refusal (`failed`).
    pub last_error: Option<String>,
}

/// An admin moved a follower's credit from one referrer to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditMove {
    pub id: i64,
    pub referral_id: i64,
    pub openid: String,
    pub from_referrer_id: i64,
    pub from_name: String,
    pub to_referrer_id: i64,
    pub to_name: String,
    pub reason: String,
    pub actor: String,
    /// Beijing time.
    pub at: String,
}

/// A one-time code that binds the scanner's WeChat identity to a referrer (ten minutes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingCode {
    pub referrer_id: i64,
    /// What the QR code encodes (WeChat's address for the temporary code).
    pub url: String,
    /// The QR code as SVG.
    pub svg: String,
    /// Until when it can be scanned (the account's time zone).
    pub expires_at: String,
}

/// The permanent-code quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QrQuota {
    pub used: i64,
    pub limit: i64,
}

/// A code the sandbox panel can scan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SandboxCode {
    pub id: i64,
    pub referrer_name: String,
    pub label: Option<String>,
    pub kind: CodeKind,
}

/// What a simulated user does in the sandbox panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SimAction {
    Scan,
    Follow,
    Unfollow,
    Text,
    /// Clicks a CLICK item of the menu (a CLICK event): the one whose key is the content, or
    /// without content the "my referral code" item.
    Menu,
    /// Opens a VIEW item of the menu, whose URL is the content (a VIEW event).
    View,
}

/// What the simulated user saw.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimOutcome {
    pub openid: String,
    /// What WeChat sent us: `subscribe`, `SCAN`, `unsubscribe`, `text`.
    pub sent: String,
    pub reply: Option<String>,
    /// The passive reply's image (a URL the browser can show), for image replies.
    #[serde(default)]
    pub image: Option<String>,
    /// WeChat gave up on the callback: our server never heard of it.
    #[serde(default)]
    pub lost: bool,
}

/// A message the account sent a simulated user through the API (customer-service or template).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimMessage {
    pub id: i64,
    /// `custom` or `template`.
    pub kind: String,
    pub text: Option<String>,
    /// An image the browser can show.
    pub image: Option<String>,
}

/// A member's personal page (`/m/<key>`): their code and the friends it brought.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberPage {
    /// The name friends see; None until the member chose one.
    pub name: Option<String>,
    pub account_name: String,
    /// Staff stopped this member's code.
    pub archived: bool,
    /// The QR code as inline SVG (None when WeChat could not make one just now).
    pub qr_svg: Option<String>,
    /// When a temporary code expires (local time); None for a permanent code.
    pub code_expires_at: Option<String>,
    /// Friends who followed through the member's codes.
    pub total: i64,
    /// Of those, how many still follow.
    pub still_following: i64,
    /// The latest referrals, masked.
    pub latest: Vec<MemberReferral>,
    /// The fission campaigns the member takes part in, newest first.
    #[serde(default)]
    pub campaigns: Vec<crate::campaigns::MemberCampaign>,
}

/// One friend on a member's page (masked).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberReferral {
    pub follower: String,
    pub followed_at: String,
    pub still_following: bool,
}

fn yes() -> bool {
    true
}

/// A person or channel who brings followers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Referrer {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub note: Option<String>,
    pub tags: Vec<String>,
    /// The WeChat user tag (用户标签) put on followers credited to this referrer (a code's own
    /// tag wins); 1 to 30 characters.
    #[serde(default)]
    pub wechat_tag: Option<String>,
    /// The referrer's own WeChat openid, when bound.
    pub openid: Option<String>,
    /// `staff` (made by staff) or `member` (a follower who asked for a code).
    pub kind: ReferrerKind,
    /// False while a member has not chosen the name friends see (greetings use a neutral
    /// fallback until then).
    #[serde(default = "yes")]
    pub name_chosen: bool,
    pub archived: bool,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

/// Fields for a new referrer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewReferrer {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub openid: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// The WeChat user tag for the followers this referrer brings (1 to 30 characters).
    #[serde(default)]
    pub wechat_tag: Option<String>,
}

/// A partial update: absent fields stay; `null` clears an optional field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReferrerPatch {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub phone: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub note: Option<Option<String>>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub openid: Option<Option<String>>,
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub wechat_tag: Option<Option<String>>,
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// A parametric QR code of a referrer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct QrCode {
    pub id: i64,
    pub referrer_id: i64,
    /// `permanent` or `temporary`.
    pub kind: CodeKind,
    /// The scene string WeChat sends back as `qrscene_<scene>`.
    pub scene: String,
    pub label: Option<String>,
    /// The WeChat user tag put on followers who come through this code (instead of the
    /// referrer's).
    #[serde(default)]
    pub wechat_tag: Option<String>,
    pub ticket: String,
    /// The URL encoded in the QR image.
    pub url: String,
    /// RFC 3339; only for temporary codes.
    pub expires_at: Option<String>,
    pub created_at: String,
}

/// Request to create a QR code.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewQrCode {
    /// `permanent` or `temporary`.
    pub kind: String,
    /// Temporary codes: 60 to 2,592,000 seconds (30 days); default 2,592,000.
    #[serde(default)]
    pub expire_seconds: Option<i64>,
    #[serde(default)]
    pub label: Option<String>,
    /// `string` (the default: a scene string, QR_STR_SCENE / QR_LIMIT_STR_SCENE) or `integer`
    /// (a scene id, QR_SCENE / QR_LIMIT_SCENE: permanent ids are 1 to 100,000, for older
    /// integrations and printed material that expect numbers).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(example = "string"))]
    pub scene_type: Option<String>,
    /// A WeChat user tag for the followers this code brings (1 to 30 characters; without one,
    /// the referrer's tag applies).
    #[serde(default)]
    pub wechat_tag: Option<String>,
}

/// A follower brought by a referrer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Referral {
    pub id: i64,
    pub openid: String,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub qr_code_id: i64,
    pub followed_at: String,
    pub unfollowed_at: Option<String>,
    pub still_following: bool,
    /// A manager voided it: it stays recorded but counts on no leaderboard or stat.
    #[serde(default)]
    pub voided: bool,
    /// Why it was voided.
    #[serde(default)]
    pub void_reason: Option<String>,
    /// The WeChat user tag the follower is to carry for this credit, if any.
    #[serde(default)]
    pub wechat_tag: Option<String>,
    /// Where WeChat stands on that tag: `pending`, `done` or `failed`.
    #[serde(default)]
    pub wechat_tag_state: Option<String>,
    /// Why WeChat refused the tag (`failed`).
    #[serde(default)]
    pub wechat_tag_error: Option<String>,
}

/// One page of a list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub per_page: i64,
}

/// One row of the leaderboard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LeaderboardRow {
    /// Competition ranking ("1224"): equal values share a rank.
    pub rank: i64,
    pub referrer_id: i64,
    pub name: String,
    pub kind: ReferrerKind,
    pub follows: i64,
    pub unfollows: i64,
    pub net_follows: i64,
    pub retained: i64,
    /// New follows on each of the last 14 days (Beijing days, oldest first, today last): the
    /// row's trend. Empty in the CSV export.
    #[serde(default)]
    pub trend: Vec<i64>,
}

/// Figures for a period, overall or for one referrer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Stats {
    pub scans: i64,
    pub unique_scanners: i64,
    pub new_follows: i64,
    pub unfollows: i64,
    pub net_follows: i64,
    /// Followers referred in the period who still follow.
    pub still_following: i64,
    /// Referred in the period at least 7 days ago and still following.
    pub retained_7d: i64,
    pub retained_30d: i64,
    pub daily: Vec<DailyPoint>,
    /// The period's first and last day (`YYYY-MM-DD`, both included), in `time_zone`.
    #[serde(default)]
    pub first_day: String,
    #[serde(default)]
    pub last_day: String,
    /// Where the days begin and end: `Asia/Shanghai`.
    #[serde(default)]
    pub time_zone: String,
}

/// One day of the daily series (dates in China Standard Time).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DailyPoint {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub scans: i64,
    pub follows: i64,
    pub unfollows: i64,
}

/// A validation problem with one input field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// One greeting variant in the settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GreetingSetting {
    /// `referred`, `plain`, `refollow` or `scan`.
    pub variant: String,
    pub template: String,
    pub default_template: String,
    /// Whether staff changed it from the default.
    pub custom: bool,
}

/// What the settings page shows of the WeChat configuration: never a secret, only whether it
/// is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WechatInfo {
    pub mode: WechatMode,
    pub appid: Option<String>,
    pub appsecret_set: bool,
    pub token_set: bool,
    pub aes_key_set: bool,
    pub api_base: String,
    /// Where WeChat and followers reach this server (`PUBLIC_URL`, else the listen address),
    /// e.g. `https://tuijian.example.com`: callback URLs are this plus an account's path.
    pub public_url: String,
}

/// An Official Account as the dashboard and the API show it: never a secret, only whether
/// it is set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: i64,
    pub name: String,
    pub appid: Option<String>,
    /// The original id (`gh_…`), the ToUserName of its callbacks.
    pub original_id: Option<String>,
    pub mode: WechatMode,
    pub token_set: bool,
    /// An EncodingAESKey is set: callbacks are encrypted (safe mode).
    pub safe_mode: bool,
    pub appsecret_set: bool,
    /// The path WeChat calls for this account, e.g. `/wechat/callback/2`.
    pub callback_path: String,
    /// The first account: its WeChat settings follow the server's `WECHAT_*` variables (or
    /// the sandbox's defaults); only its name can be edited.
    pub env_configured: bool,
    pub created_at: String,
}

/// An account the signed-in user may switch to, with their role there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountChoice {
    pub id: i64,
    pub name: String,
    /// Simulated or real.
    pub mode: WechatMode,
    pub role: Role,
    /// The account the session is open in.
    pub current: bool,
}

/// The fields of a new or edited account. Secrets left empty keep what is stored (an edit);
/// `encoding_aes_key: Some("")` clears the key (plaintext mode).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccountInput {
    pub name: String,
    #[serde(default)]
    pub appid: Option<String>,
    #[serde(default)]
    pub original_id: Option<String>,
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub encoding_aes_key: Option<String>,
    #[serde(default)]
    pub appsecret: Option<String>,
    /// `sandbox` or `live`; default: the deployment's mode.
    #[serde(default)]
    pub mode: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub created_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
    /// RFC 3339; None: valid until revoked.
    #[serde(default)]
    pub expires_at: Option<String>,
    /// Past its expiry: it authenticates nothing.
    #[serde(default)]
    pub expired: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub created_at: String,
}

/// Everything the settings page shows (admin only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsData {
    pub greetings: Vec<GreetingSetting>,
    /// Texts a follower sends to get a personal code.
    pub member_keywords: Vec<String>,
    /// The menu CLICK key that does the same.
    pub member_menu_key: String,
    pub notify_template_id: Option<String>,
    /// Which template key gets which value.
    pub notify_template_fields: Vec<crate::notice::FieldMapping>,
    pub wechat: WechatInfo,
    /// The account the settings are for.
    pub account: AccountView,
    /// Every account the signed-in admin administers (the current one included).
    pub accounts: Vec<AccountView>,
    pub users: Vec<UserSummary>,
    pub tokens: Vec<TokenSummary>,
    pub audit: Vec<AuditEntry>,
}

/// The most referrers one bulk action of the list takes.
pub const MAX_BULK_IDS: usize = 200;

/// The role the list's bulk actions need. One click changes up to [`MAX_BULK_IDS`] referrers
/// (or spends as many permanent codes); staff change referrers one at a time on their pages.
pub const BULK_ROLE: Role = Role::Manager;

/// What a bulk action on referrers did, by referrer id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkOutcome {
    /// Changed (or, for codes, given a new code).
    pub done: Vec<i64>,
    /// Already as asked (archived, restored, tagged): nothing to do.
    pub unchanged: Vec<i64>,
    /// No referrer of this account has the id: nothing happened.
    pub missing: Vec<i64>,
    /// Could not be changed, with why.
    pub failed: Vec<BulkFailure>,
}

/// A referrer a bulk action could not change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkFailure {
    pub id: i64,
    pub name: String,
    pub message: String,
}

/// A dashboard user of the current account, as its admins manage them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedUser {
    pub id: i64,
    pub username: String,
    /// Their role in this account.
    pub role: Role,
    /// False once an admin disabled them in this account (they cannot work in it).
    pub active: bool,
    /// Beijing time (`YYYY-MM-DD HH:MM`), None before the first sign-in.
    pub last_sign_in_at: Option<String>,
    /// Beijing time, when the user was made.
    pub created_at: String,
    /// The signed-in admin themselves (who cannot disable or demote themselves).
    pub is_self: bool,
}

/// A QR code with its referrer's name, for choosing codes (the codes page's image download).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeEntry {
    pub id: i64,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub label: Option<String>,
    pub kind: CodeKind,
    /// RFC 3339.
    pub created_at: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_message_names_every_field() {
        let plain = AppError::new("forbidden", "no");
        assert_eq!(plain.full_message(), "no");
        let mut invalid = AppError::new("validation_failed", "invalid input");
        for (field, message) in [("from", "from is required"), ("to", "to is late")] {
            invalid.fields.push(FieldError {
                field: field.into(),
                message: message.into(),
            });
        }
        assert_eq!(
            invalid.full_message(),
            "invalid input: from is required; to is late"
        );
    }

    #[test]
    fn names_round_trip_and_keep_their_json() {
        fn check<T>(all: &[T], as_str: fn(T) -> &'static str, parse: fn(&str) -> Option<T>)
        where
            T: Copy + PartialEq + std::fmt::Debug + Serialize + for<'a> Deserialize<'a>,
        {
            for &v in all {
                assert_eq!(parse(as_str(v)), Some(v));
                assert_eq!(serde_json::to_value(v).expect("json"), as_str(v));
                assert_eq!(
                    serde_json::from_value::<T>(as_str(v).into()).expect("back"),
                    v
                );
            }
            assert_eq!(parse("nope"), None);
            assert_eq!(parse(""), None);
        }
        check(ReferrerKind::ALL, ReferrerKind::as_str, ReferrerKind::parse);
        check(CodeKind::ALL, CodeKind::as_str, CodeKind::parse);
        check(PeriodName::ALL, PeriodName::as_str, PeriodName::parse);
        assert_eq!(
            serde_json::to_value(ReferrerKind::Member).expect("json"),
            "member"
        );
        assert_eq!(
            serde_json::to_value(ReferrerKind::Staff).expect("json"),
            "staff"
        );
        assert_eq!(
            serde_json::to_value(CodeKind::Permanent).expect("json"),
            "permanent"
        );
        assert_eq!(
            serde_json::to_value(CodeKind::Temporary).expect("json"),
            "temporary"
        );
        assert_eq!(PeriodName::parse("month"), Some(PeriodName::Month));
        assert_eq!(PeriodName::Custom.to_string(), "custom");
        assert_eq!(ReferrerKind::parse("Staff"), None);
        let err = CodeKind::try_from("forever".to_owned()).expect_err("unknown");
        assert_eq!(err.to_string(), "unknown QR code kind \"forever\"");
    }
}
