//! Downloads: the stats funnel and daily series as CSV, the whole leaderboard as CSV, the
//! formula guard on text cells only, and the ZIP of chosen codes' images.

use std::io::{Cursor, Read};

use app::model::AccountInput;
use futures_util::StreamExt;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::PgPool;
use tuijian::referral::actor::Actor;
use tuijian::referral::roles::Role;
use tuijian::referral::{accounts, tokens};

use crate::attribution::{app, event, seed_code};
use crate::common::{TestApp, decode_qr};
use crate::skeleton::{page_html, signed_in};

/// GET `/api/v1{path}` with a bearer token: (status, content type, body).
async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, String, Vec<u8>) {
    let resp = app
        .client
        .get(app.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ct").to_owned())
        .unwrap_or_default();
    (status, ct, resp.bytes().await.expect("body").to_vec())
}

async fn get_json(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, _, body) = get(app, token, path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    serde_json::from_slice(&body).expect("json")
}

/// A CSV download: its header and records (the BOM checked and dropped).
async fn csv(app: &TestApp, token: &str, path: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let (status, ct, body) = get(app, token, path).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{path}: {}",
        String::from_utf8_lossy(&body)
    );
    assert!(ct.starts_with("text/csv"), "{path}: {ct}");
    let text = String::from_utf8(body).expect("utf-8");
    let text = text.strip_prefix('\u{feff}').expect("a BOM first");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

async fn manager(pool: &PgPool) -> String {
    tokens::mint(pool, 1, "m", Role::Manager)
        .await
        .expect("token")
}

/// 张三 brings 3 (one unfollows), 李四 2, and one follower scans 张三's code again.
async fn seed(pool: &PgPool, app: &TestApp) {
    seed_code(pool, "张三", "z", None, None).await;
    seed_code(pool, "李四", "l", None, None).await;
    let now = chrono::Utc::now().timestamp();
    for (i, (openid, scene)) in [
        ("o1", "z"),
        ("o2", "z"),
        ("o3", "z"),
        ("o4", "l"),
        ("o5", "l"),
    ]
    .iter()
    .enumerate()
    {
        let key = format!("qrscene_{scene}");
        event(app, openid, now - 100 + i as i64, "subscribe", &key).await;
    }
    event(app, "o1", now - 10, "unsubscribe", "").await;
    event(app, "o4", now - 9, "SCAN", "z").await;
}

#[sqlx::test(migrations = "../migrations")]
async fn the_stats_csv_has_the_figures_of_the_stats_json(pool: PgPool) {
    let app = app(&pool).await;
    seed(&pool, &app).await;
    let token = manager(&pool).await;
    for (json_path, csv_path) in [
        ("/stats?period=day", "/stats.csv?period=day"),
        ("/stats?period=all", "/accounts/1/stats.csv?period=all"),
    ] {
        let stats = get_json(&app, &token, json_path).await;
        let (header, rows) = csv(&app, &token, csv_path).await;
        assert_eq!(header[..2], ["from", "to"]);
        assert_eq!(rows.len(), 1, "{csv_path}");
        let daily = stats["daily"].as_array().expect("daily");
        assert_eq!(rows[0][0], daily[0]["date"].as_str().expect("date"));
        assert_eq!(
            rows[0][1],
            daily[daily.len() - 1]["date"].as_str().expect("date")
        );
        for (name, cell) in header.iter().zip(&rows[0]).skip(2) {
            assert_eq!(cell, &stats[name].to_string(), "{csv_path}: {name}");
        }
        assert_eq!(header.len(), 10);
    }
    let (_, rows) = csv(&app, &token, "/stats.csv?period=day").await;
    // 5 follows + 1 SCAN = 6 scans; 5 new follows, 1 unfollow.
    assert_eq!(rows[0][2..7], ["6", "5", "5", "1", "4"]);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_daily_csv_has_one_record_per_day_of_the_period(pool: PgPool) {
    let app = app(&pool).await;
    seed(&pool, &app).await;
    let token = manager(&pool).await;
    let (header, rows) = csv(
        &app,
        &token,
        "/stats/daily.csv?period=custom&from=2020-01-01&to=2020-01-31",
    )
    .await;
    assert_eq!(
        header,
        ["date", "scans", "follows", "unfollows", "net_follows"]
    );
    assert_eq!(rows.len(), 31);
    assert_eq!(rows[0], ["2020-01-01", "0", "0", "0", "0"]);
    assert_eq!(rows[30][0], "2020-01-31");
    let today = (chrono::Utc::now() + chrono::Duration::hours(8)).date_naive();
    let from = today - chrono::Days::new(2);
    let path = format!("/stats/daily.csv?period=custom&from={from}&to={today}");
    let (_, rows) = csv(&app, &token, &path).await;
    let dates: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    let (d1, d2) = (from.succ_opt().expect("day"), today);
    assert_eq!(dates, [from.to_string(), d1.to_string(), d2.to_string()]);
    assert_eq!(rows[2][1..], ["6", "5", "1", "4"]);
    let stats = get_json(&app, &token, &path.replace("/daily.csv", "")).await;
    assert_eq!(stats["daily"].as_array().expect("daily").len(), rows.len());
    // Manager only, like the JSON; errors are the API's error body.
    let staff = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    for path in ["/stats.csv", "/stats/daily.csv"] {
        let (status, _, body) = get(&app, &staff, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        let body: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["error"]["code"], "forbidden");
    }
    let (status, _, body) = get(&app, &token, "/stats/daily.csv?period=year").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(body["error"]["fields"][0]["field"], "period");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_leaderboard_csv_has_every_row_past_the_page_limit(pool: PgPool) {
    let app = app(&pool).await;
    // 150 referrers; referrer k brings k % 7 + 1 followers, so ranks have ties.
    let scenes: Vec<String> = (0..150).map(|k| format!("s{k}")).collect();
    for (k, scene) in scenes.iter().enumerate() {
        seed_code(&pool, &format!("推荐人{k:03}"), scene, None, None).await;
    }
    let now = chrono::Utc::now().timestamp();
    let follows: Vec<(String, String)> = scenes
        .iter()
        .enumerate()
        .flat_map(|(k, s)| (0..=k % 7).map(move |j| (format!("f{k}_{j}"), format!("qrscene_{s}"))))
        .collect();
    futures_util::stream::iter(follows.iter())
        .for_each_concurrent(8, |(openid, key)| {
            let app = &app;
            async move {
                event(app, openid, now - 50, "subscribe", key).await;
            }
        })
        .await;
    let token = manager(&pool).await;
    let board = get_json(&app, &token, "/leaderboard?period=day").await;
    let items = board["items"].as_array().expect("items");
    assert_eq!(items.len(), 100, "the JSON stops at its default limit");
    let (header, rows) = csv(&app, &token, "/leaderboard.csv?period=day&limit=5").await;
    assert_eq!(header[0], "rank");
    assert_eq!(rows.len(), 150, "every referrer, whatever the limit");
    for (item, row) in items.iter().zip(&rows) {
        assert_eq!(row[0], item["rank"].to_string());
        assert_eq!(row[1], item["referrer_id"].to_string());
        assert_eq!(row[4], item["follows"].to_string());
    }
    let follows: Vec<i64> = rows.iter().map(|r| r[4].parse().expect("n")).collect();
    assert!(follows.windows(2).all(|w| w[0] >= w[1]), "highest first");
    assert_eq!(follows.iter().sum::<i64>(), follows_total(&scenes));
    // Ranks share places: 150 / 7 referrers bring 7 each and all rank 1.
    let firsts = rows.iter().filter(|r| r[0] == "1").count();
    assert_eq!(firsts, 21);
    assert_eq!(rows[21][0], "22");
}

fn follows_total(scenes: &[String]) -> i64 {
    (0..scenes.len()).map(|k| (k % 7 + 1) as i64).sum()
}

#[sqlx::test(migrations = "../migrations")]
async fn formula_text_is_guarded_but_negative_figures_stay_numbers(pool: PgPool) {
    let app = app(&pool).await;
    seed_code(&pool, "=cmd", "x", None, None).await;
    seed_code(&pool, "-李", "y", None, None).await;
    let now = chrono::Utc::now().timestamp();
    // Three followers from 40 days ago leave today: today's net is -3.
    for openid in ["n1", "n2", "n3"] {
        event(&app, openid, now - 40 * 86_400, "subscribe", "qrscene_x").await;
        event(&app, openid, now - 5, "unsubscribe", "").await;
    }
    event(&app, "n4", now - 5, "subscribe", "qrscene_y").await;
    let token = manager(&pool).await;
    let (_, rows) = csv(&app, &token, "/leaderboard.csv?period=day&metric=net").await;
    let cells: Vec<(&str, &str, &str, &str)> = rows
        .iter()
        .map(|r| (r[2].as_str(), r[4].as_str(), r[5].as_str(), r[6].as_str()))
        .collect();
    assert_eq!(cells, [("'-李", "1", "0", "1"), ("'=cmd", "0", "3", "-3")]);
    let (_, rows) = csv(&app, &token, "/stats.csv?period=day").await;
    assert_eq!(rows[0][5..7], ["3", "-2"], "unfollows and net of today");
    let (_, rows) = csv(&app, &token, "/stats/daily.csv?period=day").await;
    assert_eq!(rows[0][4], "-2");
    let (_, rows) = csv(&app, &token, "/referrals.csv?period=all").await;
    let names: Vec<&str> = rows.iter().map(|r| r[2].as_str()).collect();
    assert_eq!(names, ["'=cmd", "'=cmd", "'=cmd", "'-李"]);
}

/// Every entry of a ZIP: (name, bytes).
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a ZIP");
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).expect("entry");
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("read entry");
            (entry.name().expect("a UTF-8 name").into_owned(), data)
        })
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn the_zip_holds_the_chosen_codes_images_named_by_referrer(pool: PgPool) {
    let app = app(&pool).await;
    let (_, zhang) = seed_code(&pool, "张三", "z", None, None).await;
    let (_, odd) = seed_code(&pool, "a/b:c", "ab", None, None).await;
    seed_code(&pool, "李四", "l", None, None).await;
    let staff = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let (status, ct, body) = get(&app, &staff, &format!("/qrcodes.zip?ids={odd},{zhang}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, "application/zip");
    let entries = unzip(&body);
    let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [format!("a_b_c-{odd}.png"), format!("张三-{zhang}.png")]
    );
    assert!(entries[0].1.starts_with(b"\x89PNG\r\n\x1a\n"));
    assert_eq!(decode_qr(&entries[0].1), "http://weixin.qq.com/q/ab");
    assert_eq!(decode_qr(&entries[1].1), "http://weixin.qq.com/q/z");

    let (status, _, body) = get(
        &app,
        &staff,
        &format!("/qrcodes.zip?ids={zhang}&format=svg"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let entries = unzip(&body);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].0, format!("张三-{zhang}.svg"));
    let svg = String::from_utf8(entries[0].1.clone()).expect("utf-8");
    assert!(
        svg.contains("<svg") && svg.trim_end().ends_with("</svg>"),
        "{svg}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn the_zip_refuses_foreign_unknown_and_bad_ids(pool: PgPool) {
    let app = app(&pool).await;
    let (_, own) = seed_code(&pool, "张三", "z", None, None).await;
    let south = accounts::create(
        &pool,
        &app.state.accounts,
        &Actor::cli(1),
        &AccountInput {
            name: "华南分店".into(),
            token: Some("southToken2026".into()),
            ..AccountInput::default()
        },
        tuijian::accounts::Mode::Sandbox,
    )
    .await
    .expect("second account")
    .id;
    let foreign: i64 = sqlx::query_scalar(
        "with r as (insert into referrer (account_id, name) values ($1, '南区') returning id)
         insert into qr_code (account_id, referrer_id, kind, scene, ticket, url)
         select $1, r.id, 'permanent', 'south', 'T_south', 'http://weixin.qq.com/q/south' from r
         returning id",
    )
    .bind(south)
    .fetch_one(&pool)
    .await
    .expect("foreign code");
    let token = tokens::mint(&pool, 1, "s", Role::Staff)
        .await
        .expect("token");
    let many: Vec<String> = (1..=501).map(|i| i.to_string()).collect();
    let cases = [
        (
            format!("/qrcodes.zip?ids={own},{foreign}"),
            404,
            "not_found",
        ),
        (format!("/qrcodes.zip?ids={foreign}"), 404, "not_found"),
        ("/qrcodes.zip?ids=999999".to_owned(), 404, "not_found"),
        ("/qrcodes.zip".to_owned(), 422, "validation_failed"),
        ("/qrcodes.zip?ids=1,x".to_owned(), 422, "validation_failed"),
        (
            format!("/qrcodes.zip?ids={}", many.join(",")),
            422,
            "validation_failed",
        ),
        (
            format!("/qrcodes.zip?ids={own}&format=gif"),
            422,
            "validation_failed",
        ),
    ];
    for (path, status, code) in cases {
        let (got, ct, body) = get(&app, &token, &path).await;
        assert_eq!(got.as_u16(), status, "{path}");
        assert!(ct.starts_with("application/json"), "{path}: {ct}");
        let body: Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(body["error"]["code"], code, "{path}");
    }
    // The other account's own token gets its code, under its own path.
    let south_token = tokens::mint(&pool, south, "s", Role::Staff)
        .await
        .expect("token");
    let path = format!("/accounts/{south}/qrcodes.zip?ids={foreign}");
    let (status, _, body) = get(&app, &south_token, &path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unzip(&body)[0].0, format!("南区-{foreign}.png"));
    let anonymous = app
        .client
        .get(app.url(&format!("/api/v1/qrcodes.zip?ids={own}")))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_dashboard_links_to_the_downloads_and_its_session_opens_them(pool: PgPool) {
    let app = app(&pool).await;
    seed(&pool, &app).await;
    let cookie = signed_in(&pool, Role::Manager).await;
    let (status, html) = page_html(&app, &cookie, "/stats?period=week").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"href="/api/v1/stats.csv?period=week""#),
        "funnel link"
    );
    assert!(
        html.contains(r#"href="/api/v1/stats/daily.csv?period=week""#),
        "daily link"
    );
    let (status, html) = page_html(&app, &cookie, "/qrcodes").await;
    assert_eq!(status, 200);
    assert_eq!(html.matches(r#"data-testid="zip-check""#).count(), 2);
    assert!(html.contains("下载所选二维码 ZIP"));
    let resp = app
        .client
        .get(app.url("/api/v1/stats/daily.csv?period=week"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let codes: Vec<i64> = sqlx::query_scalar("select id from qr_code order by id")
        .fetch_all(&pool)
        .await
        .expect("codes");
    let ids: Vec<String> = codes.iter().map(i64::to_string).collect();
    let resp = app
        .client
        .get(app.url(&format!("/api/v1/qrcodes.zip?ids={}", ids.join(","))))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::OK);
    let names: Vec<String> = unzip(&resp.bytes().await.expect("zip"))
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(
        names,
        [
            format!("张三-{}.png", codes[0]),
            format!("李四-{}.png", codes[1])
        ]
    );
}
