//! The server's implementation of the dashboard's service interface (`app::service`). Every
//! method checks the role and calls the same service layer as the REST API.

use std::sync::Arc;
use std::time::Duration;

use app::model::{
    AppError, CurrentUser, LeaderboardRow, MemberPage, NewQrCode, NewReferrer, Page, QrCode,
    QrCodeView, QrQuota, Referrer, ReferrerDetail, ReferrerListQuery, ReferrerPatch, ReportQuery,
    Role, SandboxCode, SettingsData, SimAction, SimMessage, SimOutcome, Stats, SystemStatus,
    WechatMode,
};
use app::service::AppService;
use sqlx::PgPool;

use crate::config::Settings;
use crate::db::referrers::{ReferrerQuery, ReferrerSort};
use crate::referral::error::ServiceError;
use crate::referral::members::{self, MemberContext};
use crate::referral::reports::Filters;
use crate::referral::{qrcodes, referrers, reports, settings, users};
use crate::sandbox::simulate::{self, SimContext, SimError};
use crate::wechat::api::WechatApi;

/// Backs the dashboard's server functions.
pub struct ServerService {
    pool: PgPool,
    settings: Arc<Settings>,
    account_id: i64,
    wechat: Arc<WechatApi>,
    sim: SimContext,
}

impl ServerService {
    pub fn new(
        pool: PgPool,
        settings: Arc<Settings>,
        account_id: i64,
        wechat: Arc<WechatApi>,
        sim: SimContext,
    ) -> Self {
        ServerService {
            pool,
            settings,
            account_id,
            wechat,
            sim,
        }
    }
}

/// Service errors as the browser sees them: never database text.
pub fn to_app_error(e: ServiceError) -> AppError {
    match e {
        ServiceError::Validation(fields) => AppError {
            code: "validation_failed".into(),
            message: "请检查标出的字段 / Please check the marked fields".into(),
            fields,
        },
        ServiceError::NotFound(what) => AppError::new("not_found", format!("{what} not found")),
        ServiceError::Conflict { code, message } => AppError::new(code, message),
        ServiceError::Upstream(detail) => {
            tracing::warn!(%detail, "WeChat call failed");
            AppError::new(
                "wechat_error",
                format!("微信接口出错 / WeChat error: {detail}"),
            )
        }
        ServiceError::Database(e) => {
            tracing::error!(error = %e, "database error in a server function");
            AppError::new(
                "unavailable",
                "服务暂时不可用，请稍后重试 / Temporarily unavailable, please retry",
            )
        }
    }
}

fn sim_error(e: SimError) -> AppError {
    match e {
        SimError::Database(e) => to_app_error(ServiceError::Database(e)),
        other => AppError::new("simulation_failed", other.to_string()),
    }
}

fn need(user: &CurrentUser, role: Role) -> Result<(), AppError> {
    if user.role.allows(role) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

fn filters(q: ReportQuery) -> Filters {
    Filters {
        period: q.period,
        from: q.from,
        to: q.to,
        metric: q.metric,
        kind: q.kind,
        limit: Some(200),
    }
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
        users::login(&self.pool, self.account_id, username, password)
            .await
            .map_err(to_app_error)
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
        need(user, Role::Staff)?;
        let sort = query
            .sort
            .as_deref()
            .and_then(ReferrerSort::parse)
            .unwrap_or_default();
        let q = ReferrerQuery {
            q: query.q,
            page: query.page.max(1),
            per_page: 20,
            sort,
            include_archived: query.archived,
        };
        referrers::list(&self.pool, user.account_id, &q)
            .await
            .map_err(to_app_error)
    }

    async fn create_referrer(
        &self,
        user: &CurrentUser,
        input: NewReferrer,
    ) -> Result<Referrer, AppError> {
        need(user, Role::Staff)?;
        referrers::create(&self.pool, user.account_id, &actor(user), &input)
            .await
            .map_err(to_app_error)
    }

    async fn update_referrer(
        &self,
        user: &CurrentUser,
        id: i64,
        patch: ReferrerPatch,
    ) -> Result<Referrer, AppError> {
        need(user, Role::Staff)?;
        referrers::update(&self.pool, user.account_id, &actor(user), id, &patch)
            .await
            .map_err(to_app_error)
    }

    async fn archive_referrer(&self, user: &CurrentUser, id: i64) -> Result<Referrer, AppError> {
        need(user, Role::Staff)?;
        referrers::archive(&self.pool, user.account_id, &actor(user), id)
            .await
            .map_err(to_app_error)
    }

    async fn referrer_detail(
        &self,
        user: &CurrentUser,
        id: i64,
        referrals_page: i64,
    ) -> Result<ReferrerDetail, AppError> {
        need(user, Role::Staff)?;
        let account = user.account_id;
        let referrer = referrers::get(&self.pool, account, id)
            .await
            .map_err(to_app_error)?;
        let codes = qrcodes::of_referrer(&self.pool, account, id)
            .await
            .map_err(to_app_error)?
            .into_iter()
            .map(|code| {
                let svg = crate::qr::svg(&code.url).unwrap_or_default();
                QrCodeView { code, svg }
            })
            .collect();
        let referrals = reports::referrals_of(&self.pool, account, id, referrals_page, 20)
            .await
            .map_err(to_app_error)?;
        let stats = reports::stats(&self.pool, account, Some(id), &Filters::default())
            .await
            .map_err(to_app_error)?;
        let account_name = crate::db::events::account_name(&self.pool, account)
            .await
            .map_err(|e| to_app_error(e.into()))?;
        Ok(ReferrerDetail {
            referrer,
            codes,
            referrals,
            stats,
            account_name,
        })
    }

    async fn create_qrcode(
        &self,
        user: &CurrentUser,
        referrer_id: i64,
        input: NewQrCode,
    ) -> Result<QrCode, AppError> {
        need(user, Role::Staff)?;
        qrcodes::create(
            &self.pool,
            &self.wechat,
            user.account_id,
            &actor(user),
            referrer_id,
            &input,
        )
        .await
        .map_err(to_app_error)
    }

    async fn quota(&self, user: &CurrentUser) -> Result<QrQuota, AppError> {
        need(user, Role::Staff)?;
        let q = qrcodes::quota(&self.pool, user.account_id)
            .await
            .map_err(to_app_error)?;
        Ok(QrQuota {
            used: q.permanent_used,
            limit: q.permanent_limit,
        })
    }

    async fn leaderboard(
        &self,
        user: &CurrentUser,
        query: ReportQuery,
    ) -> Result<Vec<LeaderboardRow>, AppError> {
        need(user, Role::Manager)?;
        reports::leaderboard(&self.pool, user.account_id, &filters(query))
            .await
            .map_err(to_app_error)
    }

    async fn stats(&self, user: &CurrentUser, query: ReportQuery) -> Result<Stats, AppError> {
        need(user, Role::Manager)?;
        reports::stats(&self.pool, user.account_id, None, &filters(query))
            .await
            .map_err(to_app_error)
    }

    async fn settings(&self, user: &CurrentUser) -> Result<SettingsData, AppError> {
        need(user, Role::Admin)?;
        settings::load(&self.pool, &self.settings, user.account_id)
            .await
            .map_err(to_app_error)
    }

    async fn save_greeting(
        &self,
        user: &CurrentUser,
        variant: String,
        template: String,
    ) -> Result<(), AppError> {
        need(user, Role::Admin)?;
        settings::save_greeting(
            &self.pool,
            user.account_id,
            &actor(user),
            &variant,
            &template,
        )
        .await
        .map_err(to_app_error)
    }

    async fn save_notify_template(
        &self,
        user: &CurrentUser,
        template_id: String,
    ) -> Result<(), AppError> {
        need(user, Role::Admin)?;
        settings::save_notify_template(&self.pool, user.account_id, &actor(user), &template_id)
            .await
            .map_err(to_app_error)
    }

    async fn add_user(
        &self,
        user: &CurrentUser,
        username: String,
        password: String,
        role: Role,
    ) -> Result<(), AppError> {
        need(user, Role::Admin)?;
        settings::add_user(&self.pool, user.account_id, &username, &password, role)
            .await
            .map_err(to_app_error)
    }

    async fn mint_token(
        &self,
        user: &CurrentUser,
        name: String,
        role: Role,
    ) -> Result<String, AppError> {
        need(user, Role::Admin)?;
        settings::mint_token(&self.pool, user.account_id, &name, role)
            .await
            .map_err(to_app_error)
    }

    async fn sandbox_codes(&self, user: &CurrentUser) -> Result<Vec<SandboxCode>, AppError> {
        need(user, Role::Staff)?;
        self.sandbox_only()?;
        crate::db::qrcodes::all_for_sandbox(&self.pool, user.account_id)
            .await
            .map_err(|e| to_app_error(e.into()))
    }

    async fn simulate(
        &self,
        user: &CurrentUser,
        action: SimAction,
        who: String,
        qrcode_id: Option<i64>,
        content: Option<String>,
    ) -> Result<SimOutcome, AppError> {
        need(user, Role::Staff)?;
        self.sandbox_only()?;
        let sim = &self.sim;
        let reply = match action {
            SimAction::Scan => {
                let code = qrcode_id.ok_or_else(|| {
                    AppError::new("validation_failed", "请选择二维码 / Pick a QR code")
                })?;
                simulate::scan(sim, code, &who).await
            }
            SimAction::Follow => simulate::follow(sim, &who).await,
            SimAction::Unfollow => simulate::unfollow(sim, &who).await,
            SimAction::Text => simulate::text(sim, &who, content.as_deref().unwrap_or("")).await,
            SimAction::Menu => simulate::menu_click(sim, &who).await,
        }
        .map_err(sim_error)?;
        Ok(SimOutcome {
            openid: reply.openid,
            sent: reply.sent,
            reply: reply.reply,
            image: reply
                .image_media_id
                .map(|id| format!("/sandbox/media/{id}")),
        })
    }

    async fn sandbox_messages(
        &self,
        user: &CurrentUser,
        who: String,
    ) -> Result<Vec<SimMessage>, AppError> {
        need(user, Role::Staff)?;
        self.sandbox_only()?;
        let openid = simulate::openid_for(&who).map_err(sim_error)?;
        let messages = crate::db::sandbox::messages_to(&self.pool, &openid)
            .await
            .map_err(|e| to_app_error(e.into()))?;
        Ok(messages
            .into_iter()
            .map(|m| {
                let body = &m.body;
                let text = body["text"]["content"]
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| {
                        (m.kind == "template").then(|| {
                            let data = &body["data"];
                            ["keyword1", "keyword2", "keyword3"]
                                .iter()
                                .filter_map(|k| data[*k]["value"].as_str())
                                .collect::<Vec<_>>()
                                .join(" · ")
                        })
                    });
                let image = body["image"]["media_id"]
                    .as_str()
                    .map(|id| format!("/sandbox/media/{id}"));
                SimMessage {
                    id: m.id,
                    kind: m.kind,
                    text,
                    image,
                }
            })
            .collect())
    }

    async fn save_member_settings(
        &self,
        user: &CurrentUser,
        keywords: Vec<String>,
        menu_key: String,
    ) -> Result<(), AppError> {
        need(user, Role::Admin)?;
        settings::save_member_settings(
            &self.pool,
            user.account_id,
            &actor(user),
            &keywords,
            &menu_key,
        )
        .await
        .map_err(to_app_error)
    }

    async fn reset_member_name(
        &self,
        user: &CurrentUser,
        referrer_id: i64,
    ) -> Result<(), AppError> {
        need(user, Role::Staff)?;
        members::reset_name(&self.pool, user.account_id, referrer_id, &actor(user))
            .await
            .map_err(to_app_error)
    }

    async fn member_page(&self, token: String) -> Result<MemberPage, AppError> {
        self.members().page(&token).await.map_err(to_app_error)
    }

    async fn member_set_name(&self, token: String, name: String) -> Result<String, AppError> {
        self.members()
            .set_name(&token, &name)
            .await
            .map_err(to_app_error)
    }
}

impl ServerService {
    fn members(&self) -> MemberContext {
        MemberContext {
            pool: self.pool.clone(),
            api: self.wechat.clone(),
            public_url: self
                .settings
                .public_url
                .clone()
                .unwrap_or_else(|| self.sim.self_url.clone()),
        }
    }

    fn sandbox_only(&self) -> Result<(), AppError> {
        if self.settings.wechat.is_sandbox() {
            Ok(())
        } else {
            Err(AppError::new(
                "not_sandbox",
                "仅在沙盒模式可用 / Sandbox mode only",
            ))
        }
    }
}

fn actor(user: &CurrentUser) -> String {
    format!("user:{}", user.username)
}
