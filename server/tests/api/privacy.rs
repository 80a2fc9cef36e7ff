//! Privacy: an erased follower leaves no openid (and no message text) anywhere in our tables
//! while every count stays; the retention job empties old payloads and purges expired rows.

use app::model::Role;
use sqlx::PgPool;
use tuijian::referral::actor::Actor;
use tuijian::referral::error::ServiceError;
use tuijian::referral::privacy;
use tuijian::sandbox::simulate;

use crate::common::{board, eventually, referrer_with_code, settle_jobs, spawn_app};

/// Every table and text or JSON column where `needle` appears, outside the simulated WeChat's
/// own tables (`sandbox_*`: WeChat's records of its users, not ours).
async fn found_in(pool: &PgPool, needle: &str) -> Vec<String> {
    let columns: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = 'public' and data_type in ('text', 'jsonb', 'character varying')
           and table_name not like 'sandbox%' and table_name <> '_sqlx_migrations'",
    )
    .fetch_all(pool)
    .await
    .expect("columns");
    assert!(columns.len() > 20, "the catalog lists our columns");
    let mut hits = Vec::new();
    for (table, column) in columns {
        let sql =
            format!("select count(*) from \"{table}\" where strpos(\"{column}\"::text, $1) > 0");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(needle)
            .fetch_one(pool)
            .await
            .expect("search");
        if n > 0 {
            hits.push(format!("{table}.{column}"));
        }
    }
    hits
}

#[sqlx::test(migrations = "../migrations")]
async fn an_erased_follower_leaves_no_openid_and_the_counts_stay(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let actor = Actor::cli(1);
    let (_, code_id) = referrer_with_code(&app, "张三").await;
    let sim = app.state.sim();
    // The follower scans, writes a message with a phone number, scans again, and is also bound
    // as a referrer themselves; another follower stays untouched.
    simulate::scan(&sim, code_id, "forgetme")
        .await
        .expect("scan");
    simulate::text(&sim, "forgetme", "我的电话 13800138000")
        .await
        .expect("text");
    simulate::scan(&sim, code_id, "forgetme")
        .await
        .expect("again");
    simulate::scan(&sim, code_id, "keepme")
        .await
        .expect("other");
    sqlx::query(
        "insert into referrer (account_id, name, openid) values (1, '自己', 'oSBX_forgetme')",
    )
    .execute(&pool)
    .await
    .expect("bound referrer");
    settle_jobs(&pool).await;
    eventually(10, || async {
        let fetched: i64 =
            sqlx::query_scalar("select count(*) from follower where info_fetched_at is not null")
                .fetch_one(&pool)
                .await
                .expect("info");
        (fetched == 2).then_some(())
    })
    .await;
    let openid = "oSBX_forgetme";
    assert!(!found_in(&pool, openid).await.is_empty(), "recorded first");
    tuijian::db::rollup::fold(&pool).await.expect("fold");
    let before = board(&pool).await;
    let referrals: i64 = sqlx::query_scalar("select count(*) from referral")
        .fetch_one(&pool)
        .await
        .expect("count");

    // Only admins erase, a reason is required and the openid is checked.
    let staff = Actor::token(1, Role::Manager, "m");
    assert!(matches!(
        privacy::erase(&pool, &staff, openid, "asked").await,
        Err(ServiceError::Forbidden(Role::Admin))
    ));
    let Err(ServiceError::Validation(fields)) =
        privacy::erase(&pool, &actor, "o'; drop table follower", "").await
    else {
        panic!("refused");
    };
    let named: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(named, ["openid", "reason"]);

    let report = privacy::erase(&pool, &actor, openid, "用户来电要求删除")
        .await
        .expect("erase");
    assert!(report.follower_id.is_some());
    assert!(report.events >= 3 && report.scans == 2, "{report:?}");
    assert_eq!(found_in(&pool, openid).await, Vec::<String>::new());
    assert_eq!(found_in(&pool, "13800138000").await, Vec::<String>::new());
    assert!(
        !found_in(&pool, "oSBX_keepme").await.is_empty(),
        "others stay"
    );
    // The counts stay: referrals, the leaderboard, and the roll-ups equal a rebuild.
    tuijian::db::rollup::fold(&pool).await.expect("fold");
    assert_eq!(board(&pool).await, before);
    let after: i64 = sqlx::query_scalar("select count(*) from referral")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(after, referrals);
    let kept = crate::rest_reports::rollups(&pool).await;
    tuijian::db::rollup::rebuild(&pool).await.expect("rebuild");
    assert_eq!(crate::rest_reports::rollups(&pool).await, kept);
    // Audited with the reason, not the openid; a second request finds nobody.
    let (action, detail): (String, serde_json::Value) =
        sqlx::query_as("select action, detail from audit_log where action = 'follower.erased'")
            .fetch_one(&pool)
            .await
            .expect("audit");
    assert_eq!(action, "follower.erased");
    assert_eq!(detail["reason"], "用户来电要求删除");
    assert!(matches!(
        privacy::erase(&pool, &actor, openid, "again").await,
        Err(ServiceError::NotFound(_))
    ));
    let page = privacy::overview(&pool, &actor).await.expect("page");
    assert_eq!((page.erased, page.retention_days), (1, 180));
    // Following again later, they are a new follower (nothing links them to the old row).
    simulate::unfollow(&sim, "forgetme")
        .await
        .expect("unfollow at WeChat");
    simulate::follow(&sim, "forgetme")
        .await
        .expect("follow again");
    let rows: i64 = sqlx::query_scalar("select count(*) from follower where openid = $1")
        .bind(openid)
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rows, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_retention_job_empties_old_payloads_and_purges_expired_rows(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let sim = app.state.sim();
    for user in ["old1", "old2", "new1"] {
        simulate::follow(&sim, user).await.expect("follow");
        simulate::text(&sim, user, "一条消息").await.expect("text");
    }
    settle_jobs(&pool).await;
    let admin = Actor::cli(1);
    assert!(matches!(
        privacy::set_retention(&pool, &admin, 3).await,
        Err(ServiceError::Validation(_))
    ));
    privacy::set_retention(&pool, &admin, 30)
        .await
        .expect("30 days");
    sqlx::query(
        "update event set created_at = now() - interval '31 days'
         where openid in ('oSBX_old1', 'oSBX_old2')",
    )
    .execute(&pool)
    .await
    .expect("age");
    // Expired rows: a session, a done job a week old, a failed one; a kept notice stays.
    tuijian::referral::users::create_user(&pool, 1, "gone", "long-enough-1", Role::Staff)
        .await
        .expect("user");
    sqlx::raw_sql(
        "insert into session (id_hash, account_id, user_id, expires_at)
           select 'h-expired', 1, id, now() - interval '1 hour' from app_user where username = 'gone';
         insert into session (id_hash, account_id, user_id, expires_at)
           select 'h-live', 1, id, now() + interval '1 day' from app_user where username = 'gone';
         insert into outbox (account_id, kind, payload, status, finished_at) values
           (1, 'user_info', '{}', 'done', now() - interval '8 days'),
           (1, 'user_info', '{}', 'done', now() - interval '1 day'),
           (1, 'user_info', '{}', 'failed', now() - interval '31 days'),
           (1, 'notify_referrer', '{}', 'pending', null)",
    )
    .execute(&pool)
    .await
    .expect("expired rows");
    let outbox_before: i64 = sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(&pool)
        .await
        .expect("count");

    let emptied = privacy::purge(&pool).await.expect("purge");
    assert_eq!(emptied, 4, "two follows and two messages");
    let kept: Vec<(String, bool)> = sqlx::query_as(
        "select openid, bool_and(payload <> '') from event group by openid order by openid",
    )
    .fetch_all(&pool)
    .await
    .expect("events");
    assert_eq!(
        kept,
        [
            ("oSBX_new1".into(), true),
            ("oSBX_old1".into(), false),
            ("oSBX_old2".into(), false)
        ]
    );
    let sessions: Vec<String> = sqlx::query_scalar("select id_hash from session order by 1")
        .fetch_all(&pool)
        .await
        .expect("sessions");
    assert_eq!(sessions, ["h-live"]);
    let outbox_after: i64 = sqlx::query_scalar("select count(*) from outbox")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(
        outbox_before - outbox_after,
        2,
        "the old done and the old failed job"
    );
    let pending: i64 = sqlx::query_scalar("select count(*) from outbox where status = 'pending'")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(pending, 1, "kept notices stay");
    // A second pass finds nothing more; the page says when it ran.
    assert_eq!(privacy::purge(&pool).await.expect("again"), 0);
    let page = privacy::overview(&pool, &admin).await.expect("page");
    assert_eq!((page.retention_days, page.purged_events), (30, 4));
    assert!(page.purged_at.is_some());
}
