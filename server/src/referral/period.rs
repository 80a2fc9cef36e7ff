//! Reporting periods, in China Standard Time (UTC+8, no daylight saving): what "today" and
//! "this week" mean to the business.

use app::model::PeriodName;
use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};

use crate::referral::error::ServiceError;

/// The longest custom range we compute.
pub const MAX_CUSTOM_DAYS: i64 = 3 * 366;

/// A half-open interval `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// The instant a local (CST) day starts.
pub fn start_of(date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_hms_opt(0, 0, 0).expect("midnight exists");
    cst()
        .from_local_datetime(&midnight)
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// The local (CST) date of an instant.
pub fn local_date(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&cst()).date_naive()
}

impl Period {
    /// `day` | `week` | `month` | `all` | `custom` (with `from`/`to` dates, both inclusive).
    pub fn parse(
        name: Option<&str>,
        from: Option<&str>,
        to: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self, ServiceError> {
        let today = local_date(now);
        let tomorrow = start_of(today + Duration::days(1));
        let name = match name {
            None => PeriodName::All,
            Some(other) => PeriodName::parse(other).ok_or_else(|| {
                ServiceError::field(
                    "period",
                    format!(
                        "未知时段 {other:?}，可选 day、week、month、all、custom / \
                         unknown period {other:?}: use day, week, month, all or custom"
                    ),
                )
            })?,
        };
        match name {
            PeriodName::Day => Ok(Period {
                from: start_of(today),
                to: tomorrow,
            }),
            PeriodName::Week => {
                let monday = week_start(today);
                Ok(Period {
                    from: start_of(monday),
                    to: tomorrow,
                })
            }
            PeriodName::Month => {
                let first = today.with_day(1).expect("day 1 exists");
                Ok(Period {
                    from: start_of(first),
                    to: tomorrow,
                })
            }
            PeriodName::All => Ok(Period {
                from: DateTime::from_timestamp(0, 0).expect("epoch"),
                to: tomorrow,
            }),
            PeriodName::Custom => {
                let parse = |field: &str, v: Option<&str>| {
                    let zh = if field == "from" {
                        "开始日期"
                    } else {
                        "结束日期"
                    };
                    let v = v.ok_or_else(|| {
                        ServiceError::field(
                            field,
                            format!(
                                "自定义时段须填写{zh} / {field} is required for a custom period"
                            ),
                        )
                    })?;
                    NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| {
                        ServiceError::field(
                            field,
                            format!("{zh}须为 YYYY-MM-DD 格式 / {field} must be a date YYYY-MM-DD"),
                        )
                    })
                };
                let (from, to) = (parse("from", from)?, parse("to", to)?);
                if to < from {
                    return Err(ServiceError::field(
                        "to",
                        "结束日期不能早于开始日期 / to must not be before from",
                    ));
                }
                if (to - from).num_days() >= MAX_CUSTOM_DAYS {
                    return Err(ServiceError::field(
                        "to",
                        "自定义时段最长 3 年 / a custom period is at most 3 years",
                    ));
                }
                Ok(Period {
                    from: start_of(from),
                    to: start_of(to + Duration::days(1)),
                })
            }
        }
    }
}

/// The Monday that starts `date`'s week (weeks run Monday to Sunday).
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date - Duration::days(date.weekday().num_days_from_monday().into())
}

/// The start (CST midnight) of the day containing `t`.
pub fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    start_of(local_date(t))
}

/// A time as Beijing wall-clock text, e.g. `2026-11-24 18:30`.
pub fn local_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&cst()).format("%Y-%m-%d %H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn day_week_and_month_follow_china_standard_time() {
        // 2026-11-24 17:30 UTC is already Wednesday 25 November in Beijing.
        let now = at("2026-11-24T17:30:00Z");
        let day = Period::parse(Some("day"), None, None, now).expect("day");
        assert_eq!(day.from, at("2026-11-24T16:00:00Z"));
        assert_eq!(day.to, at("2026-11-25T16:00:00Z"));
        let week = Period::parse(Some("week"), None, None, now).expect("week");
        assert_eq!(week.from, at("2026-11-22T16:00:00Z"), "Monday 23rd, CST");
        let month = Period::parse(Some("month"), None, None, now).expect("month");
        assert_eq!(month.from, at("2026-10-31T16:00:00Z"));
    }

    #[test]
    fn custom_ranges_include_both_dates() {
        let now = at("2026-11-24T00:00:00Z");
        let p = Period::parse(Some("custom"), Some("2026-01-01"), Some("2026-01-31"), now)
            .expect("custom");
        assert_eq!(p.from, at("2025-12-31T16:00:00Z"));
        assert_eq!(p.to, at("2026-01-31T16:00:00Z"));
    }

    #[test]
    fn bad_periods_name_the_field() {
        let now = Utc::now();
        let cases = [
            (Some("year"), None, None, "period"),
            (Some("custom"), None, Some("2026-01-01"), "from"),
            (Some("custom"), Some("2026-01-01"), Some("01/02/2026"), "to"),
            (Some("custom"), Some("2026-02-01"), Some("2026-01-01"), "to"),
            (Some("custom"), Some("2020-01-01"), Some("2026-01-01"), "to"),
        ];
        for (name, from, to, field) in cases {
            match Period::parse(name, from, to, now) {
                Err(ServiceError::Validation(v)) => assert_eq!(v[0].field, field),
                other => panic!("{name:?} {from:?} {to:?}: {other:?}"),
            }
        }
    }
}
