//! k6's `SegmentedIndex`: walks a segment's items (VUs, iterations) in
//! step with their positions in the unsegmented test.

use super::ExecutionTuple;

/// An iterator over a segment's items giving both the segment-local count
/// (`scaled`) and the global position (`unscaled`); both start at 1 for the
/// first item, and `(0, 0)` means "before the first".
#[derive(Debug, Clone)]
pub struct SegmentedIndex {
    start: i64,
    lcd: i64,
    gaps: Vec<i64>,
    scaled: i64,
    unscaled: i64,
}

impl SegmentedIndex {
    /// An index positioned before the first item of `tuple`'s segment.
    pub fn new(tuple: &ExecutionTuple) -> Self {
        let (start, gaps, lcd) = tuple.striped_offsets();
        SegmentedIndex {
            start,
            lcd,
            gaps: gaps.to_vec(),
            scaled: 0,
            unscaled: 0,
        }
    }

    /// Current `(scaled, unscaled)`.
    pub fn current(&self) -> (i64, i64) {
        (self.scaled, self.unscaled)
    }

    /// Moves to the segment's next item (k6 `Next`).
    pub fn forward(&mut self) -> (i64, i64) {
        if self.scaled == 0 {
            self.unscaled += self.start + 1;
        } else {
            self.unscaled += self.gaps[((self.scaled - 1) as usize) % self.gaps.len()];
        }
        self.scaled += 1;
        (self.scaled, self.unscaled)
    }

    /// Moves back to the previous item (k6 `Prev`); must not be called at `(0, 0)`.
    pub fn back(&mut self) -> (i64, i64) {
        if self.scaled == 1 {
            self.unscaled -= self.start + 1;
        } else {
            self.unscaled -= self.gaps[((self.scaled - 2) as usize) % self.gaps.len()];
        }
        self.scaled -= 1;
        (self.scaled, self.unscaled)
    }

    /// Moves to the last item whose global position is at most `value`.
    pub fn go_to(&mut self, value: i64) -> (i64, i64) {
        let whole_cycles = value / self.lcd;
        self.scaled = whole_cycles * self.gaps.len() as i64;
        self.unscaled = whole_cycles * self.lcd + self.start + 1;
        let mut gi = 0usize;
        let mut i = self.start;
        while i < value % self.lcd {
            self.scaled += 1;
            self.unscaled += self.gaps[gi];
            i += self.gaps[gi];
            gi += 1;
        }
        if gi > 0 {
            // The loop added one gap too many: it moved past the last item.
            self.unscaled -= self.gaps[gi - 1];
        } else if self.scaled > 0 {
            self.unscaled -= self.gaps[self.gaps.len() - 1];
        }
        if self.scaled == 0 {
            self.unscaled = 0;
        }
        (self.scaled, self.unscaled)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(start: i64, lcd: i64, gaps: &[i64]) -> SegmentedIndex {
        SegmentedIndex {
            start,
            lcd,
            gaps: gaps.to_vec(),
            scaled: 0,
            unscaled: 0,
        }
    }

    /// k6 `TestSegmentedIndex`.
    #[test]
    fn walks_like_k6() {
        let mut s = index(0, 1, &[1]);
        let steps = [
            s.forward(),
            s.back(),
            s.forward(),
            s.forward(),
            s.forward(),
            s.back(),
            s.back(),
            s.forward(),
        ];
        assert_eq!(
            steps,
            [
                (1, 1),
                (0, 0),
                (1, 1),
                (2, 2),
                (3, 3),
                (2, 2),
                (1, 1),
                (2, 2)
            ]
        );

        let mut s = index(0, 2, &[2]);
        let steps = [
            s.forward(),
            s.back(),
            s.forward(),
            s.forward(),
            s.forward(),
            s.back(),
            s.back(),
            s.back(),
            s.forward(),
        ];
        assert_eq!(
            steps,
            [
                (1, 1),
                (0, 0),
                (1, 1),
                (2, 3),
                (3, 5),
                (2, 3),
                (1, 1),
                (0, 0),
                (1, 1)
            ]
        );

        let mut s = index(1, 2, &[2]);
        let steps = [
            s.forward(),
            s.back(),
            s.forward(),
            s.forward(),
            s.forward(),
            s.back(),
            s.back(),
            s.back(),
            s.forward(),
        ];
        assert_eq!(
            steps,
            [
                (1, 2),
                (0, 0),
                (1, 2),
                (2, 4),
                (3, 6),
                (2, 4),
                (1, 2),
                (0, 0),
                (1, 2)
            ]
        );

        let mut s = index(1, 7, &[4, 3]);
        let steps = [
            s.forward(),
            s.back(),
            s.forward(),
            s.forward(),
            s.forward(),
            s.back(),
            s.back(),
            s.back(),
            s.forward(),
        ];
        assert_eq!(
            steps,
            [
                (1, 2),
                (0, 0),
                (1, 2),
                (2, 6),
                (3, 9),
                (2, 6),
                (1, 2),
                (0, 0),
                (1, 2)
            ]
        );
        let gotos = [
            s.go_to(6),
            s.go_to(5),
            s.go_to(7),
            s.go_to(8),
            s.go_to(9),
            s.back(),
            s.back(),
            s.back(),
        ];
        assert_eq!(
            gotos,
            [
                (2, 6),
                (1, 2),
                (2, 6),
                (2, 6),
                (3, 9),
                (2, 6),
                (1, 2),
                (0, 0)
            ]
        );
    }
}
