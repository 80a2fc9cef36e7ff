-- Binding a referrer's WeChat identity by scanning: staff get a one-time code (a temporary QR
-- with the scene `bind_<token>`, ten minutes) on the referrer's page; the first scan binds the
-- scanner's openid to that referrer.
create table referrer_binding (
    account_id   bigint not null,
    token        text not null,
    referrer_id  bigint not null,
    created_by   text not null,
    expires_at   timestamptz not null,
    used_at      timestamptz,
    used_by      text,
    created_at   timestamptz not null default now(),
    primary key (account_id, token),
    foreign key (account_id, referrer_id) references referrer (account_id, id)
);
