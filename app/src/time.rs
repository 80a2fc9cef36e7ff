//! Times as people read them: every time on the dashboard and the member page is shown in the
//! account's time zone, China Standard Time (Asia/Shanghai, UTC+8 all year), the zone in which
//! the reports' days begin and end; the API keeps RFC 3339 in UTC.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDateTime, Timelike};

use crate::i18n::t;

/// The accounts' time zone (IANA name).
pub const ZONE: &str = "Asia/Shanghai";

/// UTC+8: China has no daylight saving time.
fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

/// An RFC 3339 time (as the API sends it) in Beijing wall-clock time, `YYYY-MM-DD HH:MM`;
/// text that is no RFC 3339 time (already local, or a dash) is returned as it is.
pub fn shown(rfc3339: &str) -> String {
    beijing(rfc3339)
        .map(|t| format!("{} {:02}:{:02}", date(&t), t.hour(), t.minute()))
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// The Beijing date of an RFC 3339 time, `YYYY-MM-DD` (as [`shown`] for other text).
pub fn shown_date(rfc3339: &str) -> String {
    beijing(rfc3339)
        .map(|t| date(&t))
        .unwrap_or_else(|| rfc3339.to_owned())
}

/// Beijing wall-clock time of an RFC 3339 time.
fn beijing(rfc3339: &str) -> Option<NaiveDateTime> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.with_timezone(&cst()).naive_local())
}

/// `YYYY-MM-DD`, written by hand: chrono's `format` brings its format-string parser into the
/// WASM bundle (islands show times too).
fn date(t: &NaiveDateTime) -> String {
    format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day())
}

/// The zone's name for a table header or a note: "北京时间" / "Beijing time".
pub fn zone_name() -> impl Fn() -> &'static str + Copy + Send + Sync {
    t("北京时间", "Beijing time")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_shown_in_beijing_time() {
        assert_eq!(shown("2026-12-03T16:30:00Z"), "2026-12-04 00:30");
        assert_eq!(shown("2026-12-03T08:05:59+00:00"), "2026-12-03 16:05");
        assert_eq!(shown_date("2026-12-03T16:00:00Z"), "2026-12-04");
        assert_eq!(shown_date("2026-12-03T15:59:59Z"), "2026-12-03");
    }

    #[test]
    fn other_text_is_kept() {
        assert_eq!(shown("2026-12-03 10:00"), "2026-12-03 10:00");
        assert_eq!(shown("—"), "—");
        assert_eq!(shown_date(""), "");
    }
}
