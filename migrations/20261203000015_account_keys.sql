-- Every key of account data includes account_id, so the schema can be distributed by account
-- (Citus: each primary key, unique constraint and unique index of a distributed table must
-- contain the distribution column, and a foreign key between two distributed tables must
-- join on it). Global by nature, and so left as they are (reference tables): `account`, the
-- dashboard's `app_user`, `session` and `login_attempt`, and sqlx's `_sqlx_migrations`.
-- The identity columns stay; they are now unique per account (and in fact overall).
-- Lookups whose caller cannot know the account (a bearer token's hash, a member page's key,
-- the simulated WeChat's access tokens, tickets and media ids) get a plain index below.

-- The foreign keys between account tables that still exist (migrations 10 and 12 dropped the
-- hot-path ones on purpose; they stay dropped) point at primary keys about to be replaced.
alter table qr_code drop constraint qr_code_referrer_id_fkey;
alter table notification drop constraint notification_referral_id_fkey;
alter table notification drop constraint notification_referrer_id_fkey;

-- Primary keys: (account_id, id).
alter table event drop constraint event_pkey,
    add constraint event_pkey primary key (account_id, id);
alter table referrer drop constraint referrer_pkey,
    add constraint referrer_pkey primary key (account_id, id);
alter table qr_code drop constraint qr_code_pkey,
    add constraint qr_code_pkey primary key (account_id, id);
alter table follower drop constraint follower_pkey,
    add constraint follower_pkey primary key (account_id, id);
alter table referral drop constraint referral_pkey,
    add constraint referral_pkey primary key (account_id, id);
alter table scan drop constraint scan_pkey,
    add constraint scan_pkey primary key (account_id, id);
alter table outbox drop constraint outbox_pkey,
    add constraint outbox_pkey primary key (account_id, id);
alter table notification drop constraint notification_pkey,
    add constraint notification_pkey primary key (account_id, id);
alter table api_token drop constraint api_token_pkey,
    add constraint api_token_pkey primary key (account_id, id);
alter table audit_log drop constraint audit_log_pkey,
    add constraint audit_log_pkey primary key (account_id, id);

-- The same foreign keys, now within one account.
alter table qr_code add constraint qr_code_referrer_id_fkey
    foreign key (account_id, referrer_id) references referrer (account_id, id);
alter table notification add constraint notification_referral_id_fkey
    foreign key (account_id, referral_id) references referral (account_id, id);
alter table notification add constraint notification_referrer_id_fkey
    foreign key (account_id, referrer_id) references referrer (account_id, id);

-- A REST API token is presented without its account: its hash finds it.
alter table api_token drop constraint api_token_token_hash_key,
    add constraint api_token_token_hash_key unique (account_id, token_hash);
create index api_token_by_hash on api_token (token_hash);

-- A member's page (/m/<token>) is opened without its account: its key finds it.
drop index referrer_member_token;
create unique index referrer_member_token on referrer (account_id, member_token)
    where member_token is not null;
create index referrer_by_member_token on referrer (member_token) where member_token is not null;

-- The simulated WeChat, per account as WeChat's own: openids, tickets, tokens, media ids and
-- authorization codes belong to one Official Account.
alter table sandbox_token drop constraint sandbox_token_pkey,
    add constraint sandbox_token_pkey primary key (account_id, token);
alter table sandbox_qrcode drop constraint sandbox_qrcode_pkey,
    add constraint sandbox_qrcode_pkey primary key (account_id, ticket);
alter table sandbox_user drop constraint sandbox_user_pkey,
    add constraint sandbox_user_pkey primary key (account_id, openid);
alter table sandbox_message drop constraint sandbox_message_pkey,
    add constraint sandbox_message_pkey primary key (account_id, id);
alter table sandbox_tag drop constraint sandbox_tag_pkey,
    add constraint sandbox_tag_pkey primary key (account_id, id),
    drop constraint sandbox_tag_name_key,
    add constraint sandbox_tag_name_key unique (account_id, name);
alter table sandbox_media drop constraint sandbox_media_pkey,
    add constraint sandbox_media_pkey primary key (account_id, media_id);
alter table sandbox_oauth_code drop constraint sandbox_oauth_code_pkey,
    add constraint sandbox_oauth_code_pkey primary key (account_id, code);
-- What arrives without its account: an API call's access token, a ticket in the public
-- showqrcode address, a media id in the public media address.
create index sandbox_token_by_token on sandbox_token (token);
create index sandbox_qrcode_by_ticket on sandbox_qrcode (ticket);
create index sandbox_media_by_id on sandbox_media (media_id);

-- account_day's shards (migration 8) have been written as shard 0 only since migration 9:
-- the column goes, and with it the rows of other shards, added into one row per day.
create temporary table account_day_merged on commit drop as
    select account_id, day, sum(scans)::integer as scans, sum(scanners)::integer as scanners,
           sum(follows)::integer as follows, sum(unfollows)::integer as unfollows,
           sum(lost)::integer as lost, sum(lost_7d)::integer as lost_7d,
           sum(lost_30d)::integer as lost_30d
    from account_day group by account_id, day;
truncate account_day;
alter table account_day drop constraint account_day_pkey, drop column shard;
insert into account_day (account_id, day, scans, scanners, follows, unfollows, lost, lost_7d,
                         lost_30d)
    select account_id, day, scans, scanners, follows, unfollows, lost, lost_7d, lost_30d
    from account_day_merged;
drop table account_day_merged;
alter table account_day add constraint account_day_pkey primary key (account_id, day);

-- Written on every token refresh, read by nothing.
alter table access_token drop column fetch_count;

-- The fold and the rebuild of migration 13 without the shard column.
create or replace function stats_fold() returns bigint language plpgsql as $$
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
    rw as (
        insert into referrer_week as t
        select account_id, referrer_id, date_trunc('week', day)::date, sum(scans),
               sum(scanners), sum(follows), sum(unfollows), sum(lost), sum(lost_7d),
               sum(lost_30d)
        from per_day group by 1, 2, 3
        on conflict (account_id, referrer_id, week) do update set
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
                                      lost, lost_7d, lost_30d)
        select account_id, day, sum(scans), sum(account_scanners), sum(follows),
               sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d)
        from contrib group by 1, 2
        on conflict (account_id, day) do update set
        scans = t.scans + excluded.scans, scanners = t.scanners + excluded.scanners,
        follows = t.follows + excluded.follows, unfollows = t.unfollows + excluded.unfollows,
        lost = t.lost + excluded.lost, lost_7d = t.lost_7d + excluded.lost_7d,
        lost_30d = t.lost_30d + excluded.lost_30d)
    select count(*) into n from d;
    return n;
end $$;

create or replace function stats_rebuild() returns void language plpgsql as $$
begin
    truncate referrer_day, referrer_week, referrer_month, referrer_total, account_day, scanner,
             stats_delta;
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
    insert into referrer_week
        select account_id, referrer_id, date_trunc('week', day)::date, sum(scans),
               sum(scanners), sum(follows), sum(unfollows), sum(lost), sum(lost_7d),
               sum(lost_30d)
        from referrer_day group by 1, 2, 3;
    insert into referrer_total
        select account_id, referrer_id, sum(scans), sum(scanners), sum(follows),
               sum(unfollows), sum(lost), sum(lost_7d), sum(lost_30d)
        from referrer_day group by 1, 2;
    insert into account_day
        select a, d, sum(scans), sum(account_scanners), sum(follows), sum(unfollows),
               sum(lost), sum(lost_7d), sum(lost_30d)
        from contrib group by a, d;
    drop table contrib;
end $$;
