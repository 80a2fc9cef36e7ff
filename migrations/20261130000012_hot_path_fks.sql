-- A follow's statement no longer checks its referral and scan rows against the rows they
-- point at. Each such foreign key ran one lookup per inserted row (seven per credited
-- follow) and locked the referenced row `for key share`; the referrer and QR code rows are
-- shared by every follow through the same poster, so a busy campaign queued all its follows
-- behind MultiXacts on one row (the same cost that migration 10 removed for `account`).
-- Nothing deletes referrers, QR codes, followers or events, and the ids written here come
-- from the same statement (event, follower) or from the lookup just before it (referrer,
-- QR code), so the checks guarded only against bugs in that one statement, which the
-- attribution tests cover. Tables written outside the callback keep their foreign keys.
alter table referral drop constraint referral_referrer_id_fkey;
alter table referral drop constraint referral_qr_code_id_fkey;
alter table referral drop constraint referral_follower_id_fkey;
alter table referral drop constraint referral_event_id_fkey;
alter table scan drop constraint scan_event_id_fkey;
alter table scan drop constraint scan_qr_code_id_fkey;
alter table scan drop constraint scan_referrer_id_fkey;
