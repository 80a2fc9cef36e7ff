//! WeChat user tags: a follower credited through a tagged code (or referrer) is tagged in the
//! simulated WeChat, in batches, the tag made once; re-attribution takes the old tag off; a
//! follower WeChat refuses fails alone; a tag deleted in WeChat is made again; names are
//! checked.

use app::model::{NewQrCode, NewReferrer, ReferrerPatch, Role};
use sqlx::PgPool;
use tuijian::referral::actor::Actor;
use tuijian::referral::error::ServiceError;
use tuijian::sandbox::faults::Fault;
use tuijian::sandbox::simulate;

use crate::common::{TestApp, settle_jobs, spawn_app};

/// A referrer with a WeChat tag (or none) and one permanent code with its own tag (or none):
/// `(referrer id, code id)`.
async fn tagged_referrer(
    app: &TestApp,
    name: &str,
    tag: Option<&str>,
    code_tag: Option<&str>,
) -> (i64, i64) {
    let actor = Actor::cli(1);
    let referrer = tuijian::referral::referrers::create(
        &app.state.pool,
        &actor,
        &NewReferrer {
            name: name.into(),
            wechat_tag: tag.map(str::to_owned),
            ..Default::default()
        },
    )
    .await
    .expect("referrer");
    assert_eq!(referrer.wechat_tag.as_deref(), tag);
    let code = new_code(app, referrer.id, code_tag).await;
    (referrer.id, code)
}

async fn new_code(app: &TestApp, referrer_id: i64, tag: Option<&str>) -> i64 {
    let code = tuijian::referral::qrcodes::create(
        &app.state.pool,
        &app.state.accounts,
        &Actor::cli(1),
        referrer_id,
        &NewQrCode {
            kind: "permanent".into(),
            wechat_tag: tag.map(str::to_owned),
            ..Default::default()
        },
    )
    .await
    .expect("code");
    assert_eq!(code.wechat_tag.as_deref(), tag);
    code.id
}

/// The names of the tags the simulated WeChat says a user carries.
async fn carried(pool: &PgPool, user: &str) -> Vec<String> {
    tuijian::db::sandbox::user_tag_names(pool, 1, &format!("oSBX_{user}"))
        .await
        .expect("tags")
}

/// The account's tags in the simulated WeChat, `(name, followers)`.
async fn wechat_tags(pool: &PgPool) -> Vec<(String, i64)> {
    tuijian::db::sandbox::tags(pool, 1)
        .await
        .expect("tags")
        .into_iter()
        .map(|(_, name, count)| (name, count))
        .collect()
}

async fn referral_of(pool: &PgPool, user: &str) -> i64 {
    sqlx::query_scalar(
        "select r.id from referral r join follower f on f.id = r.follower_id
         where f.openid = $1",
    )
    .bind(format!("oSBX_{user}"))
    .fetch_one(pool)
    .await
    .expect("referral")
}

#[sqlx::test(migrations = "../migrations")]
async fn follows_through_a_tagged_code_are_tagged_in_wechat(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let (zhang, plain) = tagged_referrer(&app, "张三", Some("渠道-张三"), None).await;
    let poster = new_code(&app, zhang, Some("门店海报")).await;
    let (_, untagged) = tagged_referrer(&app, "李四", None, None).await;
    simulate::scan(&sim, plain, "a").await.expect("a");
    simulate::scan(&sim, plain, "b").await.expect("b");
    simulate::scan(&sim, poster, "c").await.expect("c");
    simulate::scan(&sim, untagged, "d").await.expect("d");
    simulate::follow(&sim, "e").await.expect("e");
    settle_jobs(&pool).await;

    assert_eq!(carried(&pool, "a").await, ["渠道-张三"]);
    assert_eq!(carried(&pool, "b").await, ["渠道-张三"]);
    // A code's own tag wins over its referrer's.
    assert_eq!(carried(&pool, "c").await, ["门店海报"]);
    assert!(carried(&pool, "d").await.is_empty());
    assert!(carried(&pool, "e").await.is_empty());
    // Each tag was made once (tags/create again would have been refused with 45157).
    assert_eq!(
        wechat_tags(&pool).await,
        [("渠道-张三".to_owned(), 2), ("门店海报".to_owned(), 1)]
    );
    let failed: i64 = sqlx::query_scalar("select count(*) from outbox where status = 'failed'")
        .fetch_one(&pool)
        .await
        .expect("failed");
    assert_eq!(failed, 0);

    // A follower scanning again (SCAN) or coming back keeps the one tag.
    simulate::scan(&sim, poster, "a").await.expect("a again");
    simulate::unfollow(&sim, "a").await.expect("a leaves");
    simulate::scan(&sim, plain, "a").await.expect("a back");
    settle_jobs(&pool).await;
    assert_eq!(carried(&pool, "a").await, ["渠道-张三"]);

    // The referrer's page says where the tags stand, and each referral carries its tag.
    let detail = tuijian::referral::referrers::detail(&pool, &Actor::cli(1), zhang, None)
        .await
        .expect("detail");
    let counts: Vec<(String, String, i64)> = detail
        .wechat_tags
        .iter()
        .map(|c| (c.tag.clone(), c.state.clone(), c.followers))
        .collect();
    assert_eq!(
        counts,
        [
            ("渠道-张三".to_owned(), "done".to_owned(), 2),
            ("门店海报".to_owned(), "done".to_owned(), 1)
        ]
    );
    let mut shown: Vec<(String, Option<String>, Option<String>)> = detail
        .referrals
        .items
        .iter()
        .map(|r| {
            (
                r.openid.clone(),
                r.wechat_tag.clone(),
                r.wechat_tag_state.clone(),
            )
        })
        .collect();
    shown.sort();
    let done = |openid: &str, tag: &str| {
        (
            openid.to_owned(),
            Some(tag.to_owned()),
            Some("done".to_owned()),
        )
    };
    assert_eq!(
        shown,
        [
            done("oSBX_a", "渠道-张三"),
            done("oSBX_b", "渠道-张三"),
            done("oSBX_c", "门店海报")
        ]
    );

    // Erasing a follower forgets what we tagged them with.
    tuijian::referral::privacy::erase(&pool, &Actor::cli(1), "oSBX_b", "asked")
        .await
        .expect("erase");
    let rows: i64 = sqlx::query_scalar("select count(*) from follower_wechat_tag")
        .fetch_one(&pool)
        .await
        .expect("rows");
    assert_eq!(rows, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_tag_follows_the_credit(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let (_, code_a) = tagged_referrer(&app, "甲", Some("甲组"), None).await;
    let (b, _) = tagged_referrer(&app, "乙", Some("乙组"), None).await;
    let (c, _) = tagged_referrer(&app, "丙", None, None).await;
    simulate::scan(&sim, code_a, "x").await.expect("x");
    settle_jobs(&pool).await;
    assert_eq!(carried(&pool, "x").await, ["甲组"]);
    let referral = referral_of(&pool, "x").await;
    let admin = Actor::cli(1);

    // Moved to 乙: 甲组 comes off, 乙组 goes on.
    tuijian::referral::credit::move_credit(&pool, &admin, referral, b, "wrong code")
        .await
        .expect("move to b");
    settle_jobs(&pool).await;
    assert_eq!(carried(&pool, "x").await, ["乙组"]);

    // Voided: no tag; restored: the tag again.
    tuijian::referral::abuse::void(&pool, &admin, referral, "fake")
        .await
        .expect("void");
    settle_jobs(&pool).await;
    assert!(carried(&pool, "x").await.is_empty());
    tuijian::referral::abuse::restore(&pool, &admin, referral, "real after all")
        .await
        .expect("restore");
    settle_jobs(&pool).await;
    assert_eq!(carried(&pool, "x").await, ["乙组"]);

    // Moved to 丙, who has no tag: nothing is left, and no row is kept for the old tag.
    tuijian::referral::credit::move_credit(&pool, &admin, referral, c, "c after all")
        .await
        .expect("move to c");
    settle_jobs(&pool).await;
    assert!(carried(&pool, "x").await.is_empty());
    let rows: i64 = sqlx::query_scalar("select count(*) from follower_wechat_tag")
        .fetch_one(&pool)
        .await
        .expect("rows");
    assert_eq!(rows, 0);
    // Every job did its work once it ran.
    let statuses: Vec<String> = sqlx::query_scalar(
        "select distinct status from outbox where kind = 'wechat_tags' order by 1",
    )
    .fetch_all(&pool)
    .await
    .expect("statuses");
    assert_eq!(statuses, ["done"]);
}

/// Three followers of two referrers: pending tag changes and their jobs written in one
/// transaction, so the worker claims them together.
async fn queue_together(pool: &PgPool, rows: &[(&str, &str)]) {
    let mut tx = pool.begin().await.expect("tx");
    for (user, tag) in rows {
        sqlx::query(
            "insert into follower_wechat_tag (account_id, follower_id, tag, wanted, state)
             select 1, id, $2, true, 'pending' from follower where openid = $1",
        )
        .bind(format!("oSBX_{user}"))
        .bind(tag)
        .execute(&mut *tx)
        .await
        .expect("row");
        sqlx::query(
            "insert into outbox (account_id, kind, payload)
             select 1, 'wechat_tags', jsonb_build_object('follower_id', id)
             from follower where openid = $1",
        )
        .bind(format!("oSBX_{user}"))
        .execute(&mut *tx)
        .await
        .expect("job");
    }
    tx.commit().await.expect("commit");
}

#[sqlx::test(migrations = "../migrations")]
async fn one_call_tags_a_batch(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    for user in ["p", "q", "r"] {
        simulate::follow(&sim, user).await.expect("follow");
    }
    settle_jobs(&pool).await;
    // The one batchtagging call fails (45009, the call quota for now): if the three were
    // tagged by one call, all three jobs are retried; with one call each, only one would be.
    app.state.sandbox_faults.add(&Fault {
        endpoint: "tags/members/batchtagging".into(),
        errcode: Some(45009),
        count: Some(1),
        latency_ms: None,
    });
    queue_together(&pool, &[("p", "批量"), ("q", "批量"), ("r", "批量")]).await;
    app.state.jobs_wake.notify_one();
    settle_jobs(&pool).await;
    let jobs: Vec<(String, i32)> = sqlx::query_as(
        "select status, attempts from outbox where kind = 'wechat_tags' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("jobs");
    assert_eq!(
        jobs,
        [
            ("done".to_owned(), 2),
            ("done".to_owned(), 2),
            ("done".to_owned(), 2)
        ]
    );
    for user in ["p", "q", "r"] {
        assert_eq!(carried(&pool, user).await, ["批量"], "{user}");
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_follower_wechat_refuses_fails_alone(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let (zhang, code) = tagged_referrer(&app, "张三", None, None).await;
    for user in ["full", "fine"] {
        simulate::scan(&sim, code, user).await.expect("scan");
    }
    settle_jobs(&pool).await;
    // `full` carries 20 tags already (WeChat's limit).
    sqlx::raw_sql(
        "insert into sandbox_tag (account_id, name) select 1, 'old' || n from generate_series(1, 20) n;
         update sandbox_user set tagids = (select array_agg(id) from sandbox_tag where name like 'old%')
         where openid = 'oSBX_full';",
    )
    .execute(&pool)
    .await
    .expect("twenty tags");
    queue_together(&pool, &[("full", "新客"), ("fine", "新客")]).await;
    app.state.jobs_wake.notify_one();
    settle_jobs(&pool).await;
    assert_eq!(carried(&pool, "fine").await, ["新客"]);
    assert!(!carried(&pool, "full").await.contains(&"新客".to_owned()));
    let rows: Vec<(String, String, Option<i32>)> = sqlx::query_as(
        "select f.openid, t.state, t.errcode from follower_wechat_tag t
         join follower f on f.account_id = t.account_id and f.id = t.follower_id order by 1",
    )
    .fetch_all(&pool)
    .await
    .expect("rows");
    assert_eq!(
        rows,
        [
            ("oSBX_fine".to_owned(), "done".to_owned(), None),
            ("oSBX_full".to_owned(), "failed".to_owned(), Some(45059))
        ]
    );
    let job: (String, Option<i32>) = sqlx::query_as(
        "select o.status, o.last_errcode from outbox o
         join follower f on f.account_id = o.account_id
          and f.id = (o.payload->>'follower_id')::bigint
         where o.kind = 'wechat_tags' and f.openid = 'oSBX_full'",
    )
    .fetch_one(&pool)
    .await
    .expect("job");
    assert_eq!(job, ("failed".to_owned(), Some(45059)));
    // Staff read why on the referrer's page.
    let detail = tuijian::referral::referrers::detail(&pool, &Actor::cli(1), zhang, None)
        .await
        .expect("detail");
    let refused = detail
        .referrals
        .items
        .iter()
        .find(|r| r.openid == "oSBX_full")
        .expect("full");
    assert_eq!(refused.wechat_tag_state.as_deref(), Some("failed"));
    assert!(
        refused
            .wechat_tag_error
            .as_deref()
            .is_some_and(|e| e.contains("20 个上限")),
        "{refused:?}"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_tag_deleted_in_wechat_is_made_again(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    let (_, code) = tagged_referrer(&app, "张三", Some("会员日"), None).await;
    simulate::scan(&sim, code, "first").await.expect("first");
    settle_jobs(&pool).await;
    assert_eq!(carried(&pool, "first").await, ["会员日"]);
    // Someone deletes the tag in WeChat's backend: the kept id is stale (45159).
    sqlx::raw_sql(
        "update sandbox_user set tagids = '{}';
         delete from sandbox_tag where name = '会员日';",
    )
    .execute(&pool)
    .await
    .expect("delete");
    simulate::scan(&sim, code, "second").await.expect("second");
    settle_jobs(&pool).await;
    assert_eq!(carried(&pool, "second").await, ["会员日"]);
    let (kept, made): (i64, i64) = sqlx::query_as(
        "select w.tag_id, t.id from wechat_tag w join sandbox_tag t on t.name = w.name
         where w.name = '会员日'",
    )
    .fetch_one(&pool)
    .await
    .expect("ids");
    assert_eq!(kept, made, "the new id is kept");
}

#[sqlx::test(migrations = "../migrations")]
async fn tag_names_are_checked(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let staff = Actor::token(1, Role::Staff, "s");
    let long = "标".repeat(31);
    let refused = tuijian::referral::referrers::create(
        &pool,
        &staff,
        &NewReferrer {
            name: "王五".into(),
            wechat_tag: Some(long.clone()),
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(&refused, Err(ServiceError::Validation(e)) if e[0].field == "wechat_tag"),
        "{refused:?}"
    );
    let created = tuijian::referral::referrers::create(
        &pool,
        &staff,
        &NewReferrer {
            name: "王五".into(),
            wechat_tag: Some("  三十字以内  ".into()),
            ..Default::default()
        },
    )
    .await
    .expect("created");
    assert_eq!(created.wechat_tag.as_deref(), Some("三十字以内"));
    // A patch with null clears the tag; an absent field leaves it.
    let patch: ReferrerPatch = serde_json::from_str(r#"{"note": "x"}"#).expect("patch");
    let kept = tuijian::referral::referrers::update(&pool, &staff, created.id, &patch)
        .await
        .expect("kept");
    assert_eq!(kept.wechat_tag.as_deref(), Some("三十字以内"));
    let patch: ReferrerPatch = serde_json::from_str(r#"{"wechat_tag": null}"#).expect("patch");
    let cleared = tuijian::referral::referrers::update(&pool, &staff, created.id, &patch)
        .await
        .expect("cleared");
    assert_eq!(cleared.wechat_tag, None);
    let code = tuijian::referral::qrcodes::create(
        &pool,
        &app.state.accounts,
        &staff,
        created.id,
        &NewQrCode {
            kind: "permanent".into(),
            wechat_tag: Some(long),
            ..Default::default()
        },
    )
    .await;
    assert!(
        matches!(&code, Err(ServiceError::Validation(e)) if e[0].field == "wechat_tag"),
        "{code:?}"
    );
    let codes: i64 = sqlx::query_scalar("select count(*) from qr_code")
        .fetch_one(&pool)
        .await
        .expect("codes");
    assert_eq!(codes, 0, "a refused code is not made");
}
