-- The WeChat access token, one per account, shared by every instance. Refreshes happen under a
-- transaction-level advisory lock so one instance fetches while the others wait and reuse it.
create table access_token (
    account_id  bigint primary key references account(id),
    token       text not null,
    expires_at  timestamptz not null,
    fetched_at  timestamptz not null default now(),
    -- how many times a token was fetched for this account (observability and tests)
    fetch_count bigint not null default 1
);
