-- Abuse review: patterns that suggest a referral code is being gamed are flagged; managers
-- review the flags, confirm the referral or void it. A voided referral stays recorded (and
-- keeps its follower's first touch) but no longer counts: the roll-ups lose its follow,
-- unfollow and lost counts through deltas, a rebuild leaves it out, and restoring it brings
-- the counts back. Admins also void a referral without a flag ("remove credit").

-- The thresholds of the flags, per account, and how far the sweep has looked.
alter table account
    add column abuse_quick_unfollow_hours integer not null default 24
        check (abuse_quick_unfollow_hours between 1 and 720),
    add column abuse_cycle_follows integer not null default 3
        check (abuse_cycle_follows between 2 and 100),
    add column abuse_burst_follows integer not null default 20
        check (abuse_burst_follows between 2 and 100000),
    add column abuse_burst_minutes integer not null default 10
        check (abuse_burst_minutes between 1 and 1440),
    -- events up to this id (and older than a minute) have been swept for flags
    add column abuse_swept_event_id bigint not null default 0;

alter table referral
    add column voided_at   timestamptz,
    add column voided_by   text,
    add column void_reason text check (length(void_reason) between 1 and 800),
    add constraint referral_void check ((voided_at is null) = (voided_by is null));

-- One flag per pattern and subject: a referral, or a scan that earned no credit (a referrer
-- scanning their own code, a follow through an expired code). The evidence names no openid
-- (erasure need not look into it).
create table abuse_flag (
    account_id   bigint not null,
    id           bigint generated always as identity,
    kind         text not null check (kind in ('self_scan', 'quick_unfollow', 'cycles', 'burst',
                                               'expired_code', 'scene_mismatch')),
    referral_id  bigint,
    scan_id      bigint,
    referrer_id  bigint not null,
    evidence     jsonb not null default '{}',
    -- open: waiting for review; confirmed: reviewed and kept; voided: the referral was voided
    status       text not null default 'open' check (status in ('open', 'confirmed', 'voided')),
    resolved_by  text,
    resolved_at  timestamptz,
    created_at   timestamptz not null default now(),
    primary key (account_id, id),
    foreign key (account_id, referral_id) references referral (account_id, id),
    foreign key (account_id, scan_id) references scan (account_id, id),
    foreign key (account_id, referrer_id) references referrer (account_id, id),
    check ((referral_id is null) <> (scan_id is null))
);
create unique index abuse_flag_referral on abuse_flag (account_id, referral_id, kind)
    where referral_id is not null;
create unique index abuse_flag_scan on abuse_flag (account_id, scan_id, kind)
    where scan_id is not null;
create index abuse_flag_status on abuse_flag (account_id, status, created_at);

-- An unfollow (or a re-follow) of a follower whose referral was voided changes no roll-up:
-- the voided referral counts nowhere.
create or replace function follower_rollup() returns trigger language plpgsql as $$
declare
    ref referral;
begin
    select * into ref from referral
    where account_id = new.account_id and follower_id = new.id and voided_at is null;
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
