-- Leaderboards over any custom period read two rows per referrer. A period that starts and
-- ends inside a month was summed from months, weeks and days (60,000-80,000 rows at 10
-- million referrals, 70-77 ms); `referrer_cum` holds each referrer's running totals through
-- each day, so a period [a, b] is the row of day b minus the row of day a - 1, whatever its
-- length.
--
-- Rows are dense: every referrer with any follow, unfollow or lost referral has a row for
-- every day from its first such day through the account's last filled day (today, or a later
-- day a pending delta was dated on). Reading a day is then one index range of the primary
-- key (account, day), one entry per referrer; a table with rows only on days with activity
-- would need a "latest row before this day" probe per referrer, which measured several times
-- slower than reading the ranges it replaces. The fold fills the new days of every referrer
-- when the day changes and adds a delta of day d to the rows from d on (see
-- server/src/db/rollup.rs). Columns as in referrer_day, summed from the first day on.

create table referrer_cum (
    account_id  bigint not null references account(id),
    referrer_id bigint not null,
    day         date not null,
    follows     integer not null default 0,
    unfollows   integer not null default 0,
    lost        integer not null default 0,
    -- Covering: a day's totals of every referrer are one index-only range.
    primary key (account_id, day, referrer_id) include (follows, unfollows, lost)
);

-- The running totals of the day roll-up as it stands (the server's rebuild computes the same;
-- deltas still pending are folded into both later).
insert into referrer_cum (account_id, referrer_id, day, follows, unfollows, lost)
select r.account_id, r.referrer_id, g.day::date,
       sum(coalesce(d.follows, 0)) over w, sum(coalesce(d.unfollows, 0)) over w,
       sum(coalesce(d.lost, 0)) over w
from (select account_id, referrer_id, min(day) as first from referrer_day
      where referrer_id > 0 and (follows, unfollows, lost) <> (0, 0, 0)
      group by 1, 2) r
cross join lateral generate_series(
    r.first,
    (select greatest(cst_day(now()), max(day)) from referrer_day),
    interval '1 day') g(day)
left join referrer_day d
    on d.account_id = r.account_id and d.referrer_id = r.referrer_id and d.day = g.day::date
window w as (partition by r.account_id, r.referrer_id order by g.day);
