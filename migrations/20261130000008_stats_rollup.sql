-- Daily, monthly and all-time figures per referrer, and daily figures per account, kept by
-- triggers in the same transaction as the rows they count: reports read a few thousand
-- pre-summed rows instead of millions of referrals, and a figure can never drift from the
-- rows behind it. Days are China Standard Time dates.
--
-- Columns of every roll-up:
--   scans      scans of a code (subscribe and SCAN)
--   scanners   scans that were the scanner's first one (of this referrer's codes; of any code
--              for account_day): summed over a period, the people who first scanned in it
--   follows    referrals made
--   unfollows  referred followers whose current unfollow happened that day
--   lost       referrals made that day whose follower does not follow now
--   lost_7d    … and unfollowed less than 7 days after the referral
--   lost_30d   … and unfollowed less than 30 days after the referral
-- referrer_id 0 holds scans of unknown or expired codes (no referrer).

create table referrer_day (
    account_id  bigint not null references account(id),
    referrer_id bigint not null,
    day         date not null,
    scans       integer not null default 0,
    scanners    integer not null default 0,
    follows     integer not null default 0,
    unfollows   integer not null default 0,
    lost        integer not null default 0,
    lost_7d     integer not null default 0,
    lost_30d    integer not null default 0,
    primary key (account_id, referrer_id, day)
);
create index referrer_day_by_day on referrer_day (account_id, day);

create table referrer_month (like referrer_day including defaults);
alter table referrer_month rename column day to month;
alter table referrer_month add primary key (account_id, referrer_id, month);
alter table referrer_month add foreign key (account_id) references account(id);
create index referrer_month_by_month on referrer_month (account_id, month);

create table referrer_total (like referrer_day including defaults);
alter table referrer_total drop column day;
alter table referrer_total add primary key (account_id, referrer_id);
alter table referrer_total add foreign key (account_id) references account(id);

-- Account-wide days are split over 16 shards (summed on reading) so concurrent callbacks do
-- not all wait for one row lock.
create table account_day (like referrer_day including defaults);
alter table account_day drop column referrer_id;
alter table account_day add column shard smallint not null default 0;
alter table account_day add primary key (account_id, day, shard);
alter table account_day add foreign key (account_id) references account(id);

-- Who has scanned: per referrer (0: no referrer) and account-wide (scope -1).
create table scanner (
    account_id bigint not null references account(id),
    scope      bigint not null,
    openid     text not null,
    primary key (account_id, scope, openid)
);

create function cst_day(t timestamptz) returns date
    language sql immutable parallel safe
    as $$ select (t at time zone 'Asia/Shanghai')::date $$;

-- Adds to every roll-up at once; `account_scanners` only counts account-wide.
create function stats_add(a bigint, r bigint, d date, scans integer, scanners integer,
                          account_scanners integer, follows integer, unfollows integer,
                          lost integer, lost_7d integer, lost_30d integer) returns void
language sql as $$
    insert into referrer_day as t values (a, r, d, scans, scanners, follows, unfollows, lost,
                                          lost_7d, lost_30d)
    on conflict (account_id, referrer_id, day) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d;
    insert into referrer_month as t values (a, r, date_trunc('month', d)::date, scans, scanners,
                                            follows, unfollows, lost, lost_7d, lost_30d)
    on conflict (account_id, referrer_id, month) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d;
    insert into referrer_total as t values (a, r, scans, scanners, follows, unfollows, lost,
                                            lost_7d, lost_30d)
    on conflict (account_id, referrer_id) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d;
    insert into account_day as t values (a, d, scans, account_scanners, follows, unfollows,
                                         lost, lost_7d, lost_30d, pg_backend_pid() % 16)
    on conflict (account_id, day, shard) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d;
$$;

create function scan_rollup() returns trigger language plpgsql as $$
declare
    r bigint := coalesce(new.referrer_id, 0);
    first_here integer;
    first_anywhere integer;
begin
    insert into scanner values (new.account_id, r, new.openid) on conflict do nothing;
    get diagnostics first_here = row_count;
    insert into scanner values (new.account_id, -1, new.openid) on conflict do nothing;
    get diagnostics first_anywhere = row_count;
    -- A subscribe scan without a flag is the one that made a referral (same event, same
    -- transaction): counting the follow here saves a second round of upserts.
    perform stats_add(new.account_id, r, cst_day(new.scanned_at), 1, first_here,
                      first_anywhere,
                      (new.kind = 'subscribe' and new.flag is null
                       and new.referrer_id is not null)::integer,
                      0, 0, 0, 0);
    return null;
end $$;
create trigger scan_rollup after insert on scan for each row execute function scan_rollup();

-- What one referral's follower state contributes (sign -1 removes it).
create function unfollow_rollup(a bigint, r bigint, followed_at timestamptz,
                                unfollowed_at timestamptz, sign integer) returns void
language sql as $$
    select stats_add(a, r, cst_day(unfollowed_at), 0, 0, 0, 0, sign, 0, 0, 0);
    select stats_add(a, r, cst_day(followed_at), 0, 0, 0, 0, 0, sign,
                     case when unfollowed_at < followed_at + interval '7 days' then sign else 0 end,
                     case when unfollowed_at < followed_at + interval '30 days' then sign else 0 end);
$$;

-- Referrals are counted by their subscribe scan (above); a referral is only ever written
-- together with that scan, for a follower who follows at that moment.

create function follower_rollup() returns trigger language plpgsql as $$
declare
    ref referral;
begin
    select * into ref from referral where account_id = new.account_id and follower_id = new.id;
    if not found then
        return null;
    end if;
    if not old.subscribed and old.unfollowed_at is not null then
        perform unfollow_rollup(ref.account_id, ref.referrer_id, ref.followed_at,
                                old.unfollowed_at, -1);
    end if;
    if not new.subscribed and new.unfollowed_at is not null then
        perform unfollow_rollup(ref.account_id, ref.referrer_id, ref.followed_at,
                                new.unfollowed_at, 1);
    end if;
    return null;
end $$;
create trigger follower_rollup after update of subscribed, unfollowed_at on follower
    for each row
    when (old.subscribed is distinct from new.subscribed
          or old.unfollowed_at is distinct from new.unfollowed_at)
    execute function follower_rollup();

-- Recomputes every roll-up from the rows (after a bulk load with triggers off, or to check).
create function stats_rebuild() returns void language plpgsql as $$
begin
    truncate referrer_day, referrer_month, referrer_total, account_day, scanner;
    insert into scanner
        select account_id, coalesce(referrer_id, 0), openid from scan group by 1, 2, 3
        union all
        select account_id, -1, openid from scan group by 1, 3;
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

select stats_rebuild();
