//! SQL of attribution overrides: moving a referral's credit to another referrer, with the
//! roll-up deltas that move its follow (and its unfollow) along, and the history.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// A referral about to be moved, read under lock.
#[derive(Debug, sqlx::FromRow)]
pub struct Locked {
    pub referrer_id: i64,
    pub follower_id: i64,
    /// A voided referral's credit cannot be moved (restore it first).
    pub voided: bool,
}

/// Locks the referral and its follower (a concurrent unfollow then waits and is counted for
/// the new referrer); None when the account has no such referral.
pub async fn lock(
    conn: &mut PgConnection,
    account_id: i64,
    referral_id: i64,
) -> sqlx::Result<Option<Locked>> {
    sqlx::query_as(
        "select r.referrer_id, r.follower_id, r.voided_at is not null as voided from referral r
         join follower f on f.account_id = r.account_id and f.id = r.follower_id
         where r.account_id = $1 and r.id = $2
         for update of r, f",
    )
    .bind(account_id)
    .bind(referral_id)
    .fetch_optional(&mut *conn)
    .await
}

/// Gives the locked referral to `to`, queues the roll-up deltas that take its follow, unfollow
/// and lost counts from the old referrer to the new one ([`shift_counts`]), and records the
/// move; returns the move's id.
pub async fn move_to(
    conn: &mut PgConnection,
    account_id: i64,
    referral_id: i64,
    from: i64,
    to: i64,
    reason: &str,
    actor: &str,
) -> sqlx::Result<i64> {
    shift_counts(conn, account_id, referral_id, &[(from, -1), (to, 1)]).await?;
    sqlx::query("update referral set referrer_id = $3 where account_id = $1 and id = $2")
        .bind(account_id)
        .bind(referral_id)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar(
        "insert into credit_move (account_id, referral_id, follower_id, from_referrer_id,
                                  to_referrer_id, reason, actor)
         select $1, $2, follower_id, $3, $4, $5, $6 from referral
         where account_id = $1 and id = $2
         returning id",
    )
    .bind(account_id)
    .bind(referral_id)
    .bind(from)
    .bind(to)
    .bind(reason)
    .bind(actor)
    .fetch_one(&mut *conn)
    .await
}

/// Queues the roll-up deltas that add the referral's follow, unfollow and lost counts (what
/// a rebuild counts for it) to each `(referrer, sign)` side: -1 takes them from a referrer, 1
/// gives them to one. Moving credit is both; voiding is the first, restoring the second.
pub async fn shift_counts(
    conn: &mut PgConnection,
    account_id: i64,
    referral_id: i64,
    sides: &[(i64, i32)],
) -> sqlx::Result<()> {
    let (referrers, signs): (Vec<i64>, Vec<i32>) = sides.iter().copied().unzip();
    sqlx::query(
        "with r as (
            select r.followed_at, f.unfollowed_at,
                   (not f.subscribed and f.unfollowed_at is not null) as gone
            from referral r
            join follower f on f.account_id = r.account_id and f.id = r.follower_id
            where r.account_id = $1 and r.id = $2),
         side as (select * from unnest($3::bigint[], $4::int[]) as s(referrer_id, sign))
         insert into stats_delta (account_id, referrer_id, day, follows, unfollows, lost,
                                  lost_7d, lost_30d)
         select $1, s.referrer_id, cst_day(r.followed_at), s.sign, 0,
                s.sign * r.gone::integer,
                s.sign * (r.gone and r.unfollowed_at < r.followed_at + interval '7 days')::integer,
                s.sign * (r.gone and r.unfollowed_at < r.followed_at + interval '30 days')::integer
         from r, side s
         union all
         select $1, s.referrer_id, cst_day(r.unfollowed_at), 0, s.sign, 0, 0, 0
         from r, side s where r.gone",
    )
    .bind(account_id)
    .bind(referral_id)
    .bind(referrers)
    .bind(signs)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One move as the history shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MoveRow {
    pub id: i64,
    pub referral_id: i64,
    pub openid: String,
    pub from_referrer_id: i64,
    pub from_name: String,
    pub to_referrer_id: i64,
    pub to_name: String,
    pub reason: String,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// The moves to or from a referrer, newest first.
pub async fn history(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<MoveRow>> {
    sqlx::query_as(
        "select m.id, m.referral_id, f.openid, m.from_referrer_id, a.name as from_name,
                m.to_referrer_id, b.name as to_name, m.reason, m.actor, m.created_at
         from credit_move m
         join follower f on f.account_id = m.account_id and f.id = m.follower_id
         join referrer a on a.account_id = m.account_id and a.id = m.from_referrer_id
         join referrer b on b.account_id = m.account_id and b.id = m.to_referrer_id
         where m.account_id = $1 and (m.from_referrer_id = $2 or m.to_referrer_id = $2)
         order by m.id desc limit $3",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Referrers credit can be moved to: the account's active ones, by name (at most `limit`).
pub async fn targets(
    pool: &PgPool,
    account_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String)>> {
    sqlx::query_as(
        "select id, name from referrer where account_id = $1 and archived_at is null
         order by name, id limit $2",
    )
    .bind(account_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
