//! The baseline: a minimal axum server doing only the work no referral callback can skip:
//! signature check, XML parse, safe-mode crypto, one referrer lookup, one insert, the reply.
//! It has no event de-duplication, no attribution rules, no outbox and no transaction: the
//! price of those is what the ratio ours/baseline shows.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tuijian::wechat::crypto::MsgCrypt;
use tuijian::wechat::message::{self, Inbound};
use tuijian::wechat::signature::{verify_msg_signature, verify_signature};

use crate::wire::{AES_KEY, APPID, TOKEN};

/// The baseline's tables (in its own database).
pub const SCHEMA: &str = "
create table if not exists referrer (id bigint primary key, name text not null, scene text not null unique);
create table if not exists referral (
    id bigint generated always as identity primary key,
    openid text not null unique,
    referrer_id bigint not null references referrer(id),
    followed_at timestamptz not null
)";

#[derive(Clone)]
struct Baseline {
    pool: PgPool,
    crypt: Arc<MsgCrypt>,
}

#[derive(Deserialize)]
struct Params {
    signature: Option<String>,
    timestamp: Option<String>,
    nonce: Option<String>,
    encrypt_type: Option<String>,
    msg_signature: Option<String>,
}

/// Serves the baseline on `addr` until the process is stopped.
pub async fn serve(database_url: &str, addr: SocketAddr) -> anyhow::Result<()> {
    // The same pool size as the server's.
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .connect(database_url)
        .await?;
    let state = Baseline {
        pool,
        crypt: Arc::new(MsgCrypt::new(AES_KEY, APPID)?),
    };
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/wechat/callback", post(callback))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

fn bad(status: StatusCode, why: impl std::fmt::Display) -> Response {
    (status, why.to_string()).into_response()
}

async fn callback(State(s): State<Baseline>, Query(q): Query<Params>, body: Bytes) -> Response {
    let (ts, nonce) = (q.timestamp.as_deref(), q.nonce.as_deref());
    if let Err(e) = verify_signature(TOKEN, ts, nonce, q.signature.as_deref()) {
        return bad(StatusCode::UNAUTHORIZED, e);
    }
    let Ok(text) = std::str::from_utf8(&body) else {
        return bad(StatusCode::BAD_REQUEST, "not UTF-8");
    };
    let safe = q.encrypt_type.as_deref() == Some("aes");
    let xml = if safe {
        let decrypted = message::parse_envelope(text)
            .map_err(|e| e.to_string())
            .and_then(|env| {
                verify_msg_signature(TOKEN, ts, nonce, &env.encrypt, q.msg_signature.as_deref())
                    .map_err(|e| e.to_string())?;
                s.crypt.decrypt(&env.encrypt).map_err(|e| e.to_string())
            });
        match decrypted {
            Ok(xml) => xml,
            Err(e) => return bad(StatusCode::BAD_REQUEST, e),
        }
    } else {
        text.to_owned()
    };
    let inbound = match message::parse_inbound(&xml) {
        Ok(i) => i,
        Err(e) => return bad(StatusCode::BAD_REQUEST, e),
    };
    let Inbound::Subscribe {
        header,
        scene: Some(scene),
        ..
    } = &inbound
    else {
        return "success".into_response();
    };
    let name = match record(&s.pool, scene, &header.from_user, header.create_time).await {
        Ok(Some(name)) => name,
        Ok(None) => return "success".into_response(),
        Err(e) => return bad(StatusCode::SERVICE_UNAVAILABLE, e),
    };
    let now = chrono::Utc::now().timestamp();
    let reply = message::text_reply(
        &header.from_user,
        &header.to_user,
        now,
        &format!("欢迎关注！您是{name}推荐的客户。"),
    );
    if safe {
        message::encrypted_reply(
            &s.crypt,
            TOKEN,
            &reply,
            &now.to_string(),
            nonce.unwrap_or(""),
        )
        .into_response()
    } else {
        reply.into_response()
    }
}

/// One referrer lookup and one insert (autocommit, durable).
async fn record(pool: &PgPool, scene: &str, openid: &str, at: i64) -> sqlx::Result<Option<String>> {
    let referrer: Option<(i64, String)> =
        sqlx::query_as("select id, name from referrer where scene = $1")
            .bind(scene)
            .fetch_optional(pool)
            .await?;
    let Some((id, name)) = referrer else {
        return Ok(None);
    };
    sqlx::query(
        "insert into referral (openid, referrer_id, followed_at) values ($1, $2, to_timestamp($3))",
    )
    .bind(openid)
    .bind(id)
    .bind(at as f64)
    .execute(pool)
    .await?;
    Ok(Some(name))
}
