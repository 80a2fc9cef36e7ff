-- Roll-ups kept by folding deltas instead of by upserts in every callback. A profile of the
-- callback load showed the per-row triggers of migration 8 as the largest share of the
-- database's work: per follow two scanner inserts, four roll-up upserts (a `language sql`
-- function, parsed and planned on every call), their foreign-key checks and row-lock waits
-- on the busiest rows. Now a scan or an unfollow appends one or two rows to `stats_delta` in
-- its own transaction (so nothing is lost or counted twice), and `stats_fold()` moves every
-- committed delta into the roll-ups in one statement: the worker calls it every second and
-- every report calls it before reading, so reports still count everything committed.
-- First scanners are decided when folding (the earliest scan of a batch wins). account_day
-- keeps its shard column; folds write shard 0.

create table stats_delta (
    account_id  bigint not null,
    referrer_id bigint not null,   -- 0: a scan of an unknown or expired code
    day         date not null,
    openid      text,              -- a scan's scanner (first-scanner counting), else null
    scanned_at  timestamptz,
    scans       integer not null default 0,
    follows     integer not null default 0,
    unfollows   integer not null default 0,
    lost        integer not null default 0,
    lost_7d     integer not null default 0,
    lost_30d    integer not null default 0
) with (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000);

-- The day of the scanner's first scan (China Standard Time), which a fold counts them on.
alter table scanner add column first_day date;

create or replace function scan_rollup() returns trigger language plpgsql as $$
begin
    -- A subscribe scan without a flag is the one that made a referral (same event, same
    -- transaction): it counts the follow too.
    insert into stats_delta (account_id, referrer_id, day, openid, scanned_at, scans, follows)
    values (new.account_id, coalesce(new.referrer_id, 0), cst_day(new.scanned_at), new.openid,
            new.scanned_at, 1,
            (new.kind = 'subscribe' and new.flag is null
             and new.referrer_id is not null)::integer);
    return null;
end $$;

create or replace function unfollow_rollup(a bigint, r bigint, followed_at timestamptz,
                                           unfollowed_at timestamptz, sign integer)
returns void language plpgsql as $$
#variable_conflict use_variable
begin
    insert into stats_delta (account_id, referrer_id, day, unfollows, lost, lost_7d, lost_30d)
    values (a, r, cst_day(unfollowed_at), sign, 0, 0, 0),
           (a, r, cst_day(followed_at), 0, sign,
            case when unfollowed_at < followed_at + interval '7 days' then sign else 0 end,
            case when unfollowed_at < followed_at + interval '30 days' then sign else 0 end);
end $$;

drop function stats_add(bigint, bigint, date, integer, integer, integer, integer, integer,
                        integer, integer, integer);

-- Moves every committed delta into the roll-ups; returns how many were folded. Folds run one
-- at a time (advisory lock); a delta committed meanwhile waits for the next fold.
create function stats_fold() returns bigint language plpgsql as $$
declare
    n bigint;
begin
    perform pg_advisory_xact_lock(hashtext('tuijian.stats_fold'));
    with d as (delete from stats_delta returning *),
    -- Each scanner's first day in this batch, per referrer and account-wide; the scanner rows
    -- that are new return it, so no join is needed.
    here as (insert into scanner (account_id, scope, openid, first_day)
             select account_id, referrer_id, openid, cst_day(min(scanned_at))
             from d where openid is not null group by 1, 2, 3
             on conflict do nothing returning account_id, scope, first_day),
    anywhere as (insert into scanner (account_id, scope, openid, first_day)
                 select account_id, -1, openid, cst_day(min(scanned_at))
                 from d where openid is not null group by 1, 3
                 on conflict do nothing returning account_id, first_day),
    contrib as (
        select account_id, referrer_id, day, scans, 0 as scanners, 0 as account_scanners,
               follows, unfollows, lost, lost_7d, lost_30d
        from d
        union all
        select account_id, scope, first_day, 0, 1, 0, 0, 0, 0, 0, 0 from here
        union all
        select account_id, -1, first_day, 0, 0, 1, 0, 0, 0, 0, 0 from anywhere),
    per_day as (
        select account_id, referrer_id, day, sum(scans) as scans, sum(scanners) as scanners,
               sum(follows) as follows, sum(unfollows) as unfollows, sum(lost) as lost,
               sum(lost_7d) as lost_7d, sum(lost_30d) as lost_30d
        from contrib where referrer_id >= 0 group by 1, 2, 3),
    rd as (
        insert into referrer_day as t
        select account_id, referrer_id, day, scans, scanners, follows, unfollows, lost,
               lost_7d, lost_30d
        from per_day
        on conflict (account_id, referrer_id, day) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d),
    rm as (
        insert into referrer_month as t
        select account_id, referrer_id, date_trunc('month', day)::date, sum(scans),
               sum(scanners), sum(follows), sum(unfollows), sum(lost), sum(lost_7d),
               sum(lost_30d)
        from per_day group by 1, 2, 3
        on conflict (account_id, referrer_id, month) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d),
    rt as (
        insert into referrer_total as t
        select account_id, referrer_id, sum(scans), sum(scanners), sum(follows),
               sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d)
        from per_day group by 1, 2
        on conflict (account_id, referrer_id) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d),
    ad as (
        insert into account_day as t (account_id, day, scans, scanners, follows, unfollows,
                                      lost, lost_7d, lost_30d, shard)
        select account_id, day, sum(scans), sum(account_scanners), sum(follows),
               sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d), 0
        from contrib group by 1, 2
        on conflict (account_id, day, shard) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d)
    select count(*) into n from d;
    return n;
end $$;

-- A rebuild recomputes from the rows, so pending deltas are dropped with the roll-ups.
create or replace function stats_rebuild() returns void language plpgsql as $$
begin
    truncate referrer_day, referrer_month, referrer_total, account_day, scanner, stats_delta;
    insert into scanner (account_id, scope, openid, first_day)
        select account_id, coalesce(referrer_id, 0), openid, cst_day(min(scanned_at))
        from scan group by 1, 2, 3
        union all
        select account_id, -1, openid, cst_day(min(scanned_at)) from scan group by 1, 3;
    create temporary table contrib on commit drop as
        select s.account_id a, coalesce(s.referrer_id, 0) r, cst_day(s.scanned_at) d,
               1 scans, 0 scanners, 0 account_scanners, 0 follows, 0 unfollows, 0 lost,
               0 lost_7d, 0 lost_30d
        from scan s
        union all
        select account_id, coalesce(referrer_id, 0), cst_day(min(scanned_at)),
               0, 1, 0, 0, 0, 0, 0, 0
        from scan group by account_id, coalesce(referrer_id, 0), openid
        union all
        select account_id, -1, cst_day(min(scanned_at)), 0, 0, 1, 0, 0, 0, 0, 0
        from scan group by account_id, openid
        union all
        select account_id, referrer_id, cst_day(followed_at), 0, 0, 0, 1, 0, 0, 0, 0
        from referral
        union all
        select r.account_id, r.referrer_id, cst_day(f.unfollowed_at), 0, 0, 0, 0, 1, 0, 0, 0
        from referral r join follower f on f.id = r.follower_id
        where not f.subscribed and f.unfollowed_at is not null
        union all
        select r.account_id, r.referrer_id, cst_day(r.followed_at), 0, 0, 0, 0, 0, 1,
               (f.unfollowed_at < r.followed_at + interval '7 days')::integer,
               (f.unfollowed_at < r.followed_at + interval '30 days')::integer
        from referral r join follower f on f.id = r.follower_id
        where not f.subscribed and f.unfollowed_at is not null;
    insert into referrer_day
        select a, r, d, sum(scans), sum(scanners), sum(follows), sum(unfollows), sum(lost),
               sum(lost_7d), sum(lost_30d)
        from contrib where r >= 0 group by a, r, d;
    insert into referrer_month
        select account_id, referrer_id, date_trunc('month', day)::date, sum(scans),
               sum(scanners), sum(follows), sum(unfollows), sum(lost), sum(lost_7d),
               sum(lost_30d)
        from referrer_day group by 1, 2, 3;
    insert into referrer_total
        select account_id, referrer_id, sum(scans), sum(scanners), sum(follows),
               sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d)
        from referrer_day group by 1, 2;
    insert into account_day
        select a, d, sum(scans), sum(account_scanners), sum(follows), sum(unfollows),
               sum(lost), sum(lost_7d), sum(lost_30d), 0
        from contrib group by a, d;
    drop table contrib;
end $$;

