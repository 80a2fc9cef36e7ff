//! Attribution override: an admin moves a follower's credit with a reason; the leaderboard
//! follows (follows, unfollows and losses change referrer), the roll-ups equal a rebuild, and
//! the move shows on both referrers' pages and in the audit log.

use app::model::Role;
use sqlx::PgPool;
use tuijian::referral::actor::Actor;
use tuijian::referral::credit;
use tuijian::referral::error::ServiceError;
use tuijian::sandbox::simulate;

use crate::common::{board, referrer_with_code, spawn_app};

async fn referral_of(pool: &PgPool, openid: &str) -> (i64, i64) {
    sqlx::query_as(
        "select r.id, r.referrer_id from referral r join follower f on f.id = r.follower_id
         where f.openid = $1",
    )
    .bind(openid)
    .fetch_one(pool)
    .await
    .expect("referral")
}

#[sqlx::test(migrations = "../migrations")]
async fn an_admin_moves_credit_and_the_figures_follow(pool: PgPool) {
    let app = spawn_app(pool.clone()).await;
    let (zhang, zhang_code) = referrer_with_code(&app, "张三").await;
    let (li, _) = referrer_with_code(&app, "李四").await;
    let sim = app.state.sim();
    simulate::scan(&sim, zhang_code, "stay")
        .await
        .expect("stay");
    simulate::scan(&sim, zhang_code, "moved")
        .await
        .expect("moved");
    simulate::scan(&sim, zhang_code, "gone")
        .await
        .expect("gone");
    simulate::unfollow(&sim, "gone").await.expect("gone leaves");
    let before = board(&pool).await;
    assert!(before.contains(&("张三".into(), 3, 1)), "{before:?}");
    let admin = Actor::cli(1);
    let (moved, _) = referral_of(&pool, "oSBX_moved").await;
    let (gone, _) = referral_of(&pool, "oSBX_gone").await;

    // The rules: admins only, a reason, a real and active target, not the same referrer.
    let manager = Actor::token(1, Role::Manager, "m");
    assert!(matches!(
        credit::move_credit(&pool, &manager, moved, li, "x").await,
        Err(ServiceError::Forbidden(Role::Admin))
    ));
    assert!(matches!(
        credit::move_credit(&pool, &admin, moved, li, "  ").await,
        Err(ServiceError::Validation(_))
    ));
    assert!(matches!(
        credit::move_credit(&pool, &admin, moved, 9999, "x").await,
        Err(ServiceError::Validation(_))
    ));
    assert!(matches!(
        credit::move_credit(&pool, &admin, moved, zhang, "x").await,
        Err(ServiceError::Conflict {
            code: "same_referrer",
            ..
        })
    ));
    assert!(matches!(
        credit::move_credit(&pool, &Actor::cli(2), moved, li, "x").await,
        Err(ServiceError::Validation(_) | ServiceError::NotFound(_))
    ));

    let done = credit::move_credit(&pool, &admin, moved, li, "扫的是张三的码，实为李四介绍")
        .await
        .expect("move");
    assert_eq!(
        (done.from_name.as_str(), done.to_name.as_str()),
        ("张三", "李四")
    );
    credit::move_credit(&pool, &admin, gone, li, "同上")
        .await
        .expect("move the one who left");
    assert_eq!(referral_of(&pool, "oSBX_moved").await.1, li);
    // The board follows: Zhang keeps one follow, Li has two, one of them gone.
    assert_eq!(
        board(&pool).await,
        [("张三".into(), 1, 0), ("李四".into(), 2, 1)]
    );
    let kept = crate::rest_reports::rollups(&pool).await;
    tuijian::db::rollup::rebuild(&pool).await.expect("rebuild");
    assert_eq!(crate::rest_reports::rollups(&pool).await, kept);
    // Both pages show the moves; the audit log has who, what and why.
    for (referrer, direction) in [(zhang, "out"), (li, "in")] {
        let history = credit::history(&pool, &admin, referrer)
            .await
            .expect("history");
        assert_eq!(history.len(), 2, "{direction}");
        assert!(history.iter().all(|m| m.actor == "cli"));
    }
    let detail = tuijian::referral::referrers::detail(&pool, &admin, zhang, None)
        .await
        .expect("detail");
    assert_eq!(detail.credit_moves.len(), 2);
    assert!(detail.move_targets.iter().any(|(id, _)| *id == li));
    assert!(!detail.move_targets.iter().any(|(id, _)| *id == zhang));
    let staff_view = tuijian::referral::referrers::detail(
        &pool,
        &Actor::token(1, Role::Staff, "s"),
        zhang,
        None,
    )
    .await
    .expect("detail");
    assert!(
        staff_view.move_targets.is_empty(),
        "only admins move credit"
    );
    let reasons: Vec<String> = sqlx::query_scalar(
        "select detail->>'reason' from audit_log where action = 'referral.move' order by id",
    )
    .fetch_all(&pool)
    .await
    .expect("audit");
    assert_eq!(reasons, ["扫的是张三的码，实为李四介绍", "同上"]);
    // Later events follow the new credit: the moved follower leaves, Li loses them.
    simulate::unfollow(&sim, "moved")
        .await
        .expect("moved leaves");
    assert_eq!(
        board(&pool).await,
        [("张三".into(), 1, 0), ("李四".into(), 2, 2)]
    );
}
