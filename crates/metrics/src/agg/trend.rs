//! Trend aggregate: exact count/sum/min/max plus HDR histograms for percentiles.

use std::borrow::Cow;

use base64::Engine as _;
use hdrhistogram::Histogram;

use super::hist::LazyHist;
use serde::{Deserialize, Serialize};

/// Values are recorded multiplied by this, so millisecond trends keep
/// microsecond resolution in the integer histogram.
pub const SCALE: f64 = 1000.0;

/// Significant digits kept by the histograms.
pub const SIGFIG: u8 = 3;

/// Scaled magnitudes are capped here (about 9e12 unscaled) so that a huge or
/// infinite sample cannot blow up the histogram's size; min/max stay exact.
const MAX_SCALED: u64 = 1 << 53;

/// A distribution: exact count, sum, min and max; percentiles from HDR
/// histograms (3 significant digits) of the values times [`SCALE`], one for
/// non-negative values and one (created on demand) for the magnitudes of
/// negative values. Never keeps the samples themselves.
#[derive(Clone, Debug)]
pub struct TrendAgg {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    pos: LazyHist,
    neg: Option<LazyHist>,
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIGFIG).expect("3 significant digits is a valid histogram config")
}

fn scaled(value: f64) -> u64 {
    let x = value.abs() * SCALE;
    if x.is_nan() {
        return 0;
    }
    if x >= MAX_SCALED as f64 {
        return MAX_SCALED;
    }
    // `f64::round` is a library call on baseline x86-64, and a trend adds
    // eight values per request. Below 2^53 the integer part and the
    // fraction are exact, so this rounds half away from zero exactly as
    // `round` does. Through i64, not u64: baseline x86-64 converts signed
    // integers in one instruction each way, unsigned ones in a dozen.
    let whole = x as i64;
    let rounded = whole + i64::from(x - whole as f64 >= 0.5);
    (rounded as u64).min(MAX_SCALED)
}

impl Default for TrendAgg {
    fn default() -> Self {
        TrendAgg {
            count: 0,
            sum: 0.0,
            min: 0.0,
            max: 0.0,
            pos: LazyHist::dense(new_histogram()),
            neg: None,
        }
    }
}

impl TrendAgg {
    /// Adds one sample.
    pub fn add(&mut self, value: f64) {
        if self.count == 0 {
            self.min = value;
            self.max = value;
        } else {
            // Written out (not f64::min) so that NaN never replaces a real extreme.
            if value < self.min {
                self.min = value;
            }
            if value > self.max {
                self.max = value;
            }
        }
        self.count += 1;
        self.sum += value;
        let v = scaled(value);
        let h = if value < 0.0 {
            self.neg
                .get_or_insert_with(|| LazyHist::dense(new_histogram()))
                .get_mut()
        } else {
            self.pos.get_mut()
        };
        // `record` grows an auto-resizing histogram (`saturating_record` would
        // clamp to the current range instead); values are capped, so it succeeds.
        if h.record(v).is_err() {
            h.saturating_record(v);
        }
    }

    /// Adds another trend's samples; the result equals having added all samples
    /// here (histograms, count, min and max exactly; the sum up to float rounding).
    pub fn merge(&mut self, other: &TrendAgg) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            // Nothing here yet: share the other's (possibly still sparse)
            // histograms instead of expanding and adding them.
            *self = other.clone();
            return;
        } else {
            if other.min < self.min {
                self.min = other.min;
            }
            if other.max > self.max {
                self.max = other.max;
            }
        }
        self.count += other.count;
        self.sum += other.sum;
        // Auto-resizing histograms with the same precision always add.
        self.pos.add(&other.pos);
        if let Some(on) = &other.neg {
            self.neg
                .get_or_insert_with(|| LazyHist::dense(new_histogram()))
                .add(on);
        }
    }

    /// The number of samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact sum of the samples.
    pub fn sum(&self) -> f64 {
        self.sum
    }

    /// The smallest sample (0 when empty).
    pub fn min(&self) -> f64 {
        self.min
    }

    /// The largest sample (0 when empty).
    pub fn max(&self) -> f64 {
        self.max
    }

    /// The mean (0 when empty).
    pub fn avg(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// The `pct`-th percentile (0..=100), interpolated between ranks as k6 does:
    /// `i = pct/100 * (n-1)`, `v[floor i] + (v[ceil i] - v[floor i]) * frac(i)`,
    /// with `v[k]` read from the histograms and the result clamped to
    /// `[min, max]`. Exact for one sample, 0 for none.
    pub fn percentile(&self, pct: f64) -> f64 {
        let n = self.pos.len() + self.neg.as_ref().map_or(0, LazyHist::len);
        match n {
            0 => return 0.0,
            1 => return self.min,
            _ => {}
        }
        let i = (pct.clamp(0.0, 100.0) / 100.0) * (n - 1) as f64;
        let lo = i.floor();
        let frac = i - lo;
        let lo = lo as u64;
        let hi = (i.ceil() as u64).min(n - 1);
        let vlo = self.value_at_rank(lo);
        let v = if hi == lo {
            vlo
        } else {
            vlo + (self.value_at_rank(hi) - vlo) * frac
        };
        v.clamp(self.min, self.max)
    }

    /// The `rank`-th smallest recorded value (0-based), unscaled.
    fn value_at_rank(&self, rank: u64) -> f64 {
        let nneg = self.neg.as_ref().map_or(0, LazyHist::len);
        if rank < nneg {
            let neg = self.neg.as_ref().expect("nneg > 0");
            -value_at_rank(neg.get(), nneg - 1 - rank)
        } else {
            value_at_rank(self.pos.get(), rank - nneg)
        }
    }

    fn recorded(h: Option<&Histogram<u64>>) -> Vec<(u64, u64)> {
        h.map(|h| {
            h.iter_recorded()
                .map(|v| (v.value_iterated_to(), v.count_at_value()))
                .collect()
        })
        .unwrap_or_default()
    }
}

/// The `rank`-th smallest value of `h` (0-based): the median-equivalent value
/// of the bucket holding it, unscaled.
fn value_at_rank(h: &Histogram<u64>, rank: u64) -> f64 {
    let mut seen = 0u64;
    for v in h.iter_recorded() {
        seen += v.count_at_value();
        if seen > rank {
            return h.median_equivalent(v.value_iterated_to()) as f64 / SCALE;
        }
    }
    h.median_equivalent(h.max()) as f64 / SCALE
}

impl PartialEq for TrendAgg {
    /// Equal samples as far as the aggregate can tell (histogram buckets
    /// compared by content, whatever their allocated range).
    fn eq(&self, other: &Self) -> bool {
        self.count == other.count
            && self.sum == other.sum
            && self.min == other.min
            && self.max == other.max
            && TrendAgg::recorded(Some(self.pos.get())) == TrendAgg::recorded(Some(other.pos.get()))
            && TrendAgg::recorded(self.neg.as_ref().map(LazyHist::get))
                == TrendAgg::recorded(other.neg.as_ref().map(LazyHist::get))
    }
}

/// Serde form: histograms as base64 of HDR V2 deflate encoding (read in
/// place when the input allows: base64 has nothing to unescape).
#[derive(Serialize, Deserialize)]
struct TrendWire<'a> {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    #[serde(borrow)]
    hist: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    neg: Option<Cow<'a, str>>,
}

fn encode(h: &Histogram<u64>) -> String {
    super::hist::encode_deflate(h, |bytes| {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    })
}

fn decode(s: &str) -> Result<LazyHist, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| format!("histogram is not base64: {e}"))?;
    LazyHist::decode(&bytes)
}

impl Serialize for TrendAgg {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        TrendWire {
            count: self.count,
            sum: self.sum,
            min: self.min,
            max: self.max,
            hist: encode(self.pos.get()).into(),
            neg: self.neg.as_ref().map(|h| encode(h.get()).into()),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for TrendAgg {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let w = TrendWire::deserialize(deserializer)?;
        let pos = decode(&w.hist).map_err(D::Error::custom)?;
        let neg = w
            .neg
            .as_deref()
            .map(decode)
            .transpose()
            .map_err(D::Error::custom)?;
        let recorded = pos.len() + neg.as_ref().map_or(0, LazyHist::len);
        if recorded != w.count {
            return Err(D::Error::custom(format!(
                "trend count {} does not match its histograms' {recorded}",
                w.count
            )));
        }
        Ok(TrendAgg {
            count: w.count,
            sum: w.sum,
            min: w.min,
            max: w.max,
            pos,
            neg,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn scaled_rounds_as_round_does() {
        fn by_round(value: f64) -> u64 {
            // `as` saturates (and maps NaN to 0).
            ((value.abs() * super::SCALE).round() as u64).min(super::MAX_SCALED)
        }
        let mut values = vec![
            0.0,
            -0.0,
            0.0004,
            0.0005,
            0.0015,
            0.49999999999999994,
            1.0005,
            2.5,
            -2.5,
            1e-300,
            123.456_5,
            9_007_199_254_740.5,
            9_007_199_254_741.0,
            1e300,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        // Halves and their neighbours across the range.
        let mut x: f64 = 0.000_5;
        while x < 1e13 {
            values.extend([
                x,
                f64::from_bits(x.to_bits() - 1),
                f64::from_bits(x.to_bits() + 1),
            ]);
            x = x * 3.7 + 0.000_5;
        }
        for v in values {
            assert_eq!(super::scaled(v), by_round(v), "{v:e}");
        }
    }

    use super::*;
    use proptest::prelude::*;

    /// k6's TrendSink.P on a sorted list of the exact samples.
    fn reference(sorted: &[f64], pct: f64) -> f64 {
        match sorted.len() {
            0 => 0.0,
            1 => sorted[0],
            n => {
                let i = pct / 100.0 * (n - 1) as f64;
                let lo = sorted[i.floor() as usize];
                let hi = sorted[i.ceil() as usize];
                lo + (hi - lo) * (i - i.floor())
            }
        }
    }

    fn trend(values: &[f64]) -> TrendAgg {
        let mut t = TrendAgg::default();
        for &v in values {
            t.add(v);
        }
        t
    }

    #[test]
    fn matches_k6_on_small_sample() {
        // k6 v1.1.0 handleSummary for Trend samples 1, 2, 3, 4, 10, -2:
        // avg 3, min -2, med 2.5, max 10, p(90) 7, p(95) 8.5, p(99.9) 9.97, p(0) -2.
        let t = trend(&[1.0, 2.0, 3.0, 4.0, 10.0, -2.0]);
        assert_eq!(t.count(), 6);
        assert_eq!(t.avg(), 3.0);
        assert_eq!((t.min(), t.max()), (-2.0, 10.0));
        // Histogram buckets hold 3 significant digits (3.0 reads back as 3.001).
        let close = |got: f64, want: f64| (got - want).abs() <= want.abs() * 1e-3;
        assert!(close(t.percentile(50.0), 2.5), "{}", t.percentile(50.0));
        assert!(close(t.percentile(90.0), 7.0));
        assert!(close(t.percentile(95.0), 8.5));
        assert!(close(t.percentile(99.9), 9.97));
        // The extremes are exact: clamped to the exact min and max.
        assert_eq!(t.percentile(0.0), -2.0);
        assert_eq!(t.percentile(100.0), 10.0);
    }

    #[test]
    fn empty_and_single() {
        let t = TrendAgg::default();
        assert_eq!(
            (t.avg(), t.min(), t.max(), t.percentile(95.0)),
            (0.0, 0.0, 0.0, 0.0)
        );
        // A single sample is reported exactly, not rounded to a bucket.
        let t = trend(&[123.456789]);
        assert_eq!(t.percentile(95.0), 123.456789);
        assert_eq!(t.percentile(0.0), 123.456789);
    }

    #[test]
    fn huge_and_odd_values_do_not_panic() {
        let t = trend(&[1e300, f64::INFINITY, -f64::INFINITY, 0.0, -0.0]);
        assert_eq!(t.count(), 5);
        assert_eq!(t.max(), f64::INFINITY);
        let _ = t.percentile(50.0);
    }

    #[test]
    fn serde_round_trip_keeps_everything() {
        let t = trend(&[1.5, 2.25, -3.0, 4000.0, 0.001]);
        let json = serde_json::to_string(&t).unwrap();
        let back: TrendAgg = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t);
        // Decoded histograms keep resizing.
        let mut back = back;
        back.add(1e9);
        assert_eq!(back.max(), 1e9);
    }

    #[test]
    fn serde_rejects_garbage() {
        let bad = r#"{"count":1,"sum":1,"min":1,"max":1,"hist":"!!"}"#;
        assert!(serde_json::from_str::<TrendAgg>(bad).is_err());
        let t = trend(&[1.0]);
        let mut v: serde_json::Value = serde_json::to_value(&t).unwrap();
        v["count"] = 2.into();
        assert!(serde_json::from_value::<TrendAgg>(v).is_err());
    }

    proptest! {
        #[test]
        fn percentiles_within_three_digits(
            values in proptest::collection::vec(
                prop_oneof![0.0f64..10.0, 0.0f64..5000.0, -100.0f64..100.0, 1.0f64..1e6],
                1..300,
            ),
            pct in 0.0f64..=100.0,
        ) {
            let t = trend(&values);
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let want = reference(&sorted, pct);
            let got = t.percentile(pct);
            // Values are kept to 3 significant digits of their magnitude and to
            // 1/1000 absolute (the scale), whichever is coarser.
            let span = sorted.iter().fold(0f64, |m, v| m.max(v.abs()));
            let tol = 1e-3 * span.max(want.abs()) + 1e-3;
            prop_assert!((got - want).abs() <= tol, "p({pct}) got {got} want {want} tol {tol}");
            prop_assert!(got >= t.min() && got <= t.max());
        }

        #[test]
        fn merge_equals_recording_all(
            a in proptest::collection::vec(-1e4f64..1e6, 0..100),
            b in proptest::collection::vec(-1e4f64..1e6, 0..100),
        ) {
            let mut merged = trend(&a);
            merged.merge(&trend(&b));
            let all: Vec<f64> = a.iter().chain(&b).copied().collect();
            let direct = trend(&all);
            prop_assert_eq!(merged.count(), direct.count());
            prop_assert_eq!(merged.min(), direct.min());
            prop_assert_eq!(merged.max(), direct.max());
            prop_assert!((merged.sum() - direct.sum()).abs() <= 1e-9 * direct.sum().abs().max(1.0));
            prop_assert_eq!(TrendAgg::recorded(Some(merged.pos.get())), TrendAgg::recorded(Some(direct.pos.get())));
            prop_assert_eq!(TrendAgg::recorded(merged.neg.as_ref().map(LazyHist::get)), TrendAgg::recorded(direct.neg.as_ref().map(LazyHist::get)));
            for p in [0.0, 50.0, 90.0, 95.0, 99.0, 100.0] {
                prop_assert_eq!(merged.percentile(p), direct.percentile(p));
            }
        }
    }
}
