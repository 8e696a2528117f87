//! Timestamps as Go formats them (`time.RFC3339`, `time.RFC3339Nano`) at a
//! fixed UTC offset.

use std::fmt::Write;

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Writes `time_ns` (since the Unix epoch) shifted by `offset_secs` as Go's
/// RFC3339, with the fraction trimmed of trailing zeros when `nanos` is set
/// (RFC3339Nano) or left out (RFC3339); `Z` for UTC, else `+hh:mm`.
pub fn write_rfc3339(out: &mut String, time_ns: u64, offset_secs: i32, nanos: bool) {
    let secs = (time_ns / 1_000_000_000) as i64 + i64::from(offset_secs);
    let frac = (time_ns % 1_000_000_000) as u32;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let sod = secs.rem_euclid(86_400);
    let _ = write!(
        out,
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    );
    if nanos && frac != 0 {
        let digits = format!("{frac:09}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    if offset_secs == 0 {
        out.push('Z');
    } else {
        let sign = if offset_secs < 0 { '-' } else { '+' };
        let abs = offset_secs.unsigned_abs();
        let _ = write!(out, "{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(ns: u64, off: i32, nanos: bool) -> String {
        let mut s = String::new();
        write_rfc3339(&mut s, ns, off, nanos);
        s
    }

    #[test]
    fn like_go() {
        // k6 v1.1.0 --out json with TZ=Asia/Kolkata and UTC.
        assert_eq!(
            fmt(1_795_471_559_165_901_691, 19_800, true),
            "2026-11-24T03:35:59.165901691+05:30"
        );
        assert_eq!(
            fmt(1_795_471_525_591_070_535, 0, true),
            "2026-11-23T22:05:25.591070535Z"
        );
        assert_eq!(
            fmt(1_795_471_525_500_000_000, 0, true),
            "2026-11-23T22:05:25.5Z"
        );
        assert_eq!(
            fmt(1_795_471_525_000_000_000, 0, true),
            "2026-11-23T22:05:25Z"
        );
        assert_eq!(
            fmt(1_795_471_525_591_070_535, 0, false),
            "2026-11-23T22:05:25Z"
        );
        assert_eq!(fmt(0, -3600 * 5, false), "1969-12-31T19:00:00-05:00");
        assert_eq!(
            fmt(951_782_400_000_000_000, 0, false),
            "2000-02-29T00:00:00Z"
        );
    }
}
