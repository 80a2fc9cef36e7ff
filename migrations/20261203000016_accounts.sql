-- Several Official Accounts in one deployment. Each account holds its own WeChat
-- configuration (the first one is still configured by the WECHAT_* variables when they are
-- set); dashboard users become global and hold a role per account.

alter table account
    add column original_id      text check (length(original_id) between 1 and 64),
    -- The callback Token (the dashboard asks for WeChat's 3 to 32 letters or digits; the
    -- WECHAT_TOKEN variable of the first account is taken as it is).
    add column token            text check (length(token) between 1 and 128),
    -- Set → safe mode (callbacks encrypted).
    add column encoding_aes_key text check (length(encoding_aes_key) = 43),
    -- Write-only for the dashboard and the API: never returned once entered.
    add column appsecret        text,
    -- sandbox: the built-in simulator plays WeChat for this account; live: WeChat itself.
    add column mode             text not null default 'sandbox' check (mode in ('sandbox', 'live')),
    add column updated_at       timestamptz not null default now(),
    add constraint account_name_length check (length(name) between 1 and 64),
    add constraint account_appid_length check (length(appid) between 1 and 64);

-- Who may do what in which account. A user with no row for an account cannot see it.
create table account_role (
    account_id  bigint not null references account(id),
    user_id     bigint not null references app_user(id) on delete cascade,
    role        text not null check (role in ('admin', 'manager', 'staff')),
    granted_at  timestamptz not null default now(),
    primary key (account_id, user_id)
);
create index account_role_by_user on account_role (user_id);

-- Every existing user keeps their role in the account they belonged to.
insert into account_role (account_id, user_id, role)
select account_id, id, role from app_user;

-- Usernames are global now (one login for every account a person works in). The old per-account
-- key allowed the same name in two accounts; none exist yet, since there was one account.
alter table app_user drop constraint app_user_username;
alter table app_user add constraint app_user_username unique (username);
-- The user's role lives in account_role; app_user.account_id stays as the account a user was
-- first made in (the one a login opens when the user holds no role elsewhere).
alter table app_user drop column role;

-- Login throttling is per username, whatever the account.
drop index login_attempt_recent;
create index login_attempt_recent on login_attempt (username, attempted_at);
