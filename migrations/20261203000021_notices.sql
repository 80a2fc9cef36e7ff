-- Notices that reach people. A template's keys differ per template (thing1, time2, …): the
-- account keeps which key gets which value. Every attempt to tell a referrer is logged (the
-- referrer's page lists them); a notice no channel could deliver is kept as `pending` in
-- `notification` and sent again once the referrer next interacts with the account.
alter table account add column notify_template_fields jsonb;

create table notice_attempt (
    account_id   bigint not null,
    id           bigint generated always as identity,
    referral_id  bigint not null,
    referrer_id  bigint not null,
    -- custom | template
    channel      text not null,
    -- sent | failed
    status       text not null,
    errcode      integer,
    errmsg       text,
    -- when the attempt was made (several are logged in one statement)
    created_at   timestamptz not null default clock_timestamp(),
    primary key (account_id, id),
    foreign key (account_id, referral_id) references referral (account_id, id),
    foreign key (account_id, referrer_id) references referrer (account_id, id)
);
create index notice_attempt_by_referrer on notice_attempt (account_id, referrer_id, id);

-- The few notices waiting for their referrer to come back.
create index notification_pending on notification (account_id, referrer_id)
    where status = 'pending';
