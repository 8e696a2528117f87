//! k6's striping: which of every `lcd` consecutive items belongs to which
//! segment, and scaling integers with it.

use std::fmt;
use std::sync::Arc;

use super::{ExecutionSegment, ExecutionSegmentSequence, SegmentError};
use crate::ratio::Ratio;

/// Upper bound on a sequence's least common denominator. The striping tables
/// hold `lcd` entries, so absurdly precise segments would exhaust memory.
const MAX_LCD: i128 = 10_000_000;

/// A segment within its (filled) sequence, with the striping tables that
/// scale values and split iterations exactly between all segments.
///
/// Cheap to clone: the tables are shared.
#[derive(Clone, PartialEq, Eq)]
pub struct ExecutionTuple {
    striping: Arc<Striping>,
    index: usize,
}

#[derive(PartialEq, Eq)]
struct Striping {
    sequence: Vec<ExecutionSegment>,
    lcd: i64,
    /// Per segment: the first index it owns, then the gaps to each next one
    /// (the last gap wraps around into the next `lcd` cycle).
    offsets: Vec<Vec<i64>>,
}

impl ExecutionTuple {
    /// The whole, unsegmented test.
    pub fn full() -> Self {
        Self::new(None, None).expect("the full segment is always valid")
    }

    /// The tuple for `segment` (default `0:1`) in `sequence` (default: just
    /// the segment, with the gaps around it filled).
    pub fn new(
        segment: Option<&ExecutionSegment>,
        sequence: Option<&ExecutionSegmentSequence>,
    ) -> Result<Self, SegmentError> {
        let segment = segment.copied().unwrap_or_default();
        let filled = fill(sequence, segment);
        let index = filled.iter().position(|s| *s == segment).ok_or_else(|| {
            let seq = sequence.map(ToString::to_string).unwrap_or_default();
            SegmentError(format!("couldn't find segment {segment} in sequence {seq}"))
        })?;
        Ok(ExecutionTuple {
            striping: Arc::new(Striping::new(filled)?),
            index,
        })
    }

    /// This tuple's segment.
    pub fn segment(&self) -> &ExecutionSegment {
        &self.striping.sequence[self.index]
    }

    /// The full sequence (covering `0..1`) the segment belongs to.
    pub fn sequence(&self) -> &[ExecutionSegment] {
        &self.striping.sequence
    }

    /// Position of the segment in [`ExecutionTuple::sequence`].
    pub fn segment_index(&self) -> usize {
        self.index
    }

    /// Least common denominator of the segment lengths (the striping cycle).
    pub fn lcd(&self) -> i64 {
        self.striping.lcd
    }

    /// Tuples for every segment of the same sequence, in order.
    pub fn siblings(&self) -> impl Iterator<Item = ExecutionTuple> + '_ {
        (0..self.sequence().len()).map(|index| ExecutionTuple {
            striping: Arc::clone(&self.striping),
            index,
        })
    }

    /// This segment's share of `value` (k6 `ScaleInt64`): the shares of all
    /// segments of the sequence add up to exactly `value`, and grow
    /// monotonically with it.
    pub fn scale(&self, value: i64) -> i64 {
        if self.striping.sequence.len() == 1 {
            return value;
        }
        self.striping.scale(self.index, value)
    }

    /// `(start, gaps, lcd)`: the first item this segment owns and the gaps
    /// between its next items, repeating every `lcd` items (k6
    /// `GetStripedOffsets`).
    pub fn striped_offsets(&self) -> (i64, &[i64], i64) {
        let offsets = &self.striping.offsets[self.index];
        (offsets[0], &offsets[1..], self.striping.lcd)
    }

    /// Re-segments the sequence so that each segment gets exactly its scaled
    /// share of `value` (k6 `GetNewExecutionTupleFromValue`). Executors that
    /// stripe iterations over VUs use it with their VU count. `None` when
    /// `value < 1` or this segment's share is zero.
    pub fn with_value(&self, value: i64) -> Option<ExecutionTuple> {
        if value < 1 {
            return None;
        }
        if value % self.striping.lcd == 0 {
            return Some(self.clone());
        }
        let mut segments = Vec::with_capacity(self.sequence().len());
        let mut new_index = None;
        let mut prev = 0i64;
        for i in 0..self.sequence().len() {
            let share = self.striping.scale(i, value);
            if share == 0 {
                continue;
            }
            let from = Ratio::new(i128::from(prev), i128::from(value))?;
            let to = Ratio::new(i128::from(prev + share), i128::from(value))?;
            prev += share;
            if i == self.index {
                new_index = Some(segments.len());
            }
            segments.push(ExecutionSegment { from, to });
        }
        let index = new_index?;
        let striping = Striping::new(segments).ok()?;
        Some(ExecutionTuple {
            striping: Arc::new(striping),
            index,
        })
    }
}

impl fmt::Display for ExecutionTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = ExecutionSegmentSequence(self.striping.sequence.clone());
        write!(f, "{} in {}", self.segment(), seq)
    }
}

impl fmt::Debug for ExecutionTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ExecutionTuple({self})")
    }
}

impl Default for ExecutionTuple {
    fn default() -> Self {
        Self::full()
    }
}

/// k6 `GetFilledExecutionSegmentSequence`: the sequence (or just the
/// segment) padded with segments up to 0 and 1.
fn fill(
    sequence: Option<&ExecutionSegmentSequence>,
    segment: ExecutionSegment,
) -> Vec<ExecutionSegment> {
    let mut result = match sequence {
        Some(seq) if !seq.is_empty() => seq.0.clone(),
        _ if segment.is_full() => return vec![ExecutionSegment::FULL],
        _ => vec![segment],
    };
    if result[0].from != Ratio::ZERO {
        result.insert(
            0,
            ExecutionSegment {
                from: Ratio::ZERO,
                to: result[0].from,
            },
        );
    }
    let last_to = result[result.len() - 1].to;
    if last_to != Ratio::ONE {
        result.push(ExecutionSegment {
            from: last_to,
            to: Ratio::ONE,
        });
    }
    result
}

impl Striping {
    fn new(sequence: Vec<ExecutionSegment>) -> Result<Self, SegmentError> {
        let too_fine = || {
            SegmentError(format!(
                "the execution segment sequence {} is too fine-grained (its least common denominator exceeds {MAX_LCD})",
                ExecutionSegmentSequence(sequence.clone())
            ))
        };
        let mut lcd: i128 = 1;
        for seg in &sequence {
            let den = seg.length().den();
            lcd = lcd
                .checked_mul(den / gcd(lcd, den))
                .filter(|l| *l <= MAX_LCD)
                .ok_or_else(too_fine)?;
        }
        let lcd = lcd as i64;
        let norm: Vec<i64> = sequence
            .iter()
            .map(|s| (s.length().num() * (i128::from(lcd) / s.length().den())) as i64)
            .collect();
        // Biggest segments choose first: they are the hardest to keep from
        // getting consecutive items. The sort is stable, as in k6.
        let mut sorted: Vec<usize> = (0..sequence.len()).collect();
        sorted.sort_by(|a, b| norm[*b].cmp(&norm[*a]));

        let mut offsets: Vec<Vec<i64>> = norm
            .iter()
            .map(|n| Vec::with_capacity(*n as usize + 1))
            .collect();
        let mut prev = vec![0i64; sequence.len()];
        let mut chosen = vec![0i64; sequence.len()];
        for i in 0..lcd {
            for (rank, &original) in sorted.iter().enumerate() {
                let num = chosen[rank] * lcd;
                let denom = norm[original];
                if i > num / denom || (i == num / denom && num % denom == 0) {
                    chosen[rank] += 1;
                    let own = &mut offsets[original];
                    own.push(i - prev[original]);
                    prev[original] = i;
                    if own.len() as i64 == denom {
                        own.push(own[0] + lcd - i);
                    }
                    break;
                }
            }
        }
        Ok(Striping {
            sequence,
            lcd,
            offsets,
        })
    }

    fn scale(&self, index: usize, value: i64) -> i64 {
        let start = self.offsets[index][0];
        let gaps = &self.offsets[index][1..];
        let mut result = (value / self.lcd) * gaps.len() as i64;
        let rem = value % self.lcd;
        let mut i = start;
        let mut gi = 0;
        while i < rem {
            result += 1;
            i += gaps[gi];
            gi += 1;
        }
        result
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tuple(seg: &str, seq: &str) -> ExecutionTuple {
        let seg = (!seg.is_empty()).then(|| ExecutionSegment::parse(seg).unwrap());
        let seq = ExecutionSegmentSequence::parse(seq).unwrap();
        ExecutionTuple::new(seg.as_ref(), Some(&seq)).unwrap()
    }

    /// k6 `TestGetStripedOffsets`.
    #[test]
    fn striped_offsets_match_k6() {
        let full = "0,0.3,0.5,0.6,0.7,0.8,0.9,1";
        let other = "0,0.2,0.5,0.6,0.7,0.8,0.9,1";
        let cases: &[(&str, &str, i64, &[i64], i64)] = &[
            (full, "0:0.3", 0, &[4, 3, 3], 10),
            (full, "0.3:0.5", 1, &[4, 6], 10),
            (full, "0.5:0.6", 2, &[10], 10),
            (full, "0.6:0.7", 3, &[10], 10),
            (full, "0.8:0.9", 8, &[10], 10),
            (full, "0.9:1", 9, &[10], 10),
            (other, "0.9:1", 9, &[10], 10),
            (other, "0:0.2", 1, &[4, 6], 10),
            (other, "0.6:0.7", 3, &[10], 10),
            ("0,0.2,0.5", "0:0.2", 3, &[6, 4], 10),
            ("0,0.2,0.5", "0.2:0.5", 1, &[4, 2, 4], 10),
            ("0,2/5,4/5", "0:2/5", 0, &[3, 2], 5),
            ("0,2/5,4/5", "2/5:4/5", 1, &[3, 2], 5),
            ("", "0:0.2", 1, &[5], 5),
            ("", "0:1/5", 1, &[5], 5),
            ("", "0:2/10", 1, &[5], 5),
            ("", "0:0.4", 1, &[2, 3], 5),
            ("", "0:2/5", 1, &[2, 3], 5),
            ("", "2/5:4/5", 1, &[3, 2], 5),
            ("", "0:4/10", 1, &[2, 3], 5),
            ("", "1/10:5/10", 1, &[2, 2, 4, 2], 10),
        ];
        for (seq, seg, start, gaps, lcd) in cases {
            let t = tuple(seg, seq);
            assert_eq!(t.striped_offsets(), (*start, *gaps, *lcd), "{seg} in {seq}");
        }
    }

    #[test]
    fn lcd_matches_k6() {
        for (seq, lcd) in [
            ("0,0.3,0.5,0.6,0.7,0.8,0.9,1", 10),
            ("0,0.1,0.5,0.6,0.7,0.8,0.9,1", 10),
            ("0,1/3,5/6", 6),
            ("0,1/3,4/7", 21),
        ] {
            let first = ExecutionSegmentSequence::parse(seq).unwrap().segments()[0];
            let t = ExecutionTuple::new(
                Some(&first),
                Some(&ExecutionSegmentSequence::parse(seq).unwrap()),
            )
            .unwrap();
            assert_eq!(t.lcd(), lcd, "{seq}");
        }
    }

    /// k6 `TestNewExecutionTuple` and `TestExecutionTupleScale`.
    #[test]
    fn scale_and_with_value_match_k6() {
        let t = ExecutionTuple::full();
        assert_eq!((t.scale(50), t.scale(1), t.scale(0)), (50, 1, 0));
        assert!(t.with_value(0).is_none());

        let third = "0,1/3,2/3,1";
        type Case<'a> = (&'a str, &'a [(i64, i64)], &'a [(i64, Option<i64>)]);
        let cases: &[Case] = &[
            (
                "0:1/3",
                &[(50, 17), (3, 1), (2, 1), (1, 1), (0, 0)],
                &[
                    (50, Some(17)),
                    (20, Some(18)),
                    (3, Some(17)),
                    (2, Some(25)),
                    (1, Some(50)),
                    (0, None),
                ],
            ),
            (
                "1/3:2/3",
                &[(50, 17), (3, 1), (2, 1), (1, 0), (0, 0)],
                &[
                    (50, Some(17)),
                    (20, Some(17)),
                    (3, Some(17)),
                    (2, Some(25)),
                    (1, None),
                    (0, None),
                ],
            ),
            (
                "2/3:1",
                &[(50, 16), (3, 1), (2, 0), (1, 0), (0, 0)],
                &[
                    (50, Some(16)),
                    (20, Some(15)),
                    (3, Some(16)),
                    (2, None),
                    (1, None),
                    (0, None),
                ],
            ),
        ];
        for (seg, scales, news) in cases {
            let t = tuple(seg, third);
            for (v, want) in *scales {
                assert_eq!(t.scale(*v), *want, "{seg}: scale({v})");
            }
            for (v, want50) in *news {
                assert_eq!(
                    t.with_value(*v).map(|n| n.scale(50)),
                    *want50,
                    "{seg}: with_value({v})"
                );
            }
        }
        let t = tuple("0:1/3", third).with_value(20).unwrap();
        assert_eq!(
            ExecutionSegmentSequence(t.sequence().to_vec()).to_string(),
            "0,7/20,7/10,1"
        );
        assert_eq!(tuple("0:7/20", "0,7/20,7/10,1").scale(50), 18);

        assert_eq!(
            (tuple("0.5", "").scale(2), tuple("0.5", "").scale(3)),
            (1, 2)
        );
        assert_eq!(
            (tuple("0.5:1.0", "").scale(2), tuple("0.5:1.0", "").scale(3)),
            (1, 1)
        );
        assert_eq!(tuple("0.5", "0,0.5,1").scale(3), 2);
    }

    #[test]
    fn segment_outside_the_sequence_is_an_error() {
        let seq = ExecutionSegmentSequence::parse("0,1/2,1").unwrap();
        let err = ExecutionTuple::new(Some(&ExecutionSegment::parse("0:1/3").unwrap()), Some(&seq))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "couldn't find segment 0:1/3 in sequence 0,1/2,1"
        );
    }

    fn arb_sequence() -> impl Strategy<Value = ExecutionSegmentSequence> {
        prop::collection::vec(1i128..40, 1..8).prop_map(|nums| {
            let total: i128 = nums.iter().sum();
            let mut from = Ratio::ZERO;
            let mut acc = 0;
            let segments = nums
                .iter()
                .map(|n| {
                    acc += n;
                    let to = Ratio::new(acc, total).unwrap();
                    let s = ExecutionSegment::new(from, to).unwrap();
                    from = to;
                    s
                })
                .collect();
            ExecutionSegmentSequence(segments)
        })
    }

    proptest! {
        #[test]
        fn shares_sum_to_the_whole(seq in arb_sequence(), value in 0i64..5000) {
            let t = ExecutionTuple::new(Some(&seq.segments()[0]), Some(&seq)).unwrap();
            let total: i64 = t.siblings().map(|s| s.scale(value)).sum();
            prop_assert_eq!(total, value);
        }

        #[test]
        fn shares_never_shrink(seq in arb_sequence(), pick in 0usize..8) {
            let seg = seq.segments()[pick % seq.segments().len()];
            let t = ExecutionTuple::new(Some(&seg), Some(&seq)).unwrap();
            let mut last = 0;
            for v in 0..300 {
                let s = t.scale(v);
                prop_assert!(s >= last);
                last = s;
            }
        }

        #[test]
        fn striping_partitions_every_cycle(seq in arb_sequence()) {
            let t = ExecutionTuple::new(Some(&seq.segments()[0]), Some(&seq)).unwrap();
            let lcd = t.lcd();
            let mut owner = vec![0u32; lcd as usize];
            for s in t.siblings() {
                let (start, gaps, _) = s.striped_offsets();
                let mut i = start;
                for gap in gaps {
                    owner[i as usize] += 1;
                    i += gap;
                }
                prop_assert_eq!(i, start + lcd);
            }
            prop_assert!(owner.iter().all(|c| *c == 1));
        }
    }
}
