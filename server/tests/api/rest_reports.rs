//! Leaderboard, stats, referral lists and CSV export through the REST API.

use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tuijian::referral::roles::Role;
use tuijian::referral::tokens;

use crate::attribution::{app, event, seed_code};
use crate::common::TestApp;

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Value) {
    let resp = app
        .client
        .get(app.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// 张三 brings 3 (one later unfollows), 李四 brings 2, 王五 brings 2; one SCAN and one
/// unknown scene on the side. Events are "now", so every period includes them.
async fn seed(pool: &PgPool, app: &TestApp) -> (i64, i64, i64) {
    let (zhang, _) = seed_code(pool, "张三", "z", None, None).await;
    let (li, _) = seed_code(pool, "李四", "l", None, None).await;
    let (wang, _) = seed_code(pool, "王五", "w", None, None).await;
    let now = chrono::Utc::now().timestamp();
    let follows = [
        ("o1", "z"),
        ("o2", "z"),
        ("o3", "z"),
        ("o4", "l"),
        ("o5", "l"),
        ("o6", "w"),
        ("o7", "w"),
    ];
    for (i, (openid, scene)) in follows.iter().enumerate() {
        event(
            app,
            openid,
            now - 100 + i as i64,
            "subscribe",
            &format!("qrscene_{scene}"),
        )
        .await;
    }
    event(app, "o1", now - 10, "unsubscribe", "").await;
    event(app, "o4", now - 9, "SCAN", "z").await;
    event(app, "o9", now - 8, "subscribe", "qrscene_nope").await;
    (zhang, li, wang)
}

#[sqlx::test(migrations = "../migrations")]
async fn leaderboard_ranks_with_ties_by_each_metric(pool: PgPool) {
    let app = app(&pool).await;
    let (zhang, li, wang) = seed(&pool, &app).await;
    let token = tokens::mint(&pool, 1, "m", Role::Manager)
        .await
        .expect("token");
    let ranks = |body: &Value| -> Vec<(i64, i64, i64)> {
        body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|r| {
                (
                    r["rank"].as_i64().expect("rank"),
                    r["referrer_id"].as_i64().expect("id"),
                    r["follows"].as_i64().expect("follows"),
                )
            })
            .collect()
    };
    let (status, body) = get(&app, &token, "/leaderboard?period=day").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(ranks(&body), [(1, zhang, 3), (2, li, 2), (2, wang, 2)]);
    // Net: 张三 3 - 1 unfollow = 2, a three-way tie, listed by id.
    let (_, body) = get(&app, &token, "/leaderboard?period=week&metric=net").await;
    let rows = body["items"].as_array().expect("items");
    let net: Vec<(i64, i64)> = rows
        .iter()
        .map(|r| {
            (
                r["rank"].as_i64().expect("rank"),
                r["net_follows"].as_i64().expect("net"),
            )
        })
        .collect();
    assert_eq!(net, [(1, 2), (1, 2), (1, 2)]);
    assert_eq!(rows[0]["referrer_id"], zhang);
    assert_eq!(rows[0]["unfollows"], 1);
    let (_, body) = get(&app, &token, "/leaderboard?period=month&metric=retained").await;
    assert_eq!(body["items"][0]["retained"], 2);
    let (_, body) = get(&app, &token, "/leaderboard?kind=member").await;
    assert_eq!(body["items"], Value::Array(vec![]));
}

#[sqlx::test(migrations = "../migrations")]
async fn leaderboard_refuses_bad_filters_and_low_roles(pool: PgPool) {
    let app = app(&pool).await;
    let manager = tokens::mint(&pool, 1, "m", Role::Manager)
        .await
        .expect("token");
    let staff = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    for path in [
        "/leaderboard?period=year",
        "/leaderboard?metric=money",
        "/leaderboard?period=custom&from=2026-02-01&to=2026-01-01",
        "/leaderboard?period=custom&from=yesterday&to=2026-01-01",
        "/leaderboard?kind=robot",
    ] {
        let (status, body) = get(&app, &manager, path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
        assert_eq!(body["error"]["code"], "validation_failed");
    }
    for path in ["/leaderboard", "/stats", "/referrals.csv"] {
        let (status, body) = get(&app, &staff, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(body["error"]["code"], "forbidden");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn stats_give_the_funnel_and_a_daily_series(pool: PgPool) {
    let app = app(&pool).await;
    let (zhang, _, _) = seed(&pool, &app).await;
    let token = tokens::mint(&pool, 1, "m", Role::Manager)
        .await
        .expect("token");
    let (status, s) = get(&app, &token, "/stats?period=day").await;
    assert_eq!(status, StatusCode::OK, "{s}");
    // 7 follows through codes + 1 unknown scene + 1 SCAN = 9 scans by 8 people.
    assert_eq!(s["scans"], 9);
    assert_eq!(s["unique_scanners"], 8);
    assert_eq!(s["new_follows"], 7);
    assert_eq!(s["unfollows"], 1);
    assert_eq!(s["net_follows"], 6);
    assert_eq!(s["still_following"], 6);
    let daily = s["daily"].as_array().expect("daily");
    assert_eq!(daily.len(), 1);
    assert_eq!(daily[0]["follows"], 7);
    let (_, z) = get(
        &app,
        &token,
        &format!("/referrers/{zhang}/stats?period=all"),
    )
    .await;
    assert_eq!(
        (z["scans"].as_i64(), z["new_follows"].as_i64()),
        (Some(4), Some(3))
    );
    assert_eq!(z["unfollows"], 1);
    let (_, custom) = get(
        &app,
        &token,
        "/stats?period=custom&from=2020-01-01&to=2020-01-31",
    )
    .await;
    assert_eq!(custom["new_follows"], 0);
    assert_eq!(custom["daily"].as_array().expect("daily").len(), 31);
    assert_eq!(
        (
            &custom["first_day"],
            &custom["last_day"],
            &custom["time_zone"]
        ),
        (
            &serde_json::json!("2020-01-01"),
            &serde_json::json!("2020-01-31"),
            &serde_json::json!("Asia/Shanghai")
        )
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_referrers_referrals_are_listed_newest_first(pool: PgPool) {
    let app = app(&pool).await;
    let (zhang, _, _) = seed(&pool, &app).await;
    let staff = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let (status, page) = get(&app, &staff, &format!("/referrers/{zhang}/referrals")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["total"], 3);
    let items = page["items"].as_array().expect("items");
    let openids: Vec<&str> = items
        .iter()
        .map(|r| r["openid"].as_str().expect("o"))
        .collect();
    assert_eq!(openids, ["o3", "o2", "o1"]);
    assert_eq!(items[2]["still_following"], false);
    assert!(items[2]["unfollowed_at"].is_string());
    let (status, _) = get(&app, &staff, "/referrers/9999/referrals").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[sqlx::test(migrations = "../migrations")]
async fn referrals_export_as_csv(pool: PgPool) {
    let app = app(&pool).await;
    seed(&pool, &app).await;
    sqlx::query("update referrer set name = '=cmd|x' where name = '王五'")
        .execute(&pool)
        .await
        .expect("rename");
    let token = tokens::mint(&pool, 1, "m", Role::Manager)
        .await
        .expect("token");
    let resp = app
        .client
        .get(app.url("/api/v1/referrals.csv?period=all"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/csv")
    );
    let body = resp.text().await.expect("body");
    let mut reader = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().expect("headers").clone();
    assert_eq!(&headers[3], "openid");
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), 7);
    assert_eq!(&rows[0][2], "张三");
    assert_eq!(&rows[0][3], "o1");
    assert_eq!(&rows[0][7], "no");
    assert!(rows.iter().any(|r| &r[2] == "'=cmd|x"), "formula defused");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_leaderboard_exports_as_csv(pool: PgPool) {
    let app = app(&pool).await;
    seed(&pool, &app).await;
    let token = tokens::mint(&pool, 1, "m", Role::Manager)
        .await
        .expect("token");
    let body = app
        .client
        .get(app.url("/api/v1/leaderboard.csv?period=day"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("request")
        .text()
        .await
        .expect("body");
    let mut reader = csv::Reader::from_reader(body.trim_start_matches('\u{feff}').as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let ranks: Vec<(&str, &str, &str)> = rows.iter().map(|r| (&r[0], &r[2], &r[4])).collect();
    assert_eq!(
        ranks,
        [("1", "张三", "3"), ("2", "李四", "2"), ("2", "王五", "2")]
    );
}

/// Every roll-up row that counts something, as text, after folding the pending deltas;
/// account days summed over their shards. (Rows that went back to zero, e.g. after a
/// re-follow cancelled an unfollow, may stay.)
pub async fn rollups(pool: &PgPool) -> Vec<String> {
    tuijian::db::rollup::fold(pool).await.expect("fold");
    const NONZERO: &str = "(scans, scanners, follows, unfollows, lost, lost_7d, lost_30d)
                           <> (0, 0, 0, 0, 0, 0, 0)";
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select 'd ' || t::text from referrer_day t where {NONZERO}
         union all select 'w ' || t::text from referrer_week t where {NONZERO}
         union all select 'm ' || t::text from referrer_month t where {NONZERO}
         union all select 't ' || t::text from referrer_total t where {NONZERO}
         union all select 'c ' || t::text from referrer_cum t
                   where (follows, unfollows, lost) <> (0, 0, 0)
         union all select 'a ' || (account_id, day, sum(scans), sum(scanners), sum(follows),
                                   sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d))::text
                   from account_day group by account_id, day
                   having (sum(scans), sum(scanners), sum(follows), sum(unfollows), sum(lost),
                           sum(lost_7d), sum(lost_30d)) <> (0, 0, 0, 0, 0, 0, 0)
         union all select 's ' || t::text from scanner t
         order by 1"
    )))
    .fetch_all(pool)
    .await
    .expect("roll-ups")
}

#[sqlx::test(migrations = "../migrations")]
async fn rollups_kept_by_the_callbacks_equal_a_rebuild_from_the_rows(pool: PgPool) {
    let app = app(&pool).await;
    seed(&pool, &app).await;
    let day = 86_400;
    let now = chrono::Utc::now().timestamp();
    // Over weeks: follows, an unfollow within 7 days, one after 30, a re-follow that
    // cancels an unfollow, repeated scans, and scans of an unknown code.
    let script = [
        ("p1", now - 45 * day, "subscribe", "qrscene_z"),
        ("p2", now - 44 * day, "subscribe", "qrscene_l"),
        ("p3", now - 40 * day, "subscribe", "qrscene_z"),
        ("p1", now - 43 * day, "unsubscribe", ""),
        ("p2", now - 5 * day, "unsubscribe", ""),
        ("p3", now - 20 * day, "unsubscribe", ""),
        ("p3", now - 3 * day, "subscribe", "qrscene_w"),
        ("p2", now - 2 * day, "SCAN", "z"),
        ("p2", now - day, "SCAN", "z"),
        ("p4", now - 2 * day, "subscribe", "qrscene_gone"),
    ];
    for (openid, at, kind, key) in script {
        event(&app, openid, at, kind, key).await;
    }
    let token = tokens::mint(&pool, 1, "m", Role::Manager)
        .await
        .expect("token");
    let (_, before) = get(&app, &token, "/stats?period=all").await;
    assert_eq!(before["new_follows"], 10, "{before}");
    assert_eq!(before["unfollows"], 3, "{before}");
    let kept = rollups(&pool).await;
    assert!(kept.len() > 20, "{kept:?}");
    tuijian::db::rollup::rebuild(&pool).await.expect("rebuild");
    assert_eq!(rollups(&pool).await, kept);
    let (_, after) = get(&app, &token, "/stats?period=all").await;
    assert_eq!(after, before);
}

/// The leaderboard of any period, read from day, week, month or all-time roll-ups, equals
/// counting the referral rows of that period.
#[sqlx::test(migrations = "../migrations")]
async fn leaderboards_of_any_period_equal_counting_the_rows(pool: PgPool) {
    let app = app(&pool).await;
    for (name, scene) in [("张三", "z"), ("李四", "l"), ("王五", "w")] {
        seed_code(&pool, name, scene, None, None).await;
    }
    let day = 86_400;
    let now = chrono::Utc::now().timestamp();
    // Seventy days of follows spread unevenly over the three referrers, one in five
    // unfollowing a few days later (or not yet, when that would be in the future).
    for k in 0..70_i64 {
        let scene = ["z", "z", "l", "w", "z", "l"][(k % 6) as usize];
        let openid = format!("f{k}");
        let at = now - k * day;
        event(&app, &openid, at, "subscribe", &format!("qrscene_{scene}")).await;
        if k % 5 == 0 && k >= 3 {
            event(&app, &openid, at + 3 * day, "unsubscribe", "").await;
        }
    }
    let token = tokens::mint(&pool, 1, "m", Role::Manager)
        .await
        .expect("token");
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let monday = today
        - chrono::Days::new(
            chrono::Datelike::weekday(&today)
                .num_days_from_monday()
                .into(),
        );
    let first = chrono::Datelike::with_day(&today, 1).expect("day 1");
    let ago = |n: u64| today - chrono::Days::new(n);
    let mut periods: Vec<(String, chrono::NaiveDate, chrono::NaiveDate)> = vec![
        ("period=day".into(), today, today),
        ("period=week".into(), monday, today),
        ("period=month".into(), first, today),
        ("period=all".into(), ago(400), today),
    ];
    for (from, to) in [
        (69, 0),
        (20, 3),
        (13, 7),
        (40, 33),
        (35, 8),
        (6, 6),
        (62, 29),
        (66, 1),
    ] {
        let (from, to) = (ago(from), ago(to));
        periods.push((format!("period=custom&from={from}&to={to}"), from, to));
    }
    for (query, from, to) in periods {
        let expected: Vec<(i64, i64, i64)> = sqlx::query_as(
            "select r.referrer_id,
                    count(*) filter (where cst_day(r.followed_at) between $1 and $2),
                    count(*) filter (where not f.subscribed
                                     and cst_day(f.unfollowed_at) between $1 and $2)
             from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id
             group by 1
             having count(*) filter (where cst_day(r.followed_at) between $1 and $2
                                     or (not f.subscribed
                                         and cst_day(f.unfollowed_at) between $1 and $2)) > 0
             order by 2 desc, 1",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&pool)
        .await
        .expect("count");
        let (status, body) = get(&app, &token, &format!("/leaderboard?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {body}");
        let got: Vec<(i64, i64, i64)> = body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|r| {
                (
                    r["referrer_id"].as_i64().expect("id"),
                    r["follows"].as_i64().expect("follows"),
                    r["unfollows"].as_i64().expect("unfollows"),
                )
            })
            .collect();
        assert_eq!(got, expected, "{query}");
        assert!(!expected.is_empty(), "{query} has referrals to rank");
    }
}

/// Every referrer's (id, follows, unfollows, retained) in the CST days `[from, to]`, counted
/// from the referral and follower rows (voided referrals count nowhere), ranked as the
/// leaderboard ranks by `metric`.
async fn counted(
    pool: &PgPool,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    metric: &str,
) -> Vec<(i64, i64, i64, i64)> {
    let mut rows: Vec<(i64, i64, i64, i64)> = sqlx::query_as(
        "select r.referrer_id,
                count(*) filter (where cst_day(r.followed_at) between $1 and $2),
                count(*) filter (where not f.subscribed and f.unfollowed_at is not null
                                 and cst_day(f.unfollowed_at) between $1 and $2),
                count(*) filter (where cst_day(r.followed_at) between $1 and $2
                                 and not (not f.subscribed and f.unfollowed_at is not null))
         from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id
         where r.voided_at is null
         group by 1",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
    .expect("count");
    rows.retain(|&(_, follows, unfollows, _)| follows != 0 || unfollows != 0);
    let value = |&(_, follows, unfollows, retained): &(i64, i64, i64, i64)| match metric {
        "follows" => follows,
        "net" => follows - unfollows,
        _ => retained,
    };
    rows.sort_by_key(|r| (std::cmp::Reverse(value(r)), r.0));
    rows
}

/// Leaderboards of many custom ranges (inside months and across them, 5 and 8 months from
/// mid-month to mid-month, a whole year, one day a year ago, random ones), by every metric,
/// equal counting the rows: over a year and a month of follows with unfollows, voided
/// referrals and moved credit, from the roll-ups the folds kept and again after a rebuild.
/// Ranges the roll-ups read in more than two rows per referrer come from the running totals.
#[sqlx::test(migrations = "../migrations")]
async fn leaderboards_of_random_ranges_equal_counting_the_rows(pool: PgPool) {
    use tuijian::referral::actor::Actor;
    let app = app(&pool).await;
    let mut referrers = Vec::new();
    for (name, scene) in [("张三", "z"), ("李四", "l"), ("王五", "w"), ("赵六", "s")] {
        referrers.push(seed_code(&pool, name, scene, None, None).await.0);
    }
    let day = 86_400;
    let now = chrono::Utc::now().timestamp();
    // 400 days back, one or two follows a day at varying hours (some near CST midnight), one
    // in four unfollowing 0 to 40 days later (if that has happened yet), one in 23 coming
    // back.
    for k in 0..400_i64 {
        for j in 0..1 + k % 2 {
            let n = k * 2 + j;
            let scene = ["z", "z", "l", "w", "z", "l", "s"][(n % 7) as usize];
            let openid = format!("r{n}");
            let at = now - k * day - (n * 7_919 % day);
            event(&app, &openid, at, "subscribe", &format!("qrscene_{scene}")).await;
            let gone = at + (n % 41) * day + 3_600;
            if n % 4 == 1 && gone < now {
                event(&app, &openid, gone, "unsubscribe", "").await;
                if n % 23 == 0 && gone + day < now {
                    event(&app, &openid, gone + day, "subscribe", "").await;
                }
            }
        }
    }
    let admin = Actor::cli(1);
    let ids: Vec<i64> = sqlx::query_scalar("select id from referral order by id")
        .fetch_all(&pool)
        .await
        .expect("referrals");
    assert!(ids.len() > 550, "{}", ids.len());
    for (i, id) in ids.iter().enumerate() {
        if i % 13 == 5 {
            tuijian::referral::abuse::void(&pool, &admin, *id, "刷量")
                .await
                .expect("void");
        } else if i % 17 == 3 {
            let to = referrers[i % referrers.len()];
            // Moving to the referrer it already has is refused; any other is fine.
            let _ = tuijian::referral::credit::move_credit(&pool, &admin, *id, to, "更正").await;
        }
    }
    // One voided and restored: it counts again.
    tuijian::referral::abuse::restore(&pool, &admin, ids[5], "误判")
        .await
        .expect("restore");

    let token = tokens::mint(&pool, 1, "m", Role::Manager)
        .await
        .expect("token");
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let ago = |n: u64| today - chrono::Days::new(n);
    let month = chrono::Datelike::with_day(&today, 1).expect("day 1");
    let mid = |back: u32, day: u32| {
        chrono::Datelike::with_day(&(month - chrono::Months::new(back)), day).expect("mid-month")
    };
    let mut ranges = vec![
        (mid(6, 15), mid(1, 14)),
        (mid(9, 15), mid(1, 14)),
        (mid(12, 10), mid(0, 1)),
        (ago(364), today),
        (ago(365), ago(1)),
        (ago(364), ago(364)),
        (ago(366), ago(366)),
        (ago(399), ago(399)),
        (ago(420), today),
    ];
    // Random ranges: a small linear congruential generator, so a failure repeats.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % bound
    };
    for _ in 0..40 {
        let from = ago(next(410));
        let length = [next(3), next(20), next(70), next(400)][next(4) as usize];
        ranges.push((from, (from + chrono::Days::new(length)).min(today)));
    }
    let mut read_cumulative = 0;
    for pass in ["kept by the folds", "rebuilt"] {
        if pass == "rebuilt" {
            // The running totals (and every roll-up) the folds kept equal a rebuild's.
            let kept = rollups(&pool).await;
            assert!(kept.iter().any(|r| r.starts_with("c ")));
            tuijian::db::rollup::rebuild(&pool).await.expect("rebuild");
            assert_eq!(rollups(&pool).await, kept);
        }
        for (i, &(from, to)) in ranges.iter().enumerate() {
            let metric = ["follows", "net", "retained"][i % 3];
            let expected = counted(&pool, from, to, metric).await;
            let query = format!("period=custom&from={from}&to={to}&metric={metric}&limit=1000");
            let (status, body) = get(&app, &token, &format!("/leaderboard?{query}")).await;
            assert_eq!(status, StatusCode::OK, "{query}: {body}");
            let got: Vec<(i64, i64, i64, i64)> = body["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|r| {
                    let n = |k: &str| r[k].as_i64().expect(k);
                    (
                        n("referrer_id"),
                        n("follows"),
                        n("unfollows"),
                        n("retained"),
                    )
                })
                .collect();
            assert_eq!(got, expected, "{pass}: {query}");
            let plan = tuijian::referral::report_plan::Plan::new(
                from,
                to + chrono::Days::new(1),
                today,
                Some(ago(420)),
            );
            read_cumulative += usize::from(!plan.cumulative.is_empty());
        }
    }
    assert!(
        read_cumulative > 20,
        "{read_cumulative} ranges read running totals"
    );
}
