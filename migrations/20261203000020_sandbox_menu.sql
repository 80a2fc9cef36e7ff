-- The simulated WeChat's custom menu (自定义菜单): one per simulated Official Account, as
-- `menu/create` received it (WeChat's JSON, `{"button":[...]}`); `menu/delete` removes the row.
create table sandbox_menu (
    account_id  bigint not null references account(id),
    body        jsonb not null,
    created_at  timestamptz not null default now(),
    primary key (account_id)
);
