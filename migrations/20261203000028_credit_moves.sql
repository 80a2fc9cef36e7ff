-- Attribution override: an admin moves a follower's credit to another referrer, with a
-- required reason. The referral keeps its follow (time, code, event); this is its history.
create table credit_move (
    account_id        bigint not null,
    id                bigint generated always as identity,
    referral_id       bigint not null,
    follower_id       bigint not null,
    from_referrer_id  bigint not null,
    to_referrer_id    bigint not null,
    reason            text not null check (length(reason) between 1 and 800),
    actor             text not null,
    created_at        timestamptz not null default now(),
    primary key (account_id, id),
    foreign key (account_id, from_referrer_id) references referrer (account_id, id),
    foreign key (account_id, to_referrer_id) references referrer (account_id, id)
);
create index credit_move_from on credit_move (account_id, from_referrer_id);
create index credit_move_to on credit_move (account_id, to_referrer_id);
