-- The tables every callback writes no longer check account_id against account. Each such
-- foreign key made the insert lock the one account row that all callbacks share
-- (`for key share`); with many concurrent transactions every lock becomes a new MultiXact
-- holding all of them. The profile of the callback load counted ten such checks per follow.
-- Accounts are never deleted and account ids come from the server's configuration, never
-- from a request; the other foreign keys of these tables (event, follower, referrer, QR code,
-- referral) still tie each row to rows of its own account.
alter table event drop constraint event_account_id_fkey;
alter table follower drop constraint follower_account_id_fkey;
alter table referral drop constraint referral_account_id_fkey;
alter table scan drop constraint scan_account_id_fkey;
alter table outbox drop constraint outbox_account_id_fkey;
alter table notification drop constraint notification_account_id_fkey;
