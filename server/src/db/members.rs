//! Members: followers who asked for their own referral code (referrers of kind `member`, bound
//! to their openid), their personal page key, and the media cache of their codes.

use app::model::CodeKind;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// A referrer bound to an openid, as the member features see it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Member {
    pub account_id: i64,
    pub referrer_id: i64,
    pub openid: String,
    pub name: String,
    /// False until the member chose the name friends see.
    pub name_chosen: bool,
    /// The personal page key.
    pub token: String,
    pub archived: bool,
}

const COLUMNS: &str = "account_id, id as referrer_id, openid, name, name_chosen, \
     member_token as token, archived_at is not null as archived";

/// How followers ask for a code on this account.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MemberSettings {
    pub member_keywords: Vec<String>,
    pub member_menu_key: String,
}

pub async fn settings(conn: &mut PgConnection, account_id: i64) -> sqlx::Result<MemberSettings> {
    sqlx::query_as("select member_keywords, member_menu_key from account where id = $1")
        .bind(account_id)
        .fetch_one(&mut *conn)
        .await
}

pub async fn save_settings(
    pool: &PgPool,
    account_id: i64,
    actor: &str,
    s: &MemberSettings,
) -> sqlx::Result<()> {
    let mut tx = pool.begin().await?;
    sqlx::query("update account set member_keywords = $2, member_menu_key = $3 where id = $1")
        .bind(account_id)
        .bind(&s.member_keywords)
        .bind(&s.member_menu_key)
        .execute(&mut *tx)
        .await?;
    crate::db::referrers::audit(
        &mut tx,
        account_id,
        actor,
        "settings.member",
        account_id,
        serde_json::json!({"keywords": s.member_keywords, "menu_key": s.member_menu_key}),
    )
    .await?;
    tx.commit().await
}

/// The member bound to `openid`, made on first request: a new `member` referrer named
/// `fallback_name` (not shown to friends until the member chooses a name), or the existing
/// referrer bound to that openid, given a personal page key if it had none.
pub async fn ensure(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
    fallback_name: &str,
    new_token: &str,
) -> sqlx::Result<Member> {
    let inserted: Option<Member> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "insert into referrer (account_id, name, openid, kind, name_chosen, member_token)
         values ($1, $2, $3, 'member', false, $4)
         on conflict (account_id, openid) where openid is not null do nothing
         returning {COLUMNS}"
    )))
    .bind(account_id)
    .bind(fallback_name)
    .bind(openid)
    .bind(new_token)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(member) = inserted {
        return Ok(member);
    }
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "update referrer set member_token = coalesce(member_token, $3)
         where account_id = $1 and openid = $2
         returning {COLUMNS}"
    )))
    .bind(account_id)
    .bind(openid)
    .bind(new_token)
    .fetch_one(&mut *conn)
    .await
}

/// The member bound to `openid`, if any.
pub async fn by_openid(
    conn: &mut PgConnection,
    account_id: i64,
    openid: &str,
) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from referrer
         where account_id = $1 and openid = $2 and member_token is not null"
    )))
    .bind(account_id)
    .bind(openid)
    .fetch_optional(&mut *conn)
    .await
}

/// The member whose personal page key is `token`.
pub async fn by_token(pool: &PgPool, token: &str) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from referrer where member_token = $1"
    )))
    .bind(token)
    .fetch_optional(pool)
    .await
}

pub async fn by_referrer(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
) -> sqlx::Result<Option<Member>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "select {COLUMNS} from referrer
         where account_id = $1 and id = $2 and member_token is not null"
    )))
    .bind(account_id)
    .bind(referrer_id)
    .fetch_optional(pool)
    .await
}

/// Sets the name friends see (chosen by the member or by staff).
pub async fn set_name(
    conn: &mut PgConnection,
    account_id: i64,
    referrer_id: i64,
    name: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update referrer set name = $3, name_chosen = true, updated_at = now()
         where account_id = $1 and id = $2",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(name)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Back to the neutral fallback (staff), with `fallback_name` as the name staff see.
pub async fn reset_name(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    fallback_name: &str,
    actor: &str,
) -> sqlx::Result<bool> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query(
        "update referrer set name = $3, name_chosen = false, updated_at = now()
         where account_id = $1 and id = $2 and member_token is not null",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(fallback_name)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if done {
        crate::db::referrers::audit(
            &mut tx,
            account_id,
            actor,
            "referrer.reset_name",
            referrer_id,
            serde_json::json!({}),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// A member's code as the member features need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MemberCode {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub kind: CodeKind,
    pub url: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub media_id: Option<String>,
    pub media_expires_at: Option<DateTime<Utc>>,
}

/// The referrer's best code still valid after `valid_after`: a permanent one, else the
/// temporary one that lasts longest.
pub async fn current_code(
    db: impl sqlx::PgExecutor<'_>,
    account_id: i64,
    referrer_id: i64,
    valid_after: DateTime<Utc>,
) -> sqlx::Result<Option<MemberCode>> {
    sqlx::query_as(
        "select id, kind, url, expires_at, media_id, media_expires_at from qr_code
         where account_id = $1 and referrer_id = $2
           and (expires_at is null or expires_at > $3)
         order by expires_at desc nulls first, id
         limit 1",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(valid_after)
    .fetch_optional(db)
    .await
}

/// Whether this request may make the member's code (see [`claim_code`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClaim {
    /// The lease is ours until this instant (also what identifies it to [`release_code`]).
    Ours(DateTime<Utc>),
    /// Another request holds a live lease: its code is on the way.
    Busy,
    /// No such referrer.
    Missing,
}

/// Claims the making of a referrer's code for `lease_secs` (`referrer.code_claimed_until`), in
/// one statement, when no live claim exists. Nothing stays open: the claimer calls WeChat,
/// stores the code, then gives the claim back with [`release_code`]; a crashed claimer's
/// lease runs out by itself.
pub async fn claim_code(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    lease_secs: i64,
) -> sqlx::Result<CodeClaim> {
    let until: Option<DateTime<Utc>> = sqlx::query_scalar(
        "update referrer set code_claimed_until = now() + make_interval(secs => $3)
         where account_id = $1 and id = $2
           and (code_claimed_until is null or code_claimed_until <= now())
         returning code_claimed_until",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(lease_secs as f64)
    .fetch_optional(pool)
    .await?;
    if let Some(until) = until {
        return Ok(CodeClaim::Ours(until));
    }
    let exists: bool = sqlx::query_scalar(
        "select exists (select 1 from referrer where account_id = $1 and id = $2)",
    )
    .bind(account_id)
    .bind(referrer_id)
    .fetch_one(pool)
    .await?;
    Ok(if exists {
        CodeClaim::Busy
    } else {
        CodeClaim::Missing
    })
}

/// Gives back the claim that ends at `until`, if it is still the current one (a new claim can
/// only be taken after the previous one ended, so its end tells them apart).
pub async fn release_code(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    until: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update referrer set code_claimed_until = null
         where account_id = $1 and id = $2 and code_claimed_until = $3",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(until)
    .execute(pool)
    .await?;
    Ok(())
}

/// Caches the code's uploaded image. Codes are keyed by `(account_id, id)`; without the
/// account, the id is looked up under every account (one descent of the primary key each).
/// The caller knows the account and is to pass it.
pub async fn set_media(
    pool: &PgPool,
    account_id: i64,
    code_id: i64,
    media_id: &str,
    expires_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update qr_code set media_id = $2, media_expires_at = $3
         where account_id = $4 and id = $1",
    )
    .bind(code_id)
    .bind(media_id)
    .bind(expires_at)
    .bind(account_id)
    .execute(pool)
    .await?;
    Ok(())
}

/// Friends a member brought: followed through their codes (voided referrals left out), and
/// still following.
pub async fn counts(pool: &PgPool, account_id: i64, referrer_id: i64) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as(
        "select count(*), count(*) filter (where f.subscribed)
         from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id
         where r.account_id = $1 and r.referrer_id = $2 and r.voided_at is null",
    )
    .bind(account_id)
    .bind(referrer_id)
    .fetch_one(pool)
    .await
}

/// The latest referrals of a member: (follower openid, followed at, still following).
pub async fn latest(
    pool: &PgPool,
    account_id: i64,
    referrer_id: i64,
    limit: i64,
) -> sqlx::Result<Vec<(String, DateTime<Utc>, bool)>> {
    sqlx::query_as(
        "select f.openid, r.followed_at, f.subscribed
         from referral r join follower f on f.account_id = r.account_id and f.id = r.follower_id
         where r.account_id = $1 and r.referrer_id = $2 and r.voided_at is null
         order by r.followed_at desc, r.id desc
         limit $3",
    )
    .bind(account_id)
    .bind(referrer_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
