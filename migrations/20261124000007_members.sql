-- Member-get-member: followers who ask the account for their own referral code.

-- How a follower asks for a code: a text keyword or a menu CLICK key.
alter table account
    add column member_keywords text[] not null default '{推广码,我的二维码}',
    add column member_menu_key text not null default 'MY_REFERRAL_CODE';

-- A member chooses the name friends see; until then greetings use a neutral fallback.
-- `member_token` is the unguessable key of the member's personal page (/m/<token>).
alter table referrer
    add column name_chosen boolean not null default true,
    add column member_token text;
create unique index referrer_member_token on referrer (member_token) where member_token is not null;

-- The QR image uploaded to WeChat as temporary media (valid 3 days), cached per code.
alter table qr_code
    add column media_id text,
    add column media_expires_at timestamptz;

-- The simulated WeChat's temporary media (sandbox mode).
create table sandbox_media (
    media_id    text primary key,
    account_id  bigint not null default 1 references account(id),
    kind        text not null,
    content     bytea not null,
    created_at  timestamptz not null default now()
);

-- Web authorization codes the simulated WeChat handed out (sandbox mode; 5 minutes, once).
create table sandbox_oauth_code (
    code        text primary key,
    account_id  bigint not null default 1 references account(id),
    openid      text not null,
    scope       text not null,
    created_at  timestamptz not null default now(),
    used_at     timestamptz
);
