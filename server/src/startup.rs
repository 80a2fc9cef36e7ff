//! Builds the state and the router, and serves it with graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use app::service::Service;
use app::{App, shell};
use axum::Router;
use axum::extract::{FromRef, MatchedPath, State};
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Json};
use axum::routing::get;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{LeptosRoutes, file_and_error_handler_with_context, generate_route_list};
use secrecy::SecretString;
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::callback::{self, CallbackConfig, SharedCallbackConfig};
use crate::config::Settings;
use crate::db::token::PgTokenStore;
use crate::jobs::Worker;
use crate::referral::ingest::Follows;
use crate::referral::members::MemberContext;
use crate::sandbox::faults::Faults;
use crate::sandbox::simulate::SimContext;
use crate::service::ServerService;
use crate::wechat::api::WechatApi;
use crate::wechat::client::Client;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub service: Service,
    pub callback: SharedCallbackConfig,
    /// The Official Account callbacks are recorded for.
    pub account_id: i64,
    /// The WeChat API (the simulator's, in sandbox mode) with the shared token store.
    pub wechat: Arc<WechatApi>,
    /// Where this server is reachable from itself, e.g. `http://127.0.0.1:3000`.
    pub self_url: String,
    /// Where followers reach this server (`PUBLIC_URL`, else `self_url`).
    pub public_url: String,
    /// The sandbox's fault knobs (unused in live mode).
    pub sandbox_faults: Arc<Faults>,
    /// An HTTP client for the sandbox's simulated users.
    pub http: reqwest::Client,
    /// Wakes the outbox worker when new jobs were committed.
    pub jobs_wake: Arc<Notify>,
    /// Writes follow callbacks in batches.
    pub follows: Follows,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

impl AppState {
    /// State over an existing pool (the database is already migrated), for a server listening
    /// on `addr`. Fails on invalid WeChat settings or when the database does not answer.
    pub async fn new(pool: PgPool, settings: Settings, addr: SocketAddr) -> anyhow::Result<Self> {
        let callback = Arc::new(CallbackConfig::from_settings(&settings)?);
        let account_id = crate::db::events::default_account(&pool).await?;
        let self_url = self_url(addr);
        let wechat = Arc::new(wechat_api(&settings, &pool, account_id, &self_url)?);
        let settings = Arc::new(settings);
        let leptos_options = LeptosOptions::builder()
            .output_name(settings.output_name.clone())
            .site_root(settings.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(settings.site_addr)
            .build();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let sim = SimContext {
            pool: pool.clone(),
            account_id,
            callback: callback.clone(),
            self_url: self_url.clone(),
            http: http.clone(),
        };
        let service: Service = Arc::new(ServerService::new(
            pool.clone(),
            settings.clone(),
            account_id,
            wechat.clone(),
            sim,
        ));
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| self_url.clone());
        Ok(AppState {
            follows: Follows::start(&pool, settings.callback_deadline),
            pool,
            settings,
            leptos_options,
            service,
            callback,
            account_id,
            wechat,
            public_url,
            self_url,
            sandbox_faults: Arc::new(Faults::default()),
            jobs_wake: Arc::new(Notify::new()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
        })
    }
}

impl AppState {
    /// The member features' view of this server.
    pub fn members(&self) -> MemberContext {
        MemberContext {
            pool: self.pool.clone(),
            api: self.wechat.clone(),
            public_url: self.public_url.clone(),
        }
    }
}

/// The URL this server reaches itself at (a wildcard listen address means loopback).
fn self_url(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    format!("http://{host}")
}

/// The API client: WeChat's with the configured credentials, or the built-in simulator's.
fn wechat_api(
    settings: &Settings,
    pool: &PgPool,
    account_id: i64,
    self_url: &str,
) -> anyhow::Result<WechatApi> {
    let store = Arc::new(PgTokenStore::new(pool.clone(), account_id));
    let wechat = &settings.wechat;
    let (base, appid, secret) = if wechat.is_sandbox() {
        (
            format!("{self_url}/sandbox/wx"),
            crate::config::SANDBOX_APPID.to_owned(),
            SecretString::from(crate::sandbox::SANDBOX_SECRET),
        )
    } else {
        (
            wechat.api_base.clone(),
            wechat.effective_appid().to_owned(),
            wechat
                .appsecret
                .clone()
                .context("WECHAT_APPSECRET is required when WECHAT_APPID is set")?,
        )
    };
    let client = Client::new(&base)?;
    Ok(WechatApi::new(
        client,
        store,
        appid,
        secret,
        wechat.classic_token,
    ))
}

/// The whole HTTP surface, without a socket (tests drive it directly).
pub fn router(state: AppState) -> Router {
    // Generated once per process: while Leptos generates a route list it suppresses resource
    // loading process-wide, and a page render that starts meanwhile (another router in the
    // same process, as in the tests) would wait forever (leptos-rs/leptos#4773).
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::OnceLock::new();
    let routes = ROUTES.get_or_init(|| generate_route_list(App)).clone();
    let service = state.service.clone();
    let context = move || provide_context(service.clone());
    let options = state.leptos_options.clone();
    let sandbox = state.settings.wechat.is_sandbox();
    let router = Router::new()
        .route("/healthz", get(healthz))
        .route("/m", get(crate::member_auth::start))
        .route("/m/oauth/callback", get(crate::member_auth::finish))
        .route("/metrics", get(crate::metrics::render))
        .route(
            "/wechat/callback",
            get(callback::verify_url).post(callback::receive),
        )
        .nest("/api/v1", crate::rest::router());
    let router = if sandbox {
        router.nest("/sandbox", crate::sandbox::router())
    } else {
        router
    };
    router
        .leptos_routes_with_context(&state, routes, context.clone(), move || {
            shell(options.clone())
        })
        .fallback(file_and_error_handler_with_context::<AppState, _>(
            context, shell,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            require_login,
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let route = req
                    .extensions()
                    .get::<MatchedPath>()
                    .map(MatchedPath::as_str)
                    .unwrap_or("-");
                let request_id = req
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %req.method(), route, request_id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

/// Dashboard pages need a signed-in user: without a live session they redirect to `/login`.
/// (Server functions, the API, the callback and static files check for themselves.)
async fn require_login(
    State(state): State<AppState>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path();
    let open = path == "/login"
        || path == "/m"
        || path == "/healthz"
        || path == "/metrics"
        || path == "/favicon.ico"
        || ["/pkg/", "/sfn/", "/api/", "/wechat/", "/sandbox/", "/m/"]
            .iter()
            .any(|p| path.starts_with(p));
    if open || req.method() != axum::http::Method::GET {
        return next.run(req).await;
    }
    let cookie = req
        .headers()
        .get(axum::http::header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::referral::users::cookie_value)
        .map(str::to_owned);
    let signed_in = match cookie {
        Some(c) => matches!(
            crate::referral::users::session_user(&state.pool, &c).await,
            Ok(Some(_))
        ),
        None => false,
    };
    if signed_in {
        next.run(req).await
    } else {
        axum::response::Redirect::to("/login").into_response()
    }
}

/// `GET /healthz`: 200 when the database answers within a second, 503 otherwise.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    match crate::db::ping(&state.pool, Duration::from_secs(1)).await {
        Some(_) => (StatusCode::OK, Json(serde_json::json!({"status": "ok"}))),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "unavailable", "database": "unreachable"})),
        ),
    }
}

/// Serves on a bound listener, with the outbox worker, until `shutdown` resolves; in-flight
/// requests and the job being run finish first.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop_worker, worker_stopped) = watch::channel(false);
    let worker = Worker {
        pool: state.pool.clone(),
        api: state.wechat.clone(),
        wake: state.jobs_wake.clone(),
        members: state.members(),
        follows: state.follows.clone(),
    };
    crate::metrics::handle();
    let upkeep = tokio::spawn(crate::metrics::upkeep(worker_stopped.clone()));
    let worker = tokio::spawn(worker.run(worker_stopped));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_worker.send(true);
    let _ = worker.await;
    let _ = upkeep.await;
    served
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
