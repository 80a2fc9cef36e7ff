-- Two indexes every follow maintained and no query reads any more: reports read the
-- roll-ups instead of scans by referrer, and nothing looks events up by sender.
drop index scan_referrer_time;
drop index event_account_openid;
