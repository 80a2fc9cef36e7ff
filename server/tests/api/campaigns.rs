//! Fission campaigns through the sandbox: a follower joins by keyword and gets a poster whose
//! QR is their own code; friends who follow through it are counted, the member is told how
//! many are left and rewarded at the goal; a friend who unfollows within the holding period is
//! taken back; coupons are handed out once each, under concurrency too; the REST API.

use app::campaigns::{CampaignInput, MilestoneInput, RewardKind};
use app::model::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::PgPool;
use tuijian::db::sandbox as sim_store;
use tuijian::referral::actor::Actor;
use tuijian::referral::campaigns;
use tuijian::sandbox::simulate;

use crate::common::{
    TestApp, decode_qr, eventually, follow, inbox, sandbox_media, settle_jobs, spawn_app,
};

/// Beijing's date `days` from today, `YYYY-MM-DD`.
fn day(days: i64) -> String {
    let today = tuijian::referral::period::local_date(chrono::Utc::now());
    (today + chrono::Duration::days(days)).to_string()
}

fn input(goal: i32, kind: RewardKind) -> CampaignInput {
    CampaignInput {
        name: "春季助力".into(),
        keyword: "助力".into(),
        menu_key: Some("JOIN_SPRING".into()),
        starts_on: day(-1),
        ends_on: day(7),
        holding_days: 3,
        milestones: vec![MilestoneInput {
            goal,
            reward_kind: kind,
            reward_name: "10 元代金券".into(),
            link: None,
        }],
        end_when_out_of_stock: false,
        poster_text: app::campaigns::DEFAULT_TEXT.into(),
        layout: Default::default(),
    }
}

/// A running campaign with `codes` coupons for its single milestone of `goal` friends.
async fn campaign(app: &TestApp, goal: i32, codes: &[String]) -> (i64, i64) {
    let actor = Actor::cli(1);
    let made = campaigns::create(&app.state.pool, &actor, &input(goal, RewardKind::Coupon))
        .await
        .expect("campaign");
    let milestone = made.milestones[0].id;
    if !codes.is_empty() {
        let added = campaigns::add_coupons(
            &app.state.pool,
            &actor,
            made.id,
            milestone,
            &codes.join("\n"),
        )
        .await
        .expect("coupons");
        assert_eq!(added, (codes.len() as u64, 0));
    }
    (made.id, milestone)
}

/// The texts sent to a user, oldest first.
async fn texts(pool: &PgPool, user: &str) -> Vec<String> {
    inbox(pool, user)
        .await
        .into_iter()
        .filter_map(|m| m["text"]["content"].as_str().map(str::to_owned))
        .collect()
}

/// The member row of a simulated user: (referrer id, page key).
async fn member(pool: &PgPool, user: &str) -> (i64, String) {
    sqlx::query_as("select id, member_token from referrer where openid = $1")
        .bind(format!("oSBX_{user}"))
        .fetch_one(pool)
        .await
        .expect("member")
}

/// The member's current code: (id, url).
async fn code_of(pool: &PgPool, referrer_id: i64) -> (i64, String) {
    sqlx::query_as("select id, url from qr_code where referrer_id = $1 order by id desc limit 1")
        .bind(referrer_id)
        .fetch_one(pool)
        .await
        .expect("code")
}

#[sqlx::test(migrations = "../migrations")]
async fn a_keyword_joins_with_a_poster_and_three_friends_earn_the_reward(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let codes: Vec<String> = (1..=5).map(|i| format!("SPRING-{i:03}")).collect();
    let (campaign_id, _) = campaign(&app, 3, &codes).await;

    follow(&app, "mia").await;
    let joined = simulate::text(&sim, "mia", " 助力 ").await.expect("join");
    assert_eq!(joined.status, 200);
    let media_id = joined.image_media_id.expect("the poster is the reply");
    let (mia, token) = member(&pool, "mia").await;
    let (code_id, url) = code_of(&pool, mia).await;
    let poster = sandbox_media(&app, &media_id).await;
    assert_eq!(
        decode_qr(&poster),
        url,
        "the poster carries the member's own code"
    );
    let size = image::load_from_memory(&poster).expect("png");
    assert_eq!((size.width(), size.height()), (750, 1334));

    // The join text with the page link follows as a customer-service message.
    let first = eventually(10, || async {
        texts(&pool, "mia").await.into_iter().next()
    })
    .await;
    assert!(
        first.contains("春季助力") && first.contains(&format!("/m/{token}")),
        "{first}"
    );
    assert!(first.contains("邀请 3 位好友"), "{first}");

    for friend in ["bob", "carol", "dave"] {
        let reply = simulate::scan(&sim, code_id, friend).await.expect("scan");
        assert_eq!(reply.status, 200);
        // Each friend's notice before the next friend, so the order below is the counting's.
        eventually(10, || async {
            let n = texts(&pool, "mia").await.len();
            (n >= 2 + ["bob", "carol", "dave"]
                .iter()
                .position(|f| *f == friend)
                .unwrap_or(0))
            .then_some(())
        })
        .await;
    }
    settle_jobs(&pool).await;
    let told = texts(&pool, "mia").await;
    assert_eq!(
        told.len(),
        4,
        "join text, two progress notices, the reward: {told:?}"
    );
    assert!(
        told[1].contains("已有 1 位好友助力，还差 2 位"),
        "{}",
        told[1]
    );
    assert!(
        told[2].contains("已有 2 位好友助力，还差 1 位"),
        "{}",
        told[2]
    );
    assert!(
        told[3].contains("已有 3 位好友助力") && told[3].contains("券码：SPRING-001"),
        "{}",
        told[3]
    );
    assert!(
        !told.iter().any(|t| t.contains("您推荐的新客户已关注")),
        "the campaign notice replaces the ordinary one: {told:?}"
    );

    // The holding period: dave unfollows, the count goes back to 2 and mia is told.
    simulate::unfollow(&sim, "dave").await.expect("unfollow");
    settle_jobs(&pool).await;
    let told = texts(&pool, "mia").await;
    assert_eq!(told.len(), 5, "{told:?}");
    assert!(told[4].contains("助力数减为 2 位"), "{}", told[4]);

    let board = campaigns::board(&pool, &Actor::cli(1), campaign_id)
        .await
        .expect("board");
    assert_eq!(
        (board.participants, board.credited, board.taken_back),
        (1, 2, 1)
    );
    assert_eq!(board.milestones[0].issued, 1);
    assert_eq!(board.milestones[0].remaining, 4);
    assert_eq!(board.rewards[0].code.as_deref(), Some("SPRING-001"));
    assert_eq!(board.top[0].credited, 2);

    // dave following again does not count again, nor give a second reward.
    follow(&app, "dave").await;
    settle_jobs(&pool).await;
    let board = campaigns::board(&pool, &Actor::cli(1), campaign_id)
        .await
        .expect("board");
    assert_eq!((board.credited, board.milestones[0].issued), (2, 1));

    // The member's page shows the campaign, and its poster decodes to the same code.
    let page = app.state.members().page(&token).await.expect("page");
    assert_eq!(page.campaigns.len(), 1);
    assert_eq!(page.campaigns[0].credited, 2);
    assert_eq!(
        page.campaigns[0].rewards[0].code.as_deref(),
        Some("SPRING-001")
    );
    let resp = app
        .client
        .get(app.url(&page.campaigns[0].poster_url))
        .send()
        .await
        .expect("poster");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(decode_qr(&resp.bytes().await.expect("bytes")), url);
    let wrong = app
        .client
        .get(app.url(&format!(
            "/m/{token}/campaigns/{}/poster.png",
            campaign_id + 1
        )))
        .send()
        .await
        .expect("poster");
    assert_eq!(wrong.status(), StatusCode::NOT_FOUND);

    // Asking again answers with the cached poster: no new upload.
    let again = simulate::text(&sim, "mia", "助力").await.expect("again");
    assert_eq!(again.image_media_id.as_deref(), Some(media_id.as_str()));
}

#[sqlx::test(migrations = "../migrations")]
async fn fifty_members_at_the_goal_get_fifty_distinct_codes_and_the_next_is_out_of_stock(
    pool: PgPool,
) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let stock: Vec<String> = (1..=50).map(|i| format!("C{i:02}")).collect();
    let (campaign_id, _) = campaign(&app, 1, &stock).await;
    // 51 members join, each with a code of their own.
    let members = app.state.members();
    let mut codes = Vec::new();
    for i in 0..51 {
        let user = format!("m{i}");
        follow(&app, &user).await;
        simulate::text(&sim, &user, "助力").await.expect("join");
        let (referrer_id, _) = member(&pool, &user).await;
        let code = members.code(1, referrer_id).await.expect("code");
        codes.push((user, code.id));
    }
    settle_jobs(&pool).await;
    // Their friends follow at the same time.
    let scans = codes.iter().map(|(user, code_id)| {
        let sim = sim.clone();
        let friend = format!("f_{user}");
        let code_id = *code_id;
        async move { simulate::scan(&sim, code_id, &friend).await }
    });
    for reply in futures_util::future::join_all(scans).await {
        assert_eq!(reply.expect("scan").status, 200);
    }
    settle_jobs(&pool).await;
    let mut handed: Vec<String> = Vec::new();
    let mut out_of_stock = 0;
    for (user, _) in &codes {
        let told = texts(&pool, user).await;
        let last = told.last().cloned().unwrap_or_default();
        if let Some(at) = last.find("券码：") {
            handed.push(last[at + "券码：".len()..].trim().to_owned());
        } else {
            assert!(last.contains("已全部发完"), "{user}: {told:?}");
            out_of_stock += 1;
        }
    }
    handed.sort();
    let mut distinct = handed.clone();
    distinct.dedup();
    assert_eq!(distinct.len(), 50, "50 distinct codes: {handed:?}");
    assert_eq!(distinct, stock);
    assert_eq!(out_of_stock, 1);
    let board = campaigns::board(&pool, &Actor::cli(1), campaign_id)
        .await
        .expect("board");
    assert_eq!(board.milestones[0].issued, 50);
    assert_eq!(board.milestones[0].out_of_stock, 1);
    assert_eq!(board.milestones[0].remaining, 0);
}

/// Coupons taken by racing transactions: each once, none lost, the rest refused.
#[sqlx::test(migrations = "../migrations")]
async fn racing_transactions_take_each_coupon_once(pool: PgPool) {
    use tuijian::db::campaign_credit as store;
    let app = spawn_app(pool.clone()).await;
    let (campaign_id, milestone) = campaign(
        &app,
        1,
        &(1..=20).map(|i| format!("R{i}")).collect::<Vec<_>>(),
    )
    .await;
    let mut referrers = Vec::new();
    for i in 0..30 {
        let mut conn = pool.acquire().await.expect("conn");
        let m = tuijian::db::members::ensure(
            &mut conn,
            1,
            &format!("oRace{i}"),
            "会员",
            &format!("token-race-{i:026}"),
        )
        .await
        .expect("member");
        store::join(&mut conn, 1, campaign_id, m.referrer_id)
            .await
            .expect("join");
        referrers.push(m.referrer_id);
    }
    let races = referrers.iter().map(|&referrer| {
        let pool = pool.clone();
        async move {
            let mut tx = pool.begin().await.expect("tx");
            let reward =
                store::insert_reward(&mut tx, 1, campaign_id, milestone, referrer, "issued", None)
                    .await
                    .expect("reward")
                    .expect("new");
            let code = store::take_coupon(&mut tx, 1, milestone, reward)
                .await
                .expect("take");
            tx.commit().await.expect("commit");
            code
        }
    });
    let taken: Vec<Option<String>> = futures_util::future::join_all(races).await;
    let mut codes: Vec<String> = taken.iter().flatten().cloned().collect();
    codes.sort();
    codes.dedup();
    assert_eq!(codes.len(), 20);
    assert_eq!(taken.iter().filter(|c| c.is_none()).count(), 10);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_campaign_not_running_says_when_and_holds_nobody(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let mut later = input(3, RewardKind::Store);
    later.starts_on = day(3);
    later.ends_on = day(10);
    campaigns::create(&pool, &Actor::cli(1), &later)
        .await
        .expect("campaign");
    follow(&app, "mia").await;
    let reply = simulate::text(&app.state.sim(), "mia", "助力")
        .await
        .expect("text");
    let text = reply.reply.expect("a text reply");
    assert!(text.contains("将于") && text.contains("开始"), "{text}");
    let members: i64 = sqlx::query_scalar("select count(*) from campaign_member")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(members, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn store_rewards_get_a_redemption_code_staff_confirm_once(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let made = campaigns::create(&pool, &Actor::cli(1), &input(1, RewardKind::Store))
        .await
        .expect("campaign");
    follow(&app, "mia").await;
    simulate::text(&sim, "mia", "助力").await.expect("join");
    let (mia, _) = member(&pool, "mia").await;
    let (code_id, _) = code_of(&pool, mia).await;
    simulate::scan(&sim, code_id, "bob").await.expect("scan");
    settle_jobs(&pool).await;
    let told = texts(&pool, "mia").await;
    let last = told.last().expect("told");
    assert!(last.contains("兑换码："), "{last}");
    let board = campaigns::board(&pool, &Actor::cli(1), made.id)
        .await
        .expect("board");
    let reward = &board.rewards[0];
    assert!(last.contains(reward.code.as_deref().expect("code")));
    let staff = Actor::token(1, Role::Staff, "shop");
    let redeemed = campaigns::redeem(&pool, &staff, reward.id)
        .await
        .expect("redeem");
    assert_eq!(redeemed.status, "redeemed");
    let again = campaigns::redeem(&pool, &staff, reward.id).await;
    assert!(matches!(
        again,
        Err(tuijian::referral::error::ServiceError::Conflict {
            code: "not_redeemable",
            ..
        })
    ));
}

#[sqlx::test(migrations = "../migrations")]
async fn the_rest_api_manages_campaigns_and_refuses_bad_input(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let token = tuijian::referral::tokens::mint(&pool, 1, "ci", Role::Manager)
        .await
        .expect("token");
    let staff = tuijian::referral::tokens::mint(&pool, 1, "desk", Role::Staff)
        .await
        .expect("token");
    let api = |path: &str| app.url(&format!("/api/v1{path}"));
    let body = serde_json::to_value(input(3, RewardKind::Coupon)).expect("json");

    let refused = app
        .client
        .post(api("/campaigns"))
        .bearer_auth(&staff)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let mut bad = body.clone();
    bad["keyword"] = json!("推广码");
    bad["layout"]["qr"]["x"] = json!(700);
    let resp = app
        .client
        .post(api("/campaigns"))
        .bearer_auth(&token)
        .json(&bad)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e: Value = resp.json().await.expect("error");
    assert!(
        e["error"]["fields"]
            .as_array()
            .expect("fields")
            .iter()
            .any(|f| f["field"] == "layout.qr"),
        "{e}"
    );
    let resp = app
        .client
        .post(api("/campaigns"))
        .bearer_auth(&token)
        .json(&{
            let mut b = body.clone();
            b["keyword"] = json!("推广码");
            b
        })
        .send()
        .await
        .expect("post");
    assert_eq!(
        resp.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "the member code's keyword"
    );

    let resp = app
        .client
        .post(api("/campaigns"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::CREATED);
    let created: Value = resp.json().await.expect("campaign");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(created["status"], "running");
    let milestone = created["milestones"][0]["id"].as_i64().expect("milestone");

    // A background: an image of its own size; text is refused, as is a layout that no longer fits.
    let mut png = Vec::new();
    image::RgbImage::from_pixel(900, 1600, image::Rgb([20, 40, 90]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let put = |bytes: Vec<u8>, ct: &'static str| {
        app.client
            .put(api(&format!("/campaigns/{id}/background")))
            .bearer_auth(&token)
            .header("content-type", ct)
            .body(bytes)
            .send()
    };
    assert_eq!(
        put(b"not an image".to_vec(), "image/png")
            .await
            .expect("put")
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        put(png.clone(), "application/json")
            .await
            .expect("put")
            .status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    let resp = put(png, "image/png").await.expect("put");
    assert_eq!(resp.status(), StatusCode::OK);
    let with_bg: Value = resp.json().await.expect("campaign");
    assert_eq!(
        (with_bg["has_background"].clone(), with_bg["width"].clone()),
        (json!(true), json!(900))
    );
    let preview = app
        .client
        .get(api(&format!("/campaigns/{id}/poster-preview.png")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("preview");
    assert_eq!(preview.status(), StatusCode::OK);
    let preview = image::load_from_memory(&preview.bytes().await.expect("bytes")).expect("png");
    assert_eq!((preview.width(), preview.height()), (900, 1600));

    // Coupons: CSV with a header and a repeat.
    let csv = |text: &'static str| {
        app.client
            .post(api(&format!("/campaigns/{id}/coupons")))
            .query(&[("milestone", milestone)])
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(text)
            .send()
    };
    let added: Value = csv("code\nA1\nA2\nA1\n")
        .await
        .expect("csv")
        .json()
        .await
        .expect("json");
    assert_eq!(added, json!({"added": 2, "duplicates": 0}));
    let again: Value = csv("A2\nA3\n")
        .await
        .expect("csv")
        .json()
        .await
        .expect("json");
    assert_eq!(again, json!({"added": 1, "duplicates": 1}));
    assert_eq!(
        csv("code\n").await.expect("csv").status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    let board: Value = app
        .client
        .get(api(&format!("/campaigns/{id}/board")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("board")
        .json()
        .await
        .expect("json");
    assert_eq!(board["milestones"][0]["remaining"], 3);
    assert_eq!(board["participants"], 0);
    let export = app
        .client
        .get(api(&format!("/campaigns/{id}/rewards.csv")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("csv");
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export
            .text()
            .await
            .expect("text")
            .contains("reward_id,referrer_id,member")
    );

    let stop = |_: ()| {
        app.client
            .post(api(&format!("/campaigns/{id}/stop")))
            .bearer_auth(&token)
            .send()
    };
    let stopped: Value = stop(()).await.expect("stop").json().await.expect("json");
    assert_eq!(
        (stopped["status"].clone(), stopped["ended_reason"].clone()),
        (json!("ended"), json!("stopped"))
    );
    assert_eq!(stop(()).await.expect("stop").status(), StatusCode::CONFLICT);
    assert_eq!(
        app.client
            .get(api("/campaigns/999999"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("get")
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_flagged_members_reward_waits_for_review_and_goes_out_on_release(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let (campaign_id, _) = campaign(&app, 1, &["HELD-1".to_owned()]).await;
    follow(&app, "mia").await;
    simulate::text(&sim, "mia", "助力").await.expect("join");
    let (mia, _) = member(&pool, "mia").await;
    let (code_id, _) = code_of(&pool, mia).await;
    // mia scans her own code: the abuse review flags it.
    simulate::scan(&sim, code_id, "mia")
        .await
        .expect("self scan");
    tuijian::db::abuse::sweep(&pool, 1).await.expect("sweep");
    simulate::scan(&sim, code_id, "bob").await.expect("scan");
    settle_jobs(&pool).await;
    let told = texts(&pool, "mia").await;
    let last = told.last().expect("told");
    assert!(
        last.contains("审核中") && !last.contains("HELD-1"),
        "{last}"
    );
    let board = campaigns::board(&pool, &Actor::cli(1), campaign_id)
        .await
        .expect("board");
    assert_eq!(board.rewards[0].status, "held");
    assert_eq!(
        board.milestones[0].remaining, 1,
        "a held reward takes no coupon"
    );

    // Staff may not release; a manager does, and mia gets the code.
    let staff = Actor::token(1, Role::Staff, "desk");
    assert!(
        campaigns::release(&pool, &staff, board.rewards[0].id)
            .await
            .is_err()
    );
    let released = campaigns::release(&pool, &Actor::cli(1), board.rewards[0].id)
        .await
        .expect("release");
    assert_eq!(
        (released.status.as_str(), released.code.as_deref()),
        ("issued", Some("HELD-1"))
    );
    settle_jobs(&pool).await;
    let last = texts(&pool, "mia").await.pop().expect("told");
    assert!(
        last.contains("审核通过") && last.contains("HELD-1"),
        "{last}"
    );
    let again = campaigns::release(&pool, &Actor::cli(1), released.id).await;
    assert!(matches!(
        again,
        Err(tuijian::referral::error::ServiceError::Conflict {
            code: "not_held",
            ..
        })
    ));
}

/// A notice WeChat refuses (the member's 48-hour window closed) is kept, and sent once the
/// member messages the account again.
#[sqlx::test(migrations = "../migrations")]
async fn a_refused_notice_is_kept_until_the_member_is_back(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    campaign(&app, 3, &[]).await;
    follow(&app, "mia").await;
    simulate::text(&sim, "mia", "助力").await.expect("join");
    settle_jobs(&pool).await;
    let (mia, _) = member(&pool, "mia").await;
    let (code_id, _) = code_of(&pool, mia).await;
    sim_store::age_interaction(&pool, 1, "oSBX_mia", 72)
        .await
        .expect("age");
    simulate::scan(&sim, code_id, "bob").await.expect("scan");
    settle_jobs(&pool).await;
    let (status, errcode): (String, Option<i32>) =
        sqlx::query_as("select status, errcode from campaign_notice")
            .fetch_one(&pool)
            .await
            .expect("notice");
    assert_eq!((status.as_str(), errcode), ("kept", Some(45015)));
    let before = texts(&pool, "mia").await.len();

    simulate::text(&sim, "mia", "你好").await.expect("back");
    let told = eventually(15, || async {
        let told = texts(&pool, "mia").await;
        (told.len() > before).then_some(told)
    })
    .await;
    assert!(told.last().expect("told").contains("还差 2 位"), "{told:?}");
    settle_jobs(&pool).await;
    let status: String = sqlx::query_scalar("select status from campaign_notice")
        .fetch_one(&pool)
        .await
        .expect("notice");
    assert_eq!(status, "sent");
}

/// The campaign's menu item joins it too, with the poster as the reply.
#[sqlx::test(migrations = "../migrations")]
async fn the_campaigns_menu_click_joins_it(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    campaign(&app, 3, &[]).await;
    let admin = crate::skeleton::signed_in(&pool, Role::Admin).await;
    let menu = json!({"menu": {"buttons": [
        {"name": "助力活动", "kind": "click", "key": "JOIN_SPRING"}
    ]}});
    let published = app
        .client
        .post(app.url("/sfn/menu/publish"))
        .header("cookie", &admin)
        .json(&menu)
        .send()
        .await
        .expect("publish");
    assert_eq!(published.status(), StatusCode::OK);
    follow(&app, "mia").await;
    let reply = simulate::click(&app.state.sim(), "mia", "JOIN_SPRING")
        .await
        .expect("click");
    let media_id = reply.image_media_id.expect("the poster");
    let (mia, _) = member(&pool, "mia").await;
    let (_, url) = code_of(&pool, mia).await;
    assert_eq!(decode_qr(&sandbox_media(&app, &media_id).await), url);
    let joined: i64 = sqlx::query_scalar("select count(*) from campaign_member")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(joined, 1);
}

/// The dashboard's upload forms: the session is the credential, another site's form is
/// refused, and each answer is a redirect back saying what happened.
#[sqlx::test(migrations = "../migrations")]
async fn dashboard_forms_upload_the_background_and_coupons(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (id, milestone) = campaign(&app, 2, &[]).await;
    let manager = crate::skeleton::signed_in(&pool, Role::Manager).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut png = Vec::new();
    image::RgbImage::from_pixel(800, 1400, image::Rgb([200, 30, 30]))
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .expect("png");
    let post = |path: &str, form: reqwest::multipart::Form, cookie: &str, origin: Option<&str>| {
        let mut req = client
            .post(app.url(path))
            .header("cookie", cookie)
            .multipart(form);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let image_form = |bytes: Vec<u8>| {
        reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(bytes).file_name("bg.png"),
        )
    };
    let location = |resp: &reqwest::Response| {
        resp.headers()["location"]
            .to_str()
            .expect("location")
            .to_owned()
    };
    let background = format!("/dashboard/campaigns/{id}/background");

    let resp = post(&background, image_form(png.clone()), &manager, None)
        .await
        .expect("upload");
    assert_eq!(
        location(&resp),
        format!("/campaigns/{id}?uploaded=background")
    );
    let made = campaigns::get(&pool, &Actor::cli(1), id)
        .await
        .expect("get");
    assert_eq!(
        (made.has_background, made.width, made.height),
        (true, 800, 1400)
    );

    let resp = post(&background, image_form(b"GIF89a".to_vec()), &manager, None)
        .await
        .expect("upload");
    assert!(location(&resp).starts_with(&format!("/campaigns/{id}?error=")));
    let resp = post(
        &background,
        image_form(png.clone()),
        &manager,
        Some("https://evil.example"),
    )
    .await
    .expect("upload");
    assert_eq!(location(&resp), "/login");
    let staff = crate::skeleton::signed_in(&pool, Role::Staff).await;
    let resp = post(&background, image_form(png), &staff, None)
        .await
        .expect("upload");
    assert!(location(&resp).contains("error="), "staff are refused");

    let csv = reqwest::multipart::Form::new()
        .text("milestone", milestone.to_string())
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"code\nD1\nD2\nD2\n".to_vec()).file_name("c.csv"),
        );
    let resp = post(
        &format!("/dashboard/campaigns/{id}/coupons"),
        csv,
        &manager,
        None,
    )
    .await
    .expect("coupons");
    assert_eq!(
        location(&resp),
        format!("/campaigns/{id}?uploaded=coupons&added=2&duplicates=0")
    );
}
