//! The leaderboard's read plan: which rows of the roll-up tables (all-time totals, months,
//! weeks, days, or two days of running totals) add up to a reporting period, choosing
//! whichever reads the fewest rows. Pure logic; [`crate::db::stats::leaderboard`] runs the
//! plan's SQL.

use chrono::{Datelike, NaiveDate};

pub use crate::db::stats::{Edge, Span};
use crate::referral::period::week_start;

/// Which roll-up rows add up to a period of whole CST days `[from, to)` (see the
/// `stats_rollup` and `week_rollup` migrations): the all-time totals, or signed ranges of
/// months, weeks (Monday to Sunday) and days. A part of a month or week is read either by its
/// finer units, or as the whole unit minus the finer units outside the period, whichever reads
/// fewer rows (2 September to 30 November: September minus 1 September, then October and
/// November, instead of three weeks and eight days), and a long period may be read as the
/// all-time totals minus what lies outside it. Each list holds `(start, end, sign)` ranges of
/// its table's key; the rows of a range are added (`1`) or subtracted (`-1`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// Add `referrer_total` (the period covers everything, or what lies outside it is
    /// subtracted).
    pub total: bool,
    /// The end read up to (past today, the end of today's month or week).
    pub to: NaiveDate,
    pub months: Vec<Span>,
    pub weeks: Vec<Span>,
    pub days: Vec<Span>,
    /// Days of the running totals (`referrer_cum`): the period's last day added, the day
    /// before it subtracted. Used instead of the ranges above (they are empty then) when
    /// those would read more than [`CUMULATIVE_COST`] rows per referrer.
    pub cumulative: Vec<Edge>,
}

/// Rows per referrer a period read from running totals costs: its last day and the day
/// before it, whatever its length. A roll-up plan reading more is replaced by them. (The
/// running totals have a row for every referrer and day, the roll-ups only where something
/// happened, so a plan of two roll-up rows is kept: it reads fewer where activity is sparse.)
pub const CUMULATIVE_COST: usize = 2;

fn month_start(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("day 1 exists")
}

fn next_month(d: NaiveDate) -> NaiveDate {
    month_start(d) + chrono::Months::new(1)
}

fn next_week(d: NaiveDate) -> NaiveDate {
    week_start(d) + chrono::Days::new(7)
}

/// The roll-up units, coarsest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Grain {
    Month,
    Week,
    Day,
}

impl Grain {
    fn start(self, d: NaiveDate) -> NaiveDate {
        match self {
            Grain::Month => month_start(d),
            Grain::Week => week_start(d),
            Grain::Day => d,
        }
    }

    /// The start of the unit after the one holding `d`.
    fn next(self, d: NaiveDate) -> NaiveDate {
        match self {
            Grain::Month => next_month(d),
            Grain::Week => next_week(d),
            Grain::Day => d + chrono::Days::new(1),
        }
    }

    fn finer(self) -> Grain {
        match self {
            Grain::Month => Grain::Week,
            Grain::Week | Grain::Day => Grain::Day,
        }
    }
}

/// Signed ranges, and how many rows per referrer they read (units before `data_end` only:
/// nothing is recorded after today).
#[derive(Default)]
struct Cover {
    /// The all-time totals are added.
    total: bool,
    spans: Vec<(Grain, NaiveDate, NaiveDate, i32)>,
    cost: usize,
}

impl Cover {
    /// The all-time totals (one row per referrer).
    fn totals() -> Cover {
        Cover {
            total: true,
            spans: Vec::new(),
            cost: 1,
        }
    }

    fn unit(grain: Grain, lo: NaiveDate, hi: NaiveDate, data_end: NaiveDate) -> Cover {
        let mut cost = 0;
        let mut at = lo;
        while at < hi && at < data_end {
            cost += 1;
            at = grain.next(at);
        }
        Cover {
            total: false,
            spans: vec![(grain, lo, hi, 1)],
            cost,
        }
    }

    fn add(mut self, other: Cover) -> Cover {
        self.total |= other.total;
        self.spans.extend(other.spans);
        self.cost += other.cost;
        self
    }

    /// `other` holds no totals.
    fn subtract(self, other: Cover) -> Cover {
        let negated = Cover {
            total: false,
            spans: other
                .spans
                .into_iter()
                .map(|(g, lo, hi, sign)| (g, lo, hi, -sign))
                .collect(),
            cost: other.cost,
        };
        self.add(negated)
    }

    /// The cheaper of two covers (`self` on a tie).
    fn or(self, other: Cover) -> Cover {
        if other.cost < self.cost { other } else { self }
    }
}

/// Signed ranges of `grain` and finer units adding up to exactly `[from, to)`.
fn cover(grain: Grain, from: NaiveDate, to: NaiveDate, data_end: NaiveDate) -> Cover {
    if from >= to {
        return Cover::default();
    }
    if grain == Grain::Day {
        return Cover::unit(Grain::Day, from, to, data_end);
    }
    let first = if grain.start(from) == from {
        from
    } else {
        grain.next(from)
    };
    let end = grain.start(to);
    if first < end {
        return Cover::unit(grain, first, end, data_end)
            .add(part(grain, from, first, data_end))
            .add(part(grain, end, to, data_end));
    }
    // No whole unit: within one unit, or across one boundary.
    let inside = cover(grain.finer(), from, to, data_end);
    let boundary = grain.next(from);
    if boundary < to {
        inside.or(part(grain, from, boundary, data_end).add(part(grain, boundary, to, data_end)))
    } else {
        inside.or(outside(grain, from, to, data_end))
    }
}

/// `[from, to)` within one unit of `grain`: by finer units, or the unit minus the rest.
fn part(grain: Grain, from: NaiveDate, to: NaiveDate, data_end: NaiveDate) -> Cover {
    if from >= to {
        return Cover::default();
    }
    cover(grain.finer(), from, to, data_end).or(outside(grain, from, to, data_end))
}

/// The unit of `grain` holding `[from, to)`, minus its finer units outside it.
fn outside(grain: Grain, from: NaiveDate, to: NaiveDate, data_end: NaiveDate) -> Cover {
    let (start, next) = (grain.start(from), grain.next(from));
    Cover::unit(grain, start, next, data_end)
        .subtract(cover(grain.finer(), start, from, data_end))
        .subtract(cover(grain.finer(), to, next, data_end))
}

impl Plan {
    /// The cheapest read of `[from, to)`: [`Plan::rollups`], or two days of running totals
    /// when the roll-ups would read more than [`CUMULATIVE_COST`] rows per referrer (a period
    /// that starts or ends inside a month, mostly).
    pub fn new(
        from: NaiveDate,
        to: NaiveDate,
        today: NaiveDate,
        data_start: Option<NaiveDate>,
    ) -> Self {
        let (plan, cost) = Self::rollups_costed(from, to, today, data_start);
        if cost <= CUMULATIVE_COST {
            return plan;
        }
        Plan {
            total: false,
            to: plan.to,
            months: Vec::new(),
            weeks: Vec::new(),
            days: Vec::new(),
            cumulative: vec![
                (to - chrono::Days::new(1), 1),
                (from - chrono::Days::new(1), -1),
            ],
        }
    }

    /// The period from the roll-ups only. `today` is the current CST date: nothing is
    /// recorded after it, so a period reaching past it may be read up to the end of its month
    /// or week. `data_start`, the first day anything was recorded, lets a long period be read
    /// as the all-time totals minus what lies outside it, when that reads fewer rows.
    pub fn rollups(
        from: NaiveDate,
        to: NaiveDate,
        today: NaiveDate,
        data_start: Option<NaiveDate>,
    ) -> Self {
        Self::rollups_costed(from, to, today, data_start).0
    }

    /// [`Plan::rollups`] and how many rows per referrer it reads.
    fn rollups_costed(
        from: NaiveDate,
        to: NaiveDate,
        today: NaiveDate,
        data_start: Option<NaiveDate>,
    ) -> (Self, usize) {
        let to = if to > today {
            to.max(next_month(today)).max(next_week(today))
        } else {
            to
        };
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 2).expect("a date");
        let mut plan = Plan {
            total: from <= epoch && to > today,
            to,
            months: Vec::new(),
            weeks: Vec::new(),
            days: Vec::new(),
            cumulative: Vec::new(),
        };
        if plan.total {
            return (plan, 1);
        }
        let data_end = today + chrono::Days::new(1);
        let inside = cover(Grain::Month, from, to, data_end);
        let chosen = match data_start {
            Some(start) => {
                let before = if start < from {
                    cover(Grain::Month, month_start(start), from, data_end)
                } else {
                    Cover::default()
                };
                let after = cover(Grain::Month, to, data_end.max(to), data_end);
                inside.or(Cover::totals().subtract(before).subtract(after))
            }
            None => inside,
        };
        plan.total = chosen.total;
        let cost = chosen.cost;
        let mut spans = chosen.spans;
        spans.sort_by_key(|&(grain, lo, _, sign)| (grain as u8, lo, sign));
        for (grain, lo, hi, sign) in spans {
            let list = match grain {
                Grain::Month => &mut plan.months,
                Grain::Week => &mut plan.weeks,
                Grain::Day => &mut plan.days,
            };
            // Adjacent ranges of one sign are read as one.
            match list.last_mut() {
                Some(last) if last.1 == lo && last.2 == sign => last.1 = hi,
                _ => list.push((lo, hi, sign)),
            }
        }
        (plan, cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn plans_read_whole_units_and_subtract_where_that_reads_less() {
        let today = d("2026-11-24");
        let r = |a: &str, b: &str| (d(a), d(b), 1);
        let minus = |a: &str, b: &str| (d(a), d(b), -1);
        // This month so far: the month row (nothing exists after today).
        let month = Plan::rollups(d("2026-11-01"), d("2026-11-25"), today, None);
        assert!(!month.total);
        assert_eq!(month.to, d("2026-12-01"));
        assert_eq!(month.months, [r("2026-11-01", "2026-12-01")]);
        assert!(month.weeks.is_empty() && month.days.is_empty());
        // This week so far (Monday 23rd to Tuesday 24th): the week row, then days up to the
        // end of the month, which hold nothing yet.
        let week = Plan::rollups(d("2026-11-23"), d("2026-11-25"), today, None);
        assert!(week.months.is_empty());
        assert_eq!(week.weeks, [r("2026-11-23", "2026-11-30")]);
        assert_eq!(week.days, [r("2026-11-30", "2026-12-01")]);
        // A week across the turn of the month (today Wednesday 30 December): read up to its
        // Sunday, so the week row is used.
        let turn = Plan::rollups(d("2026-12-28"), d("2026-12-31"), d("2026-12-30"), None);
        assert_eq!(turn.to, d("2027-01-04"));
        assert_eq!(turn.weeks, [r("2026-12-28", "2027-01-04")]);
        assert!(turn.days.is_empty());
        // Today on a Monday: today's week row holds only today.
        let monday = Plan::rollups(d("2026-11-30"), d("2026-12-01"), d("2026-11-30"), None);
        assert_eq!(monday.weeks, [r("2026-11-30", "2026-12-07")]);
        // Today on a Tuesday: the day row (and the empty rest of the week).
        let day = Plan::rollups(today, d("2026-11-25"), today, None);
        assert!(day.months.is_empty() && day.weeks.is_empty());
        assert_eq!(day.days, [r("2026-11-24", "2026-12-01")]);
        // Wednesday to Tuesday in the past: the first week minus its Monday and Tuesday (two
        // rows, not five), the next week, and two days.
        let past = Plan::rollups(d("2026-02-04"), d("2026-02-18"), today, None);
        assert_eq!(past.weeks, [r("2026-02-02", "2026-02-16")]);
        assert_eq!(
            past.days,
            [
                minus("2026-02-02", "2026-02-04"),
                r("2026-02-16", "2026-02-18")
            ]
        );
        // A custom past period: whole months, then the cheapest way to the edges: a week and
        // a day before March; after it, the week of 23 February minus 1 March.
        let custom = Plan::rollups(d("2026-02-15"), d("2026-06-10"), today, None);
        assert_eq!(custom.to, d("2026-06-10"));
        assert_eq!(custom.months, [r("2026-03-01", "2026-06-01")]);
        assert_eq!(
            custom.weeks,
            [r("2026-02-16", "2026-03-02"), r("2026-06-01", "2026-06-08")]
        );
        assert_eq!(
            custom.days,
            [
                r("2026-02-15", "2026-02-16"),
                minus("2026-03-01", "2026-03-02"),
                r("2026-06-08", "2026-06-10")
            ]
        );
        // The last 90 days: September minus its first day, then October and November.
        let quarter = Plan::rollups(d("2026-09-02"), d("2026-12-01"), d("2026-11-30"), None);
        assert_eq!(quarter.months, [r("2026-09-01", "2026-12-01")]);
        assert!(quarter.weeks.is_empty());
        assert_eq!(
            quarter.days,
            [
                minus("2026-09-01", "2026-09-02"),
                r("2026-12-01", "2026-12-07")
            ]
        );
        // Within one past week: the week minus its Monday.
        let short = Plan::rollups(d("2026-02-03"), d("2026-02-09"), today, None);
        assert!(short.months.is_empty());
        assert_eq!(short.weeks, [r("2026-02-02", "2026-02-09")]);
        assert_eq!(short.days, [minus("2026-02-02", "2026-02-03")]);
        // All time: the totals only.
        let all = Plan::rollups(d("1970-01-01"), d("2026-11-25"), today, None);
        assert!(all.total && all.months.is_empty() && all.weeks.is_empty() && all.days.is_empty());
        assert!(!Plan::rollups(d("1970-01-01"), d("2026-11-20"), today, None).total);
    }

    /// How many times a plan adds what happened on `day` (a running total of day x holds
    /// every day up to x).
    fn times_counted(plan: &Plan, day: NaiveDate) -> i32 {
        i32::from(plan.total)
            + [&plan.months, &plan.weeks, &plan.days]
                .into_iter()
                .flatten()
                .filter(|(lo, hi, _)| *lo <= day && day < *hi)
                .map(|(_, _, sign)| sign)
                .sum::<i32>()
            + plan
                .cumulative
                .iter()
                .filter(|(through, _)| day <= *through)
                .map(|(_, sign)| sign)
                .sum::<i32>()
    }

    /// Every plan counts each day up to today once if it is in the period, else not at all
    /// (from the first day with data on, when the plan may use the all-time totals).
    #[test]
    fn plans_count_each_day_of_the_period_once() {
        let base = d("2025-11-20");
        let starts = [
            None,
            Some(base),
            Some(d("2025-12-01")),
            Some(d("2026-01-13")),
        ];
        let lengths = [
            1u64, 2, 3, 5, 6, 7, 8, 12, 13, 20, 27, 31, 36, 45, 62, 90, 120, 380,
        ];
        for data_start in starts {
            for today_offset in [0u64, 3, 40, 70, 400] {
                let today = base + chrono::Days::new(today_offset);
                for start in 0..75u64 {
                    for len in lengths {
                        let from = base + chrono::Days::new(start);
                        let to = from + chrono::Days::new(len);
                        for plan in [
                            Plan::rollups(from, to, today, data_start),
                            Plan::new(from, to, today, data_start),
                        ] {
                            let mut day = data_start.unwrap_or(from - chrono::Days::new(70));
                            while day <= today && day < to + chrono::Days::new(70) {
                                assert_eq!(
                                    times_counted(&plan, day),
                                    i32::from(from <= day && day < to),
                                    "{day} in {from}..{to} (today {today}, data from \
                                     {data_start:?}): {plan:?}"
                                );
                                day = day + chrono::Days::new(1);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn long_periods_read_the_totals_minus_the_rest() {
        // A year of data; 5 December to today: the totals minus November and four days of
        // December 2025 (six rows per referrer instead of sixteen).
        let today = d("2026-11-30");
        let data = Some(d("2025-11-01"));
        let year = Plan::rollups(d("2025-12-05"), d("2026-12-01"), today, data);
        assert!(year.total);
        assert_eq!(year.months, [(d("2025-11-01"), d("2025-12-01"), -1)]);
        assert!(year.weeks.is_empty());
        assert_eq!(year.days, [(d("2025-12-01"), d("2025-12-05"), -1)]);
        // The last 90 days are cheaper inside.
        let quarter = Plan::rollups(d("2026-09-02"), d("2026-12-01"), today, data);
        assert!(!quarter.total);
        assert_eq!(quarter.months, [(d("2026-09-01"), d("2026-12-01"), 1)]);
    }

    /// Periods the roll-ups read in one or two rows per referrer keep them; any longer read
    /// (a period starting or ending inside a month) becomes two days of running totals.
    #[test]
    fn periods_starting_or_ending_inside_a_month_read_running_totals() {
        let today = d("2026-11-30");
        let data = Some(d("2025-11-01"));
        for (from, to) in [
            ("2026-11-30", "2026-12-01"),
            ("2026-11-30", "2026-12-07"),
            ("2026-11-01", "2026-12-01"),
            ("1970-01-01", "2026-12-01"),
            ("2026-11-23", "2026-11-30"),
            ("2026-09-01", "2026-11-01"),
            ("2025-12-01", "2026-12-01"),
            ("2025-12-03", "2025-12-04"),
        ] {
            let plan = Plan::new(d(from), d(to), today, data);
            assert_eq!(
                plan,
                Plan::rollups(d(from), d(to), today, data),
                "{from}..{to}"
            );
            assert!(plan.cumulative.is_empty());
        }
        for (from, to) in [
            ("2026-06-15", "2026-11-15"),
            ("2026-03-15", "2026-11-15"),
            ("2025-12-05", "2026-12-01"),
            ("2026-09-02", "2026-12-01"),
        ] {
            let plan = Plan::new(d(from), d(to), today, data);
            assert!(
                !plan.total
                    && plan.months.is_empty()
                    && plan.weeks.is_empty()
                    && plan.days.is_empty(),
                "{from}..{to}: {plan:?}"
            );
            let last = d(to) - chrono::Days::new(1);
            let before = d(from) - chrono::Days::new(1);
            assert_eq!(plan.cumulative, [(last, 1), (before, -1)], "{from}..{to}");
        }
    }
}
