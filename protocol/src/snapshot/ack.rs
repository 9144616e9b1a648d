//! Which snapshot sequence numbers arrived: the newest and a bitfield of the
//! 64 before it, as in Glenn Fiedler's "Reliability and Flow Control".
//!
//! Sequence numbers are `u32`, start at 1 and compare with wrap-around; 0
//! means "none". The client records each snapshot it decodes and sends
//! [`AckWindow::wire`] with every input; the server [`AckWindow::merge`]s
//! what it receives, so a lost ack costs nothing while a later one arrives.

/// A window of received sequence numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckWindow {
    newest: u32,
    /// Bit `i` set: `newest - 1 - i` was received.
    bits: u64,
}

/// Whether `a` comes after `b`, with wrap-around.
#[inline]
pub fn is_newer(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The sequence number after `seq`, skipping 0.
#[inline]
pub fn next_sequence(seq: u32) -> u32 {
    match seq.wrapping_add(1) {
        0 => 1,
        n => n,
    }
}

impl AckWindow {
    /// An empty window.
    pub fn new() -> Self {
        Self::default()
    }

    /// The newest sequence received (0 if none).
    pub fn newest(&self) -> u32 {
        self.newest
    }

    /// The window as sent on the wire: (newest, bits).
    pub fn wire(&self) -> (u32, u64) {
        (self.newest, self.bits)
    }

    /// Records that `seq` arrived (0 is ignored).
    pub fn record(&mut self, seq: u32) {
        if seq == 0 {
            return;
        }
        if self.newest == 0 {
            self.newest = seq;
            self.bits = 0;
            return;
        }
        let d = seq.wrapping_sub(self.newest);
        if d == 0 {
            return;
        }
        if is_newer(seq, self.newest) {
            self.bits = if d > 64 {
                0
            } else if d == 64 {
                1 << 63
            } else {
                (self.bits << d) | (1 << (d - 1))
            };
            self.newest = seq;
        } else {
            let back = self.newest.wrapping_sub(seq);
            if (1..=64).contains(&back) {
                self.bits |= 1 << (back - 1);
            }
        }
    }

    /// Records everything another window holds.
    pub fn merge(&mut self, newest: u32, bits: u64) {
        self.record(newest);
        let mut rest = bits;
        while rest != 0 {
            let i = rest.trailing_zeros();
            rest &= rest - 1;
            self.record(newest.wrapping_sub(i + 1));
        }
    }

    /// Whether `seq` is recorded (only the newest and the 64 before it are known).
    pub fn contains(&self, seq: u32) -> bool {
        if seq == 0 || self.newest == 0 {
            return false;
        }
        let back = self.newest.wrapping_sub(seq);
        back == 0 || ((1..=64).contains(&back) && self.bits & (1 << (back - 1)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wraps_and_skips_zero() {
        assert_eq!(next_sequence(u32::MAX), 1);
        assert!(is_newer(1, u32::MAX));
        let mut w = AckWindow::new();
        w.record(u32::MAX);
        w.record(1);
        assert!(w.contains(u32::MAX) && w.contains(1));
        assert!(!w.contains(0));
    }

    proptest! {
        #[test]
        fn window_matches_a_set(base in any::<u32>(), offsets in proptest::collection::vec(0u32..200, 1..50)) {
            let mut w = AckWindow::new();
            let seqs: Vec<u32> = offsets.iter().map(|o| base.wrapping_add(*o) | 1).collect();
            for &s in &seqs { w.record(s); }
            let newest = seqs.iter().copied().reduce(|a, b| if is_newer(b, a) { b } else { a }).unwrap();
            prop_assert_eq!(w.newest(), newest);
            for &s in &seqs {
                let back = newest.wrapping_sub(s);
                prop_assert_eq!(w.contains(s), back <= 64, "seq {} back {}", s, back);
            }
            // Merging the wire form into an empty window gives the same window.
            let mut copy = AckWindow::new();
            let (n, b) = w.wire();
            copy.merge(n, b);
            prop_assert_eq!(copy, w);
        }
    }
}
