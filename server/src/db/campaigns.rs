//! Fission campaigns: the campaign, its milestones and coupon stock, members' cached posters,
//! and the board's reads. Crediting friends and handing out rewards are in
//! [`crate::db::campaign_credit`].

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{PgConnection, PgPool};

use app::campaigns::PosterLayout;

/// A campaign as stored (without its background bytes).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CampaignRow {
    pub account_id: i64,
    pub id: i64,
    pub name: String,
    pub keyword: String,
    pub menu_key: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub holding_days: i32,
    pub end_when_out_of_stock: bool,
    pub poster_text: String,
    pub layout: Json<PosterLayout>,
    pub has_background: bool,
    pub width: i32,
    pub height: i32,
    pub poster_version: i32,
    pub ended_at: Option<DateTime<Utc>>,
    pub ended_reason: Option<String>,
}

const COLUMNS: &str = "account_id, id, name, keyword, menu_key, starts_at, ends_at, \
    holding_days, end_when_out_of_stock, poster_text, layout, background is not null as \
    has_background, width, height, poster_version, ended_at, ended_reason";

/// What a campaign is made or changed with (checked by the service).
#[derive(Debug, Clone)]
pub struct CampaignWrite<'a> {
    pub name: &'a str,
    pub keyword: &'a str,
    pub menu_key: Option<&'a str>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub holding_days: i32,
    pub end_when_out_of_stock: bool,
    pub poster_text: &'a str,
    pub layout: &'a PosterLayout,
}

/// A milestone as written.
#[derive(Debug, Clone)]
pub struct MilestoneWrite<'a> {
    pub goal: i32,
    pub reward_kind: &'a str,
    pub reward_name: &'a str,
    pub link: Option<&'a str>,
}

/// A milestone with its stock.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MilestoneRow {
    pub id: i64,
    pub campaign_id: i64,
    pub goal: i32,
    pub reward_kind: String,
    pub reward_name: String,
    pub link: Option<String>,
    pub stock_total: i64,
    pub stock_left: i64,
}

pub async fn insert(
    conn: &mut PgConnection,
    account_id: i64,
    w: &CampaignWrite<'_>,
    actor: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into campaign (account_id, name, keyword, menu_key, starts_at, ends_at,
             holding_days, end_when_out_of_stock, poster_text, layout, width, height, created_by)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         returning id",
    )
    .bind(account_id)
    .bind(w.name)
    .bind(w.keyword)
    .bind(w.menu_key)
    .bind(w.starts_at)
    .bind(w.ends_at)
    .bind(w.holding_days)
    .bind(w.end_when_out_of_stock)
    .bind(w.poster_text)
    .bind(Json(w.layout))
    .bind(app::campaigns::DEFAULT_WIDTH as i32)
    .bind(app::campaigns::DEFAULT_HEIGHT as i32)
    .bind(actor)
    .fetch_one(&mut *conn)
    .await
}

/// Changes a campaign; the poster's version moves on so cached posters are made again.
pub async fn update(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    w: &CampaignWrite<'_>,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update campaign set name = $3, keyword = $4, menu_key = $5, starts_at = $6,
             ends_at = $7, holding_days = $8, end_when_out_of_stock = $9, poster_text = $10,
             layout = $11, poster_version = poster_version + 1, updated_at = now()
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(w.name)
    .bind(w.keyword)
    .bind(w.menu_key)
    .bind(w.starts_at)
    .bind(w.ends_at)
    .bind(w.holding_days)
    .bind(w.end_when_out_of_stock)
    .bind(w.poster_text)
    .bind(Json(w.layout))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Replaces the milestones of a campaign that has handed out no reward yet (the caller
/// checked, under the campaign's lock).
pub async fn replace_milestones(
    conn: &mut PgConnection,
    account_id: i64,
    campaign_id: i64,
    milestones: &[MilestoneWrite<'_>],
) -> sqlx::Result<()> {
    // Milestones whose goal stays keep their id (and their coupon stock).
    let goals: Vec<i32> = milestones.iter().map(|m| m.goal).collect();
    sqlx::query(
        "delete from campaign_coupon c using campaign_milestone m
         where c.account_id = $1 and m.account_id = $1 and c.milestone_id = m.id
           and m.campaign_id = $2 and not (m.goal = any($3))",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(&goals)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "delete from campaign_milestone
         where account_id = $1 and campaign_id = $2 and not (goal = any($3))",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(&goals)
    .execute(&mut *conn)
    .await?;
    for m in milestones {
        sqlx::query(
            "insert into campaign_milestone
                 (account_id, campaign_id, goal, reward_kind, reward_name, link)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (account_id, campaign_id, goal) do update
                 set reward_kind = excluded.reward_kind, reward_name = excluded.reward_name,
                     link = excluded.link",
        )
        .bind(account_id)
        .bind(campaign_id)
        .bind(m.goal)
        .bind(m.reward_kind)
        .bind(m.reward_name)
        .bind(m.link)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Locks the campaign row and says whether it has handed out any reward.
pub async fn lock_rewarded(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
) -> sqlx::Result<Option<bool>> {
    sqlx::query_scalar(
        "select exists (select 1 from campaign_reward r
                        where r.account_id = c.account_id and r.campaign_id = c.id)
         from campaign c where c.account_id = $1 and c.id = $2 for update",
    )
    .bind(account_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
}

pub async fn get(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<CampaignRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from campaign where account_id = $1 and id = $2"
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The account's campaigns, newest first.
pub async fn list(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<CampaignRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from campaign where account_id = $1 order by id desc limit 200"
    )))
    .bind(account_id)
    .fetch_all(pool)
    .await
}

/// The milestones of these campaigns with their stock, by goal.
pub async fn milestones(
    pool: &PgPool,
    account_id: i64,
    campaign_ids: &[i64],
) -> sqlx::Result<Vec<MilestoneRow>> {
    sqlx::query_as(
        "select m.id, m.campaign_id, m.goal, m.reward_kind, m.reward_name, m.link,
                count(c.id) as stock_total, count(c.id) filter (where c.reward_id is null)
                    as stock_left
         from campaign_milestone m
         left join campaign_coupon c on c.account_id = m.account_id and c.milestone_id = m.id
         where m.account_id = $1 and m.campaign_id = any($2)
         group by m.account_id, m.id order by m.campaign_id, m.goal",
    )
    .bind(account_id)
    .bind(campaign_ids)
    .fetch_all(pool)
    .await
}

/// The campaign a text message or menu key joins, among those not ended early: running ones
/// first, then the nearest.
pub async fn by_trigger(
    conn: &mut PgConnection,
    account_id: i64,
    text: Option<&str>,
    menu_key: Option<&str>,
) -> sqlx::Result<Option<CampaignRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from campaign
         where account_id = $1
           and (lower(keyword) = lower($2) or menu_key = $3)
         order by (ended_at is null and starts_at <= now() and now() < ends_at) desc,
                  abs(extract(epoch from (starts_at - now()))), id desc
         limit 1"
    )))
    .bind(account_id)
    .bind(text.map(str::trim))
    .bind(menu_key)
    .fetch_optional(&mut *conn)
    .await
}

/// Stores an uploaded background and its size; cached posters are made again.
pub async fn set_background(
    pool: &PgPool,
    account_id: i64,
    id: i64,
    bytes: &[u8],
    width: u32,
    height: u32,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update campaign set background = $3, width = $4, height = $5,
             poster_version = poster_version + 1, updated_at = now()
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(id)
    .bind(bytes)
    .bind(width as i32)
    .bind(height as i32)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The uploaded background, if any.
pub async fn background(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<Vec<u8>>> {
    sqlx::query_scalar(
        "select background from campaign where account_id = $1 and id = $2 and background is not null",
    )
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Ends a campaign now (staff stopped it); false when it had ended already.
pub async fn stop(conn: &mut PgConnection, account_id: i64, id: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update campaign set ended_at = now(), ended_reason = 'stopped', updated_at = now()
         where account_id = $1 and id = $2 and ended_at is null",
    )
    .bind(account_id)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds coupon codes to a milestone's stock; codes it already has are skipped. Returns how
/// many were added.
pub async fn add_coupons(
    conn: &mut PgConnection,
    account_id: i64,
    milestone_id: i64,
    codes: &[String],
) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "insert into campaign_coupon (account_id, milestone_id, code)
         select $1, $2, code from unnest($3::text[]) as code
         on conflict (account_id, milestone_id, code) do nothing",
    )
    .bind(account_id)
    .bind(milestone_id)
    .bind(codes)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// A member's cached poster for a campaign: the PNG and what it was made from, and its
/// upload.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PosterCache {
    pub poster: Option<Vec<u8>>,
    pub poster_key: Option<String>,
    pub media_id: Option<String>,
    pub media_expires_at: Option<DateTime<Utc>>,
}

pub async fn poster_cache(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
) -> sqlx::Result<Option<PosterCache>> {
    sqlx::query_as(
        "select poster, poster_key, media_id, media_expires_at from campaign_member
         where account_id = $1 and campaign_id = $2 and referrer_id = $3",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .fetch_optional(pool)
    .await
}

/// Keeps a newly made poster (its upload is no longer valid).
pub async fn set_poster(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
    png: &[u8],
    key: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update campaign_member set poster = $4, poster_key = $5, media_id = null,
             media_expires_at = null
         where account_id = $1 and campaign_id = $2 and referrer_id = $3",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .bind(png)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

/// Keeps the poster's upload, if the poster is still the one uploaded.
pub async fn set_poster_media(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
    key: &str,
    media_id: &str,
    until: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update campaign_member set media_id = $5, media_expires_at = $6
         where account_id = $1 and campaign_id = $2 and referrer_id = $3 and poster_key = $4",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .bind(key)
    .bind(media_id)
    .bind(until)
    .execute(pool)
    .await?;
    Ok(())
}

/// The campaigns a member takes part in, newest first: `(campaign, credited friends now)`.
pub async fn of_member(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
) -> sqlx::Result<Vec<(CampaignRow, i64)>> {
    let campaigns: Vec<CampaignRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from campaign c
         where account_id = $1 and exists (
             select 1 from campaign_member m
             where m.account_id = c.account_id and m.campaign_id = c.id and m.referrer_id = $2)
         order by id desc limit 20"
    )))
    .bind(account_id)
    .bind(referrer_id)
    .fetch_all(pool)
    .await?;
    let mut out = Vec::with_capacity(campaigns.len());
    for c in campaigns {
        let mut conn = pool.acquire().await?;
        let n = crate::db::campaign_credit::count(&mut conn, account_id, c.id, referrer_id).await?;
        out.push((c, n));
    }
    Ok(out)
}

/// A reward as listed.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RewardRow {
    pub id: i64,
    pub campaign_id: i64,
    pub referrer_id: i64,
    pub member: String,
    pub goal: i32,
    pub reward_name: String,
    pub reward_kind: String,
    pub link: Option<String>,
    pub status: String,
    pub code: Option<String>,
    pub created_at: DateTime<Utc>,
    pub redeemed_at: Option<DateTime<Utc>>,
}

const REWARD_SELECT: &str = "select w.id, w.campaign_id, w.referrer_id, r.name as member, m.goal,
        m.reward_name, m.reward_kind, m.link, w.status, w.code, w.created_at, w.redeemed_at
     from campaign_reward w
     join campaign_milestone m on m.account_id = w.account_id and m.id = w.milestone_id
     join referrer r on r.account_id = w.account_id and r.id = w.referrer_id";

/// A campaign's rewards, newest first (`limit` of them; None: all, for exports).
pub async fn rewards(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
    limit: Option<i64>,
) -> sqlx::Result<Vec<RewardRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{REWARD_SELECT} where w.account_id = $1 and w.campaign_id = $2
         order by w.id desc limit $3"
    )))
    .bind(account_id)
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// A member's rewards in a campaign, by goal.
pub async fn member_rewards(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
    referrer_id: i64,
) -> sqlx::Result<Vec<RewardRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{REWARD_SELECT} where w.account_id = $1 and w.campaign_id = $2 and w.referrer_id = $3
         order by m.goal"
    )))
    .bind(account_id)
    .bind(campaign_id)
    .bind(referrer_id)
    .fetch_all(pool)
    .await
}

pub async fn reward(pool: &PgPool, account_id: i64, id: i64) -> sqlx::Result<Option<RewardRow>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{REWARD_SELECT} where w.account_id = $1 and w.id = $2"
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// The board's totals: participants, friends counting, friends taken back.
pub async fn totals(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
) -> sqlx::Result<(i64, i64, i64)> {
    sqlx::query_as(
        "select (select count(*) from campaign_member
                 where account_id = $1 and campaign_id = $2),
                (select count(*) from campaign_credit c
                 join referral r on r.account_id = c.account_id and r.id = c.referral_id
                 where c.account_id = $1 and c.campaign_id = $2 and c.revoked_at is null
                   and r.voided_at is null and r.referrer_id = c.referrer_id),
                (select count(*) from campaign_credit
                 where account_id = $1 and campaign_id = $2 and revoked_at is not null)",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_one(pool)
    .await
}

/// Per milestone: `(milestone id, reached, issued, held, out_of_stock)`.
pub async fn standings(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
) -> sqlx::Result<Vec<(i64, i64, i64, i64, i64)>> {
    sqlx::query_as(
        "select m.id, count(w.id),
                count(w.id) filter (where w.status in ('issued', 'redeemed')),
                count(w.id) filter (where w.status = 'held'),
                count(w.id) filter (where w.status = 'out_of_stock')
         from campaign_milestone m
         left join campaign_reward w on w.account_id = m.account_id and w.milestone_id = m.id
         where m.account_id = $1 and m.campaign_id = $2
         group by m.account_id, m.id order by m.goal",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(pool)
    .await
}

/// The campaign's days (Beijing time) with activity: `(day, joined, credited, taken back,
/// rewards)`.
pub async fn days(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
) -> sqlx::Result<Vec<(chrono::NaiveDate, i64, i64, i64, i64)>> {
    sqlx::query_as(
        "with t as (
             select (joined_at at time zone 'Asia/Shanghai')::date as day, 1 as j, 0 as c,
                    0 as b, 0 as w
             from campaign_member where account_id = $1 and campaign_id = $2
             union all
             select (credited_at at time zone 'Asia/Shanghai')::date, 0, 1, 0, 0
             from campaign_credit where account_id = $1 and campaign_id = $2
             union all
             select (revoked_at at time zone 'Asia/Shanghai')::date, 0, 0, 1, 0
             from campaign_credit
             where account_id = $1 and campaign_id = $2 and revoked_at is not null
             union all
             select (created_at at time zone 'Asia/Shanghai')::date, 0, 0, 0, 1
             from campaign_reward
             where account_id = $1 and campaign_id = $2 and status in ('issued', 'redeemed'))
         select day, sum(j)::bigint, sum(c)::bigint, sum(b)::bigint, sum(w)::bigint
         from t group by day order by day",
    )
    .bind(account_id)
    .bind(campaign_id)
    .fetch_all(pool)
    .await
}

/// The members with the most friends counting: `(referrer id, name, credited, rewards)`.
pub async fn top(
    pool: &PgPool,
    account_id: i64,
    campaign_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<(i64, String, i64, i64)>> {
    sqlx::query_as(
        "select m.referrer_id, r.name,
                (select count(*) from campaign_credit c
                 join referral f on f.account_id = c.account_id and f.id = c.referral_id
                 where c.account_id = m.account_id and c.campaign_id = m.campaign_id
                   and c.referrer_id = m.referrer_id and c.revoked_at is null
                   and f.voided_at is null and f.referrer_id = c.referrer_id) as credited,
                (select count(*) from campaign_reward w
                 where w.account_id = m.account_id and w.campaign_id = m.campaign_id
                   and w.referrer_id = m.referrer_id and w.status in ('issued', 'redeemed'))
         from campaign_member m
         join referrer r on r.account_id = m.account_id and r.id = m.referrer_id
         where m.account_id = $1 and m.campaign_id = $2
         order by credited desc, m.joined_at limit $3",
    )
    .bind(account_id)
    .bind(campaign_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
