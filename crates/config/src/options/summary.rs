//! Summary-related option values: trend stats, time unit, mode, and the
//! system tags k6 knows.

pub use stampede_metrics::{DEFAULT_SYSTEM_TAGS, SYSTEM_TAGS};

/// k6's default `summaryTrendStats`.
pub const DEFAULT_SUMMARY_TREND_STATS: [&str; 6] = ["avg", "min", "med", "max", "p(90)", "p(95)"];

/// Checks a trend stat column: `avg`, `min`, `med`, `max`, `count`, or
/// `p(N)` with `0 <= N <= 100` (k6's messages).
pub(crate) fn check_trend_stat(stat: &str) -> Result<(), String> {
    if matches!(stat, "avg" | "min" | "med" | "max" | "count") {
        return Ok(());
    }
    if let Some(inner) = stat.strip_prefix("p(").and_then(|s| s.strip_suffix(')')) {
        return match inner.parse::<f64>() {
            Ok(p) if (0.0..=100.0).contains(&p) => Ok(()),
            _ => Err(format!(
                "invalid percentile trend stat value '{stat}', provide a number between 0 and 100"
            )),
        };
    }
    Err(format!("invalid trend stat '{stat}', unknown format"))
}

/// The unit trend values are shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryTimeUnit {
    /// `s`.
    Seconds,
    /// `ms`.
    Milliseconds,
    /// `us`.
    Microseconds,
}

impl SummaryTimeUnit {
    /// Parses `"s"`, `"ms"` or `"us"`.
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name {
            "s" => Ok(Self::Seconds),
            "ms" => Ok(Self::Milliseconds),
            "us" => Ok(Self::Microseconds),
            other => Err(format!(
                "invalid summary time unit '{other}', use 's', 'ms' or 'us'"
            )),
        }
    }

    /// The name as written.
    pub fn name(self) -> &'static str {
        match self {
            Self::Seconds => "s",
            Self::Milliseconds => "ms",
            Self::Microseconds => "us",
        }
    }
}

/// k6 v1's end-of-test summary layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SummaryMode {
    /// `compact` (default).
    #[default]
    Compact,
    /// `full`.
    Full,
    /// `legacy` (the k6 v0 summary).
    Legacy,
}

impl SummaryMode {
    /// Parses `"compact"`, `"full"` or `"legacy"`.
    pub fn from_name(name: &str) -> Result<Self, String> {
        match name {
            "compact" => Ok(Self::Compact),
            "full" => Ok(Self::Full),
            "legacy" => Ok(Self::Legacy),
            other => Err(format!(
                "invalid summary mode '{other}', use 'compact', 'full' or 'legacy'"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trend_stats_like_k6() {
        for ok in ["avg", "count", "p(99.9)", "p(0)", "p(100)"] {
            assert!(check_trend_stat(ok).is_ok(), "{ok}");
        }
        assert_eq!(
            check_trend_stat("foo"),
            Err("invalid trend stat 'foo', unknown format".into())
        );
        assert_eq!(
            check_trend_stat("p(x)"),
            Err(
                "invalid percentile trend stat value 'p(x)', provide a number between 0 and 100"
                    .into()
            )
        );
        assert!(check_trend_stat("p(101)").is_err());
    }
}
