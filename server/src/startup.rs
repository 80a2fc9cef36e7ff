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
use sqlx::PgPool;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::accounts::Accounts;
use crate::config::Settings;
use crate::http::callback::{self, CallbackConfig, SharedCallbackConfig};
use crate::jobs::Worker;
use crate::referral::ingest::Follows;
use crate::referral::members::MemberContext;
use crate::sandbox::faults::Faults;
use crate::service::ServerService;
use crate::wechat::api::WechatApi;

/// Shared by every handler.
#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub settings: Arc<Settings>,
    pub leptos_options: LeptosOptions,
    pub service: Service,
    /// The first account's callback settings (`/wechat/callback`).
    pub callback: SharedCallbackConfig,
    /// The deployment's first account (the one `/wechat/callback` and `/api/v1/…` mean).
    pub account_id: i64,
    /// Every account, with its callback settings and WeChat API.
    pub accounts: Arc<Accounts>,
    /// The first account's WeChat API (the simulator's, in sandbox mode).
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
    /// Sends webhook deliveries (the outbox worker's).
    pub webhooks: crate::webhooks::Deliverer,
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
        // Checks the WECHAT_* variables (naming a bad one) before they configure the first account.
        CallbackConfig::from_settings(&settings)?;
        if !settings.wechat.is_sandbox() {
            settings
                .wechat
                .appsecret
                .as_ref()
                .context("WECHAT_APPSECRET is required when WECHAT_APPID is set")?;
        }
        let self_url = self_url(addr);
        let settings = Arc::new(settings);
        let accounts =
            Arc::new(Accounts::start(pool.clone(), settings.clone(), self_url.clone()).await?);
        let account_id = accounts.first_id();
        let first = accounts
            .get(account_id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let callback = first.callback.clone();
        let wechat = first.api.clone();
        let leptos_options = LeptosOptions::builder()
            .output_name(settings.output_name.clone())
            .site_root(settings.site_root.to_string_lossy().into_owned())
            .site_pkg_dir("pkg")
            .site_addr(settings.site_addr)
            .build();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let service: Service = Arc::new(ServerService::new(
            pool.clone(),
            settings.clone(),
            accounts.clone(),
            self_url.clone(),
            http.clone(),
        ));
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| self_url.clone());
        Ok(AppState {
            follows: Follows::start(&pool, settings.callback_deadline),
            webhooks: crate::webhooks::Deliverer::new(pool.clone())?,
            pool,
            settings,
            leptos_options,
            service,
            callback,
            account_id,
            accounts,
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
            accounts: self.accounts.clone(),
            public_url: self.public_url.clone(),
        }
    }
}

/// The URL this server reaches itself at (a wildcard listen address means loopback).
pub fn self_url(addr: SocketAddr) -> String {
    let host = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    format!("http://{host}")
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
        .route("/m", get(crate::http::member_auth::start))
        .route("/m/oauth/callback", get(crate::http::member_auth::finish))
        .route(
            "/m/a/{account}",
            get(crate::http::member_auth::start_for_account),
        )
        .route(
            "/m/oauth/callback/{account}",
            get(crate::http::member_auth::finish_for_account),
        )
        .route(
            "/m/{token}/campaigns/{id}/poster.png",
            get(crate::http::member_auth::poster),
        )
        .route(
            "/dashboard/campaigns/{id}/background",
            axum::routing::post(crate::http::dashboard::upload_background),
        )
        .route(
            "/dashboard/campaigns/{id}/coupons",
            axum::routing::post(crate::http::dashboard::upload_coupons),
        )
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::http::dashboard::MAX_UPLOAD_BYTES,
        ))
        .route("/metrics", get(crate::metrics::render))
        .route(
            "/wechat/callback",
            get(callback::verify_url).post(callback::receive),
        )
        .route(
            "/wechat/callback/{account}",
            get(callback::verify_account_url).post(callback::receive_for_account),
        )
        .nest("/api/v1", crate::http::rest::router());
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
    let user = match cookie {
        Some(c) => crate::referral::users::session_user(&state.pool, &c)
            .await
            .ok()
            .flatten(),
        None => None,
    };
    match user {
        Some(user) => {
            // The page's server functions take the user from here: one session look-up
            // per page instead of one per server function.
            let mut req = req;
            req.extensions_mut().insert(app::api::guard::SignedIn(user));
            next.run(req).await
        }
        None => axum::response::Redirect::to("/login").into_response(),
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
        accounts: state.accounts.clone(),
        wake: state.jobs_wake.clone(),
        members: state.members(),
        follows: state.follows.clone(),
        webhooks: state.webhooks.clone(),
    };
    crate::metrics::handle();
    let upkeep = tokio::spawn(crate::metrics::upkeep(worker_stopped.clone()));
    let reconciler = crate::referral::reconcile::Reconciler {
        pool: state.pool.clone(),
        accounts: state.accounts.clone(),
    };
    let reconciler = tokio::spawn(reconciler.run(worker_stopped.clone()));
    let retention = tokio::spawn(crate::referral::privacy::run_retention(
        state.pool.clone(),
        worker_stopped.clone(),
    ));
    let sweeps = tokio::spawn(crate::referral::abuse::run_sweeps(
        state.pool.clone(),
        worker_stopped.clone(),
    ));
    let worker = tokio::spawn(worker.run(worker_stopped));
    let served = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_worker.send(true);
    let _ = worker.await;
    let _ = reconciler.await;
    let _ = retention.await;
    let _ = sweeps.await;
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
