//! SQL of WeChat user tags: which tag each credited follower should carry
//! (`follower_wechat_tag`), the account's tag ids by name (`wechat_tag`), and the outbox jobs
//! (kind `wechat_tags`, `{"follower_id"}`) that make WeChat agree.

use sqlx::{PgConnection, PgPool};

/// The outbox kind of a follower's tag job.
pub const JOB_KIND: &str = "wechat_tags";

/// Brings the wanted tags of these referrals' followers up to date and queues a tag job for
/// each follower whose tags changed: a follower should carry the tag of the code they came
/// through (while the code still belongs to the credited referrer), else the credited
/// referrer's, and none while the referral is voided. A tag no longer wanted is marked to be
/// taken off. Rows already as wanted are left alone (a retried follow-up queues nothing).
/// `referrals` are `(account_id, referral id)`; returns how many jobs were queued.
pub async fn want(conn: &mut PgConnection, referrals: &[(i64, i64)]) -> sqlx::Result<u64> {
    if referrals.is_empty() {
        return Ok(0);
    }
    let (accounts, ids): (Vec<i64>, Vec<i64>) = referrals.iter().copied().unzip();
    let queued = sqlx::query(
        "with r as (
            select r.account_id, r.follower_id,
                   case when r.voided_at is not null then null
                        when q.referrer_id = r.referrer_id
                            then coalesce(q.wechat_tag, rr.wechat_tag)
                        else rr.wechat_tag end as tag
            from unnest($1::bigint[], $2::bigint[]) as i(account_id, id)
            join referral r on r.account_id = i.account_id and r.id = i.id
            join referrer rr on rr.account_id = r.account_id and rr.id = r.referrer_id
            join qr_code q on q.account_id = r.account_id and q.id = r.qr_code_id),
         dropped as (
            update follower_wechat_tag t
            set wanted = false, state = 'pending', errcode = null, error = null,
                updated_at = now()
            from r
            where t.account_id = r.account_id and t.follower_id = r.follower_id
              and t.wanted and t.tag is distinct from r.tag
            returning t.account_id, t.follower_id),
         added as (
            insert into follower_wechat_tag (account_id, follower_id, tag, wanted, state)
            select account_id, follower_id, tag, true, 'pending' from r where tag is not null
            on conflict (account_id, follower_id, tag) do update
            set wanted = true, state = 'pending', errcode = null, error = null,
                updated_at = now()
            where not follower_wechat_tag.wanted
            returning account_id, follower_id)
         insert into outbox (account_id, kind, payload)
         select distinct account_id, 'wechat_tags', jsonb_build_object('follower_id', follower_id)
         from (select * from dropped union select * from added) c",
    )
    .bind(accounts)
    .bind(ids)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(queued)
}

/// A tag change WeChat has not been told of yet.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Pending {
    pub follower_id: i64,
    pub openid: String,
    pub tag: String,
    /// True: put the tag on; false: take it off.
    pub wanted: bool,
}

/// The pending tag changes of these followers of the account.
pub async fn pending(
    pool: &PgPool,
    account_id: i64,
    follower_ids: &[i64],
) -> sqlx::Result<Vec<Pending>> {
    sqlx::query_as(
        "select t.follower_id, f.openid, t.tag, t.wanted
         from follower_wechat_tag t
         join follower f on f.account_id = t.account_id and f.id = t.follower_id
         where t.account_id = $1 and t.follower_id = any($2) and t.state = 'pending'
         order by t.tag, t.wanted, t.follower_id",
    )
    .bind(account_id)
    .bind(follower_ids)
    .fetch_all(pool)
    .await
}

/// The account's WeChat id of the tag named `name`, if known.
pub async fn tag_id(pool: &PgPool, account_id: i64, name: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select tag_id from wechat_tag where account_id = $1 and name = $2")
        .bind(account_id)
        .bind(name)
        .fetch_optional(pool)
        .await
}

/// Remembers the WeChat id of a tag.
pub async fn save_tag_id(pool: &PgPool, account_id: i64, name: &str, id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "insert into wechat_tag (account_id, name, tag_id) values ($1, $2, $3)
         on conflict (account_id, name) do update set tag_id = excluded.tag_id,
             created_at = now()",
    )
    .bind(account_id)
    .bind(name)
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Forgets a tag id WeChat no longer knows (45159).
pub async fn forget_tag_id(
    pool: &PgPool,
    account_id: i64,
    name: &str,
    id: i64,
) -> sqlx::Result<()> {
    sqlx::query("delete from wechat_tag where account_id = $1 and name = $2 and tag_id = $3")
        .bind(account_id)
        .bind(name)
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

/// What WeChat said about one pending change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled<'a> {
    pub follower_id: i64,
    pub tag: &'a str,
    pub wanted: bool,
    /// None: done; Some: refused for good, with the errcode and message.
    pub refused: Option<(Option<i64>, String)>,
}

/// Records what WeChat said about pending changes, each only while it is still the pending
/// change it was (a change made meanwhile, such as a credit moved back, stays pending for its
/// own job): a tag put on is `done`, a tag taken off is gone, a refusal is `failed`.
pub async fn settle(pool: &PgPool, account_id: i64, rows: &[Settled<'_>]) -> sqlx::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let followers: Vec<i64> = rows.iter().map(|r| r.follower_id).collect();
    let tags: Vec<&str> = rows.iter().map(|r| r.tag).collect();
    let wanted: Vec<bool> = rows.iter().map(|r| r.wanted).collect();
    let refused: Vec<bool> = rows.iter().map(|r| r.refused.is_some()).collect();
    let errcodes: Vec<Option<i32>> = rows
        .iter()
        .map(|r| r.refused.as_ref().and_then(|(c, _)| c.map(|c| c as i32)))
        .collect();
    let errors: Vec<Option<&str>> = rows
        .iter()
        .map(|r| r.refused.as_ref().map(|(_, e)| e.as_str()))
        .collect();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "with s as (
            select * from unnest($2::bigint[], $3::text[], $4::boolean[], $5::boolean[],
                                 $6::integer[], $7::text[])
                as s(follower_id, tag, wanted, refused, errcode, error))
         update follower_wechat_tag t
         set state = case when s.refused then 'failed' else 'done' end,
             errcode = s.errcode, error = s.error, updated_at = now()
         from s
         where t.account_id = $1 and t.follower_id = s.follower_id and t.tag = s.tag
           and t.wanted = s.wanted and t.state = 'pending' and (s.wanted or s.refused)",
    )
    .bind(account_id)
    .bind(&followers)
    .bind(&tags)
    .bind(&wanted)
    .bind(&refused)
    .bind(&errcodes)
    .bind(&errors)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "delete from follower_wechat_tag t
         using unnest($2::bigint[], $3::text[], $4::boolean[], $5::boolean[])
             as s(follower_id, tag, wanted, refused)
         where t.account_id = $1 and t.follower_id = s.follower_id and t.tag = s.tag
           and not s.wanted and not s.refused and not t.wanted and t.state = 'pending'",
    )
    .bind(account_id)
    .bind(&followers)
    .bind(&tags)
    .bind(&wanted)
    .bind(&refused)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// Drops the tag rows of an erased follower (what WeChat was told stays WeChat's).
pub async fn forget_follower(
    conn: &mut PgConnection,
    account_id: i64,
    follower_id: i64,
) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("delete from follower_wechat_tag where account_id = $1 and follower_id = $2")
            .bind(account_id)
            .bind(follower_id)
            .execute(&mut *conn)
            .await?
            .rows_affected(),
    )
}

/// How a referrer's credited followers stand with their WeChat tags, by tag and state.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct TagCount {
    pub tag: String,
    pub state: String,
    pub followers: i64,
    /// The latest refusal's message, for `failed`.
    pub last_error: Option<String>,
}

/// [`TagCount`]s of the followers credited to the referrer (tags being put on).
pub async fn counts_for_referrer(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
) -> sqlx::Result<Vec<TagCount>> {
    sqlx::query_as(
        "select t.tag, t.state, count(*) as followers,
                (array_agg(t.error order by t.updated_at desc)
                    filter (where t.error is not null))[1] as last_error
         from referral r
         join follower_wechat_tag t
           on t.account_id = r.account_id and t.follower_id = r.follower_id and t.wanted
         where r.account_id = $1 and r.referrer_id = $2
         group by t.tag, t.state order by t.tag, t.state",
    )
    .bind(account_id)
    .bind(referrer_id)
    .fetch_all(pool)
    .await
}
