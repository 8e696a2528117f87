//! When arrival-rate iterations start: k6's constant ticker and ramping
//! `cal`, both striped so that each segment starts exactly the iterations it
//! owns.

use std::time::Duration;

use super::stage::nanos;
use super::Stage;
use crate::ratio::Ratio;
use crate::segment::ExecutionTuple;

/// Iteration start offsets since the scenario start, in increasing order,
/// for one segment, up to and including the end of the regular duration:
/// k6's timer for an iteration due exactly at the end fires before the
/// duration's context is cancelled, so that iteration runs (10/s for 2s is
/// 21 iterations in k6 v1.1.0).
#[derive(Debug, Clone)]
pub struct ArrivalSchedule {
    gaps: Vec<i64>,
    next_gap: usize,
    end: i64,
    shape: Shape,
}

#[derive(Debug, Clone)]
enum Shape {
    Empty,
    /// Iteration `gi` (global, 0-based) starts at `period * gi`.
    Constant {
        period: i64,
        gi: i64,
    },
    /// The `i`-th iteration (global, 1-based) starts when the integral of
    /// the rate reaches `i`.
    Ramping(Box<Ramp>),
}

#[derive(Debug, Clone)]
struct Ramp {
    /// `(target rate per nanosecond, stage duration in nanoseconds)`.
    stages: Vec<(f64, i64)>,
    stage: usize,
    stage_counted: bool,
    from: f64,
    i: f64,
    done_so_far: f64,
    end_count: f64,
    stage_start: i64,
}

impl ArrivalSchedule {
    /// Iterations at `rate` per `time_unit` for `duration`, the first at 0.
    /// Striping uses the tuple re-segmented by `max_vus`, as k6 does.
    pub(crate) fn constant(
        tuple: &ExecutionTuple,
        max_vus: u64,
        rate: u64,
        time_unit: Duration,
        duration: Duration,
    ) -> Self {
        // k6 computes the period as a float and truncates it to nanoseconds.
        let period = if rate == 0 {
            0
        } else {
            (nanos(time_unit) as f64 / rate as f64) as i64
        };
        Self::striped(tuple, max_vus, nanos(duration), |start| {
            if period <= 0 {
                Shape::Empty
            } else {
                Shape::Constant { period, gi: start }
            }
        })
    }

    /// Iterations following a piecewise-linear rate (k6 `cal`).
    pub(crate) fn ramping(
        tuple: &ExecutionTuple,
        max_vus: u64,
        start_rate: u64,
        time_unit: Duration,
        stages: &[Stage],
    ) -> Self {
        let unit = nanos(time_unit) as f64;
        let end = stages
            .iter()
            .fold(0i64, |acc, s| acc.saturating_add(nanos(s.duration)));
        let stages = stages
            .iter()
            .map(|s| (s.target as f64 / unit, nanos(s.duration)))
            .collect();
        Self::striped(tuple, max_vus, end, |start| {
            Shape::Ramping(Box::new(Ramp {
                stages,
                stage: 0,
                stage_counted: false,
                from: start_rate as f64 / unit,
                // The area counts from 1: the first iteration starts when
                // one full iteration's worth of rate has accumulated.
                i: (start + 1) as f64,
                done_so_far: 0.0,
                end_count: 0.0,
                stage_start: 0,
            }))
        })
    }

    /// [`ArrivalSchedule::ramping`] on exactly this tuple, without
    /// re-segmenting by VUs (k6's `cal` as its unit tests call it).
    #[cfg(test)]
    pub(crate) fn ramping_on(
        tuple: &ExecutionTuple,
        start_rate: u64,
        time_unit: Duration,
        stages: &[Stage],
    ) -> Self {
        let value = tuple.lcd().max(1) as u64;
        Self::ramping(tuple, value, start_rate, time_unit, stages)
    }

    fn striped(
        tuple: &ExecutionTuple,
        max_vus: u64,
        end: i64,
        shape: impl FnOnce(i64) -> Shape,
    ) -> Self {
        let empty = ArrivalSchedule {
            gaps: Vec::new(),
            next_gap: 0,
            end,
            shape: Shape::Empty,
        };
        let Some(tuple) = tuple.with_value(i64::try_from(max_vus).unwrap_or(i64::MAX)) else {
            return empty;
        };
        let (start, gaps, _) = tuple.striped_offsets();
        ArrivalSchedule {
            gaps: gaps.to_vec(),
            next_gap: 0,
            end,
            shape: shape(start),
        }
    }

    fn gap(&mut self) -> i64 {
        let gap = self.gaps[self.next_gap % self.gaps.len()];
        self.next_gap += 1;
        gap
    }
}

impl Iterator for ArrivalSchedule {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        let offset = match &mut self.shape {
            Shape::Empty => return None,
            Shape::Constant { period, gi } => period.checked_mul(*gi)?,
            Shape::Ramping(ramp) => ramp.next_offset()?,
        };
        if offset > self.end {
            self.shape = Shape::Empty;
            return None;
        }
        let gap = self.gap();
        match &mut self.shape {
            Shape::Constant { gi, .. } => *gi += gap,
            Shape::Ramping(ramp) => ramp.i += gap as f64,
            Shape::Empty => {}
        }
        Some(Duration::from_nanos(offset.max(0) as u64))
    }
}

impl Ramp {
    /// The start of iteration `self.i`, moving through stages as needed.
    fn next_offset(&mut self) -> Option<i64> {
        loop {
            let &(to, dur) = self.stages.get(self.stage)?;
            let (from, dur_f) = (self.from, dur as f64);
            if !self.stage_counted {
                self.end_count += if from != to {
                    dur_f * ((to - from) / 2.0 + from)
                } else {
                    dur_f * to
                };
                self.stage_counted = true;
            }
            if self.i <= self.end_count {
                let done = self.i - self.done_so_far;
                let x = if from != to {
                    // Solve the area under the linear ramp for the time.
                    (from * dur_f
                        - non_negative_sqrt(
                            dur_f * (from * from * dur_f + 2.0 * done * (to - from)),
                        ))
                        / (from - to)
                } else {
                    done / to
                };
                return Some((x as i64).saturating_add(self.stage_start));
            }
            self.done_so_far = self.end_count;
            self.from = to;
            self.stage_start = self.stage_start.saturating_add(dur);
            self.stage += 1;
            self.stage_counted = false;
        }
    }
}

/// Rounding can make the radicand a hair below zero; k6 treats it as 0.
fn non_negative_sqrt(f: f64) -> f64 {
    if f.is_sign_negative() {
        0.0
    } else {
        f.sqrt()
    }
}

/// `rate` per `time_unit`, times `share`, in iterations per second.
pub(crate) fn per_second(rate: u64, time_unit: Duration, share: Ratio) -> f64 {
    Ratio::new(
        i128::from(rate) * 1_000_000_000,
        i128::from(nanos(time_unit)),
    )
    .and_then(|r| r.checked_mul(share))
    .map_or_else(
        || rate as f64 * 1e9 / nanos(time_unit) as f64 * share.to_f64(),
        Ratio::to_f64,
    )
}

/// `"maxVUs: 5"` or `"maxVUs: 5-10"`.
pub(crate) fn max_vus_range(pre: u64, max: u64, show_max: bool) -> String {
    if show_max {
        format!("maxVUs: {pre}-{max}")
    } else {
        format!("maxVUs: {pre}")
    }
}
