-- Outbound webhooks (admin, per account): endpoints with a URL, the events they take and a
-- signing secret; the events themselves (one id, kept across every retry and redelivery); and
-- a log of every delivery attempt. Deliveries are outbox jobs of kind `webhook`.
create table webhook_endpoint (
    account_id            bigint not null references account (id),
    id                    bigint generated always as identity,
    url                   text not null check (length(url) between 1 and 2048),
    -- referral.created | referral.lost | referral.restored | member.code_created |
    -- notification.failed
    events                text[] not null check (cardinality(events) > 0),
    -- The admin's opt-in to loopback, private and link-local addresses (SSRF rule).
    allow_private         boolean not null default false,
    enabled               boolean not null default true,
    -- The signing secret (it signs, so it is kept as is, like the AppSecret) and, for 24
    -- hours after a rotation, the previous one.
    secret                text not null,
    previous_secret       text,
    previous_secret_until timestamptz,
    -- Failed attempts since the last success; at the limit the endpoint is disabled.
    consecutive_failures  integer not null default 0,
    disabled_reason       text,
    disabled_at           timestamptz,
    created_at            timestamptz not null default now(),
    updated_at            timestamptz not null default now(),
    primary key (account_id, id)
);

create table webhook_event (
    account_id  bigint not null,
    -- `evt_` and 32 hex digits: what receivers de-duplicate on.
    id          text not null,
    type        text not null,
    -- What made the event (e.g. `created:<referral id>`), so emitting again (a retried job)
    -- makes no second event.
    source_key  text not null,
    data        jsonb not null,
    created_at  timestamptz not null default now(),
    primary key (account_id, id),
    unique (account_id, source_key)
);

create table webhook_delivery (
    account_id        bigint not null,
    id                bigint generated always as identity,
    endpoint_id       bigint not null,
    event_id          text not null,
    -- 1 for the first attempt of a job; a redelivery starts again at 1.
    attempt           integer not null,
    ok                boolean not null,
    status_code       integer,
    -- Transport error or refusal (timeout, refused address); never a secret.
    error             text,
    latency_ms        integer not null,
    -- At most 1 KB of the response body.
    response_excerpt  text,
    created_at        timestamptz not null default now(),
    primary key (account_id, id),
    foreign key (account_id, endpoint_id) references webhook_endpoint (account_id, id)
        on delete cascade,
    foreign key (account_id, event_id) references webhook_event (account_id, id)
);
create index webhook_delivery_log on webhook_delivery (account_id, endpoint_id, id desc);
create index webhook_delivery_event on webhook_delivery (account_id, event_id);
create index webhook_event_created on webhook_event (created_at);
