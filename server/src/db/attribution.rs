//! SQL for attribution inside the ingest transaction: followers, codes, scans, referrals,
//! greeting templates.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::events::NewEvent;

/// Records an unfollow (the follower keeps their referral).
pub async fn record_unfollow(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    at: DateTime<Utc>,
) -> sqlx::Result<()> {
    // By WeChat's CreateTime: an unfollow older than the follower's last follow arrived late
    // (events can be delivered out of order) and changes nothing. The same statement emits
    // `referral.lost` to the account's webhooks (nothing is written when none listens).
    static SQL: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(crate::db::webhook_events::unfollow_statement);
    sqlx::query(sqlx::AssertSqlSafe(SQL.as_str()))
        .bind(account_id)
        .bind(openid)
        .bind(at)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A QR code with its referrer, looked up by scene.
#[derive(Debug, sqlx::FromRow, serde::Deserialize)]
pub struct CodeRow {
    pub id: i64,
    pub referrer_id: i64,
    pub expires_at: Option<DateTime<Utc>>,
    /// None while a member has not chosen the name friends see.
    pub referrer_name: Option<String>,
    pub referrer_openid: Option<String>,
}

pub async fn code_by_scene(
    conn: &mut PgConnection,
    account_id: i64,
    scene: &str,
) -> sqlx::Result<Option<CodeRow>> {
    sqlx::query_as(
        "select q.id, q.referrer_id, q.expires_at,
                case when r.name_chosen then r.name end as referrer_name,
                r.openid as referrer_openid
         from qr_code q join referrer r on r.account_id = q.account_id and r.id = q.referrer_id
         where q.account_id = $1 and q.scene = $2",
    )
    .bind(account_id)
    .bind(scene)
    .fetch_optional(&mut *conn)
    .await
}

/// Whether this follower was referred, and the referrer's shown name (None while a member has
/// not chosen one).
pub async fn referrer_of(
    conn: &mut PgConnection,
    account_id: i64,
    follower_id: i64,
) -> sqlx::Result<Option<Option<String>>> {
    sqlx::query_scalar::<_, Option<String>>(
        "select case when r.name_chosen then r.name end
         from referral f join referrer r on r.account_id = f.account_id and r.id = f.referrer_id
         where f.account_id = $1 and f.follower_id = $2",
    )
    .bind(account_id)
    .bind(follower_id)
    .fetch_optional(&mut *conn)
    .await
}

/// A scan about to be logged.
#[derive(Debug)]
pub struct NewScan<'a> {
    pub account_id: i64,
    pub event_id: i64,
    pub openid: &'a str,
    pub scene: &'a str,
    pub qr_code_id: Option<i64>,
    pub referrer_id: Option<i64>,
    pub kind: &'a str,
    pub flag: Option<&'a str>,
    pub scanned_at: DateTime<Utc>,
}

pub async fn insert_scan(conn: &mut PgConnection, s: &NewScan<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "insert into scan (account_id, event_id, openid, scene, qr_code_id, referrer_id, kind,
                           flag, scanned_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(s.account_id)
    .bind(s.event_id)
    .bind(s.openid)
    .bind(s.scene)
    .bind(s.qr_code_id)
    .bind(s.referrer_id)
    .bind(s.kind)
    .bind(s.flag)
    .bind(s.scanned_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The configured template for a greeting variant, if staff set one.
pub async fn greeting_template(
    conn: &mut PgConnection,
    account_id: i64,
    variant: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("select template from greeting where account_id = $1 and variant = $2")
        .bind(account_id)
        .bind(variant)
        .fetch_optional(&mut *conn)
        .await
}

/// Everything a follow's decision needs, read in one round trip before anything is written:
/// the follower (if known) and its referral, the scanned code and the account's greeting
/// templates.
#[derive(Debug, sqlx::FromRow)]
pub struct FollowFacts {
    /// True when the follower is known (this is a follow again).
    pub known: bool,
    /// The follower already has a referral (first touch wins).
    pub referred: bool,
    /// That referral's referrer's shown name (None while a member has not chosen one).
    pub referred_by: Option<String>,
    pub code: Option<sqlx::types::Json<CodeRow>>,
    /// Staff-set greeting templates by variant.
    pub templates: sqlx::types::Json<std::collections::HashMap<String, String>>,
}

/// Whose facts to read: a follow of `openid` through `scene`.
#[derive(Debug)]
pub struct FactsAsk<'a> {
    pub account_id: i64,
    pub openid: &'a str,
    pub scene: Option<&'a str>,
}

/// Reads the facts of several follows in one round trip (see [`FollowFacts`]), in the order
/// asked.
pub async fn follow_facts(
    conn: &mut PgConnection,
    asks: &[FactsAsk<'_>],
) -> sqlx::Result<Vec<FollowFacts>> {
    let accounts: Vec<i64> = asks.iter().map(|a| a.account_id).collect();
    let openids: Vec<&str> = asks.iter().map(|a| a.openid).collect();
    let scenes: Vec<Option<&str>> = asks.iter().map(|a| a.scene).collect();
    sqlx::query_as(
        "select f.id is not null as known,
                ref.follower_id is not null as referred, ref.name as referred_by,
                (select jsonb_build_object(
                            'id', q.id, 'referrer_id', q.referrer_id, 'expires_at', q.expires_at,
                            'referrer_name', case when r.name_chosen then r.name end,
                            'referrer_openid', r.openid)
                 from qr_code q
                 join referrer r on r.account_id = q.account_id and r.id = q.referrer_id
                 where q.account_id = i.account_id and q.scene = i.scene) as code,
                (select coalesce(jsonb_object_agg(variant, template), '{}')
                 from greeting where account_id = i.account_id) as templates
         from unnest($1::bigint[], $2::text[], $3::text[])
              with ordinality as i(account_id, openid, scene, n)
         left join follower f on f.account_id = i.account_id and f.openid = i.openid
         left join lateral (
            select x.follower_id, case when r.name_chosen then r.name end as name
            from referral x join referrer r on r.account_id = x.account_id and r.id = x.referrer_id
            where x.account_id = i.account_id and x.follower_id = f.id) ref on true
         order by i.n",
    )
    .bind(accounts)
    .bind(openids)
    .bind(scenes)
    .fetch_all(&mut *conn)
    .await
}

/// A decided follow, written in one statement (one transaction).
#[derive(Debug)]
pub struct FollowWrites<'a> {
    pub event: &'a NewEvent<'a>,
    /// The scanned scene, if any (a scan row is logged for it).
    pub scene: Option<&'a str>,
    pub code: Option<(i64, i64)>,
    /// Write a referral to `code`'s referrer (unless the follower has one by now).
    pub credit: bool,
    /// The scan's flag when no referral is written.
    pub flag: Option<&'a str>,
    /// The reply to store with the event (`None`: none was sent, as for a follow recovered
    /// by reconciliation).
    pub reply: Option<&'a str>,
}

/// What a follow wrote.
#[derive(Debug, sqlx::FromRow)]
pub struct FollowRecorded {
    pub event_id: i64,
    pub follower_id: i64,
    /// The referral written, if any.
    pub referral_id: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Recorded {
    n: i64,
    #[sqlx(flatten)]
    row: FollowRecorded,
}

/// [`record_follows`]'s statement. Its outbox rows' payloads are built here
/// (`jsonb_build_object`), where the follower and referral ids are known; they are the fields
/// of the domain's follow-up job (`referral::jobs::FollowUp`, whose tests check this).
pub const RECORD_FOLLOWS: &str = "with i as (
        select * from unnest($1::bigint[], $2::text[], $3::text[], $4::text[],
                             $5::timestamptz[], $6::text[], $7::text[], $8::text[],
                             $9::text[], $10::bigint[], $11::bigint[], $12::boolean[],
                             $13::text[])
            with ordinality as i(account_id, dedup_key, kind, openid, sent_at, event_key,
                                 payload, reply, scene, qr_code_id, referrer_id, credit,
                                 flag, n)),
     e as (
        insert into event (account_id, dedup_key, kind, openid, sent_at, event_key,
                           payload, reply)
        select account_id, dedup_key, kind, openid, sent_at, event_key, payload, reply
        from i order by n
        on conflict (account_id, dedup_key) do nothing
        returning id, account_id, dedup_key),
     ie as (select i.*, e.id as event_id from i join e using (account_id, dedup_key)),
     -- In one order, so that two batches lock shared follower rows in the same order.
     f as (
        insert into follower (account_id, openid, first_followed_at, last_followed_at)
        select account_id, openid, sent_at, sent_at from ie order by account_id, openid
        on conflict (account_id, openid) do update
           -- A follow older than the recorded unfollow arrived late: still not following.
           set subscribed = follower.subscribed or follower.unfollowed_at is null
                            or follower.unfollowed_at < excluded.last_followed_at,
               last_followed_at = greatest(follower.last_followed_at,
                                           excluded.last_followed_at),
               follow_count = follower.follow_count + 1
        returning id, account_id, openid),
     ief as (
        select ie.*, f.id as follower_id from ie join f using (account_id, openid)),
     r as (
        insert into referral (account_id, follower_id, referrer_id, qr_code_id, event_id,
                              followed_at)
        select account_id, follower_id, referrer_id, qr_code_id, event_id, sent_at
        from ief where credit
        on conflict (account_id, follower_id) do nothing
        returning id, event_id),
     w as (
        select ief.*, r.id as referral_id from ief left join r using (event_id)),
     j as (
        insert into outbox (account_id, kind, payload)
        select account_id, $14, jsonb_build_object('openid', openid,
                                                   'follower_id', follower_id,
                                                   'referral_id', referral_id)
        from w where $14::text is not null),
     s as (
        insert into scan (account_id, event_id, openid, scene, qr_code_id, referrer_id,
                          kind, flag, scanned_at)
        select account_id, event_id, openid, scene, qr_code_id, referrer_id, 'subscribe',
               case when credit and referral_id is null then 'already_referred'
                    else flag end,
               sent_at
        from w where scene is not null
        returning account_id, referrer_id, openid, scanned_at, flag),
     -- The scans' roll-up deltas (what the `scan_rollup` trigger appends for other
     -- scans): a scan without a flag made a referral, so it counts the follow too.
     d as (
        insert into stats_delta (account_id, referrer_id, day, openid, scanned_at, scans,
                                 follows)
        select account_id, coalesce(referrer_id, 0), cst_day(scanned_at), openid,
               scanned_at, 1, (flag is null and referrer_id is not null)::integer
        from s)
     select n, event_id, follower_id, referral_id from w";

/// Stores `subscribe` events under their de-duplication keys with their replies and, for each
/// key that is new, the follower (created or following again), the referral (write-once), the
/// scan and one follow-up job of kind `follow_up_kind` (its payload built in SQL; `None`: no
/// job), all in one statement (one transaction). The follows must be of
/// different followers. Returns what each follow wrote, in order; `None`
/// means its key was stored before (a re-delivery; see
/// [`crate::db::events::redelivered`]) and nothing was written for it. With `credit` set and
/// no referral returned, a concurrent follow of the same person won the referral: the scan is
/// flagged `already_referred`, and the stored reply is for the caller to correct.
pub async fn record_follows(
    conn: &mut PgConnection,
    writes: &[FollowWrites<'_>],
    follow_up_kind: Option<&str>,
) -> sqlx::Result<Vec<Option<FollowRecorded>>> {
    fn column<'w, T>(
        writes: &'w [FollowWrites<'_>],
        f: impl Fn(&'w FollowWrites<'_>) -> T,
    ) -> Vec<T> {
        writes.iter().map(f).collect()
    }
    let rows: Vec<Recorded> = sqlx::query_as(RECORD_FOLLOWS)
        .bind(column(writes, |w| w.event.account_id))
        .bind(column(writes, |w| w.event.dedup_key))
        .bind(column(writes, |w| w.event.kind))
        .bind(column(writes, |w| w.event.openid))
        .bind(column(writes, |w| w.event.sent_at))
        .bind(column(writes, |w| w.event.event_key))
        .bind(column(writes, |w| w.event.payload))
        .bind(column(writes, |w| w.reply))
        .bind(column(writes, |w| w.scene))
        .bind(column(writes, |w| w.code.map(|c| c.0)))
        .bind(column(writes, |w| w.code.map(|c| c.1)))
        .bind(column(writes, |w| w.credit))
        .bind(column(writes, |w| w.flag))
        .bind(follow_up_kind)
        .fetch_all(&mut *conn)
        .await?;
    let mut recorded: Vec<Option<FollowRecorded>> = writes.iter().map(|_| None).collect();
    for Recorded { n, row } in rows {
        // `with ordinality` counts from 1.
        if let Some(slot) = usize::try_from(n - 1)
            .ok()
            .and_then(|i| recorded.get_mut(i))
        {
            *slot = Some(row);
        }
    }
    Ok(recorded)
}
