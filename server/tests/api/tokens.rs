//! API tokens: listed with their state, revoked or expired tokens open nothing, in the
//! dashboard's service and on the command line.

use app::model::Role;
use reqwest::StatusCode;
use sqlx::PgPool;
use tuijian::referral::actor::Actor;
use tuijian::referral::error::ServiceError;
use tuijian::referral::settings;

use crate::common::{TestApp, spawn_app};

async fn status_with(app: &TestApp, token: &str) -> StatusCode {
    app.client
        .get(app.url("/api/v1/referrers"))
        .bearer_auth(token)
        .send()
        .await
        .expect("request")
        .status()
}

fn state_of(list: &[app::model::TokenSummary], name: &str) -> (bool, bool) {
    let t = list.iter().find(|t| t.name == name).expect("listed");
    (t.revoked, t.expired)
}

#[sqlx::test(migrations = "../migrations")]
async fn revoked_and_expired_tokens_open_nothing(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let admin = Actor::cli(1);
    let short = settings::mint_token(&pool, &admin, "short", Role::Staff, Some(1))
        .await
        .expect("mint");
    let forever = settings::mint_token(&pool, &admin, "forever", Role::Staff, None)
        .await
        .expect("mint");
    assert_eq!(status_with(&app, &short).await, StatusCode::OK);
    assert_eq!(status_with(&app, &forever).await, StatusCode::OK);
    let list = settings::list_tokens(&pool, &admin).await.expect("list");
    let short_row = list.iter().find(|t| t.name == "short").expect("listed");
    assert!(short_row.expires_at.is_some() && short_row.last_used_at.is_some());
    assert!(
        list.iter()
            .any(|t| t.name == "forever" && t.expires_at.is_none())
    );

    // Past its expiry a token opens nothing and is listed as expired.
    sqlx::query(
        "update api_token set expires_at = now() - interval '1 second' where name = 'short'",
    )
    .execute(&pool)
    .await
    .expect("expire");
    assert_eq!(status_with(&app, &short).await, StatusCode::UNAUTHORIZED);
    let list = settings::list_tokens(&pool, &admin).await.expect("list");
    assert_eq!(state_of(&list, "short"), (false, true));

    // Revoked: at once; again changes nothing; another account's token is not found.
    let id = list
        .iter()
        .find(|t| t.name == "forever")
        .expect("listed")
        .id;
    settings::revoke_token(&pool, &admin, id)
        .await
        .expect("revoke");
    assert_eq!(status_with(&app, &forever).await, StatusCode::UNAUTHORIZED);
    settings::revoke_token(&pool, &admin, id)
        .await
        .expect("again");
    assert!(matches!(
        settings::revoke_token(&pool, &Actor::cli(2), id).await,
        Err(ServiceError::NotFound(_))
    ));
    let list = settings::list_tokens(&pool, &admin).await.expect("list");
    assert_eq!(state_of(&list, "forever"), (true, false));
    // Admins only; a validity is 1 to 3650 days.
    let manager = Actor::token(1, Role::Manager, "m");
    assert!(matches!(
        settings::revoke_token(&pool, &manager, id).await,
        Err(ServiceError::Forbidden(Role::Admin))
    ));
    assert!(matches!(
        settings::list_tokens(&pool, &manager).await,
        Err(ServiceError::Forbidden(Role::Admin))
    ));
    for days in [0, 3651] {
        assert!(matches!(
            settings::mint_token(&pool, &admin, "x", Role::Staff, Some(days)).await,
            Err(ServiceError::Validation(_))
        ));
    }
    // Creating and revoking are audited, never with the token itself.
    let audit: Vec<(String, String)> = sqlx::query_as(
        "select action, detail::text from audit_log where action like 'token.%' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["token.create", "token.create", "token.revoke"]);
    assert!(
        audit
            .iter()
            .all(|(_, d)| !d.contains(&short[3..]) && !d.contains(&forever[3..]))
    );
}

/// `tuijian token list` shows each token's state; `tuijian token revoke` ends one.
#[sqlx::test(migrations = "../migrations")]
async fn the_command_line_lists_and_revokes_tokens(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let token = settings::mint_token(&pool, &Actor::cli(1), "ci-bot", Role::Manager, Some(30))
        .await
        .expect("mint");
    let run = |args: Vec<String>| {
        let pool = pool.clone();
        async move {
            let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tuijian"))
                .args(&args)
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("DATABASE_URL", crate::setup::url_of(&pool))
                .env("RUST_LOG", "error")
                .output()
                .await
                .expect("run tuijian");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        }
    };
    let (ok, out) = run(vec!["token".into(), "list".into()]).await;
    assert!(ok, "{out}");
    let line = out.lines().find(|l| l.contains("ci-bot")).expect("listed");
    assert!(
        line.contains("manager") && line.ends_with("active"),
        "{line}"
    );
    assert!(
        !out.contains(&token),
        "the token itself is never shown again"
    );
    let id: String = line.split_whitespace().next().expect("id").to_owned();
    let (ok, out) = run(vec!["token".into(), "revoke".into(), "--id".into(), id]).await;
    assert!(ok, "{out}");
    assert_eq!(status_with(&app, &token).await, StatusCode::UNAUTHORIZED);
    let (_, out) = run(vec!["token".into(), "list".into()]).await;
    assert!(
        out.lines()
            .any(|l| l.contains("ci-bot") && l.ends_with("revoked")),
        "{out}"
    );
    let (ok, _) = run(vec![
        "token".into(),
        "revoke".into(),
        "--id".into(),
        "99999".into(),
    ])
    .await;
    assert!(!ok, "an unknown token is an error");
}
