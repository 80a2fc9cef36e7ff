//! Databases for the benchmark: the callback database (1,000 referrers with permanent codes),
//! the baseline's, and the stats databases seeded with COPY (N referrals over 10,000 referrers
//! and one year).

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection, PgPool};

use crate::load::Target;

/// Scenes and names of `n` referrers; names have a fixed width so none contains another.
pub fn targets(n: usize) -> Vec<Target> {
    (1..=n)
        .map(|i| Target {
            scene: format!("b{i:05}"),
            name: format!("推荐人{i:05}"),
        })
        .collect()
}

/// Drops and creates `name` through the maintenance database at `admin_url`; returns its URL.
pub async fn fresh_database(admin_url: &str, name: &str) -> anyhow::Result<String> {
    let mut admin = PgConnection::connect(admin_url).await?;
    // `name` is ours (bench_…), never input.
    let drop = format!("drop database if exists {name} with (force)");
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&mut admin)
        .await?;
    let create = format!("create database {name}");
    sqlx::query(sqlx::AssertSqlSafe(create))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    Ok(database_url(admin_url, name))
}

/// Drops a database made by [`fresh_database`].
pub async fn drop_database(admin_url: &str, name: &str) -> anyhow::Result<()> {
    let mut admin = PgConnection::connect(admin_url).await?;
    let drop = format!("drop database if exists {name} with (force)");
    sqlx::query(sqlx::AssertSqlSafe(drop))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// The URL of database `name` on the server of `admin_url` (…/postgres?host=… form).
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (head, query) = admin_url.split_once('?').unwrap_or((admin_url, ""));
    let base = head.rsplit_once('/').map_or(head, |(b, _)| b);
    if query.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{query}")
    }
}

pub async fn pool(url: &str) -> anyhow::Result<PgPool> {
    Ok(PgPoolOptions::new().max_connections(4).connect(url).await?)
}

/// Our schema plus `targets` as referrers with permanent codes.
pub async fn callback_database(url: &str, targets: &[Target]) -> anyhow::Result<()> {
    let pool = pool(url).await?;
    tuijian::db::MIGRATOR.run(&pool).await?;
    let (scenes, names): (Vec<String>, Vec<String>) = targets
        .iter()
        .map(|t| (t.scene.clone(), t.name.clone()))
        .unzip();
    sqlx::query(
        "with r as (
            insert into referrer (account_id, name)
            select 1, n from unnest($2::text[]) with ordinality as t(n, o) order by o
            returning id, name)
         insert into qr_code (account_id, referrer_id, kind, scene, ticket, url)
         select 1, r.id, 'permanent', s.scene, 'T_' || s.scene, 'http://weixin.qq.com/q/' || s.scene
         from r join unnest($1::text[], $2::text[]) as s(scene, name) on s.name = r.name",
    )
    .bind(&scenes)
    .bind(&names)
    .execute(&pool)
    .await?;
    pool.close().await;
    Ok(())
}

/// The baseline's schema and the same referrers.
pub async fn baseline_database(url: &str, targets: &[Target]) -> anyhow::Result<()> {
    let pool = pool(url).await?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(crate::baseline::SCHEMA))
        .execute(&pool)
        .await?;
    let (scenes, names): (Vec<String>, Vec<String>) = targets
        .iter()
        .map(|t| (t.scene.clone(), t.name.clone()))
        .unzip();
    sqlx::query(
        "insert into referrer (id, name, scene)
         select o, n, s from unnest($1::text[], $2::text[]) with ordinality as t(s, n, o)",
    )
    .bind(&scenes)
    .bind(&names)
    .execute(&pool)
    .await?;
    pool.close().await;
    Ok(())
}

/// Referrals (and their events, followers and scans) seeded for the stats benchmark.
pub const SEED_REFERRERS: u64 = 10_000;
const YEAR_SECS: i64 = 365 * 86_400;
const COPY_EVENT: &str =
    "copy event (account_id, dedup_key, kind, openid, sent_at, event_key, payload) from stdin";
const COPY_FOLLOWER: &str = "copy follower (account_id, openid, subscribed, first_followed_at, last_followed_at, unfollowed_at) from stdin";
const COPY_REFERRAL: &str = "copy referral (account_id, follower_id, referrer_id, qr_code_id, event_id, followed_at) from stdin";
const COPY_SCAN: &str = "copy scan (account_id, event_id, openid, scene, qr_code_id, referrer_id, kind, scanned_at) from stdin";

/// Rows per COPY chunk sent to the server.
const CHUNK: u64 = 20_000;

/// Seeds `n` referrals over [`SEED_REFERRERS`] referrers and the year before now with COPY;
/// returns how long the load took (COPY and the roll-up rebuild; the vacuum and checkpoint
/// after it are not counted). One in ten followers has unfollowed since.
pub async fn stats_database(url: &str, n: u64) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let pool = pool(url).await?;
    tuijian::db::MIGRATOR.run(&pool).await?;
    // Ids of a fresh database start at 1, so row i of each COPY below gets id i.
    sqlx::query(
        "insert into referrer (account_id, name)
         select 1, '推荐人' || lpad(g::text, 5, '0') from generate_series(1, $1::bigint) g",
    )
    .bind(SEED_REFERRERS as i64)
    .execute(&pool)
    .await?;
    sqlx::query(
        "insert into qr_code (account_id, referrer_id, kind, scene, ticket, url)
         select 1, id, 'permanent', 's' || id, 'T_s' || id, 'http://weixin.qq.com/q/s' || id
         from referrer order by id",
    )
    .execute(&pool)
    .await?;
    let now = chrono::Utc::now().timestamp();
    let mut conn = pool.acquire().await?;
    // Bulk load without the per-row triggers (foreign keys and report roll-ups); the
    // roll-ups are rebuilt from the rows in one pass afterwards.
    sqlx::query("set session_replication_role = replica")
        .execute(&mut *conn)
        .await?;
    copy(&mut conn, COPY_EVENT, n, |i, out| {
        let (r, at) = (referrer_of(i), ts(now, i));
        let _ = writeln!(
            out,
            "1\tseed:{i}\tsubscribe\toSEED{i}\t{at}\tqrscene_s{r}\t<xml/>"
        );
    })
    .await?;
    copy(&mut conn, COPY_FOLLOWER, n, |i, out| {
        let at = ts(now, i);
        let (subscribed, unfollowed) = match unfollowed_at(now, i) {
            Some(u) => ("f", u),
            None => ("t", "\\N".to_owned()),
        };
        let _ = writeln!(out, "1\toSEED{i}\t{subscribed}\t{at}\t{at}\t{unfollowed}");
    })
    .await?;
    copy(&mut conn, COPY_REFERRAL, n, |i, out| {
        let (r, at) = (referrer_of(i), ts(now, i));
        let _ = writeln!(out, "1\t{i}\t{r}\t{r}\t{i}\t{at}");
    })
    .await?;
    copy(&mut conn, COPY_SCAN, n, |i, out| {
        let (r, at) = (referrer_of(i), ts(now, i));
        let _ = writeln!(out, "1\t{i}\toSEED{i}\ts{r}\t{r}\t{r}\tsubscribe\t{at}");
    })
    .await?;
    sqlx::query("set session_replication_role = origin")
        .execute(&mut *conn)
        .await?;
    sqlx::query("set work_mem = '256MB'")
        .execute(&mut *conn)
        .await?;
    tuijian::db::rollup::rebuild(&mut *conn).await?;
    let seeded = started.elapsed();
    // What autovacuum would do next, done before the reads are timed: right after a bulk
    // load it would otherwise vacuum tens of millions of fresh rows on the same two cores
    // while the first reads run (and until then no page is marked all-visible).
    // The vacuum dirties every page it marks; the checkpoint writes them out now rather than
    // in the middle of the timed reads.
    sqlx::query("vacuum (analyze)").execute(&mut *conn).await?;
    sqlx::query("checkpoint").execute(&mut *conn).await?;
    drop(conn);
    pool.close().await;
    Ok(seeded)
}

/// Spreads referrals over the referrers unevenly (a few referrers bring many followers).
fn referrer_of(i: u64) -> u64 {
    let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    let u = (h % 1_000_000) as f64 / 1_000_000.0;
    // Squaring skews towards low ids: referrer 1 gets 1% of all referrals, referrer 10,000 0.005%.
    1 + ((u * u) * SEED_REFERRERS as f64) as u64 % SEED_REFERRERS
}

fn secs_ago(i: u64) -> i64 {
    (i.wrapping_mul(7919) % YEAR_SECS as u64) as i64
}

fn ts(now: i64, i: u64) -> String {
    stamp(now - secs_ago(i))
}

fn unfollowed_at(now: i64, i: u64) -> Option<String> {
    i.is_multiple_of(10)
        .then(|| stamp((now - secs_ago(i) + (i % 30) as i64 * 86_400).min(now)))
}

fn stamp(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M:%S+00")
        .to_string()
}

async fn copy(
    conn: &mut PgConnection,
    statement: &'static str,
    n: u64,
    row: impl Fn(u64, &mut String),
) -> anyhow::Result<()> {
    let mut sink = conn.copy_in_raw(statement).await?;
    let mut buf = String::with_capacity(CHUNK as usize * 100);
    for i in 1..=n {
        row(i, &mut buf);
        if i.is_multiple_of(CHUNK) {
            sink.send(std::mem::take(&mut buf).into_bytes()).await?;
            buf.reserve(CHUNK as usize * 100);
        }
    }
    if !buf.is_empty() {
        sink.send(buf.into_bytes()).await?;
    }
    sink.finish().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_rows_stay_inside_the_year_and_the_referrers() {
        for i in 1..10_000 {
            assert!((1..=SEED_REFERRERS).contains(&referrer_of(i)));
            assert!((0..YEAR_SECS).contains(&secs_ago(i)));
        }
        assert_eq!(
            database_url(
                "postgres://p@localhost:5432/postgres?host=%2Ftmp",
                "bench_x"
            ),
            "postgres://p@localhost:5432/bench_x?host=%2Ftmp"
        );
    }
}
