//! The `event` table: idempotent storage of accepted callbacks.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

/// An event about to be stored.
#[derive(Debug)]
pub struct NewEvent<'a> {
    pub account_id: i64,
    pub dedup_key: &'a str,
    pub kind: &'a str,
    pub openid: &'a str,
    pub sent_at: DateTime<Utc>,
    pub event_key: Option<&'a str>,
    pub payload: &'a str,
}

/// What happened when we tried to claim an event's de-duplication key.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// First delivery: the row was inserted with this id; do the effects in this transaction.
    New(i64),
    /// Seen before: the reply stored the first time (None → "success").
    Duplicate { reply: Option<String> },
}

/// Inserts the event unless its key exists. A concurrent first delivery that has not committed
/// yet makes this wait on the unique index, so a duplicate always sees the committed reply.
pub async fn claim(conn: &mut PgConnection, event: &NewEvent<'_>) -> sqlx::Result<Claim> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "insert into event (account_id, dedup_key, kind, openid, sent_at, event_key, payload)
         values ($1, $2, $3, $4, $5, $6, $7)
         on conflict (account_id, dedup_key) do nothing
         returning id",
    )
    .bind(event.account_id)
    .bind(event.dedup_key)
    .bind(event.kind)
    .bind(event.openid)
    .bind(event.sent_at)
    .bind(event.event_key)
    .bind(event.payload)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => Ok(Claim::New(id)),
        None => Ok(Claim::Duplicate {
            reply: redelivered(conn, event).await?,
        }),
    }
}

/// Counts a re-delivery of a stored event and returns the reply stored the first time. Runs
/// in a statement after the failed insert, so it sees the first delivery once that committed.
pub async fn redelivered(
    conn: &mut PgConnection,
    event: &NewEvent<'_>,
) -> sqlx::Result<Option<String>> {
    metrics::counter!(crate::metrics::DUPLICATES, "kind" => event.kind.to_owned()).increment(1);
    sqlx::query_scalar(
        "update event set redeliveries = redeliveries + 1
         where account_id = $1 and dedup_key = $2
         returning reply",
    )
    .bind(event.account_id)
    .bind(event.dedup_key)
    .fetch_one(&mut *conn)
    .await
}

/// Stores the passive reply of a newly claimed event.
///
/// Events are keyed by `(account_id, id)`; without the account, the id is looked up under
/// every account (one descent of the primary key each; one account per installation for
/// now). The callers know the account and are to pass it.
pub async fn set_reply(
    conn: &mut PgConnection,
    account_id: i64,
    id: i64,
    reply: &str,
) -> sqlx::Result<()> {
    sqlx::query("update event set reply = $2 where account_id = $3 and id = $1")
        .bind(id)
        .bind(reply)
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The account the callbacks belong to (one Official Account per installation for now).
pub async fn default_account(pool: &PgPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("select id from account order by id limit 1")
        .fetch_one(pool)
        .await
}

/// The account's display name (for posters).
pub async fn account_name(pool: &PgPool, account_id: i64) -> sqlx::Result<String> {
    sqlx::query_scalar("select name from account where id = $1")
        .bind(account_id)
        .fetch_one(pool)
        .await
}

/// The stored passive reply of an event (looked up under every account, as in
/// [`set_reply`]).
pub async fn event_reply(
    pool: &PgPool,
    account_id: i64,
    event_id: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar::<_, Option<String>>(
        "select reply from event where account_id = $2 and id = $1",
    )
    .bind(event_id)
    .bind(account_id)
    .fetch_one(pool)
    .await
}

/// When the account's latest stored callback arrived.
pub async fn last_received(pool: &PgPool, account_id: i64) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "select created_at from event where account_id = $1 order by id desc limit 1",
    )
    .bind(account_id)
    .fetch_optional(pool)
    .await
}
