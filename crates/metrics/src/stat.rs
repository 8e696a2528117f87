//! `Stat`: a named statistic of an aggregate (`avg`, `p(95)`, `rate`, ...).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::gofmt::{format_g, parse_float};
use crate::kind::MetricType;

/// A statistic of an aggregate, spelled as in k6 (`FromStr`, `Display`, and
/// serde as that string).
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Stat {
    /// `count`: a counter's sum, or a trend's number of samples.
    Count,
    /// `rate`: a counter's sum per second, or a rate's share of non-zero values.
    Rate,
    /// `value`: a gauge's latest value.
    Value,
    /// `avg` of a trend.
    Avg,
    /// `min` of a trend or gauge.
    Min,
    /// `max` of a trend or gauge.
    Max,
    /// `med` of a trend (its 50th percentile).
    Med,
    /// `p(N)` of a trend, N in [0, 100].
    Percentile(f64),
    /// `passes`: a rate's number of non-zero values.
    Passes,
    /// `fails`: a rate's number of zero values.
    Fails,
}

/// A statistic name that is not one of k6's; messages as k6's for `summaryTrendStats`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatParseError {
    /// Not a known statistic.
    #[error("invalid trend stat '{0}', unknown format")]
    Unknown(String),
    /// `p(N)` with N not a number in [0, 100].
    #[error("invalid percentile trend stat value '{0}', provide a number between 0 and 100")]
    Percentile(String),
}

impl Stat {
    /// Whether k6 reports this statistic for a metric of type `kind`
    /// (in `handleSummary` values or `summaryTrendStats`).
    pub fn applies_to(&self, kind: MetricType) -> bool {
        use Stat::*;
        match kind {
            MetricType::Counter => matches!(self, Count | Rate),
            MetricType::Gauge => matches!(self, Value | Min | Max),
            MetricType::Rate => matches!(self, Rate | Passes | Fails),
            MetricType::Trend => matches!(self, Count | Avg | Min | Max | Med | Percentile(_)),
        }
    }

    /// The aggregation method name k6's threshold messages use (`p` for percentiles).
    pub fn method(&self) -> &'static str {
        match self {
            Stat::Count => "count",
            Stat::Rate => "rate",
            Stat::Value => "value",
            Stat::Avg => "avg",
            Stat::Min => "min",
            Stat::Max => "max",
            Stat::Med => "med",
            Stat::Percentile(_) => "p",
            Stat::Passes => "passes",
            Stat::Fails => "fails",
        }
    }

    /// Parses `p(N)` (N a Go float literal in [0, 100]) into the percentile.
    pub(crate) fn parse_percentile(s: &str) -> Option<Result<f64, String>> {
        let inner = s.strip_prefix("p(")?.strip_suffix(')')?;
        Some(parse_float(inner).map_err(|e| e.message(inner)))
    }
}

impl FromStr for Stat {
    type Err = StatParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "count" => Stat::Count,
            "rate" => Stat::Rate,
            "value" => Stat::Value,
            "avg" => Stat::Avg,
            "min" => Stat::Min,
            "max" => Stat::Max,
            "med" => Stat::Med,
            "passes" => Stat::Passes,
            "fails" => Stat::Fails,
            _ => match Stat::parse_percentile(s) {
                Some(Ok(p)) if (0.0..=100.0).contains(&p) => Stat::Percentile(p),
                Some(_) => return Err(StatParseError::Percentile(s.to_owned())),
                None => return Err(StatParseError::Unknown(s.to_owned())),
            },
        })
    }
}

impl serde::Serialize for Stat {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Stat {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Stat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // k6 builds percentile keys with Go's `p(%g)`.
            Stat::Percentile(p) => write!(f, "p({})", format_g(*p)),
            other => f.write_str(other.method()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [
            "count", "rate", "value", "avg", "min", "max", "med", "passes", "fails", "p(95)",
            "p(99.9)", "p(0)", "p(100)",
        ] {
            let stat: Stat = s.parse().unwrap();
            assert_eq!(stat.to_string(), s);
        }
        assert_eq!("p(99.90)".parse::<Stat>().unwrap(), Stat::Percentile(99.9));
        assert_eq!("p(1e1)".parse::<Stat>().unwrap(), Stat::Percentile(10.0));
    }

    #[test]
    fn errors_read_like_k6() {
        assert_eq!(
            "foo".parse::<Stat>().unwrap_err().to_string(),
            "invalid trend stat 'foo', unknown format"
        );
        assert_eq!(
            "p(101)".parse::<Stat>().unwrap_err().to_string(),
            "invalid percentile trend stat value 'p(101)', provide a number between 0 and 100"
        );
        assert!("p(abc)".parse::<Stat>().is_err());
        assert!("p(-1)".parse::<Stat>().is_err());
    }

    #[test]
    fn serde_as_string() {
        let stats: Vec<Stat> = serde_json::from_str(r#"["avg","p(99.9)"]"#).unwrap();
        assert_eq!(stats, [Stat::Avg, Stat::Percentile(99.9)]);
        assert_eq!(
            serde_json::to_string(&stats).unwrap(),
            r#"["avg","p(99.9)"]"#
        );
        assert!(serde_json::from_str::<Stat>(r#""p(200)""#).is_err());
    }

    #[test]
    fn applicability() {
        assert!(Stat::Percentile(9.0).applies_to(MetricType::Trend));
        assert!(Stat::Count.applies_to(MetricType::Trend));
        assert!(!Stat::Avg.applies_to(MetricType::Rate));
        assert!(Stat::Min.applies_to(MetricType::Gauge));
        assert!(Stat::Rate.applies_to(MetricType::Counter));
    }
}
