//! The service interface the dashboard needs. The server implements it and hands it to Leptos
//! through context, so server functions and the REST API share every rule (the server's
//! implementation calls the same service layer as its REST handlers and checks the role).

use std::sync::Arc;

use crate::model::{AccountChoice, AccountInput, AccountView, Role, SettingsData};

use crate::model::{
    AppError, CurrentUser, LeaderboardRow, MemberPage, NewQrCode, NewReferrer, Page, QrCode,
    QrQuota, Referrer, ReferrerDetail, ReferrerListQuery, ReferrerPatch, ReportQuery, SandboxCode,
    SimAction, SimMessage, SimOutcome, Stats, SystemStatus,
};

/// Everything the dashboard's server functions may ask of the server.
#[async_trait::async_trait]
pub trait AppService: Send + Sync + 'static {
    /// The running system's mode and health.
    async fn status(&self) -> SystemStatus;

    /// Checks the password (throttled) and opens a session: the user and the cookie value.
    async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(CurrentUser, String), AppError>;
    async fn logout(&self, session: &str);
    /// Whether cookies get the `Secure` attribute (the site is served over HTTPS).
    fn secure_cookies(&self) -> bool;
    /// The user behind a session cookie, if it is live.
    async fn session_user(&self, session: &str) -> Option<CurrentUser>;

    async fn list_referrers(
        &self,
        user: &CurrentUser,
        query: ReferrerListQuery,
    ) -> Result<Page<Referrer>, AppError>;
    async fn create_referrer(
        &self,
        user: &CurrentUser,
        input: NewReferrer,
    ) -> Result<Referrer, AppError>;
    async fn update_referrer(
        &self,
        user: &CurrentUser,
        id: i64,
        patch: ReferrerPatch,
    ) -> Result<Referrer, AppError>;
    async fn archive_referrer(&self, user: &CurrentUser, id: i64) -> Result<Referrer, AppError>;
    async fn referrer_detail(
        &self,
        user: &CurrentUser,
        id: i64,
        referrals_page: i64,
    ) -> Result<ReferrerDetail, AppError>;

    async fn create_qrcode(
        &self,
        user: &CurrentUser,
        referrer_id: i64,
        input: NewQrCode,
    ) -> Result<QrCode, AppError>;
    async fn quota(&self, user: &CurrentUser) -> Result<QrQuota, AppError>;
    /// The account's newest QR codes with their referrers' names (to choose images from).
    async fn code_entries(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<crate::model::CodeEntry>, AppError>;
    /// A one-time code that binds the scanner's WeChat identity to the referrer (staff).
    async fn binding_code(
        &self,
        user: &CurrentUser,
        referrer_id: i64,
    ) -> Result<crate::model::BindingCode, AppError>;

    async fn leaderboard(
        &self,
        user: &CurrentUser,
        query: ReportQuery,
    ) -> Result<Vec<LeaderboardRow>, AppError>;
    async fn stats(&self, user: &CurrentUser, query: ReportQuery) -> Result<Stats, AppError>;

    /// The current account's setup report: what to enter in WeChat and the live checks
    /// (admin).
    async fn setup(&self, user: &CurrentUser) -> Result<crate::setup::SetupReport, AppError>;

    /// Moves a follower's credit to another referrer, with a reason (admin).
    async fn move_credit(
        &self,
        user: &CurrentUser,
        referral_id: i64,
        to_referrer_id: i64,
        reason: String,
    ) -> Result<crate::model::CreditMove, AppError>;

    /// The privacy page: retention and erasures so far (admin).
    async fn privacy(&self, user: &CurrentUser) -> Result<crate::privacy::PrivacyData, AppError>;
    /// Erases a follower on request, the reason kept in the audit log (admin).
    async fn erase_follower(
        &self,
        user: &CurrentUser,
        openid: String,
        reason: String,
    ) -> Result<crate::privacy::ErasureReport, AppError>;
    /// Sets how long raw event payloads and message text are kept (admin).
    async fn set_retention(&self, user: &CurrentUser, days: i32) -> Result<(), AppError>;

    /// The reconciliation page: latest runs and the newest one's report (manager).
    async fn reconcile(
        &self,
        user: &CurrentUser,
    ) -> Result<crate::reconcile::ReconcileData, AppError>;
    /// Starts a reconciliation of the current account (manager).
    async fn start_reconcile(
        &self,
        user: &CurrentUser,
        notify: bool,
    ) -> Result<crate::reconcile::ReconcileRun, AppError>;
    /// Continues a failed reconciliation from its cursor (manager).
    async fn resume_reconcile(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<crate::reconcile::ReconcileRun, AppError>;
    /// Stops a reconciliation; what it recorded stays (manager).
    async fn cancel_reconcile(&self, user: &CurrentUser, id: i64) -> Result<(), AppError>;
    /// Sets or turns off the nightly reconciliation's hour, Beijing time (admin).
    async fn schedule_reconcile(
        &self,
        user: &CurrentUser,
        hour: Option<u8>,
    ) -> Result<(), AppError>;

    /// The abuse review queue: flagged referrals and scans (manager); `status` is `open`
    /// (default), `confirmed`, `voided` or `all`.
    async fn review(
        &self,
        user: &CurrentUser,
        status: Option<String>,
        kind: Option<String>,
        page: Option<i64>,
    ) -> Result<crate::review::ReviewData, AppError>;
    /// Confirms a flagged item: its flags close, the referral keeps counting (manager);
    /// `subject` is `referral` or `scan`.
    async fn confirm_flags(
        &self,
        user: &CurrentUser,
        subject: String,
        id: i64,
    ) -> Result<(), AppError>;
    /// Voids a referral with a reason: it leaves leaderboards and stats (manager).
    async fn void_referral(
        &self,
        user: &CurrentUser,
        referral_id: i64,
        reason: String,
    ) -> Result<(), AppError>;
    /// Restores a voided referral with a reason (manager).
    async fn restore_referral(
        &self,
        user: &CurrentUser,
        referral_id: i64,
        reason: String,
    ) -> Result<(), AppError>;
    /// Sets when the abuse flags are raised (admin).
    async fn set_abuse_thresholds(
        &self,
        user: &CurrentUser,
        thresholds: crate::review::AbuseThresholds,
    ) -> Result<(), AppError>;

    /// The current account's live custom menu and the ready items (admin; asks WeChat).
    async fn menu(&self, user: &CurrentUser) -> Result<crate::menu::MenuPage, AppError>;
    /// Publishes a custom menu after checking WeChat's limits (admin).
    async fn publish_menu(
        &self,
        user: &CurrentUser,
        menu: crate::menu::Menu,
    ) -> Result<crate::menu::MenuPage, AppError>;
    /// Removes the custom menu (admin).
    async fn delete_menu(&self, user: &CurrentUser) -> Result<crate::menu::MenuPage, AppError>;
    /// The simulated account's published menu (sandbox mode only).
    async fn sandbox_menu(&self, user: &CurrentUser)
    -> Result<Option<crate::menu::Menu>, AppError>;

    /// Everything the settings page shows (admin).
    async fn settings(&self, user: &CurrentUser) -> Result<SettingsData, AppError>;
    /// Saves a greeting template; an empty one restores the default (admin).
    async fn save_greeting(
        &self,
        user: &CurrentUser,
        variant: String,
        template: String,
    ) -> Result<(), AppError>;
    /// Sets the template message used to notify referrers and its key mapping; an empty id
    /// means customer-service messages only.
    async fn save_notify_template(
        &self,
        user: &CurrentUser,
        template_id: String,
        fields: Vec<crate::notice::FieldMapping>,
    ) -> Result<(), AppError>;
    async fn add_user(
        &self,
        user: &CurrentUser,
        username: String,
        password: String,
        role: Role,
    ) -> Result<(), AppError>;
    /// Mints an API token valid for `days` (None: until revoked) and returns it (shown once).
    async fn mint_token(
        &self,
        user: &CurrentUser,
        name: String,
        role: Role,
        days: Option<i64>,
    ) -> Result<String, AppError>;
    /// The account's API tokens (admin).
    async fn list_tokens(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<crate::model::TokenSummary>, AppError>;
    /// Revokes an API token of the account (admin).
    async fn revoke_token(&self, user: &CurrentUser, id: i64) -> Result<(), AppError>;

    /// The account's webhook endpoints (admin; never their secrets).
    async fn list_webhooks(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<crate::webhooks::WebhookEndpoint>, AppError>;
    /// Adds a webhook endpoint; its secret is in the answer only (admin).
    async fn create_webhook(
        &self,
        user: &CurrentUser,
        input: crate::webhooks::WebhookInput,
    ) -> Result<crate::webhooks::WebhookWithSecret, AppError>;
    /// Enables or disables a webhook endpoint (admin).
    async fn set_webhook_enabled(
        &self,
        user: &CurrentUser,
        id: i64,
        enabled: bool,
    ) -> Result<crate::webhooks::WebhookEndpoint, AppError>;
    /// A new secret (shown once); the old one signs too for 24 hours (admin).
    async fn rotate_webhook_secret(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<crate::webhooks::WebhookWithSecret, AppError>;
    /// Removes a webhook endpoint and its log (admin).
    async fn delete_webhook(&self, user: &CurrentUser, id: i64) -> Result<(), AppError>;
    /// Queues a test event to the endpoint (admin).
    async fn test_webhook(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<crate::webhooks::QueuedEvent, AppError>;
    /// The endpoint's latest delivery attempts (admin).
    async fn webhook_deliveries(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<Vec<crate::webhooks::WebhookDelivery>, AppError>;
    /// Delivers an event of the endpoint's log again, same id (admin).
    async fn redeliver_webhook(
        &self,
        user: &CurrentUser,
        id: i64,
        event_id: String,
    ) -> Result<crate::webhooks::QueuedEvent, AppError>;

    /// Codes a simulated user can scan (sandbox mode only).
    async fn sandbox_codes(&self, user: &CurrentUser) -> Result<Vec<SandboxCode>, AppError>;
    /// Plays a simulated WeChat user (sandbox mode only); with `lost`, WeChat gives up on the
    /// callback and our server hears nothing.
    async fn simulate(
        &self,
        user: &CurrentUser,
        action: SimAction,
        who: String,
        qrcode_id: Option<i64>,
        content: Option<String>,
        lost: bool,
    ) -> Result<SimOutcome, AppError>;

    /// Messages the account sent a simulated user (sandbox mode only).
    async fn sandbox_messages(
        &self,
        user: &CurrentUser,
        who: String,
    ) -> Result<Vec<SimMessage>, AppError>;

    /// The WeChat user tags a simulated user carries (sandbox mode only).
    async fn sandbox_user_tags(
        &self,
        user: &CurrentUser,
        who: String,
    ) -> Result<Vec<String>, AppError>;

    /// Sets the keywords and menu key followers use to get a personal code (admin).
    async fn save_member_settings(
        &self,
        user: &CurrentUser,
        keywords: Vec<String>,
        menu_key: String,
    ) -> Result<(), AppError>;
    /// Puts a member's name back to the neutral fallback (staff).
    async fn reset_member_name(&self, user: &CurrentUser, referrer_id: i64)
    -> Result<(), AppError>;

    /// The accounts the user works in (for the header's switcher).
    async fn my_accounts(&self, user: &CurrentUser) -> Result<Vec<AccountChoice>, AppError>;
    /// Opens the session in another account the user holds a role in.
    async fn switch_account(&self, session: &str, account_id: i64)
    -> Result<CurrentUser, AppError>;
    /// Adds an Official Account; its creator becomes its admin (admin).
    async fn create_account(
        &self,
        user: &CurrentUser,
        input: AccountInput,
    ) -> Result<AccountView, AppError>;
    /// Changes the current account's settings (admin of it).
    async fn update_account(
        &self,
        user: &CurrentUser,
        input: AccountInput,
    ) -> Result<AccountView, AppError>;

    /// A member's personal page; the unguessable key is the only credential.
    async fn member_page(&self, token: String) -> Result<MemberPage, AppError>;
    /// The member sets the name friends see; returns the cleaned name.
    async fn member_set_name(&self, token: String, name: String) -> Result<String, AppError>;

    /// Restores an archived referrer (staff).
    async fn restore_referrer(&self, user: &CurrentUser, id: i64) -> Result<Referrer, AppError>;
    /// Archives (`archived`) or restores the account's referrers among `ids` (manager).
    async fn bulk_archive(
        &self,
        user: &CurrentUser,
        ids: Vec<i64>,
        archived: bool,
    ) -> Result<crate::model::BulkOutcome, AppError>;
    /// Adds a tag to the account's referrers among `ids` (manager).
    async fn bulk_tag(
        &self,
        user: &CurrentUser,
        ids: Vec<i64>,
        tag: String,
    ) -> Result<crate::model::BulkOutcome, AppError>;
    /// One new code for each of the account's referrers among `ids` (manager).
    async fn bulk_codes(
        &self,
        user: &CurrentUser,
        ids: Vec<i64>,
        input: NewQrCode,
    ) -> Result<crate::model::BulkOutcome, AppError>;

    /// The account's users with role, standing and last sign-in (admin).
    async fn list_users(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<crate::model::ManagedUser>, AppError>;
    /// Changes a user's role in the account (admin).
    async fn set_user_role(
        &self,
        user: &CurrentUser,
        user_id: i64,
        role: Role,
    ) -> Result<crate::model::ManagedUser, AppError>;
    /// Disables or enables a user in the account (admin).
    async fn set_user_active(
        &self,
        user: &CurrentUser,
        user_id: i64,
        active: bool,
    ) -> Result<crate::model::ManagedUser, AppError>;
    /// Sets a new password for a user of the account and ends their sessions (admin).
    async fn reset_user_password(
        &self,
        user: &CurrentUser,
        user_id: i64,
        password: String,
    ) -> Result<(), AppError>;

    // Fission campaigns (manager; redeeming in-store rewards: staff).
    async fn list_campaigns(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<crate::campaigns::Campaign>, AppError>;
    async fn create_campaign(
        &self,
        user: &CurrentUser,
        input: crate::campaigns::CampaignInput,
    ) -> Result<crate::campaigns::Campaign, AppError>;
    async fn update_campaign(
        &self,
        user: &CurrentUser,
        id: i64,
        input: crate::campaigns::CampaignInput,
    ) -> Result<crate::campaigns::Campaign, AppError>;
    /// The campaign with its participants, counts, days, top inviters and latest rewards.
    async fn campaign_board(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<crate::campaigns::CampaignBoard, AppError>;
    /// Ends the campaign now.
    async fn stop_campaign(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<crate::campaigns::Campaign, AppError>;
    /// Confirms that an in-store reward was collected (staff).
    async fn redeem_reward(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<crate::campaigns::Reward, AppError>;
    /// Hands out a reward held for review.
    async fn release_reward(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<crate::campaigns::Reward, AppError>;
}

/// The shared handle put into Leptos context.
pub type Service = Arc<dyn AppService>;
