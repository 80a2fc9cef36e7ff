//! SQL of abuse review: the sweep that flags suspicious referrals and scans, the review queue,
//! voiding and restoring a referral (with the roll-up deltas that take its counts out and put
//! them back), and the thresholds.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// The thresholds of the flags of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::FromRow)]
pub struct Thresholds {
    /// A referred follower unfollowing within this many hours is flagged.
    pub quick_unfollow_hours: i32,
    /// A referred follower who followed this many times (follow, unfollow, follow…).
    pub cycle_follows: i32,
    /// More than this many follows through one code …
    pub burst_follows: i32,
    /// … within this many minutes.
    pub burst_minutes: i32,
}

pub async fn thresholds(
    conn: impl sqlx::PgExecutor<'_>,
    account_id: i64,
) -> sqlx::Result<Thresholds> {
    sqlx::query_as(
        "select abuse_quick_unfollow_hours as quick_unfollow_hours,
                abuse_cycle_follows as cycle_follows, abuse_burst_follows as burst_follows,
                abuse_burst_minutes as burst_minutes
         from account where id = $1",
    )
    .bind(account_id)
    .fetch_one(conn)
    .await
}

pub async fn set_thresholds(pool: &PgPool, account_id: i64, t: &Thresholds) -> sqlx::Result<()> {
    sqlx::query(
        "update account set abuse_quick_unfollow_hours = $2, abuse_cycle_follows = $3,
                abuse_burst_follows = $4, abuse_burst_minutes = $5
         where id = $1",
    )
    .bind(account_id)
    .bind(t.quick_unfollow_hours)
    .bind(t.cycle_follows)
    .bind(t.burst_follows)
    .bind(t.burst_minutes)
    .execute(pool)
    .await?;
    Ok(())
}

/// Events swept in one step.
const SWEEP_BATCH: i64 = 5000;

/// One account's sweeps run one at a time (a second waits, then finds the work done).
const SWEEP_LOCK: &str =
    "select pg_advisory_xact_lock(hashtext('tuijian.abuse_sweep'), hashtext($1::text))";

/// The parameters of a sweep step, named for the flag statements that follow it: the account,
/// the events `(lo, hi]`, their CreateTimes `t0..=t1` (which the scans and referrals they
/// wrote carry, so the time indexes find them) and the thresholds.
const STEP: &str = "with p as (
    select $1::bigint as account_id, $2::bigint as lo, $3::bigint as hi,
           $4::timestamptz as t0, $5::timestamptz as t1, $6::int as quick_hours,
           $7::int as cycle_follows, $8::int as burst_follows, $9::int as burst_minutes)";

/// The flag statements of one sweep step (each continues [`STEP`]). Each inserts new flags
/// only (a flag exists once per pattern and subject), so a step done twice adds nothing. A
/// voided referral's new flags are closed as `voided` at once.
const FLAGS: [&str; 5] = [
    // A referrer scanning their own code (a follow or a scan; no credit was given).
    "insert into abuse_flag (account_id, kind, scan_id, referrer_id, evidence)
     select s.account_id, 'self_scan', s.id, s.referrer_id,
            jsonb_build_object('scene', s.scene, 'qr_code_id', s.qr_code_id, 'event', s.kind,
                               'at', s.scanned_at)
     from p join scan s on s.account_id = p.account_id and s.scanned_at between p.t0 and p.t1
     join referrer r on r.account_id = s.account_id and r.id = s.referrer_id
     where s.event_id > p.lo and s.event_id <= p.hi and s.openid = r.openid
     on conflict do nothing",
    // A follow through a code after its expiry (no credit was given).
    "insert into abuse_flag (account_id, kind, scan_id, referrer_id, evidence)
     select s.account_id, 'expired_code', s.id, s.referrer_id,
            jsonb_build_object('scene', s.scene, 'qr_code_id', s.qr_code_id,
                               'expired_at', q.expires_at, 'at', s.scanned_at)
     from p join scan s on s.account_id = p.account_id and s.scanned_at between p.t0 and p.t1
     join qr_code q on q.account_id = s.account_id and q.id = s.qr_code_id
     where s.event_id > p.lo and s.event_id <= p.hi and s.flag = 'expired_scene'
       and s.referrer_id is not null
     on conflict do nothing",
    // A referred follower who unfollowed soon after the follow.
    "insert into abuse_flag (account_id, kind, referral_id, referrer_id, evidence, status)
     select r.account_id, 'quick_unfollow', r.id, r.referrer_id,
            jsonb_build_object('followed_at', r.followed_at, 'unfollowed_at', e.sent_at,
                               'hours', p.quick_hours),
            case when r.voided_at is null then 'open' else 'voided' end
     from p join event e on e.account_id = p.account_id and e.id > p.lo and e.id <= p.hi
     join follower f on f.account_id = e.account_id and f.openid = e.openid
     join referral r on r.account_id = f.account_id and r.follower_id = f.id
     where e.kind = 'unsubscribe' and e.sent_at >= r.followed_at
       and e.sent_at < r.followed_at + make_interval(hours => p.quick_hours)
     on conflict do nothing",
    // A referred follower following again and again.
    "insert into abuse_flag (account_id, kind, referral_id, referrer_id, evidence, status)
     select r.account_id, 'cycles', r.id, r.referrer_id,
            jsonb_build_object('follows', max(f.follow_count)),
            case when r.voided_at is null then 'open' else 'voided' end
     from p join event e on e.account_id = p.account_id and e.id > p.lo and e.id <= p.hi
     join follower f on f.account_id = e.account_id and f.openid = e.openid
     join referral r on r.account_id = f.account_id and r.follower_id = f.id
     where e.kind = 'subscribe' and f.follow_count >= p.cycle_follows
     group by r.account_id, r.id, r.referrer_id, r.voided_at
     on conflict do nothing",
    // More follows through one code within a few minutes than people plausibly make: every
    // referral of the window is flagged, with the window's count.
    ", x as (
        select r.id, r.referrer_id, r.qr_code_id, r.followed_at
        from p join referral r on r.account_id = p.account_id
         and r.followed_at between p.t0 and p.t1
        where r.event_id > p.lo and r.event_id <= p.hi),
     hot as (
        select x.*, n.n from x cross join p cross join lateral (
            select count(*) as n from referral y
            where y.account_id = p.account_id and y.referrer_id = x.referrer_id
              and y.qr_code_id = x.qr_code_id
              and y.followed_at > x.followed_at - make_interval(mins => p.burst_minutes)
              and y.followed_at <= x.followed_at) n
        where n.n > p.burst_follows),
     flagged as (
        select distinct on (y.id) y.id, y.referrer_id, y.voided_at, h.qr_code_id, h.n,
               h.followed_at
        from hot h cross join p join referral y
          on y.account_id = p.account_id and y.referrer_id = h.referrer_id
         and y.qr_code_id = h.qr_code_id
         and y.followed_at > h.followed_at - make_interval(mins => p.burst_minutes)
         and y.followed_at <= h.followed_at
        order by y.id, h.n desc)
     insert into abuse_flag (account_id, kind, referral_id, referrer_id, evidence, status)
     select p.account_id, 'burst', f.id, f.referrer_id,
            jsonb_build_object('qr_code_id', f.qr_code_id, 'follows', f.n,
                               'minutes', p.burst_minutes, 'window_end', f.followed_at),
            case when f.voided_at is null then 'open' else 'voided' end
     from flagged f cross join p
     on conflict do nothing",
];

/// Sweeps the account's events since the last sweep for flags, in steps of
/// [`SWEEP_BATCH`] events; returns the flags added. Events younger than a minute are looked at
/// again by the next sweep (a callback's transaction still open when this one read could
/// commit an older id later), which adds nothing twice.
pub async fn sweep(pool: &PgPool, account_id: i64) -> sqlx::Result<u64> {
    let mut added = 0;
    loop {
        let mut tx = pool.begin().await?;
        sqlx::query(SWEEP_LOCK)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let (cursor, t): (i64, Thresholds) = (
            sqlx::query_scalar("select abuse_swept_event_id from account where id = $1")
                .bind(account_id)
                .fetch_one(&mut *tx)
                .await?,
            thresholds(&mut *tx, account_id).await?,
        );
        #[derive(sqlx::FromRow)]
        struct Step {
            last: Option<i64>,
            settled: Option<i64>,
            events: i64,
            from_time: Option<DateTime<Utc>>,
            to_time: Option<DateTime<Utc>>,
        }
        let step: Step = sqlx::query_as(
            "with e as (select id, sent_at, created_at from event
                        where account_id = $1 and id > $2 order by id limit $3)
             select max(id) as last,
                    max(id) filter (where created_at < now() - interval '1 minute') as settled,
                    count(*) as events, min(sent_at) as from_time, max(sent_at) as to_time
             from e",
        )
        .bind(account_id)
        .bind(cursor)
        .bind(SWEEP_BATCH)
        .fetch_one(&mut *tx)
        .await?;
        let (Some(last), Some(from), Some(to)) = (step.last, step.from_time, step.to_time) else {
            tx.commit().await?;
            return Ok(added);
        };
        for statement in FLAGS {
            let sql = if statement.starts_with(',') {
                format!("{STEP}{statement}")
            } else {
                format!("{STEP} {statement}")
            };
            added += sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(account_id)
                .bind(cursor)
                .bind(last)
                .bind(from)
                .bind(to)
                .bind(t.quick_unfollow_hours)
                .bind(t.cycle_follows)
                .bind(t.burst_follows)
                .bind(t.burst_minutes)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        // Settled: every event up to `settled` is older than a minute, so none can still
        // appear below it. Events after it are looked at again next time.
        let settled = step.settled.unwrap_or(cursor);
        sqlx::query("update account set abuse_swept_event_id = $2 where id = $1")
            .bind(account_id)
            .bind(settled)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        if step.events < SWEEP_BATCH || settled == cursor {
            return Ok(added);
        }
    }
}

/// What `user/info` said of a follow that made a referral: the developer scene it reports
/// (None when WeChat says the follow came through no parametric code).
#[derive(Debug)]
pub struct ReportedScene<'a> {
    pub account_id: i64,
    pub referral_id: i64,
    pub scene: Option<&'a str>,
    pub subscribe_scene: Option<&'a str>,
}

/// Flags the referrals whose code's scene is not the one `user/info` reports (while the
/// credited follow is the follower's latest, which is the one WeChat describes); returns the
/// flags added.
pub async fn flag_scene_mismatches(pool: &PgPool, rows: &[ReportedScene<'_>]) -> sqlx::Result<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let accounts: Vec<i64> = rows.iter().map(|r| r.account_id).collect();
    let ids: Vec<i64> = rows.iter().map(|r| r.referral_id).collect();
    let scenes: Vec<Option<&str>> = rows.iter().map(|r| r.scene).collect();
    let subscribe: Vec<Option<&str>> = rows.iter().map(|r| r.subscribe_scene).collect();
    Ok(sqlx::query(
        "insert into abuse_flag (account_id, kind, referral_id, referrer_id, evidence)
         select r.account_id, 'scene_mismatch', r.id, r.referrer_id,
                jsonb_build_object('event_scene', q.scene, 'wechat_scene', v.scene,
                                   'subscribe_scene', v.subscribe_scene)
         from unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])
              as v(account_id, referral_id, scene, subscribe_scene)
         join referral r on r.account_id = v.account_id and r.id = v.referral_id
         join follower f on f.account_id = r.account_id and f.id = r.follower_id
         join qr_code q on q.account_id = r.account_id and q.id = r.qr_code_id
         -- WeChat reports the follower's latest follow: only while that is the credited one
         where f.last_followed_at = r.followed_at and q.scene is distinct from v.scene
         on conflict do nothing",
    )
    .bind(accounts)
    .bind(ids)
    .bind(scenes)
    .bind(subscribe)
    .execute(pool)
    .await?
    .rows_affected())
}

/// One subject of the review queue (a referral or a scan) with its flags.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueueRow {
    pub referral_id: Option<i64>,
    pub scan_id: Option<i64>,
    pub referrer_id: i64,
    pub referrer_name: String,
    pub openid: String,
    pub scene: Option<String>,
    /// When the follow (or the scan) happened.
    pub at: DateTime<Utc>,
    /// `(kind, evidence)` of each flag, by kind.
    pub flags: sqlx::types::Json<Vec<(String, serde_json::Value)>>,
    pub flagged_at: DateTime<Utc>,
    /// Some flag is still open.
    pub open: bool,
    pub voided_at: Option<DateTime<Utc>>,
    pub voided_by: Option<String>,
    pub void_reason: Option<String>,
    /// Who closed the flags last (confirmed, voided or restored), and when.
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// Which part of the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueFilter {
    Open,
    Confirmed,
    Voided,
    All,
}

const QUEUE: &str = "with g as (
        select referral_id, scan_id, min(referrer_id) as referrer_id,
               jsonb_agg(jsonb_build_array(kind, evidence) order by kind) as flags,
               min(created_at) as flagged_at, bool_or(status = 'open') as open,
               max(resolved_at) as resolved_at,
               (array_agg(resolved_by order by resolved_at desc nulls last))[1] as resolved_by
        from abuse_flag
        where account_id = $1 and ($3::text is null or kind = $3)
        group by referral_id, scan_id),
     q as (
        select g.*, re.name as referrer_name,
               coalesce(f.openid, s.openid) as openid,
               coalesce(qc.scene, s.scene) as scene,
               coalesce(r.followed_at, s.scanned_at) as at,
               r.voided_at, r.voided_by, r.void_reason
        from g
        join referrer re on re.account_id = $1 and re.id = g.referrer_id
        left join referral r on r.account_id = $1 and r.id = g.referral_id
        left join follower f on f.account_id = $1 and f.id = r.follower_id
        left join qr_code qc on qc.account_id = $1 and qc.id = r.qr_code_id
        left join scan s on s.account_id = $1 and s.id = g.scan_id)
     select * from q
     where case $2
        when 'open' then open
        when 'confirmed' then not open and voided_at is null
        when 'voided' then voided_at is not null
        else true end";

pub fn filter_name(f: QueueFilter) -> &'static str {
    match f {
        QueueFilter::Open => "open",
        QueueFilter::Confirmed => "confirmed",
        QueueFilter::Voided => "voided",
        QueueFilter::All => "all",
    }
}

/// One page of the queue, oldest flag first for open items and newest first otherwise, and
/// how many items match.
pub async fn queue(
    pool: &PgPool,
    account_id: i64,
    filter: QueueFilter,
    kind: Option<&str>,
    page: i64,
    per_page: i64,
) -> sqlx::Result<super::Paged<QueueRow>> {
    let per_page = per_page.clamp(1, 200);
    let page = page.max(1);
    let order = if filter == QueueFilter::Open {
        "flagged_at, referral_id, scan_id"
    } else {
        "flagged_at desc, referral_id desc, scan_id desc"
    };
    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "select count(*) from ({QUEUE}) c"
    )))
    .bind(account_id)
    .bind(filter_name(filter))
    .bind(kind)
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{QUEUE} order by {order} limit $4 offset $5"
    )))
    .bind(account_id)
    .bind(filter_name(filter))
    .bind(kind)
    .bind(per_page)
    .bind((page - 1) * per_page)
    .fetch_all(pool)
    .await?;
    Ok(super::Paged {
        rows,
        total,
        page,
        per_page,
    })
}

/// Open items by kind: `(kind, subjects)`.
pub async fn open_counts(pool: &PgPool, account_id: i64) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "select kind, count(*) from abuse_flag where account_id = $1 and status = 'open'
         group by kind order by kind",
    )
    .bind(account_id)
    .fetch_all(pool)
    .await
}

/// A subject of review: a referral or a scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Referral(i64),
    Scan(i64),
}

impl Subject {
    fn ids(self) -> (Option<i64>, Option<i64>) {
        match self {
            Subject::Referral(id) => (Some(id), None),
            Subject::Scan(id) => (None, Some(id)),
        }
    }
}

/// Closes the subject's open flags as `confirmed` (kept); returns how many.
pub async fn confirm(
    conn: &mut PgConnection,
    account_id: i64,
    subject: Subject,
    actor: &str,
) -> sqlx::Result<u64> {
    let (referral, scan) = subject.ids();
    Ok(sqlx::query(
        "update abuse_flag set status = 'confirmed', resolved_by = $4, resolved_at = now()
         where account_id = $1 and status = 'open'
           and (referral_id = $2 or scan_id = $3)",
    )
    .bind(account_id)
    .bind(referral)
    .bind(scan)
    .bind(actor)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Voids the referral (`reason` given) or restores it (`None`), locked by the caller with
/// [`super::credit::lock`]: its follow, unfollow and lost counts leave its referrer's roll-ups
/// or come back (what a rebuild, which leaves voided referrals out, counts), the referral is
/// marked or cleared, and its flags read `voided` or, restored, `confirmed`.
pub async fn set_voided(
    conn: &mut PgConnection,
    account_id: i64,
    referral_id: i64,
    referrer_id: i64,
    reason: Option<&str>,
    actor: &str,
) -> sqlx::Result<()> {
    let void = reason.is_some();
    let sign = if void { -1 } else { 1 };
    super::credit::shift_counts(conn, account_id, referral_id, &[(referrer_id, sign)]).await?;
    sqlx::query(
        "update referral set voided_at = case when $3 then now() end,
                voided_by = case when $3 then $4 end, void_reason = $5
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(referral_id)
    .bind(void)
    .bind(actor)
    .bind(reason)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "update abuse_flag set status = case when $3 then 'voided' else 'confirmed' end,
                resolved_by = $4, resolved_at = now()
         where account_id = $1 and referral_id = $2",
    )
    .bind(account_id)
    .bind(referral_id)
    .bind(void)
    .bind(actor)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether the account has this scan with a flag (the subject of a confirmation).
pub async fn scan_flagged(pool: &PgPool, account_id: i64, scan_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from abuse_flag where account_id = $1 and scan_id = $2)",
    )
    .bind(account_id)
    .bind(scan_id)
    .fetch_one(pool)
    .await
}
