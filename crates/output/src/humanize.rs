//! k6's summary value formatting (`humanizeValue` and friends), with the
//! JavaScript number semantics the summary is written in.

use stampede_metrics::{MetricType, ValueType};

use crate::jsfmt::{js_string, to_fixed, to_fixed_no_trailing_zeros};

/// A time unit forced by `summaryTimeUnit`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// `s`
    Seconds,
    /// `ms`
    Millis,
    /// `us` (printed as µs)
    Micros,
}

impl TimeUnit {
    /// Parses `s`, `ms` or `us`; anything else (including "") means "pick a unit".
    pub fn parse(s: &str) -> Option<TimeUnit> {
        match s {
            "s" => Some(TimeUnit::Seconds),
            "ms" => Some(TimeUnit::Millis),
            "us" => Some(TimeUnit::Micros),
            _ => None,
        }
    }

    fn coef_and_suffix(self) -> (f64, &'static str) {
        match self {
            TimeUnit::Seconds => (0.001, "s"),
            TimeUnit::Millis => (1.0, "ms"),
            TimeUnit::Micros => (1000.0, "µs"),
        }
    }
}

/// `toFixedNoTrailingZerosTrunc`: truncates to `digits` decimals, then formats
/// without trailing zeros.
fn trunc_no_trailing_zeros(x: f64, digits: i32) -> String {
    let mult = 10f64.powi(digits);
    to_fixed_no_trailing_zeros((mult * x).trunc() / mult, digits as usize)
}

/// A duration in milliseconds, as k6 prints it: `0s`, `500ns`, `899.19µs`,
/// `1.23ms`, `2.5s`, `1m2s`, `1h2m3s` (truncated, not rounded).
pub fn humanize_generic_duration(ms: f64) -> String {
    if ms == 0.0 {
        return "0s".into();
    }
    if ms < 0.001 {
        return format!("{}ns", js_string((ms * 1_000_000.0).trunc()));
    }
    if ms < 1.0 {
        return format!("{}µs", trunc_no_trailing_zeros(ms * 1000.0, 2));
    }
    if ms < 1000.0 {
        return format!("{}ms", trunc_no_trailing_zeros(ms, 2));
    }
    let secs_digits = if ms > 60000.0 { 0 } else { 2 };
    let mut out = format!(
        "{}s",
        trunc_no_trailing_zeros((ms % 60000.0) / 1000.0, secs_digits)
    );
    let mut rem = (ms / 60000.0).trunc();
    if rem < 1.0 {
        return out;
    }
    out = format!("{}m{out}", js_string(rem % 60.0));
    rem = (rem / 60.0).trunc();
    if rem < 1.0 {
        return out;
    }
    format!("{}h{out}", js_string(rem))
}

/// A duration in milliseconds in the forced unit (two decimals), or humanized.
pub fn humanize_duration(ms: f64, unit: Option<TimeUnit>) -> String {
    match unit {
        Some(u) => {
            let (coef, suffix) = u.coef_and_suffix();
            format!("{}{suffix}", to_fixed(ms * coef, 2))
        }
        None => humanize_generic_duration(ms),
    }
}

/// A byte count with SI units: `0 B`, `624 B`, `1.4 kB`, `12 kB`, `3.4 MB`.
pub fn humanize_bytes(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    if bytes < 10.0 || bytes.is_nan() {
        return format!("{} B", js_string(bytes));
    }
    let e = (bytes.ln() / 1000f64.ln()).floor();
    let Some(suffix) = UNITS.get(e as usize) else {
        // JavaScript would print "undefined"; only for absurd sizes.
        return format!("{} B", js_string(bytes));
    };
    let val = ((bytes / 1000f64.powf(e)) * 10.0 + 0.5).floor() / 10.0;
    let digits = if val < 10.0 { 1 } else { 0 };
    format!("{} {suffix}", to_fixed(val, digits))
}

/// A rate (0..1) as a percentage truncated to two decimals: `75.00%`.
pub fn humanize_rate(rate: f64) -> String {
    format!("{}%", to_fixed((rate * 100.0 * 100.0).trunc() / 100.0, 2))
}

/// k6's `humanizeValue`: rates as percentages, then by what the metric contains.
pub fn humanize_value(
    value: f64,
    kind: MetricType,
    contains: ValueType,
    unit: Option<TimeUnit>,
) -> String {
    if kind == MetricType::Rate {
        return humanize_rate(value);
    }
    match contains {
        ValueType::Data => humanize_bytes(value),
        ValueType::Time => humanize_duration(value, unit),
        ValueType::Default => to_fixed_no_trailing_zeros(value, 6),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_like_k6() {
        // Values from k6 v1.1.0 handleSummary data next to the summary text
        // k6 printed for them.
        let cases = [
            (0.0, "0s"),
            (0.943400, "943.4µs"),
            (0.845950, "845.95µs"),
            (0.0030900, "3.09µs"),
            (0.00070, "700ns"),
            (39.17, "39.17ms"),
            (43.84445, "43.84ms"),
            (47.0, "47ms"),
            (58.0001, "58ms"),
            (1234.5, "1.23s"),
            (62_000.0, "1m2s"),
            (59_999.0, "59.99s"),
            (3_723_000.0, "1h2m3s"),
            (60_000.0, "1m0s"),
            (-5.0, "-5000000ns"),
        ];
        for (ms, want) in cases {
            assert_eq!(humanize_generic_duration(ms), want, "{ms}");
        }
        assert_eq!(humanize_duration(12.5, Some(TimeUnit::Millis)), "12.50ms");
        assert_eq!(humanize_duration(0.0, Some(TimeUnit::Millis)), "0.00ms");
        assert_eq!(humanize_duration(1234.5, Some(TimeUnit::Seconds)), "1.23s");
        assert_eq!(
            humanize_duration(0.61234, Some(TimeUnit::Micros)),
            "612.34µs"
        );
    }

    #[test]
    fn bytes_like_k6() {
        // k6 v1.1.0 data_sent / data_received lines: count and rate.
        let cases = [
            (0.0, "0 B"),
            (5.0, "5 B"),
            (624.0, "624 B"),
            (1436.0, "1.4 kB"),
            (4639.875512786214, "4.6 kB"),
            (2016.213314748327, "2.0 kB"),
            (12_000.0, "12 kB"),
            (128_400.0, "128 kB"),
            (1000.0, "1.0 kB"),
            (999_999.0, "1000 kB"),
            (1_000_000.0, "1.0 MB"),
            (3_456_789.0, "3.5 MB"),
        ];
        for (b, want) in cases {
            assert_eq!(humanize_bytes(b), want, "{b}");
        }
    }

    #[test]
    fn rates_truncate() {
        assert_eq!(humanize_rate(0.75), "75.00%");
        assert_eq!(humanize_rate(1.0), "100.00%");
        assert_eq!(humanize_rate(0.0), "0.00%");
        assert_eq!(humanize_rate(1.0 / 3.0), "33.33%");
        assert_eq!(humanize_rate(2.0 / 3.0), "66.66%");
        assert_eq!(humanize_rate(0.29), "28.99%");
        assert_eq!(humanize_rate(f64::NAN), "NaN%");
    }

    #[test]
    fn values_by_kind() {
        use MetricType::*;
        use ValueType::*;
        assert_eq!(humanize_value(42.5, Gauge, Default, None), "42.5");
        assert_eq!(
            humanize_value(38.0671312, Counter, Default, None),
            "38.067131"
        );
        assert_eq!(humanize_value(0.5, Rate, Default, None), "50.00%");
        assert_eq!(humanize_value(1436.0, Counter, Data, None), "1.4 kB");
        assert_eq!(humanize_value(1234.5, Trend, Time, None), "1.23s");
    }
}
