-- Every callback WeChat delivered and we accepted, stored once under its de-duplication key in
-- the same transaction as its effects. A re-delivery finds its row and gets the stored reply.
create table event (
    id            bigint generated always as identity primary key,
    account_id    bigint not null references account(id),
    -- messages: FromUserName + MsgId; events: FromUserName + CreateTime + Event + EventKey
    dedup_key     text not null,
    -- subscribe | scan | unsubscribe | text | other
    kind          text not null,
    openid        text not null,
    -- WeChat's CreateTime (seconds since the epoch)
    sent_at       timestamptz not null,
    event_key     text,
    -- the decrypted message as received
    payload       text not null,
    -- the passive reply (plaintext XML before any encryption); null means "success"
    reply         text,
    -- how many times WeChat delivered it again after the first time
    redeliveries  integer not null default 0,
    created_at    timestamptz not null default now(),
    constraint event_dedup unique (account_id, dedup_key)
);

create index event_account_openid on event (account_id, openid, sent_at);
