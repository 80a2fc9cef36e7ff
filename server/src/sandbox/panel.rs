//! The dashboard's sandbox panel as service calls: the codes a simulated user can scan, playing
//! a user, and what the account sent them. Staff only, and only in sandbox mode.

use app::model::{Role, SandboxCode, SimAction, SimMessage, SimOutcome};

use crate::referral::actor::Actor;
use crate::referral::error::ServiceError;
use crate::sandbox::simulate::{self, SimContext, SimError};

/// The panel over one running server.
pub struct Panel<'a> {
    pub pool: &'a sqlx::PgPool,
    pub accounts: &'a crate::accounts::Accounts,
    pub self_url: &'a str,
    pub http: &'a reqwest::Client,
    /// False in live mode, where every call is refused.
    pub sandbox: bool,
}

fn not_sandbox() -> ServiceError {
    ServiceError::Conflict {
        code: "not_sandbox",
        message: "仅沙盒公众号可用 / Sandbox accounts only".into(),
    }
}

fn sim_error(e: SimError) -> ServiceError {
    match e {
        SimError::Database(e) => ServiceError::Database(e),
        other => ServiceError::Conflict {
            code: "simulation_failed",
            message: other.to_string(),
        },
    }
}

impl Panel<'_> {
    fn allow(&self, actor: &Actor) -> Result<(), ServiceError> {
        actor.require(Role::Staff)?;
        if self.sandbox {
            Ok(())
        } else {
            Err(not_sandbox())
        }
    }

    /// The simulator of the caller's account (a live account is refused).
    async fn sim(&self, actor: &Actor) -> Result<SimContext, ServiceError> {
        self.allow(actor)?;
        SimContext::for_account(
            self.accounts,
            self.pool,
            self.self_url,
            self.http,
            actor.account_id,
        )
        .await
        .map_err(|e| match e {
            SimError::LiveAccount(_) => not_sandbox(),
            other => sim_error(other),
        })
    }

    /// Codes a simulated user can scan.
    pub async fn codes(&self, actor: &Actor) -> Result<Vec<SandboxCode>, ServiceError> {
        self.allow(actor)?;
        let rows = crate::db::qrcodes::all_for_sandbox(self.pool, actor.account_id).await?;
        Ok(rows.into_iter().map(SandboxCode::from).collect())
    }

    /// Plays a simulated WeChat user.
    pub async fn simulate(
        &self,
        actor: &Actor,
        action: SimAction,
        who: &str,
        qrcode_id: Option<i64>,
        content: Option<&str>,
        lost: bool,
    ) -> Result<SimOutcome, ServiceError> {
        let mut sim = self.sim(actor).await?;
        sim.lose_callbacks = lost;
        let sim = &sim;
        let reply = match action {
            SimAction::Scan => {
                let code = qrcode_id.ok_or_else(|| {
                    ServiceError::field("qrcode", "请选择二维码 / Pick a QR code")
                })?;
                simulate::scan(sim, code, who).await
            }
            SimAction::Follow => simulate::follow(sim, who).await,
            SimAction::Unfollow => simulate::unfollow(sim, who).await,
            SimAction::Text => simulate::text(sim, who, content.unwrap_or("")).await,
            SimAction::Menu => match content {
                Some(key) => simulate::click(sim, who, key).await,
                None => simulate::menu_click(sim, who).await,
            },
            SimAction::View => simulate::view(sim, who, content.unwrap_or("")).await,
        }
        .map_err(sim_error)?;
        Ok(SimOutcome {
            openid: reply.openid,
            sent: reply.sent,
            reply: reply.reply,
            image: reply
                .image_media_id
                .map(|id| format!("/sandbox/media/{id}")),
            lost: reply.lost,
        })
    }

    /// The simulated account's published menu, as WeChat shows it to followers (None: none).
    pub async fn menu(&self, actor: &Actor) -> Result<Option<app::menu::Menu>, ServiceError> {
        let sim = self.sim(actor).await?;
        let menu = crate::sandbox::menu::stored(self.pool, sim.account_id).await?;
        Ok(menu.as_ref().map(crate::referral::menu::from_wechat))
    }

    /// The names of the WeChat user tags a simulated user carries.
    pub async fn user_tags(&self, actor: &Actor, who: &str) -> Result<Vec<String>, ServiceError> {
        let sim = self.sim(actor).await?;
        let openid = simulate::openid_for(who).map_err(sim_error)?;
        Ok(crate::db::sandbox::user_tag_names(self.pool, sim.account_id, &openid).await?)
    }

    /// Messages the account sent a simulated user, oldest first.
    pub async fn messages(
        &self,
        actor: &Actor,
        who: &str,
    ) -> Result<Vec<SimMessage>, ServiceError> {
        let sim = self.sim(actor).await?;
        let openid = simulate::openid_for(who).map_err(sim_error)?;
        let messages = crate::db::sandbox::messages_to(self.pool, sim.account_id, &openid).await?;
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
}
