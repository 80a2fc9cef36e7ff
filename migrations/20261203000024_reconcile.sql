-- Reconciliation: page through WeChat's follower list (`user/get`) and their details
-- (`user/info/batchget`), compare with what we recorded, backfill the follows whose callback
-- never arrived and mark as lost the followers WeChat no longer lists. A run keeps its cursor
-- and counts, so a crashed run resumes where it stopped; a lease says which process drives it.
create table reconcile_run (
    account_id    bigint not null references account(id),
    id            bigint generated always as identity,
    -- who started it: a user's or token's audit name, `cli` or `schedule`
    started_by    text not null,
    -- also tell the referrers of recovered referrals
    notify        boolean not null default false,
    -- list: paging user/get; check: batchget of the followers we do not know as following;
    -- lost: marking followers WeChat does not list
    phase         text not null default 'list' check (phase in ('list', 'check', 'lost')),
    status        text not null default 'active'
                  check (status in ('active', 'done', 'failed', 'cancelled')),
    -- list: the next_openid to ask for; check: the last openid looked up
    cursor        text not null default '',
    wechat_total  bigint,
    listed        bigint not null default 0,
    to_check      bigint not null default 0,
    checked       bigint not null default 0,
    recovered     bigint not null default 0,
    recorded    bigint not null default 0,
    unattributed  bigint not null default 0,
    lost          bigint not null default 0,
    api_calls     integer not null default 0,
    error         text,
    lease_until   timestamptz,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    finished_at   timestamptz,
    primary key (account_id, id)
);
-- One active run per account.
create unique index reconcile_run_active on reconcile_run (account_id) where status = 'active';

-- The openids WeChat listed in a run (dropped when the run ends).
create table reconcile_seen (
    account_id  bigint not null,
    run_id      bigint not null,
    openid      text not null,
    primary key (account_id, run_id, openid),
    foreign key (account_id, run_id) references reconcile_run (account_id, id)
        on delete cascade
);

-- What a run changed: its report.
create table reconcile_change (
    account_id   bigint not null,
    run_id       bigint not null,
    openid       text not null,
    -- recovered: a follow through one of our codes, credited; recorded: a follow recorded
    -- without credit (first touch went elsewhere, an expired code, or a known follower
    -- following again); lost: WeChat no longer lists the follower
    change       text not null check (change in ('recovered', 'recorded', 'lost')),
    referrer_id  bigint,
    scene        text,
    -- the follow time (subscribe_time) or when the follower was found lost
    at           timestamptz not null,
    primary key (account_id, run_id, openid),
    foreign key (account_id, run_id) references reconcile_run (account_id, id)
        on delete cascade
);

-- A referral recovered by reconciliation rather than recorded from its callback.
alter table referral add column recovered_by bigint,
    add foreign key (account_id, recovered_by) references reconcile_run (account_id, id);

-- The nightly run of a live account: the hour (Beijing time) it starts at, null for none.
-- (Sandbox accounts are reconciled on demand only.)
alter table account add column reconcile_hour smallint default 3
    check (reconcile_hour between 0 and 23);
