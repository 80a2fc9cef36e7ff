//! Campaign counting: members joining, friends credited and taken back, rewards handed out
//! from the stock and the notices that tell members. The rules (what a notice says, when a
//! reward waits for review) are in [`crate::referral::campaigns`]; each write here is one
//! statement, and the caller holds the member's row lock ([`lock_member`]) so a member's count
//! moves one friend at a time.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Adds a member to a campaign; false when they were in it already.
pub async fn join(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into campaign_member (account_id, campaign_id, referrer_id) values ($1, $2, $3)
         on conflict do nothing",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Of these credited follows `(account, referral)`, those whose referrer takes part in some
/// campaign (one statement for a batch of follow-ups; only these are looked at further).
pub async fn candidates(
    pool: &sqlx::PgPool,
    referrals: &[(i64, i64)],
) -> sqlx::Result<Vec<(i64, i64)>> {
    let (accounts, ids): (Vec<i64>, Vec<i64>) = referrals.iter().copied().unzip();
    sqlx::query_as(
        "select r.account_id, r.id
         from unnest($1::bigint[], $2::bigint[]) as x(account_id, id)
         join referral r on r.account_id = x.account_id and r.id = x.id
         where exists (select 1 from campaign_member m
                       where m.account_id = r.account_id and m.referrer_id = r.referrer_id)",
    )
    .bind(&accounts)
    .bind(&ids)
    .fetch_all(pool)
    .await
}

/// A campaign a credited follow counts for: the referral's referrer is a member of it, joined
/// before the follow was recorded, the follow falls in the campaign's window and is the
/// follower's first follow of the account, and the referral is not voided.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Eligible {
    pub campaign_id: i64,
    pub name: String,
    pub holding_days: i32,
    pub end_when_out_of_stock: bool,
    pub referrer_id: i64,
    pub follower_id: i64,
    pub followed_at: DateTime<Utc>,
}

/// The campaigns `referral_id` counts for, their member rows locked (see the module).
pub async fn eligible(
    conn: &mut PgConnection,
    account_id: i64,
    referral_id: i64,
) -> sqlx::Result<Vec<Eligible>> {
    sqlx::query_as(
        "select c.id as campaign_id, c.name, c.holding_days, c.end_when_out_of_stock,
                r.referrer_id, r.follower_id, r.followed_at
         from referral r
         join follower f on f.account_id = r.account_id and f.id = r.follower_id
         join campaign_member m on m.account_id = r.account_id and m.referrer_id = r.referrer_id
         join campaign c on c.account_id = m.account_id and c.id = m.campaign_id
         where r.account_id = $1 and r.id = $2 and r.voided_at is null
           and r.created_at >= m.joined_at
           and r.followed_at >= c.starts_at and r.followed_at < c.ends_at
           and (c.ended_at is null or r.created_at < c.ended_at)
           and f.first_followed_at = r.followed_at
         order by c.id
         for update of m",
    )
    .bind(account_id)
    .bind(referral_id)
    .fetch_all(&mut *conn)
    .await
}

/// Records the credit; false when it was recorded before (a job that runs again).
pub async fn insert_credit(
    conn: &mut PgConnection,
    account_id: i64,
    referral_id: i64,
    e: &Eligible,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "insert into campaign_credit
             (account_id, campaign_id, referral_id, referrer_id, follower_id, held_until)
         values ($1, $2, $3, $4, $5, $6 + make_interval(days => $7))
         on conflict do nothing",
    )
    .bind(account_id)
    .bind(e.campaign_id)
    .bind(referral_id)
    .bind(e.referrer_id)
    .bind(e.follower_id)
    .bind(e.followed_at)
    .bind(e.holding_days)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Friends counting for a member now: credited, not taken back, not voided, not moved to
/// another referrer.
pub async fn count(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from campaign_credit c
         join referral r on r.account_id = c.account_id and r.id = c.referral_id
         where c.account_id = $1 and c.campaign_id = $2 and c.referrer_id = $3
           and c.revoked_at is null and r.voided_at is null
           and r.referrer_id = c.referrer_id",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .fetch_one(&mut *conn)
    .await
}

/// A milestone as the counting sees it, with whether the member has its reward.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Goal {
    pub milestone_id: i64,
    pub goal: i32,
    pub reward_kind: String,
    pub reward_name: String,
    pub link: Option<String>,
    pub rewarded: bool,
}

pub async fn goals(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
) -> sqlx::Result<Vec<Goal>> {
    sqlx::query_as(
        "select m.id as milestone_id, m.goal, m.reward_kind, m.reward_name, m.link,
                exists (select 1 from campaign_reward w
                        where w.account_id = m.account_id and w.milestone_id = m.id
                          and w.referrer_id = $3) as rewarded
         from campaign_milestone m
         where m.account_id = $1 and m.campaign_id = $2 order by m.goal",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .fetch_all(&mut *conn)
    .await
}

/// Whether the abuse review has open flags on this member's credited friends in the campaign
/// (or on the member's own scans): their rewards wait for review.
pub async fn flagged(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (
             select 1 from abuse_flag a
             where a.account_id = $1 and a.status = 'open' and a.referrer_id = $3
               and (a.scan_id is not null or exists (
                   select 1 from campaign_credit c
                   where c.account_id = a.account_id and c.campaign_id = $2
                     and c.referral_id = a.referral_id and c.revoked_at is null)))",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .fetch_one(&mut *conn)
    .await
}

/// Takes one free coupon of the milestone for `reward_id`: never one another reward holds,
/// and none lost when transactions race (a coupon locked by another transaction is skipped;
/// when all that are left are locked, this waits for them and looks again).
pub async fn take_coupon(
    conn: &mut PgConnection,
    account_id: i64,
    milestone_id: i64,
    reward_id: i64,
) -> sqlx::Result<Option<String>> {
    loop {
        let taken: Option<String> = sqlx::query_scalar(
            "update campaign_coupon set reward_id = $3
             where account_id = $1 and id = (
                 select id from campaign_coupon
                 where account_id = $1 and milestone_id = $2 and reward_id is null
                 order by id limit 1 for update skip locked)
             returning code",
        )
        .bind(account_id)
        .bind(milestone_id)
        .bind(reward_id)
        .fetch_optional(&mut *conn)
        .await?;
        if taken.is_some() {
            return Ok(taken);
        }
        let left: bool = sqlx::query_scalar(
            "select exists (select 1 from campaign_coupon
                            where account_id = $1 and milestone_id = $2 and reward_id is null)",
        )
        .bind(account_id)
        .bind(milestone_id)
        .fetch_one(&mut *conn)
        .await?;
        if !left {
            return Ok(None);
        }
        // Free coupons are locked by transactions still running (which may roll back): wait
        // for one of them (a plain lock), then look again.
        sqlx::query(
            "select id from campaign_coupon
             where account_id = $1 and milestone_id = $2 and reward_id is null
             order by id limit 1 for update",
        )
        .bind(account_id)
        .bind(milestone_id)
        .execute(&mut *conn)
        .await?;
    }
}

/// Records a reward (status set by the caller); None when the member has it already.
pub async fn insert_reward(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    milestone_id: i64,
    referrer_id: i64,
    status: &str,
    code: Option<&str>,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "insert into campaign_reward
             (account_id, campaign_id, milestone_id, referrer_id, status, code)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (account_id, milestone_id, referrer_id) do nothing
         returning id",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(milestone_id)
    .bind(referrer_id)
    .bind(status)
    .bind(code)
    .fetch_optional(&mut *conn)
    .await
}

/// Sets a reward's status and code.
pub async fn set_reward(
    conn: &mut PgConnection,
    account_id: i64,
    reward_id: i64,
    status: &str,
    code: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update campaign_reward set status = $3, code = coalesce($4, code)
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(reward_id)
    .bind(status)
    .bind(code)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Locks a reward: `(campaign, milestone, member, status)`.
pub async fn lock_reward(
    conn: &mut PgConnection,
    account_id: i64,
    reward_id: i64,
) -> sqlx::Result<Option<(i64, i64, i64, String)>> {
    sqlx::query_as(
        "select campaign_id, milestone_id, referrer_id, status from campaign_reward
         where account_id = $1 and id = $2 for update",
    )
    .bind(account_id)
    .bind(reward_id)
    .fetch_optional(&mut *conn)
    .await
}

/// Marks a store reward collected.
pub async fn redeem(
    conn: &mut PgConnection,
    account_id: i64,
    reward_id: i64,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update campaign_reward set status = 'redeemed', redeemed_at = now(), redeemed_by = $3
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(reward_id)
    .bind(by)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Ends a campaign because its stock ran out (when it is set to).
pub async fn end_out_of_stock(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "update campaign set ended_at = now(), ended_reason = 'out_of_stock', updated_at = now()
         where account_id = $1 and id = $2 and ended_at is null",
    )
    .bind(account_id)
    .bind(campaign_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A credit taken back by an unfollow within the holding period.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TakenBack {
    pub campaign_id: i64,
    pub name: String,
    pub referrer_id: i64,
}

/// The members (`(campaign, member)`, in lock order) whose credits of `openid` (who just
/// unfollowed, at `at`) are still in their holding period; read before [`take_back`] so the
/// members are locked first, as crediting locks them.
pub async fn held_members(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(
        "select distinct c.campaign_id, c.referrer_id
         from follower f
         join campaign_credit c on c.account_id = f.account_id and c.follower_id = f.id
         where f.account_id = $1 and f.openid = $2 and not f.subscribed
           and c.revoked_at is null and c.held_until > $3
         order by 1, 2",
    )
    .bind(account_id)
    .bind(openid)
    .bind(at)
    .fetch_all(&mut *conn)
    .await
}

/// Takes back the credits of `openid` (who just unfollowed, at `at`) still in their holding
/// period. Nothing when the follower follows again (an unfollow older than their last follow).
pub async fn take_back(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<Vec<TakenBack>> {
    sqlx::query_as(
        "with taken as (
             update campaign_credit c set revoked_at = $3
             from follower f
             where f.account_id = $1 and f.openid = $2 and not f.subscribed
               and c.account_id = f.account_id and c.follower_id = f.id
               and c.revoked_at is null and c.held_until > $3
             returning c.campaign_id, c.referrer_id)
         select t.campaign_id, c.name, t.referrer_id
         from taken t join campaign c on c.account_id = $1 and c.id = t.campaign_id",
    )
    .bind(account_id)
    .bind(openid)
    .bind(at)
    .fetch_all(&mut *conn)
    .await
}

/// A campaign's name and whether it ends when its stock runs out.
pub async fn campaign_facts(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
) -> sqlx::Result<(String, bool)> {
    sqlx::query_as(
        "select name, end_when_out_of_stock from campaign where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_one(&mut *conn)
    .await
}

/// Locks a member's row in a campaign (their count moves one change at a time).
pub async fn lock_member(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "select 1 from campaign_member
         where account_id = $1 and campaign_id = $2 and referrer_id = $3 for update",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a notice for a member; the caller queues its job. Returns its id.
pub async fn insert_notice(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
    kind: &str,
    text: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into campaign_notice (account_id, campaign_id, referrer_id, kind, text)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .bind(kind)
    .bind(text)
    .fetch_one(&mut *conn)
    .await
}

/// A notice to send: its text and the member's openid (None when the member has none any
/// more, e.g. erased), and whether it went out already.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NoticeToSend {
    pub text: String,
    pub openid: Option<String>,
    pub status: String,
}

pub async fn notice(
    pool: &sqlx::PgPool,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<NoticeToSend>> {
    sqlx::query_as(
        "select n.text, r.openid, n.status from campaign_notice n
         join referrer r on r.account_id = n.account_id and r.id = n.referrer_id
         where n.account_id = $1 and n.id = $2",
    )
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// How a notice went.
pub async fn settle_notice(
    pool: &sqlx::PgPool,
    account_id: i64,
    id: i64,
    status: &str,
    errcode: Option<i64>,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update campaign_notice set status = $3, errcode = $4, error = $5,
             sent_at = case when $3 = 'sent' then now() end,
             kept_at = case when $3 = 'kept' then now() end
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(status)
    .bind(errcode.and_then(|c| i32::try_from(c).ok()))
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Kept notices whose member interacted with the account since (a callback stored after the
/// notice was kept): marked `queued` again, `(account_id, notice id)` returned for the caller to
/// queue their sending in the same transaction.
pub async fn take_reopened(conn: &mut PgConnection) -> sqlx::Result<Vec<(i64, i64)>> {
    use crate::db::jobs::INTERACTION;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update campaign_notice n set status = 'queued', kept_at = null
         from referrer re
         where n.status = 'kept' and re.account_id = n.account_id and re.id = n.referrer_id
           and re.openid is not null
           and exists (select 1 from event e
                       where e.account_id = n.account_id and e.openid = re.openid
                         and e.created_at > n.kept_at and {INTERACTION})
         returning n.account_id, n.id"
    )))
    .fetch_all(conn)
    .await
}
