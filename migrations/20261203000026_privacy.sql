-- Privacy: erasing a follower on request (their identifiers, messages and events replaced by a
-- tombstone, the counts kept) and a retention period for raw event payloads and message text,
-- enforced by a job that also purges expired sessions and finished outbox rows.
alter table account add column retention_days integer not null default 180
    check (retention_days between 7 and 3650);
-- When the retention job last ran for the account, and what it cleared then.
alter table account add column purged_at timestamptz;
alter table account add column purged_events bigint not null default 0;

-- Set when the follower was erased (their openid is then a tombstone).
alter table follower add column erased_at timestamptz;
