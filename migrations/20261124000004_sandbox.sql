-- The sandbox: the state of the simulated WeChat (used only when no credentials are set).

-- Access tokens the simulated WeChat has issued.
create table sandbox_token (
    token       text primary key,
    account_id  bigint not null default 1 references account(id),
    -- stable | classic
    kind        text not null,
    expires_at  timestamptz not null,
    revoked     boolean not null default false,
    created_at  timestamptz not null default now()
);

-- QR codes the simulated WeChat has made.
create table sandbox_qrcode (
    ticket      text primary key,
    account_id  bigint not null default 1 references account(id),
    action      text not null,
    scene       text not null,
    url         text not null,
    expires_at  timestamptz,
    created_at  timestamptz not null default now()
);
create index sandbox_qrcode_permanent on sandbox_qrcode (account_id) where expires_at is null;

-- Simulated WeChat users and their relationship with the account.
create table sandbox_user (
    openid               text primary key,
    account_id           bigint not null default 1 references account(id),
    name                 text not null,
    unionid              text not null,
    subscribed           boolean not null default false,
    subscribe_time       timestamptz,
    unsubscribe_time     timestamptz,
    -- opens the 48-hour customer-service window
    last_interaction_at  timestamptz,
    qr_scene_str         text,
    tagids               bigint[] not null default '{}',
    created_at           timestamptz not null default now()
);

-- Messages the account sent through the simulated WeChat (what users "received").
create table sandbox_message (
    id          bigint generated always as identity primary key,
    account_id  bigint not null default 1 references account(id),
    touser      text not null,
    -- custom | template
    kind        text not null,
    body        jsonb not null,
    created_at  timestamptz not null default now()
);
create index sandbox_message_touser on sandbox_message (touser, id);

create table sandbox_tag (
    id          bigint generated always as identity (start with 100) primary key,
    account_id  bigint not null default 1 references account(id),
    name        text not null unique
);
