-- Accounts: one row per WeChat Official Account this installation serves. Every other table
-- carries account_id so the schema can be distributed by account later.
create table account (
    id          bigint generated always as identity primary key,
    name        text not null,
    appid       text unique,
    created_at  timestamptz not null default now()
);

-- The default account; in sandbox mode it stands for the simulated Official Account.
insert into account (name) values ('默认公众号');
