//! Cron expressions: 5 fields (`min hour dom month dow`) or 6 with seconds
//! first, with `*`, `?`, lists, ranges, steps, month and weekday names,
//! `7` as Sunday and the `@hourly`/`@daily`/`@weekly`/`@monthly`/`@yearly`
//! macros; day-of-month and day-of-week combine as in Vixie cron (either
//! matches when both are restricted).
//!
//! Fire times are civil times in an IANA time zone (jiff, with its bundled
//! tz database so that no system package matters). A time that a
//! daylight-saving jump skips fires at the same offset after the jump
//! (02:30 in a spring-forward gap fires at 03:30); a time that a fall-back
//! repeats fires once, at its first occurrence.
//!
//! Why a parser here rather than `cron`/`croner`: both are built on chrono
//! and need `chrono-tz` (a large generated crate) for zones, a second
//! date-time stack beside `time`; this is ~250 lines with its tests.

use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// A parsed expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cron {
    seconds: Vec<u8>,
    minutes: Vec<u8>,
    hours: Vec<u8>,
    days: Vec<u8>,
    months: Vec<u8>,
    weekdays: Vec<u8>,
    days_any: bool,
    weekdays_any: bool,
}

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

fn value(text: &str, names: &[&str], base: u8, what: &str) -> Result<u8, String> {
    let upper = text.to_ascii_uppercase();
    if let Some(i) = names.iter().position(|n| *n == upper) {
        return Ok(i as u8 + base);
    }
    text.parse::<u8>()
        .map_err(|_| format!("invalid {what} value '{text}'"))
}

/// One field: the sorted values it allows, and whether it was `*`/`?`.
fn field(
    text: &str,
    min: u8,
    max: u8,
    names: &[&str],
    what: &str,
) -> Result<(Vec<u8>, bool), String> {
    let any = text == "*" || text == "?";
    let mut out = Vec::new();
    for part in text.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => {
                let s: u8 = s
                    .parse()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("invalid step '{s}' in the {what} field"))?;
                (r, s)
            }
            None => (part, 1),
        };
        let (lo, hi) = if range == "*" || range == "?" {
            (min, max)
        } else if let Some((a, b)) = range.split_once('-') {
            (value(a, names, min, what)?, value(b, names, min, what)?)
        } else {
            let v = value(range, names, min, what)?;
            // `5/15`: from 5 to the end.
            (v, if part.contains('/') { max } else { v })
        };
        if lo < min || hi > max || lo > hi {
            return Err(format!(
                "the {what} field allows {min} to {max}: '{part}' is out of range"
            ));
        }
        out.extend((lo..=hi).step_by(usize::from(step)));
    }
    out.sort_unstable();
    out.dedup();
    Ok((out, any))
}

impl Cron {
    /// Parses an expression; the error names the field at fault.
    pub fn parse(expr: &str) -> Result<Cron, String> {
        let expanded = match expr.trim() {
            "@yearly" | "@annually" => "0 0 1 1 *",
            "@monthly" => "0 0 1 * *",
            "@weekly" => "0 0 * * 0",
            "@daily" | "@midnight" => "0 0 * * *",
            "@hourly" => "0 * * * *",
            other if other.starts_with('@') => return Err(format!("unknown macro '{other}'")),
            other => other,
        };
        let parts: Vec<&str> = expanded.split_whitespace().collect();
        let (sec, rest) = match parts.len() {
            5 => ("0", &parts[..]),
            6 => (parts[0], &parts[1..]),
            n => {
                return Err(format!(
                    "a cron expression has 5 fields (minute hour day month weekday) or 6 (with seconds first); got {n}"
                ))
            }
        };
        let (seconds, _) = field(sec, 0, 59, &[], "seconds")?;
        let (minutes, _) = field(rest[0], 0, 59, &[], "minute")?;
        let (hours, _) = field(rest[1], 0, 23, &[], "hour")?;
        let (days, days_any) = field(rest[2], 1, 31, &[], "day-of-month")?;
        let (months, _) = field(rest[3], 1, 12, &MONTHS, "month")?;
        let (mut weekdays, weekdays_any) = field(rest[4], 0, 7, &DAYS, "day-of-week")?;
        if weekdays.contains(&7) {
            weekdays.retain(|d| *d != 7);
            if !weekdays.contains(&0) {
                weekdays.insert(0, 0);
            }
        }
        Ok(Cron {
            seconds,
            minutes,
            hours,
            days,
            months,
            weekdays,
            days_any,
            weekdays_any,
        })
    }

    fn day_matches(&self, d: Date) -> bool {
        if !self.months.contains(&(d.month() as u8)) {
            return false;
        }
        let dom = self.days.contains(&(d.day() as u8));
        let dow = self
            .weekdays
            .contains(&(d.weekday().to_sunday_zero_offset() as u8));
        match (self.days_any, self.weekdays_any) {
            (true, true) => true,
            (false, true) => dom,
            (true, false) => dow,
            (false, false) => dom || dow,
        }
    }

    /// The first fire strictly after `after`, in `tz`; `None` if there is
    /// none within 8 years (e.g. `0 0 30 2 *`).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        let start = after.to_zoned(tz.clone()).datetime();
        let mut day = start.date();
        for _ in 0..(366 * 8) {
            if self.day_matches(day) {
                let first = day == start.date();
                for &h in &self.hours {
                    if first && i16::from(h) < i16::from(start.hour()) {
                        continue;
                    }
                    for &m in &self.minutes {
                        for &s in &self.seconds {
                            let dt = DateTime::new(
                                day.year(),
                                day.month(),
                                day.day(),
                                h as i8,
                                m as i8,
                                s as i8,
                                0,
                            )
                            .ok()?;
                            if dt <= start && first {
                                continue;
                            }
                            let ts = tz.to_ambiguous_zoned(dt).compatible().ok()?.timestamp();
                            if ts > after {
                                return Some(ts);
                            }
                        }
                    }
                }
            }
            day = day.tomorrow().ok()?;
        }
        None
    }

    /// The next `n` fires after `after`.
    pub fn preview(&self, after: Timestamp, tz: &TimeZone, n: usize) -> Vec<Timestamp> {
        let mut out = Vec::with_capacity(n);
        let mut t = after;
        while out.len() < n {
            match self.next_after(t, tz) {
                Some(next) => {
                    out.push(next);
                    t = next;
                }
                None => break,
            }
        }
        out
    }
}

/// The zone named `name` (IANA, e.g. `Europe/Paris`, or `UTC`).
pub fn zone(name: &str) -> Result<TimeZone, String> {
    TimeZone::get(name).map_err(|_| format!("unknown time zone '{name}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn next(expr: &str, after: &str, tz: &str) -> String {
        Cron::parse(expr)
            .unwrap()
            .next_after(ts(after), &zone(tz).unwrap())
            .unwrap()
            .to_string()
    }

    #[test]
    fn fields_and_macros() {
        assert_eq!(
            next("*/15 * * * * *", "2026-01-01T00:00:07Z", "UTC"),
            "2026-01-01T00:00:15Z"
        );
        assert_eq!(
            next("0 9 * * MON-FRI", "2026-01-02T09:00:00Z", "UTC"),
            "2026-01-05T09:00:00Z"
        );
        assert_eq!(
            next("@monthly", "2026-01-15T00:00:00Z", "UTC"),
            "2026-02-01T00:00:00Z"
        );
        assert_eq!(
            next("30 2 * * 7", "2026-01-01T00:00:00Z", "UTC"),
            "2026-01-04T02:30:00Z"
        );
        assert_eq!(
            next("5/20 * * * *", "2026-01-01T00:06:00Z", "UTC"),
            "2026-01-01T00:25:00Z"
        );
        // Day of month OR day of week when both are given (Vixie cron).
        assert_eq!(
            next("0 0 13 * FRI", "2026-02-01T00:00:00Z", "UTC"),
            "2026-02-06T00:00:00Z"
        );
        assert_eq!(
            next("0 0 29 2 *", "2026-03-01T00:00:00Z", "UTC"),
            "2028-02-29T00:00:00Z"
        );
        assert!(Cron::parse("0 0 30 2 *")
            .unwrap()
            .next_after(ts("2026-01-01T00:00:00Z"), &TimeZone::UTC)
            .is_none());
    }

    #[test]
    fn time_zones_and_dst() {
        // 02:00 in Paris is 01:00 UTC in winter, 00:00 UTC in summer.
        assert_eq!(
            next("0 2 * * *", "2026-01-10T12:00:00Z", "Europe/Paris"),
            "2026-01-11T01:00:00Z"
        );
        assert_eq!(
            next("0 2 * * *", "2026-07-10T12:00:00Z", "Europe/Paris"),
            "2026-07-11T00:00:00Z"
        );
        // 2026-03-29 02:30 does not exist in Paris: it fires at 03:30 CEST.
        assert_eq!(
            next("30 2 * * *", "2026-03-28T12:00:00Z", "Europe/Paris"),
            "2026-03-29T01:30:00Z"
        );
        // 2026-10-25 02:30 happens twice: it fires once, at the first.
        let c = Cron::parse("30 2 * * *").unwrap();
        let fires = c.preview(
            ts("2026-10-24T12:00:00Z"),
            &zone("Europe/Paris").unwrap(),
            2,
        );
        assert_eq!(fires[0].to_string(), "2026-10-25T00:30:00Z");
        assert_eq!(fires[1].to_string(), "2026-10-26T01:30:00Z");
    }

    #[test]
    fn bad_expressions_name_the_field() {
        for (expr, needle) in [
            ("* * * *", "5 fields"),
            ("60 * * * *", "minute field allows 0 to 59"),
            ("* 24 * * *", "hour"),
            ("* * 0 * *", "day-of-month"),
            ("* * * 13 *", "month"),
            ("* * * * 8", "day-of-week"),
            ("*/0 * * * *", "step"),
            ("x * * * *", "invalid minute value 'x'"),
            ("@often", "unknown macro"),
            ("5-1 * * * *", "out of range"),
        ] {
            let err = Cron::parse(expr).unwrap_err();
            assert!(err.contains(needle), "{expr}: {err}");
        }
        assert!(zone("Mars/Olympus")
            .unwrap_err()
            .contains("unknown time zone"));
    }
}
