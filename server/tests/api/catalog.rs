//! The schema can be distributed by account (Citus): every table of account data has an
//! `account_id`, every primary key, unique constraint and unique index of such a table
//! includes it, and foreign keys between such tables join on it. Read from the catalog, so a
//! new table or key that breaks the rule fails here, naming it.

use sqlx::PgPool;

/// Tables global by nature (Citus reference tables): the accounts, the dashboard's users,
/// their sessions and login throttling, and sqlx's migration log. Each must exist, so that
/// the exemption cannot silently cover a renamed table.
const REFERENCE_TABLES: [&str; 5] = [
    "account",
    "app_user",
    "session",
    "login_attempt",
    "_sqlx_migrations",
];

/// Every breach of the rule, one line each (`$1`: the reference tables).
const OFFENDERS: &str = "
    with reference (name) as (
        select unnest($1::text[])
    ),
    account_table as (
        select c.oid, c.relname
        from pg_class c
        where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p')
          and c.relname not in (select name from reference)
    ),
    account_column as (
        select t.oid, a.attnum
        from account_table t
        join pg_attribute a
          on a.attrelid = t.oid and a.attname = 'account_id' and not a.attisdropped
    )
    select format('reference table %s does not exist', r.name)
    from reference r
    where to_regclass(format('public.%I', r.name)) is null
    union all
    select format('table %s has no account_id bigint not null', t.relname)
    from account_table t
    where not exists (
        select 1 from information_schema.columns c
        where c.table_schema = 'public' and c.table_name = t.relname
          and c.column_name = 'account_id' and c.data_type = 'bigint' and c.is_nullable = 'NO')
    union all
    select format('%s %s of %s does not include account_id: %s',
                  case when i.indisprimary then 'primary key'
                       when con.contype = 'u' then 'unique constraint'
                       else 'unique index' end,
                  x.relname, t.relname,
                  pg_get_indexdef(i.indexrelid, 0, true))
    from account_table t
    join pg_index i on i.indrelid = t.oid and i.indisunique
    join pg_class x on x.oid = i.indexrelid
    left join pg_constraint con on con.conindid = i.indexrelid and con.conrelid = t.oid
    where not exists (
        -- key columns only: an `include (...)` column does not make a key unique per account
        select 1 from account_column a
        where a.oid = t.oid and a.attnum = any((i.indkey::int2[])[0:i.indnkeyatts - 1]))
    union all
    select format('foreign key %s of %s to %s does not join on account_id: %s',
                  con.conname, t.relname, rt.relname, pg_get_constraintdef(con.oid))
    from pg_constraint con
    join account_table t on t.oid = con.conrelid
    join account_table rt on rt.oid = con.confrelid
    where con.contype = 'f'
      and not exists (
        select 1 from unnest(con.conkey, con.confkey) as k(col, ref)
        join account_column a on a.oid = con.conrelid and a.attnum = k.col
        join account_column ra on ra.oid = con.confrelid and ra.attnum = k.ref)
    union all
    select format('foreign key %s of reference table %s references account table %s',
                  con.conname, con.conrelid::regclass, rt.relname)
    from pg_constraint con
    join account_table rt on rt.oid = con.confrelid
    where con.contype = 'f' and con.conrelid not in (select oid from account_table)
      and con.connamespace = 'public'::regnamespace
    union all
    select 'account_day still has its shard column'
    from information_schema.columns
    where table_schema = 'public' and table_name = 'account_day' and column_name = 'shard'
    union all
    select 'table account_day does not exist'
    where to_regclass('public.account_day') is null
    order by 1";

#[sqlx::test(migrations = "../migrations")]
async fn every_account_table_and_key_carries_the_account(pool: PgPool) {
    let offenders: Vec<String> = sqlx::query_scalar(OFFENDERS)
        .bind(REFERENCE_TABLES)
        .fetch_all(&pool)
        .await
        .expect("catalog");
    assert!(
        offenders.is_empty(),
        "the schema is not keyed by account:\n{}",
        offenders.join("\n")
    );
}
