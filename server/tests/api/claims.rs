//! Nothing of the database is held open across a WeChat call: work done once for every
//! instance (the access-token refresh, a member's code) is claimed, called, then recorded. Each
//! test slows the WeChat call with the sandbox's latency knob and watches the database while
//! the call is in flight: no session may sit idle in a transaction, and no advisory lock may be
//! held or awaited. The work still happens once, and a crashed claimer's lease runs out.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::future::join_all;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{Connection, PgConnection, PgPool};
use tuijian::db::sandbox as sim_store;
use tuijian::db::token::PgTokenStore;
use tuijian::sandbox::faults::Fault;
use tuijian::sandbox::simulate;
use tuijian::wechat::client::Client;
use tuijian::wechat::token::{Fetch, StoredToken, TokenStore};

use crate::common::{TestApp, settle_jobs, spawn_app};

/// What this test's database holds open right now, one line each: sessions idle in a
/// transaction for more than 200 ms (a statement gap inside a short transaction is far
/// shorter), and advisory locks held or awaited, except the report roll-up fold's (taken and
/// released inside its one statement, which calls nothing).
const HELD_OPEN: &str = "
    select format('session %s idle in a transaction: %s', pid, left(query, 160))
    from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid()
      and state like 'idle in transaction%'
      and state_change < clock_timestamp() - interval '200 milliseconds'
    union all
    select format('advisory lock (%s, %s, %s) %s by session %s (%s): %s',
                  l.classid, l.objid, l.objsubid,
                  case when l.granted then 'held' else 'awaited' end,
                  l.pid, a.state, left(a.query, 160))
    from pg_locks l join pg_stat_activity a on a.pid = l.pid
    where l.locktype = 'advisory'
      and l.database = (select oid from pg_database where datname = current_database())
      and not (l.objsubid = 1
               and ((l.classid::bigint << 32) | l.objid::bigint)
                   = hashtext('tuijian.stats_fold')::bigint)";

/// Watches the database from `from` to `to` after the call (on a connection of its own, so a
/// pool emptied by waiting requests cannot hide anything); returns what it saw held open.
async fn held_open_between(pool: &PgPool, from: Duration, to: Duration) -> Vec<String> {
    let start = Instant::now();
    let mut conn = PgConnection::connect_with(&pool.connect_options())
        .await
        .expect("watcher connection");
    tokio::time::sleep(from.saturating_sub(start.elapsed())).await;
    let mut seen = BTreeSet::new();
    let mut samples = 0;
    while start.elapsed() < to {
        let lines: Vec<String> = sqlx::query_scalar(HELD_OPEN)
            .fetch_all(&mut conn)
            .await
            .expect("sample pg_stat_activity and pg_locks");
        seen.extend(lines);
        samples += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(samples >= 5, "only {samples} samples taken");
    seen.into_iter().collect()
}

fn slow(app: &TestApp, endpoint: &str, ms: u64) {
    app.state.sandbox_faults.add(&Fault {
        endpoint: endpoint.into(),
        latency_ms: Some(ms),
        ..Fault::default()
    });
}

/// Fetches a token from the sandbox's `cgi-bin/token` (a new token each call), counting calls.
fn counting_fetch(app: &TestApp) -> (Fetch, Arc<AtomicUsize>) {
    let client = Client::new(&app.url("/sandbox/wx")).expect("client");
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let fetch: Fetch = Arc::new(move || {
        let client = client.clone();
        let calls = counted.clone();
        Box::pin(async move {
            calls.fetch_add(1, Ordering::SeqCst);
            let secret = SecretString::from(tuijian::sandbox::SANDBOX_SECRET);
            let token = client
                .classic_token(tuijian::config::SANDBOX_APPID, &secret)
                .await?;
            Ok(StoredToken::from_response(token, Utc::now()))
        })
    });
    (fetch, calls)
}

async fn tokens_issued(pool: &PgPool) -> i64 {
    sim_store::tokens_issued(pool).await.expect("count")
}

async fn refresh_claimed(pool: &PgPool) -> bool {
    sqlx::query_scalar(
        "select refresh_claimed_until is not null from access_token where account_id = 1",
    )
    .fetch_one(pool)
    .await
    .expect("token row")
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_refreshes_through_two_stores_fetch_once_with_nothing_held_open(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (fetch, fetches) = counting_fetch(&app);
    // Two instances' stores over one database.
    let stores = [
        PgTokenStore::new(pool.clone(), 1),
        PgTokenStore::new(pool.clone(), 1),
    ];
    assert!(
        stores[0].load().await.expect("load").is_none(),
        "no token yet"
    );
    let before = tokens_issued(&pool).await;
    slow(&app, "token", 2_000);
    let refreshes = join_all((0..12).map(|i| stores[i % 2].refresh(None, fetch.clone())));
    let started = Instant::now();
    let watched = held_open_between(
        &pool,
        Duration::from_millis(500),
        Duration::from_millis(1_700),
    );
    let (tokens, held) = tokio::join!(refreshes, watched);
    assert!(started.elapsed() >= Duration::from_millis(2_000), "slowed");
    assert!(
        held.is_empty(),
        "held open during the token call:\n{}",
        held.join("\n")
    );
    let tokens: Vec<String> = tokens
        .into_iter()
        .map(|t| t.expect("refreshed").token.expose_secret().to_owned())
        .collect();
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one token for all");
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "one fetch");
    assert_eq!(tokens_issued(&pool).await, before + 1, "one token issued");
    let stored = stores[1].load().await.expect("load").expect("stored");
    assert_eq!(stored.token.expose_secret(), tokens[0]);
    assert!(
        !refresh_claimed(&pool).await,
        "the claim ended with the refresh"
    );

    // WeChat rejects the token: twelve callers holding it replace it once, the same way.
    let stale = tokens[0].clone();
    let refreshes = join_all((0..12).map(|i| stores[i % 2].refresh(Some(&stale), fetch.clone())));
    let watched = held_open_between(
        &pool,
        Duration::from_millis(500),
        Duration::from_millis(1_700),
    );
    let (replaced, held) = tokio::join!(refreshes, watched);
    assert!(held.is_empty(), "held open:\n{}", held.join("\n"));
    let replaced: Vec<String> = replaced
        .into_iter()
        .map(|t| t.expect("replaced").token.expose_secret().to_owned())
        .collect();
    assert!(replaced.iter().all(|t| *t == replaced[0] && *t != stale));
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
    assert_eq!(tokens_issued(&pool).await, before + 2);
    app.state.sandbox_faults.clear();

    // A caller still holding the first token finds the new one: nothing is fetched.
    let again = stores[0]
        .refresh(Some(&stale), fetch.clone())
        .await
        .expect("stored token");
    assert_eq!(again.token.expose_secret(), replaced[0]);
    assert_eq!(fetches.load(Ordering::SeqCst), 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_crashed_refresh_claim_runs_out_and_a_failed_fetch_gives_it_back(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (fetch, fetches) = counting_fetch(&app);
    let store = PgTokenStore::new(pool.clone(), 1);
    // An instance claimed the first refresh and died.
    sqlx::query(
        "insert into access_token (account_id, refresh_claimed_until)
         values (1, now() + interval '1 second')",
    )
    .execute(&pool)
    .await
    .expect("a dead claim");
    let started = Instant::now();
    let token = store.refresh(None, fetch.clone()).await.expect("refreshed");
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "waited for the claim to run out: {:?}",
        started.elapsed()
    );
    assert_eq!(fetches.load(Ordering::SeqCst), 1);
    assert!(!refresh_claimed(&pool).await);

    // WeChat fails the refresh: the error comes back and the claim is given back at once.
    app.state.sandbox_faults.add(&Fault {
        endpoint: "token".into(),
        errcode: Some(45009),
        count: Some(1),
        latency_ms: None,
    });
    let stale = token.token.expose_secret().to_owned();
    let failed = store.refresh(Some(&stale), fetch.clone()).await;
    assert!(failed.is_err(), "the fetch error is returned");
    assert!(!refresh_claimed(&pool).await, "claim given back");
    let started = Instant::now();
    let next = store
        .refresh(Some(&stale), fetch.clone())
        .await
        .expect("next");
    assert!(started.elapsed() < Duration::from_secs(1), "no wait");
    assert_ne!(next.token.expose_secret(), stale);
    assert_eq!(fetches.load(Ordering::SeqCst), 3);
}

/// A follower who became a member without a code yet (naming themselves makes the member).
async fn member_without_code(app: &TestApp, pool: &PgPool, user: &str) -> i64 {
    let sim = app.state.sim();
    simulate::follow(&sim, user).await.expect("follow");
    simulate::text(&sim, user, "我叫 小美").await.expect("name");
    settle_jobs(pool).await;
    let referrer_id: i64 = sqlx::query_scalar("select id from referrer where openid = $1")
        .bind(format!("oSBX_{user}"))
        .fetch_one(pool)
        .await
        .expect("member row");
    assert_eq!(codes_of(pool, referrer_id).await, 0);
    // A token now, so that only qrcode/create is in flight below.
    app.state
        .wechat
        .user_info(&format!("oSBX_{user}"), false)
        .await
        .expect("token warmed up");
    referrer_id
}

async fn codes_of(pool: &PgPool, referrer_id: i64) -> i64 {
    sqlx::query_scalar("select count(*) from qr_code where account_id = 1 and referrer_id = $1")
        .bind(referrer_id)
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn codes_made_by_wechat(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from sandbox_qrcode where account_id = 1")
        .fetch_one(pool)
        .await
        .expect("count")
}

async fn code_claimed(pool: &PgPool, referrer_id: i64) -> bool {
    sqlx::query_scalar(
        "select code_claimed_until is not null from referrer where account_id = 1 and id = $1",
    )
    .bind(referrer_id)
    .fetch_one(pool)
    .await
    .expect("referrer")
}

#[sqlx::test(migrations = "../migrations")]
async fn concurrent_code_requests_make_one_code_with_nothing_held_open(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let referrer_id = member_without_code(&app, &pool, "mia").await;
    let token: String = sqlx::query_scalar("select member_token from referrer where id = $1")
        .bind(referrer_id)
        .fetch_one(&pool)
        .await
        .expect("page key");
    let made_before = codes_made_by_wechat(&pool).await;
    slow(&app, "qrcode/create", 2_000);
    let members = app.state.members();
    // Eight requests at once: the code itself, and the member's page opened twice.
    let direct = join_all((0..6).map(|_| members.code(1, referrer_id)));
    let pages = join_all((0..2).map(|_| {
        app.client
            .post(app.url("/sfn/member/page"))
            .form(&[("token", token.as_str())])
            .send()
    }));
    let started = Instant::now();
    let watched = held_open_between(
        &pool,
        Duration::from_millis(500),
        Duration::from_millis(1_700),
    );
    let (codes, pages, held) = tokio::join!(direct, pages, watched);
    assert!(started.elapsed() >= Duration::from_millis(2_000), "slowed");
    assert!(
        held.is_empty(),
        "held open during qrcode/create:\n{}",
        held.join("\n")
    );
    let ids: Vec<i64> = codes.into_iter().map(|c| c.expect("a code").id).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one code: {ids:?}");
    for page in pages {
        let page = page.expect("page");
        assert_eq!(page.status(), reqwest::StatusCode::OK);
        let data: serde_json::Value = page.json().await.expect("json");
        assert!(data["qr_svg"].as_str().is_some(), "the page shows the code");
    }
    assert_eq!(codes_of(&pool, referrer_id).await, 1, "one code stored");
    assert_eq!(
        codes_made_by_wechat(&pool).await,
        made_before + 1,
        "one qrcode/create"
    );
    assert!(!code_claimed(&pool, referrer_id).await, "claim given back");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_crashed_code_claim_runs_out_and_a_failed_call_gives_it_back(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let referrer_id = member_without_code(&app, &pool, "noah").await;
    let members = app.state.members();

    // WeChat refuses: the error comes back and the claim is given back at once.
    app.state.sandbox_faults.add(&Fault {
        endpoint: "qrcode/create".into(),
        errcode: Some(45009),
        count: Some(1),
        latency_ms: None,
    });
    assert!(members.code(1, referrer_id).await.is_err());
    assert!(!code_claimed(&pool, referrer_id).await, "claim given back");
    assert_eq!(codes_of(&pool, referrer_id).await, 0);

    // A request claimed the making and died: the next one waits for the lease, then makes it.
    sqlx::query(
        "update referrer set code_claimed_until = now() + interval '1 second'
         where account_id = 1 and id = $1",
    )
    .bind(referrer_id)
    .execute(&pool)
    .await
    .expect("a dead claim");
    let started = Instant::now();
    let code = members.code(1, referrer_id).await.expect("a code");
    assert!(
        started.elapsed() >= Duration::from_millis(800),
        "waited for the claim to run out: {:?}",
        started.elapsed()
    );
    assert_eq!(codes_of(&pool, referrer_id).await, 1);
    assert!(!code_claimed(&pool, referrer_id).await);
    // Asked again: the same code, no claim needed.
    assert_eq!(
        members.code(1, referrer_id).await.expect("again").id,
        code.id
    );
    assert_eq!(codes_of(&pool, referrer_id).await, 1);
}
