-- Fission campaigns (任务宝): a follower joins by keyword or menu click and becomes a member
-- with a poster carrying their own code; friends who follow through it count towards the
-- campaign's milestones, each of which earns one reward per member. A friend who unfollows
-- within the holding period is taken back off the count.

create table campaign (
    account_id             bigint not null references account (id),
    id                     bigint generated always as identity,
    name                   text not null check (char_length(name) between 1 and 40),
    -- the text message that joins (compared trimmed, case-insensitively)
    keyword                text not null check (char_length(keyword) between 1 and 20),
    menu_key               text check (char_length(menu_key) between 1 and 128),
    -- [starts_at, ends_at): Beijing days, stored as instants
    starts_at              timestamptz not null,
    ends_at                timestamptz not null check (ends_at > starts_at),
    holding_days           integer not null check (holding_days between 0 and 30),
    end_when_out_of_stock  boolean not null default false,
    poster_text            text not null check (char_length(poster_text) between 1 and 40),
    layout                 jsonb not null,
    -- the uploaded background (PNG or JPEG); null: the default one
    background             bytea,
    width                  integer not null,
    height                 integer not null,
    -- bumped whenever the poster's look changes, so cached posters are made again
    poster_version         integer not null default 1,
    -- set when the campaign ended before ends_at (out_of_stock | stopped)
    ended_at               timestamptz,
    ended_reason           text check (ended_reason in ('out_of_stock', 'stopped')),
    created_by             text not null,
    created_at             timestamptz not null default now(),
    updated_at             timestamptz not null default now(),
    primary key (account_id, id),
    check ((ended_at is null) = (ended_reason is null))
);
create index campaign_keyword on campaign (account_id, lower(keyword));

create table campaign_milestone (
    account_id   bigint not null,
    id           bigint generated always as identity,
    campaign_id  bigint not null,
    goal         integer not null check (goal between 1 and 10000),
    reward_kind  text not null check (reward_kind in ('coupon', 'link', 'store')),
    reward_name  text not null check (char_length(reward_name) between 1 and 40),
    link         text check (char_length(link) between 1 and 1024),
    primary key (account_id, id),
    foreign key (account_id, campaign_id) references campaign (account_id, id),
    unique (account_id, campaign_id, goal)
);

-- A member in a campaign, with their cached poster (made again when the code, the name or the
-- campaign's look changes) and its upload to WeChat (temporary media, 3 days).
create table campaign_member (
    account_id         bigint not null,
    campaign_id        bigint not null,
    referrer_id        bigint not null,
    joined_at          timestamptz not null default now(),
    poster             bytea,
    poster_key         text,
    media_id           text,
    media_expires_at   timestamptz,
    primary key (account_id, campaign_id, referrer_id),
    foreign key (account_id, campaign_id) references campaign (account_id, id),
    foreign key (account_id, referrer_id) references referrer (account_id, id)
);
create index campaign_member_referrer on campaign_member (account_id, referrer_id);

-- A friend counted for a member: once per campaign and referral. `revoked_at` is set when the
-- friend unfollowed within the holding period (`held_until`).
create table campaign_credit (
    account_id   bigint not null,
    campaign_id  bigint not null,
    referral_id  bigint not null,
    referrer_id  bigint not null,
    follower_id  bigint not null,
    credited_at  timestamptz not null default now(),
    held_until   timestamptz not null,
    revoked_at   timestamptz,
    primary key (account_id, campaign_id, referral_id),
    foreign key (account_id, campaign_id, referrer_id)
        references campaign_member (account_id, campaign_id, referrer_id),
    foreign key (account_id, referral_id) references referral (account_id, id)
);
create index campaign_credit_follower on campaign_credit (account_id, follower_id)
    where revoked_at is null;

-- The coupon stock of a milestone: each code handed out once (`reward_id`).
create table campaign_coupon (
    account_id    bigint not null,
    id            bigint generated always as identity,
    milestone_id  bigint not null,
    code          text not null check (char_length(code) between 1 and 64),
    reward_id     bigint,
    created_at    timestamptz not null default now(),
    primary key (account_id, id),
    foreign key (account_id, milestone_id) references campaign_milestone (account_id, id),
    unique (account_id, milestone_id, code)
);
create index campaign_coupon_free on campaign_coupon (account_id, milestone_id, id)
    where reward_id is null;

-- A reward earned: one per member and milestone. issued: handed out (with its coupon or
-- redemption code); held: waiting for review (abuse flags on the member's friends);
-- out_of_stock: earned when no coupon was left; redeemed: collected in store.
create table campaign_reward (
    account_id    bigint not null,
    id            bigint generated always as identity,
    campaign_id   bigint not null,
    milestone_id  bigint not null,
    referrer_id   bigint not null,
    status        text not null check (status in ('issued', 'held', 'out_of_stock', 'redeemed')),
    code          text,
    redeemed_at   timestamptz,
    redeemed_by   text,
    created_at    timestamptz not null default now(),
    primary key (account_id, id),
    foreign key (account_id, milestone_id) references campaign_milestone (account_id, id),
    foreign key (account_id, campaign_id, referrer_id)
        references campaign_member (account_id, campaign_id, referrer_id),
    unique (account_id, milestone_id, referrer_id)
);
create index campaign_reward_campaign on campaign_reward (account_id, campaign_id, created_at);
alter table campaign_coupon add foreign key (account_id, reward_id)
    references campaign_reward (account_id, id);

-- What members are told (progress, taken back, reward, out of stock), sent by outbox jobs of
-- kind `campaign_notice`; `status` says how it went.
create table campaign_notice (
    account_id   bigint not null,
    id           bigint generated always as identity,
    campaign_id  bigint not null,
    referrer_id  bigint not null,
    kind         text not null check (kind in ('progress', 'taken_back', 'reward', 'out_of_stock', 'held')),
    text         text not null,
    status       text not null default 'queued' check (status in ('queued', 'sent', 'failed')),
    errcode      integer,
    error        text,
    created_at   timestamptz not null default now(),
    sent_at      timestamptz,
    primary key (account_id, id),
    foreign key (account_id, campaign_id, referrer_id)
        references campaign_member (account_id, campaign_id, referrer_id)
);
create index campaign_notice_member on campaign_notice (account_id, campaign_id, referrer_id, id);
