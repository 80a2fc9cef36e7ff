-- The referral core. Every table carries account_id so the schema can be distributed by account.

-- People and channels who bring followers: staff-made referrers and members (followers who asked
-- for their own code). Archived referrers keep attributing through their existing codes.
create table referrer (
    id           bigint generated always as identity primary key,
    account_id   bigint not null references account(id),
    name         text not null check (length(name) between 1 and 64),
    phone        text,
    note         text,
    tags         text[] not null default '{}',
    -- the referrer's own WeChat identity; scanning their own code earns no credit
    openid       text,
    kind         text not null default 'staff' check (kind in ('staff', 'member')),
    archived_at  timestamptz,
    created_at   timestamptz not null default now(),
    updated_at   timestamptz not null default now()
);
create unique index referrer_openid on referrer (account_id, openid) where openid is not null;
create index referrer_account_name on referrer (account_id, lower(name));

-- Parametric QR codes. The scene string is what comes back in EventKey (qrscene_<scene>).
create table qr_code (
    id           bigint generated always as identity primary key,
    account_id   bigint not null references account(id),
    referrer_id  bigint not null references referrer(id),
    kind         text not null check (kind in ('permanent', 'temporary')),
    scene        text not null check (length(scene) between 1 and 64),
    label        text,
    ticket       text not null,
    url          text not null,
    expires_at   timestamptz,
    created_at   timestamptz not null default now(),
    constraint qr_code_scene unique (account_id, scene),
    check ((kind = 'permanent') = (expires_at is null))
);
create index qr_code_referrer on qr_code (account_id, referrer_id);

-- Everyone who followed the account (through a code or not).
create table follower (
    id                bigint generated always as identity primary key,
    account_id        bigint not null references account(id),
    openid            text not null,
    unionid           text,
    subscribed        boolean not null default true,
    first_followed_at timestamptz not null,
    last_followed_at  timestamptz not null,
    unfollowed_at     timestamptz,
    follow_count      integer not null default 1,
    -- from user/info, filled after the reply
    subscribe_scene   text,
    qr_scene_str      text,
    info_fetched_at   timestamptz,
    created_at        timestamptz not null default now(),
    constraint follower_openid unique (account_id, openid)
);
create index follower_unfollowed on follower (account_id, unfollowed_at) where not subscribed;

-- Who brought whom: at most one per follower, written once (first touch).
create table referral (
    id            bigint generated always as identity primary key,
    account_id    bigint not null references account(id),
    follower_id   bigint not null references follower(id),
    referrer_id   bigint not null references referrer(id),
    qr_code_id    bigint not null references qr_code(id),
    event_id      bigint not null references event(id),
    followed_at   timestamptz not null,
    created_at    timestamptz not null default now(),
    constraint referral_follower unique (account_id, follower_id)
);
create index referral_referrer_time on referral (account_id, referrer_id, followed_at);
create index referral_time on referral (account_id, followed_at)
    include (referrer_id, follower_id);

-- Every scan of a parametric code: follows through a code and SCANs by existing followers.
create table scan (
    id           bigint generated always as identity primary key,
    account_id   bigint not null references account(id),
    event_id     bigint not null references event(id),
    openid       text not null,
    scene        text not null,
    qr_code_id   bigint references qr_code(id),
    referrer_id  bigint references referrer(id),
    -- subscribe | scan
    kind         text not null check (kind in ('subscribe', 'scan')),
    -- why it earned no credit: unknown_scene | expired_scene | self_referral | already_referred
    -- | existing_follower; null when it created a referral
    flag         text,
    scanned_at   timestamptz not null,
    created_at   timestamptz not null default now()
);
create index scan_time on scan (account_id, scanned_at);
create index scan_referrer_time on scan (account_id, referrer_id, scanned_at);

-- Greeting templates per variant; absent rows fall back to the built-in defaults.
create table greeting (
    account_id   bigint not null references account(id),
    variant      text not null check (variant in ('referred', 'plain', 'refollow', 'scan')),
    template     text not null check (length(template) between 1 and 600),
    updated_at   timestamptz not null default now(),
    primary key (account_id, variant)
);

-- Slow work done after the reply (user/info lookups, referrer notifications). A worker claims
-- due rows with `for update skip locked`, so several instances never do a job twice.
create table outbox (
    id               bigint generated always as identity primary key,
    account_id       bigint not null references account(id),
    kind             text not null,
    payload          jsonb not null,
    -- pending | done | failed
    status           text not null default 'pending' check (status in ('pending', 'done', 'failed')),
    attempts         integer not null default 0,
    next_attempt_at  timestamptz not null default now(),
    last_errcode     integer,
    last_error       text,
    created_at       timestamptz not null default now(),
    finished_at      timestamptz
);
create index outbox_due on outbox (next_attempt_at) where status = 'pending';

-- What each referrer was told, and how it went.
create table notification (
    id           bigint generated always as identity primary key,
    account_id   bigint not null references account(id),
    referral_id  bigint not null references referral(id),
    referrer_id  bigint not null references referrer(id),
    -- template | custom | none (referrer has no bound openid)
    channel      text not null,
    -- sent | failed | skipped
    status       text not null,
    errcode      integer,
    errmsg       text,
    created_at   timestamptz not null default now(),
    constraint notification_referral unique (account_id, referral_id)
);

-- Bearer tokens for the REST API; only a hash is stored.
create table api_token (
    id            bigint generated always as identity primary key,
    account_id    bigint not null references account(id),
    name          text not null,
    role          text not null check (role in ('admin', 'manager', 'staff')),
    token_hash    text not null unique,
    created_at    timestamptz not null default now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- Who changed what.
create table audit_log (
    id          bigint generated always as identity primary key,
    account_id  bigint not null references account(id),
    actor       text not null,
    action      text not null,
    target      text,
    detail      jsonb,
    created_at  timestamptz not null default now()
);
create index audit_log_time on audit_log (account_id, created_at desc);

-- Which template message notifies referrers (none → customer-service message).
alter table account add column notify_template_id text;
