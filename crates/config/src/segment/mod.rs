//! Execution segments, a port of k6's `lib/execution_segment.go`.
//!
//! A segment `(from, to]` is the share of a test one instance runs; a
//! sequence is the ordered list of segments the whole test is split into.
//! [`ExecutionTuple`] combines both and scales values with k6's striping so
//! that every instance computes its exact share independently.

mod index;
mod tuple;

use std::fmt;
use std::str::FromStr;

pub use index::SegmentedIndex;
pub use tuple::ExecutionTuple;

use crate::ratio::Ratio;

/// Why a segment, sequence or tuple is invalid (k6's wording).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SegmentError(pub(crate) String);

/// A `(from, to]` share of the test, with `0 <= from < to <= 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExecutionSegment {
    from: Ratio,
    to: Ratio,
}

impl ExecutionSegment {
    /// The whole test, `0:1`.
    pub const FULL: ExecutionSegment = ExecutionSegment {
        from: Ratio::ZERO,
        to: Ratio::ONE,
    };

    /// Validates `0 <= from < to <= 1`.
    pub fn new(from: Ratio, to: Ratio) -> Result<Self, SegmentError> {
        if from < Ratio::ZERO {
            return Err(SegmentError(format!(
                "segment start value must be at least 0 but was {}",
                from.float_string2()
            )));
        }
        if from >= to {
            return Err(SegmentError(format!(
                "segment start({}) must be less than its end({})",
                from.float_string2(),
                to.float_string2()
            )));
        }
        if to > Ratio::ONE {
            return Err(SegmentError(format!(
                "segment end value can't be more than 1 but was {}",
                to.float_string2()
            )));
        }
        Ok(ExecutionSegment { from, to })
    }

    /// Parses `"1/2:3/4"`, `"50%:75%"`, `"0.5:0.75"`, or a single end value
    /// (`"20%"` means `0:1/5`); an empty string is the whole test.
    pub fn parse(s: &str) -> Result<Self, SegmentError> {
        let s = if s.is_empty() { "1" } else { s };
        let (from, to) = match s.split_once(':') {
            Some((from, to)) => (parse_point(from)?, parse_point(to)?),
            None => (Ratio::ZERO, parse_point(s)?),
        };
        Self::new(from, to)
    }

    /// Start of the segment.
    pub fn from(&self) -> Ratio {
        self.from
    }

    /// End of the segment.
    pub fn to(&self) -> Ratio {
        self.to
    }

    /// `to - from`.
    pub fn length(&self) -> Ratio {
        self.to.checked_sub(self.from).unwrap_or(Ratio::ZERO)
    }

    /// The length as a float, e.g. for "(50.00%)" in the run header.
    pub fn float_length(&self) -> f64 {
        self.length().to_f64()
    }

    /// True for `0:1`.
    pub fn is_full(&self) -> bool {
        *self == Self::FULL
    }

    /// Splits into `parts` equal consecutive sub-segments.
    pub fn split(&self, parts: i64) -> Result<Vec<ExecutionSegment>, SegmentError> {
        if parts < 1 {
            return Err(SegmentError(format!(
                "the number of parts must be at least 1, {parts} received"
            )));
        }
        let overflow = || SegmentError("segment too fine-grained to split".to_owned());
        let step = self
            .length()
            .checked_mul(Ratio::new(1, i128::from(parts)).ok_or_else(overflow)?)
            .ok_or_else(overflow)?;
        let mut from = self.from;
        let mut result = Vec::with_capacity(parts as usize);
        for i in 0..parts {
            let to = if i == parts - 1 {
                self.to
            } else {
                from.checked_add(step).ok_or_else(overflow)?
            };
            result.push(Self::new(from, to)?);
            from = to;
        }
        Ok(result)
    }
}

impl Default for ExecutionSegment {
    fn default() -> Self {
        Self::FULL
    }
}

impl FromStr for ExecutionSegment {
    type Err = SegmentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ExecutionSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.from, self.to)
    }
}

/// A percentage (whole number), decimal or fraction.
fn parse_point(s: &str) -> Result<Ratio, SegmentError> {
    if let Some(pct) = s.strip_suffix('%') {
        let body = pct.strip_prefix(['+', '-']).unwrap_or(pct);
        if body.is_empty() || !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SegmentError(format!("'{s}' is not a valid percentage")));
        }
        return pct
            .parse::<i128>()
            .ok()
            .and_then(|n| Ratio::new(n, 100))
            .ok_or_else(|| SegmentError(format!("'{s}' is not a valid percentage")));
    }
    Ratio::parse(s).ok_or_else(|| {
        SegmentError(format!(
            "'{s}' is not a valid percentage, decimal, fraction or interval value"
        ))
    })
}

/// Consecutive segments without gaps, written `"0,1/4,1/2,1"`.
///
/// It need not cover `0..1`; [`ExecutionTuple::new`] fills the gaps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct ExecutionSegmentSequence(Vec<ExecutionSegment>);

impl ExecutionSegmentSequence {
    /// Checks that each segment starts where the previous one ends.
    pub fn new(segments: Vec<ExecutionSegment>) -> Result<Self, SegmentError> {
        for (i, pair) in segments.windows(2).enumerate() {
            if pair[1].from != pair[0].to {
                return Err(SegmentError(format!(
                    "the start value {} of segment #{} must be equal to the end value of the previous one, but it is {}",
                    pair[1].from,
                    i + 1,
                    pair[0].to
                )));
            }
        }
        Ok(ExecutionSegmentSequence(segments))
    }

    /// Parses comma-separated points `"r1,r2,...,rn"` meaning
    /// `(r1,r2], (r2,r3], ...`; an empty string is an empty sequence.
    pub fn parse(s: &str) -> Result<Self, SegmentError> {
        if s.is_empty() {
            return Ok(Self::default());
        }
        let points = s.split(',').collect::<Vec<_>>();
        if points.len() < 2 {
            return Err(SegmentError(format!(
                "at least 2 points are needed for an execution segment sequence, {} given",
                points.len()
            )));
        }
        let mut segments = Vec::with_capacity(points.len() - 1);
        let mut start = parse_point(points[0])?;
        for point in &points[1..] {
            let end = parse_point(point)?;
            segments.push(ExecutionSegment::new(start, end)?);
            start = end;
        }
        Self::new(segments)
    }

    /// The segments in order.
    pub fn segments(&self) -> &[ExecutionSegment] {
        &self.0
    }

    /// True when empty (treated as a single `0:1` segment).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when the sequence starts at 0 and ends at 1.
    pub fn is_full(&self) -> bool {
        match (self.0.first(), self.0.last()) {
            (Some(first), Some(last)) => first.from == Ratio::ZERO && last.to == Ratio::ONE,
            _ => false,
        }
    }

    /// True when `segment` is one of the sequence's segments.
    pub fn contains(&self, segment: &ExecutionSegment) -> bool {
        self.0.contains(segment)
    }
}

impl FromStr for ExecutionSegmentSequence {
    type Err = SegmentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ExecutionSegmentSequence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            if i == 0 {
                write!(f, "{}", segment.from)?;
            }
            write!(f, ",{}", segment.to)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(s: &str) -> ExecutionSegment {
        ExecutionSegment::parse(s).unwrap()
    }

    #[test]
    fn parses_segments_like_k6() {
        let half_to_3q =
            ExecutionSegment::new(Ratio::new(1, 2).unwrap(), Ratio::new(3, 4).unwrap()).unwrap();
        for input in ["0.5:0.75", "1/2:3/4", "50%:75%", "2/4:75%"] {
            assert_eq!(seg(input), half_to_3q, "{input}");
            assert_eq!(seg(&seg(input).to_string()), half_to_3q);
        }
        assert_eq!(seg("75%").to_string(), "0:3/4");
        assert_eq!(seg("0:1"), ExecutionSegment::FULL);
        assert_eq!(seg(""), ExecutionSegment::FULL);
        for bad in [
            "125%",
            "1a5%",
            "1a5",
            "1a5%:2/3",
            "125%:250%",
            "55%:50%",
            "-1:1",
        ] {
            assert!(ExecutionSegment::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            ExecutionSegment::parse("55%:50%").unwrap_err().to_string(),
            "segment start(0.55) must be less than its end(0.50)"
        );
        assert_eq!(
            ExecutionSegment::parse("1a5").unwrap_err().to_string(),
            "'1a5' is not a valid percentage, decimal, fraction or interval value"
        );
    }

    #[test]
    fn splits_evenly() {
        let parts = |s: &str, n| {
            seg(s)
                .split(n)
                .unwrap()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(parts("0:1", 2), ["0:1/2", "1/2:1"]);
        assert_eq!(parts("0:1", 3), ["0:1/3", "1/3:2/3", "2/3:1"]);
        assert_eq!(parts("1/4:1/2", 3), ["1/4:1/3", "1/3:5/12", "5/12:1/2"]);
        assert_eq!(
            parts("1/4:1/2", 4),
            ["1/4:5/16", "5/16:3/8", "3/8:7/16", "7/16:1/2"]
        );
        assert!(seg("0:1").split(0).is_err());
    }

    #[test]
    fn parses_sequences_like_k6() {
        let ok = |s: &str| ExecutionSegmentSequence::parse(s).unwrap();
        assert!(ok("").is_empty());
        for bad in ["0.5", "1,1", "-0.5,1", "1/2,1/2", "1/2,1/3", "0,1,1/2"] {
            assert!(ExecutionSegmentSequence::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(ok("0.5,1").to_string(), "1/2,1");
        assert_eq!(ok("0,1/3,2/3,1").to_string(), "0,1/3,2/3,1");
        assert_eq!(ok("0.5,0.7,1").segments().len(), 2);
        let long = "0,1/13,2/13,1/3,1/2,3/4,1";
        assert_eq!(ok(long).to_string(), long);
        assert!(ok("0,1/2,1").is_full());
        assert!(!ok("0,1/2").is_full());
        assert!(ExecutionSegmentSequence::new(vec![seg("0:1/3"), seg("1/2:1")]).is_err());
    }
}
