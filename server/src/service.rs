//! The server's implementation of the dashboard's service interface (`app::service`). Each
//! method turns the signed-in user into an [`Actor`] and calls the same service layer as the
//! REST API; the services check the role.

use std::sync::Arc;
use std::time::Duration;

use app::model::{
    AccountChoice, AccountInput, AccountView, AppError, CurrentUser, LeaderboardRow, MemberPage,
    NewQrCode, NewReferrer, Page, QrCode, QrQuota, Referrer, ReferrerDetail, ReferrerListQuery,
    ReferrerPatch, ReportQuery, Role, SandboxCode, SettingsData, SimAction, SimMessage, SimOutcome,
    Stats, SystemStatus, WechatMode,
};
use app::service::AppService;
use sqlx::PgPool;

use crate::accounts::{Accounts, Mode};
use crate::config::Settings;
use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::referral::members::MemberContext;
use crate::referral::referrers::ListInput;
use crate::referral::{
    abuse, accounts, members, privacy, qrcodes, reconcile, referrers, reports, settings, users,
    webhooks,
};
use crate::sandbox::panel::Panel;

/// Backs the dashboard's server functions.
pub struct ServerService {
    pool: PgPool,
    settings: Arc<Settings>,
    accounts: Arc<Accounts>,
    /// Where this server reaches itself (the simulator posts callbacks there).
    self_url: String,
    http: reqwest::Client,
}

impl ServerService {
    pub fn new(
        pool: PgPool,
        settings: Arc<Settings>,
        accounts: Arc<Accounts>,
        self_url: String,
        http: reqwest::Client,
    ) -> Self {
        ServerService {
            pool,
            settings,
            accounts,
            self_url,
            http,
        }
    }
}

/// A service result as the browser sees it (see `From<ServiceError> for AppError`).
fn answer<T>(result: Result<T, ServiceError>) -> Result<T, AppError> {
    result.map_err(AppError::from)
}

#[async_trait::async_trait]
impl AppService for ServerService {
    async fn status(&self) -> SystemStatus {
        let version = crate::db::ping(&self.pool, Duration::from_secs(2)).await;
        SystemStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            mode: if self.settings.wechat.is_sandbox() {
                WechatMode::Sandbox
            } else {
                WechatMode::Live
            },
            database_ok: version.is_some(),
            database_version: version.map(|v| v.split(" on ").next().unwrap_or(&v).to_owned()),
            embedded_database: self.settings.database_url.is_none(),
        }
    }

    async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<(CurrentUser, String), AppError> {
        answer(users::login(&self.pool, self.accounts.first_id(), username, password).await)
    }

    fn secure_cookies(&self) -> bool {
        self.settings
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    async fn logout(&self, session: &str) {
        if let Err(e) = users::logout(&self.pool, session).await {
            tracing::warn!(error = %e, "logout could not delete the session");
        }
    }

    async fn session_user(&self, session: &str) -> Option<CurrentUser> {
        users::session_user(&self.pool, session)
            .await
            .ok()
            .flatten()
    }

    async fn list_referrers(
        &self,
        user: &CurrentUser,
        query: ReferrerListQuery,
    ) -> Result<Page<Referrer>, AppError> {
        let input = ListInput {
            q: query.q,
            page: Some(query.page),
            per_page: None,
            sort: query.sort,
            archived: query.archived,
        };
        answer(referrers::list(&self.pool, &Actor::user(user), &input).await)
    }

    async fn create_referrer(
        &self,
        user: &CurrentUser,
        input: NewReferrer,
    ) -> Result<Referrer, AppError> {
        answer(referrers::create(&self.pool, &Actor::user(user), &input).await)
    }

    async fn update_referrer(
        &self,
        user: &CurrentUser,
        id: i64,
        patch: ReferrerPatch,
    ) -> Result<Referrer, AppError> {
        answer(referrers::update(&self.pool, &Actor::user(user), id, &patch).await)
    }

    async fn archive_referrer(&self, user: &CurrentUser, id: i64) -> Result<Referrer, AppError> {
        answer(referrers::archive(&self.pool, &Actor::user(user), id).await)
    }

    async fn referrer_detail(
        &self,
        user: &CurrentUser,
        id: i64,
        referrals_page: i64,
    ) -> Result<ReferrerDetail, AppError> {
        answer(referrers::detail(&self.pool, &Actor::user(user), id, Some(referrals_page)).await)
    }

    async fn create_qrcode(
        &self,
        user: &CurrentUser,
        referrer_id: i64,
        input: NewQrCode,
    ) -> Result<QrCode, AppError> {
        let actor = Actor::user(user);
        answer(qrcodes::create(&self.pool, &self.accounts, &actor, referrer_id, &input).await)
    }

    async fn binding_code(
        &self,
        user: &CurrentUser,
        referrer_id: i64,
    ) -> Result<app::model::BindingCode, AppError> {
        let actor = Actor::user(user);
        answer(
            crate::referral::binding::create(&self.pool, &self.accounts, &actor, referrer_id).await,
        )
    }

    async fn quota(&self, user: &CurrentUser) -> Result<QrQuota, AppError> {
        let q = answer(qrcodes::quota(&self.pool, &Actor::user(user)).await)?;
        Ok(QrQuota {
            used: q.permanent_used,
            limit: q.permanent_limit,
        })
    }

    async fn code_entries(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<app::model::CodeEntry>, AppError> {
        answer(crate::referral::exports::codes(&self.pool, &Actor::user(user)).await)
    }

    async fn leaderboard(
        &self,
        user: &CurrentUser,
        query: ReportQuery,
    ) -> Result<Vec<LeaderboardRow>, AppError> {
        let query = ReportQuery {
            // The dashboard shows up to 200 rows.
            limit: query.limit.or(Some(200)),
            ..query
        };
        answer(reports::leaderboard(&self.pool, &Actor::user(user), &query).await)
    }

    async fn stats(&self, user: &CurrentUser, query: ReportQuery) -> Result<Stats, AppError> {
        answer(reports::stats(&self.pool, &Actor::user(user), &query).await)
    }

    async fn setup(&self, user: &CurrentUser) -> Result<app::setup::SetupReport, AppError> {
        let ctx = self.setup_context();
        answer(crate::referral::setup::report(&Actor::user(user), &ctx).await)
    }

    async fn move_credit(
        &self,
        user: &CurrentUser,
        referral_id: i64,
        to_referrer_id: i64,
        reason: String,
    ) -> Result<app::model::CreditMove, AppError> {
        answer(
            crate::referral::credit::move_credit(
                &self.pool,
                &Actor::user(user),
                referral_id,
                to_referrer_id,
                &reason,
            )
            .await,
        )
    }

    async fn privacy(&self, user: &CurrentUser) -> Result<app::privacy::PrivacyData, AppError> {
        answer(privacy::overview(&self.pool, &Actor::user(user)).await)
    }

    async fn erase_follower(
        &self,
        user: &CurrentUser,
        openid: String,
        reason: String,
    ) -> Result<app::privacy::ErasureReport, AppError> {
        answer(privacy::erase(&self.pool, &Actor::user(user), &openid, &reason).await)
    }

    async fn set_retention(&self, user: &CurrentUser, days: i32) -> Result<(), AppError> {
        answer(privacy::set_retention(&self.pool, &Actor::user(user), days).await)
    }

    async fn reconcile(
        &self,
        user: &CurrentUser,
    ) -> Result<app::reconcile::ReconcileData, AppError> {
        answer(reconcile::overview(&self.pool, &Actor::user(user)).await)
    }

    async fn start_reconcile(
        &self,
        user: &CurrentUser,
        notify: bool,
    ) -> Result<app::reconcile::ReconcileRun, AppError> {
        answer(
            reconcile::start(&self.pool, &Actor::user(user), notify)
                .await
                .map(reconcile::view),
        )
    }

    async fn resume_reconcile(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<app::reconcile::ReconcileRun, AppError> {
        answer(
            reconcile::resume(&self.pool, &Actor::user(user), id)
                .await
                .map(reconcile::view),
        )
    }

    async fn cancel_reconcile(&self, user: &CurrentUser, id: i64) -> Result<(), AppError> {
        answer(reconcile::cancel(&self.pool, &Actor::user(user), id).await)
    }

    async fn schedule_reconcile(
        &self,
        user: &CurrentUser,
        hour: Option<u8>,
    ) -> Result<(), AppError> {
        answer(reconcile::set_schedule(&self.pool, &Actor::user(user), hour).await)
    }

    async fn review(
        &self,
        user: &CurrentUser,
        status: Option<String>,
        kind: Option<String>,
        page: Option<i64>,
    ) -> Result<app::review::ReviewData, AppError> {
        answer(
            abuse::queue(
                &self.pool,
                &Actor::user(user),
                status.as_deref(),
                kind.as_deref(),
                page,
            )
            .await,
        )
    }

    async fn confirm_flags(
        &self,
        user: &CurrentUser,
        subject: String,
        id: i64,
    ) -> Result<(), AppError> {
        let actor = Actor::user(user);
        answer(match abuse::subject(&subject, id) {
            Ok(s) => abuse::confirm(&self.pool, &actor, s).await,
            Err(e) => Err(e),
        })
    }

    async fn void_referral(
        &self,
        user: &CurrentUser,
        referral_id: i64,
        reason: String,
    ) -> Result<(), AppError> {
        answer(abuse::void(&self.pool, &Actor::user(user), referral_id, &reason).await)
    }

    async fn restore_referral(
        &self,
        user: &CurrentUser,
        referral_id: i64,
        reason: String,
    ) -> Result<(), AppError> {
        answer(abuse::restore(&self.pool, &Actor::user(user), referral_id, &reason).await)
    }

    async fn set_abuse_thresholds(
        &self,
        user: &CurrentUser,
        thresholds: app::review::AbuseThresholds,
    ) -> Result<(), AppError> {
        answer(abuse::set_thresholds(&self.pool, &Actor::user(user), &thresholds).await)
    }

    async fn menu(&self, user: &CurrentUser) -> Result<app::menu::MenuPage, AppError> {
        let public_url = self.public_url();
        let ctx = self.menu_context(&public_url);
        answer(crate::referral::menu::load(&ctx, &Actor::user(user)).await)
    }

    async fn publish_menu(
        &self,
        user: &CurrentUser,
        menu: app::menu::Menu,
    ) -> Result<app::menu::MenuPage, AppError> {
        let public_url = self.public_url();
        let ctx = self.menu_context(&public_url);
        answer(crate::referral::menu::publish(&ctx, &Actor::user(user), &menu).await)
    }

    async fn delete_menu(&self, user: &CurrentUser) -> Result<app::menu::MenuPage, AppError> {
        let public_url = self.public_url();
        let ctx = self.menu_context(&public_url);
        answer(crate::referral::menu::clear(&ctx, &Actor::user(user)).await)
    }

    async fn sandbox_menu(&self, user: &CurrentUser) -> Result<Option<app::menu::Menu>, AppError> {
        answer(self.panel().menu(&Actor::user(user)).await)
    }

    async fn settings(&self, user: &CurrentUser) -> Result<SettingsData, AppError> {
        let public_url = self.public_url();
        answer(settings::load(&self.pool, &self.settings, &public_url, &Actor::user(user)).await)
    }

    async fn save_greeting(
        &self,
        user: &CurrentUser,
        variant: String,
        template: String,
    ) -> Result<(), AppError> {
        let actor = Actor::user(user);
        answer(settings::save_greeting(&self.pool, &actor, &variant, &template).await)
    }

    async fn save_notify_template(
        &self,
        user: &CurrentUser,
        template_id: String,
        fields: Vec<app::notice::FieldMapping>,
    ) -> Result<(), AppError> {
        let actor = Actor::user(user);
        answer(settings::save_notify_template(&self.pool, &actor, &template_id, &fields).await)
    }

    async fn add_user(
        &self,
        user: &CurrentUser,
        username: String,
        password: String,
        role: Role,
    ) -> Result<(), AppError> {
        let actor = Actor::user(user);
        answer(settings::add_user(&self.pool, &actor, &username, &password, role).await)
    }

    async fn mint_token(
        &self,
        user: &CurrentUser,
        name: String,
        role: Role,
        days: Option<i64>,
    ) -> Result<String, AppError> {
        answer(settings::mint_token(&self.pool, &Actor::user(user), &name, role, days).await)
    }

    async fn list_tokens(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<app::model::TokenSummary>, AppError> {
        answer(settings::list_tokens(&self.pool, &Actor::user(user)).await)
    }

    async fn revoke_token(&self, user: &CurrentUser, id: i64) -> Result<(), AppError> {
        answer(settings::revoke_token(&self.pool, &Actor::user(user), id).await)
    }

    async fn list_webhooks(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<app::webhooks::WebhookEndpoint>, AppError> {
        answer(webhooks::list(&self.pool, &Actor::user(user)).await)
    }

    async fn create_webhook(
        &self,
        user: &CurrentUser,
        input: app::webhooks::WebhookInput,
    ) -> Result<app::webhooks::WebhookWithSecret, AppError> {
        answer(webhooks::create(&self.pool, &Actor::user(user), &input).await)
    }

    async fn set_webhook_enabled(
        &self,
        user: &CurrentUser,
        id: i64,
        enabled: bool,
    ) -> Result<app::webhooks::WebhookEndpoint, AppError> {
        answer(webhooks::set_enabled(&self.pool, &Actor::user(user), id, enabled).await)
    }

    async fn rotate_webhook_secret(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<app::webhooks::WebhookWithSecret, AppError> {
        answer(webhooks::rotate(&self.pool, &Actor::user(user), id).await)
    }

    async fn delete_webhook(&self, user: &CurrentUser, id: i64) -> Result<(), AppError> {
        answer(webhooks::delete(&self.pool, &Actor::user(user), id).await)
    }

    async fn test_webhook(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<app::webhooks::QueuedEvent, AppError> {
        answer(webhooks::send_test(&self.pool, &Actor::user(user), id).await)
    }

    async fn webhook_deliveries(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<Vec<app::webhooks::WebhookDelivery>, AppError> {
        answer(webhooks::deliveries(&self.pool, &Actor::user(user), id).await)
    }

    async fn redeliver_webhook(
        &self,
        user: &CurrentUser,
        id: i64,
        event_id: String,
    ) -> Result<app::webhooks::QueuedEvent, AppError> {
        answer(webhooks::redeliver(&self.pool, &Actor::user(user), id, &event_id).await)
    }

    async fn sandbox_codes(&self, user: &CurrentUser) -> Result<Vec<SandboxCode>, AppError> {
        answer(self.panel().codes(&Actor::user(user)).await)
    }

    async fn simulate(
        &self,
        user: &CurrentUser,
        action: SimAction,
        who: String,
        qrcode_id: Option<i64>,
        content: Option<String>,
        lost: bool,
    ) -> Result<SimOutcome, AppError> {
        let actor = Actor::user(user);
        answer(
            self.panel()
                .simulate(&actor, action, &who, qrcode_id, content.as_deref(), lost)
                .await,
        )
    }

    async fn sandbox_messages(
        &self,
        user: &CurrentUser,
        who: String,
    ) -> Result<Vec<SimMessage>, AppError> {
        answer(self.panel().messages(&Actor::user(user), &who).await)
    }

    async fn sandbox_user_tags(
        &self,
        user: &CurrentUser,
        who: String,
    ) -> Result<Vec<String>, AppError> {
        answer(self.panel().user_tags(&Actor::user(user), &who).await)
    }

    async fn save_member_settings(
        &self,
        user: &CurrentUser,
        keywords: Vec<String>,
        menu_key: String,
    ) -> Result<(), AppError> {
        let actor = Actor::user(user);
        answer(settings::save_member_settings(&self.pool, &actor, &keywords, &menu_key).await)
    }

    async fn reset_member_name(
        &self,
        user: &CurrentUser,
        referrer_id: i64,
    ) -> Result<(), AppError> {
        answer(members::reset_name(&self.pool, &Actor::user(user), referrer_id).await)
    }

    async fn my_accounts(&self, user: &CurrentUser) -> Result<Vec<AccountChoice>, AppError> {
        answer(accounts::choices(&self.pool, user).await)
    }

    async fn switch_account(
        &self,
        session: &str,
        account_id: i64,
    ) -> Result<CurrentUser, AppError> {
        answer(users::switch_account(&self.pool, session, account_id).await)
    }

    async fn create_account(
        &self,
        user: &CurrentUser,
        input: AccountInput,
    ) -> Result<AccountView, AppError> {
        let mode = self.deployment_mode();
        let actor = Actor::user(user);
        answer(accounts::create(&self.pool, &self.accounts, &actor, &input, mode).await)
    }

    async fn update_account(
        &self,
        user: &CurrentUser,
        input: AccountInput,
    ) -> Result<AccountView, AppError> {
        let actor = Actor::user(user);
        let id = user.account_id;
        answer(accounts::update(&self.pool, &self.accounts, &actor, id, &input).await)
    }

    async fn member_page(&self, token: String) -> Result<MemberPage, AppError> {
        answer(self.members().page(&token).await)
    }

    async fn member_set_name(&self, token: String, name: String) -> Result<String, AppError> {
        answer(self.members().set_name(&token, &name).await)
    }

    async fn restore_referrer(&self, user: &CurrentUser, id: i64) -> Result<Referrer, AppError> {
        answer(referrers::restore(&self.pool, &Actor::user(user), id).await)
    }

    async fn bulk_archive(
        &self,
        user: &CurrentUser,
        ids: Vec<i64>,
        archived: bool,
    ) -> Result<app::model::BulkOutcome, AppError> {
        answer(referrers::bulk_archive(&self.pool, &Actor::user(user), &ids, archived).await)
    }

    async fn bulk_tag(
        &self,
        user: &CurrentUser,
        ids: Vec<i64>,
        tag: String,
    ) -> Result<app::model::BulkOutcome, AppError> {
        answer(referrers::bulk_tag(&self.pool, &Actor::user(user), &ids, &tag).await)
    }

    async fn bulk_codes(
        &self,
        user: &CurrentUser,
        ids: Vec<i64>,
        input: NewQrCode,
    ) -> Result<app::model::BulkOutcome, AppError> {
        let actor = Actor::user(user);
        answer(referrers::bulk_codes(&self.pool, &self.accounts, &actor, &ids, &input).await)
    }

    async fn list_users(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<app::model::ManagedUser>, AppError> {
        answer(users::members(&self.pool, &Actor::user(user)).await)
    }

    async fn set_user_role(
        &self,
        user: &CurrentUser,
        user_id: i64,
        role: Role,
    ) -> Result<app::model::ManagedUser, AppError> {
        answer(users::set_role(&self.pool, &Actor::user(user), user_id, role).await)
    }

    async fn set_user_active(
        &self,
        user: &CurrentUser,
        user_id: i64,
        active: bool,
    ) -> Result<app::model::ManagedUser, AppError> {
        answer(users::set_active(&self.pool, &Actor::user(user), user_id, active).await)
    }

    async fn reset_user_password(
        &self,
        user: &CurrentUser,
        user_id: i64,
        password: String,
    ) -> Result<(), AppError> {
        answer(users::reset_password(&self.pool, &Actor::user(user), user_id, &password).await)
    }
    async fn list_campaigns(
        &self,
        user: &CurrentUser,
    ) -> Result<Vec<app::campaigns::Campaign>, AppError> {
        answer(crate::referral::campaigns::list(&self.pool, &Actor::user(user)).await)
    }

    async fn create_campaign(
        &self,
        user: &CurrentUser,
        input: app::campaigns::CampaignInput,
    ) -> Result<app::campaigns::Campaign, AppError> {
        answer(crate::referral::campaigns::create(&self.pool, &Actor::user(user), &input).await)
    }

    async fn update_campaign(
        &self,
        user: &CurrentUser,
        id: i64,
        input: app::campaigns::CampaignInput,
    ) -> Result<app::campaigns::Campaign, AppError> {
        answer(crate::referral::campaigns::update(&self.pool, &Actor::user(user), id, &input).await)
    }

    async fn campaign_board(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<app::campaigns::CampaignBoard, AppError> {
        answer(crate::referral::campaigns::board(&self.pool, &Actor::user(user), id).await)
    }

    async fn stop_campaign(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<app::campaigns::Campaign, AppError> {
        answer(crate::referral::campaigns::stop(&self.pool, &Actor::user(user), id).await)
    }

    async fn redeem_reward(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<app::campaigns::Reward, AppError> {
        answer(crate::referral::campaigns::redeem(&self.pool, &Actor::user(user), id).await)
    }

    async fn release_reward(
        &self,
        user: &CurrentUser,
        id: i64,
    ) -> Result<app::campaigns::Reward, AppError> {
        answer(crate::referral::campaigns::release(&self.pool, &Actor::user(user), id).await)
    }
}

impl ServerService {
    fn members(&self) -> MemberContext {
        MemberContext {
            pool: self.pool.clone(),
            accounts: self.accounts.clone(),
            public_url: self.public_url(),
        }
    }

    /// What the setup checks look at.
    fn setup_context(&self) -> crate::referral::setup::SetupContext<'_> {
        crate::referral::setup::SetupContext {
            pool: &self.pool,
            accounts: &self.accounts,
            public_url: self.settings.public_url.as_deref(),
            self_url: &self.self_url,
        }
    }

    fn menu_context<'a>(&'a self, public_url: &'a str) -> crate::referral::menu::MenuContext<'a> {
        crate::referral::menu::MenuContext {
            pool: &self.pool,
            accounts: &self.accounts,
            public_url,
        }
    }

    /// Where followers and WeChat reach this server.
    fn public_url(&self) -> String {
        self.settings
            .public_url
            .clone()
            .unwrap_or_else(|| self.self_url.clone())
    }

    /// New accounts are simulated in a sandbox deployment and real in a live one, unless the
    /// admin says otherwise.
    fn deployment_mode(&self) -> Mode {
        if self.settings.wechat.is_sandbox() {
            Mode::Sandbox
        } else {
            Mode::Live
        }
    }

    fn panel(&self) -> Panel<'_> {
        Panel {
            pool: &self.pool,
            accounts: &self.accounts,
            self_url: &self.self_url,
            http: &self.http,
            sandbox: self.settings.wechat.is_sandbox(),
        }
    }
}
