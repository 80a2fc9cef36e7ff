-- Dashboard users, their sessions, and login attempts (for throttling).
create table app_user (
    id             bigint generated always as identity primary key,
    account_id     bigint not null references account(id),
    username       text not null check (length(username) between 1 and 64),
    -- argon2id PHC string
    password_hash  text not null,
    role           text not null check (role in ('admin', 'manager', 'staff')),
    disabled_at    timestamptz,
    created_at     timestamptz not null default now(),
    constraint app_user_username unique (account_id, username)
);

-- Only the SHA-256 of the cookie value is stored.
create table session (
    id_hash       text primary key,
    account_id    bigint not null references account(id),
    user_id       bigint not null references app_user(id) on delete cascade,
    created_at    timestamptz not null default now(),
    expires_at    timestamptz not null,
    last_seen_at  timestamptz not null default now()
);
create index session_by_user on session (user_id);

create table login_attempt (
    id            bigint generated always as identity primary key,
    account_id    bigint not null references account(id),
    username      text not null,
    succeeded     boolean not null,
    attempted_at  timestamptz not null default now()
);
create index login_attempt_recent on login_attempt (account_id, username, attempted_at);
