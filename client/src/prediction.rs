//! Client-side prediction of the player's own avatar, with server
//! reconciliation, after Gabriel Gambetta's "Fast-Paced Multiplayer" and
//! Valve's Source engine.
//!
//! Waiting a round trip to see one's own avatar move feels sluggish, so the
//! client moves it at once with the very code the server runs
//! ([`walk`]: `walk_speed / tick_rate` metres per input, inputs longer than
//! 1 normalised), keeping every input the server has not yet confirmed.
//!
//! Each snapshot says which input the server applied last (`last_input`) and
//! where the avatar was after it. [`Predictor::reconcile`] compares that with
//! what was predicted after the same input (the prediction error, which
//! [`ErrorStats`] can gather), drops the inputs it covers, and replays the
//! rest from the authoritative position. What the client cannot know (walls,
//! other players, lost inputs) is corrected within a round trip, and an
//! input the server treated like the client costs no error at all.
//!
//! A correction moves the predicted position at once; so that the avatar
//! does not visibly snap, the jump is kept as an offset that
//! [`Predictor::decay`] shrinks within about 100 ms, and drawn through
//! [`Predictor::render_position`].
//!
//! The model is the one the server's tick follows: exactly one input per
//! tick, in sequence order. Input sequence numbers compare with wrap-around.

use std::collections::VecDeque;

use gsp_protocol::movement::walk_direction;
use gsp_protocol::snapshot::ack::is_newer;

/// Inputs kept unconfirmed at most; older ones are dropped.
pub const MAX_PENDING: usize = 128;
/// Time in which a visual correction falls to about 5%, seconds.
pub const SMOOTHING_SECS: f32 = 0.1;
/// Corrections longer than this (metres) are not smoothed: a teleport snaps.
pub const MAX_SMOOTHED_CORRECTION: f32 = 2.0;

/// Where one input moves an avatar from `from`, as the server computes it
/// with `step = walk_speed / tick_rate`, without walls. Each component of
/// `mv` is clamped to `-1..=1` as the server does; one that is not a number
/// counts as 0.
pub fn walk(from: [f32; 3], mv: [f32; 2], step: f32) -> [f32; 3] {
    match walk_direction(mv) {
        None => from,
        Some([x, z]) => [from[0] + x * step, from[1] + 0.0 * step, from[2] + z * step],
    }
}

fn distance(a: [f32; 3], b: [f32; 3]) -> f32 {
    (0..3)
        .map(|i| (a[i] - b[i]) * (a[i] - b[i]))
        .sum::<f32>()
        .sqrt()
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    sequence: u32,
    mv: [f32; 2],
    /// The predicted position after this input.
    after: [f32; 3],
}

/// The predicted position of the player's own avatar.
#[derive(Debug, Clone)]
pub struct Predictor {
    step: f32,
    position: [f32; 3],
    pending: VecDeque<Pending>,
    /// The newest input applied, pending or not.
    newest_input: Option<u32>,
    /// The `last_input` of the newest reconcile.
    reconciled: Option<u32>,
    /// Whether a reconcile has given a position yet.
    based: bool,
    correction: [f32; 3],
}

impl Predictor {
    /// A predictor for avatars walking `walk_speed` m/s on a server ticking
    /// `tick_rate` times a second (0 counts as 1). It starts at the origin;
    /// the first [`reconcile`](Self::reconcile) places it.
    pub fn new(walk_speed: f32, tick_rate: u16) -> Self {
        Predictor {
            // The server's own arithmetic: walk_speed * (1 / rate), in f32.
            step: walk_speed * (1.0 / f32::from(tick_rate.max(1))),
            position: [0.0; 3],
            pending: VecDeque::with_capacity(MAX_PENDING),
            newest_input: None,
            reconciled: None,
            based: false,
            correction: [0.0; 3],
        }
    }

    /// Applies input `sequence` (move `mv`, x and z) to the prediction and
    /// keeps it until the server confirms it; returns the predicted position.
    /// An input not newer than every one before (a repeat) is ignored.
    pub fn apply_input(&mut self, sequence: u32, mv: [f32; 2]) -> [f32; 3] {
        let stale = |seen: Option<u32>| seen.is_some_and(|s| !is_newer(sequence, s));
        if stale(self.newest_input) || stale(self.reconciled) {
            return self.position;
        }
        self.newest_input = Some(sequence);
        self.position = walk(self.position, mv, self.step);
        if self.pending.len() == MAX_PENDING {
            self.pending.pop_front();
        }
        self.pending.push_back(Pending {
            sequence,
            mv,
            after: self.position,
        });
        self.position
    }

    /// Takes the server's word that after input `last_input` the avatar was
    /// at `authoritative`. Returns the prediction error (metres) if the
    /// prediction after `last_input` was still held, then drops the inputs
    /// up to `last_input` and replays the rest from `authoritative`. A
    /// `last_input` older than the previous reconcile's is ignored (a late
    /// snapshot), as is a non-finite position.
    pub fn reconcile(&mut self, last_input: u32, authoritative: [f32; 3]) -> Option<f32> {
        if self.reconciled.is_some_and(|r| is_newer(r, last_input))
            || !authoritative.iter().all(|c| c.is_finite())
        {
            return None;
        }
        self.reconciled = Some(last_input);
        let error = self
            .pending
            .iter()
            .find(|p| p.sequence == last_input)
            .map(|p| distance(p.after, authoritative));
        while self
            .pending
            .front()
            .is_some_and(|p| !is_newer(p.sequence, last_input))
        {
            self.pending.pop_front();
        }
        let before = self.position;
        let mut position = authoritative;
        for p in &mut self.pending {
            position = walk(position, p.mv, self.step);
            p.after = position;
        }
        self.position = position;
        let jump: [f32; 3] = std::array::from_fn(|i| before[i] - position[i]);
        let offset: [f32; 3] = std::array::from_fn(|i| self.correction[i] + jump[i]);
        self.correction = if self.based && distance(offset, [0.0; 3]) <= MAX_SMOOTHED_CORRECTION {
            offset
        } else {
            [0.0; 3]
        };
        self.based = true;
        error
    }

    /// The predicted position, metres.
    pub fn position(&self) -> [f32; 3] {
        self.position
    }

    /// Where to draw the avatar: the predicted position plus what is left
    /// of recent corrections.
    pub fn render_position(&self) -> [f32; 3] {
        std::array::from_fn(|i| self.position[i] + self.correction[i])
    }

    /// Lets `dt_secs` seconds of the visual correction pass.
    pub fn decay(&mut self, dt_secs: f32) {
        if dt_secs.is_nan() || dt_secs <= 0.0 {
            return;
        }
        let keep = (-3.0 * dt_secs / SMOOTHING_SECS).exp();
        self.correction = self.correction.map(|c| c * keep);
        if distance(self.correction, [0.0; 3]) < 1e-4 {
            self.correction = [0.0; 3];
        }
    }

    /// How many inputs wait for the server's confirmation.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// Prediction errors, gathered for reports.
#[derive(Debug, Clone, Default)]
pub struct ErrorStats {
    samples: Vec<f32>,
}

impl ErrorStats {
    /// No samples yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one error, metres; a non-finite one is ignored.
    pub fn record(&mut self, error: f32) {
        if error.is_finite() {
            self.samples.push(error);
        }
    }

    /// Adds every error `other` recorded.
    pub fn merge(&mut self, other: &ErrorStats) {
        self.samples.extend_from_slice(&other.samples);
    }

    /// How many errors were recorded.
    pub fn count(&self) -> usize {
        self.samples.len()
    }

    /// The mean error (`None` without samples).
    pub fn mean(&self) -> Option<f32> {
        let n = self.samples.len();
        (n > 0).then(|| (self.samples.iter().map(|&e| f64::from(e)).sum::<f64>() / n as f64) as f32)
    }

    /// The 99th percentile, nearest rank (`None` without samples).
    pub fn p99(&self) -> Option<f32> {
        let mut sorted = self.samples.clone();
        sorted.sort_by(f32::total_cmp);
        let rank = (sorted.len() * 99).div_ceil(100);
        sorted.get(rank.checked_sub(1)?).copied()
    }

    /// The share of errors at most `limit` (`None` without samples).
    pub fn share_at_most(&self, limit: f32) -> Option<f64> {
        let n = self.samples.len();
        (n > 0).then(|| self.samples.iter().filter(|&&e| e <= limit).count() as f64 / n as f64)
    }

    /// The largest error (`None` without samples).
    pub fn max(&self) -> Option<f32> {
        self.samples.iter().copied().reduce(f32::max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEED: f32 = 3.0;
    const RATE: u16 = 30;

    /// The server's move, with a wall at x = `wall` it slides along.
    fn server_walk(from: [f32; 3], mv: [f32; 2], wall: f32) -> [f32; 3] {
        let step = SPEED * (1.0 / f32::from(RATE));
        let to = walk(from, mv, step);
        [to, [to[0], from[1], from[2]], [from[0], from[1], to[2]]]
            .into_iter()
            .find(|p| p[0] <= wall)
            .unwrap_or(from)
    }

    /// Plays `inputs` from `first`, the server confirming each input `lag`
    /// inputs later. Returns the errors and the predictor.
    fn play(first: u32, inputs: &[[f32; 2]], wall: f32, lag: usize) -> (Vec<f32>, Predictor) {
        let mut p = Predictor::new(SPEED, RATE);
        let start = [1.0, 0.0, -2.0];
        assert_eq!(p.reconcile(first.wrapping_sub(1), start), None);
        let mut server = vec![start];
        let mut errors = Vec::new();
        for (i, &mv) in inputs.iter().enumerate() {
            let seq = first.wrapping_add(i as u32);
            let predicted = p.apply_input(seq, mv);
            assert_eq!(predicted, p.position());
            server.push(server_walk(server[i], mv, wall));
            if i >= lag {
                let seen = first.wrapping_add((i - lag) as u32);
                errors.extend(p.reconcile(seen, server[i - lag + 1]));
                assert_eq!(p.pending(), lag);
            }
        }
        (errors, p)
    }

    fn wander(n: usize) -> Vec<[f32; 2]> {
        (0..n)
            .map(|i| {
                let a = i as f32 * 0.37;
                [a.cos() * 1.3, a.sin() * 0.8]
            })
            .collect()
    }

    #[test]
    fn a_server_like_us_gives_no_error() {
        let (errors, p) = play(1, &wander(100), f32::INFINITY, 4);
        assert_eq!(errors.len(), 96);
        assert!(errors.iter().all(|&e| e == 0.0), "{errors:?}");
        assert_eq!(p.render_position(), p.position());
    }

    #[test]
    fn a_wall_costs_one_error_then_predictions_match() {
        // Walk +x into a wall at x = 1.45 (step 0.1 from 1.0), then along it.
        let mut inputs = vec![[1.0, 0.0]; 5];
        inputs.extend(vec![[0.0, 1.0]; 20]);
        let (errors, p) = play(1, &inputs, 1.45, 3);
        let wrong: Vec<usize> = (0..errors.len()).filter(|&i| errors[i] > 0.0).collect();
        assert_eq!(wrong, vec![4], "{errors:?}");
        assert!((errors[4] - 0.1).abs() < 1e-4);
        assert!((p.position()[0] - 1.4).abs() < 1e-4);
        // The correction is smoothed, then gone.
        let mut q = Predictor::new(SPEED, RATE);
        q.reconcile(0, [0.0; 3]);
        q.apply_input(1, [1.0, 0.0]);
        assert!(q
            .reconcile(1, [0.0; 3])
            .is_some_and(|e| (e - 0.1).abs() < 1e-6));
        assert!((q.render_position()[0] - 0.1).abs() < 1e-6);
        q.decay(0.05);
        assert!(q.render_position()[0] > 0.0 && q.render_position()[0] < 0.05);
        q.decay(0.2);
        assert_eq!(q.render_position(), [0.0; 3]);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let (errors, p) = play(u32::MAX - 10, &wander(40), f32::INFINITY, 2);
        assert_eq!(errors.len(), 38);
        assert!(errors.iter().all(|&e| e == 0.0));
        assert_eq!(p.pending(), 2);
    }

    #[test]
    fn late_reconciles_and_repeated_inputs_are_ignored() {
        let mut p = Predictor::new(SPEED, RATE);
        assert_eq!(p.reconcile(0, [5.0, 0.0, 5.0]), None);
        assert_eq!(p.position(), [5.0, 0.0, 5.0]);
        let mut after_8 = [0.0; 3];
        for seq in 1..=10 {
            let at = p.apply_input(seq, [0.0, -1.0]);
            if seq == 8 {
                after_8 = at;
            }
        }
        let at = p.position();
        assert_eq!(p.apply_input(7, [1.0, 0.0]), at);
        assert_eq!(p.pending(), 10);
        assert_eq!(p.reconcile(8, after_8), Some(0.0));
        assert_eq!(p.reconcile(6, [0.0; 3]), None);
        assert_eq!(p.reconcile(7, [0.0; 3]), None);
        assert_eq!(p.reconcile(9, [f32::NAN; 3]), None);
        assert_eq!(p.pending(), 2);
        assert_eq!(p.position(), at);
        for seq in 11..400 {
            p.apply_input(seq, [0.0, 0.0]);
        }
        assert_eq!(p.pending(), MAX_PENDING);
    }

    #[test]
    fn error_stats() {
        let mut s = ErrorStats::new();
        assert_eq!((s.mean(), s.p99(), s.max()), (None, None, None));
        for i in 1..=200 {
            s.record(i as f32);
        }
        s.record(f32::NAN);
        assert_eq!(s.count(), 200);
        assert_eq!(s.mean(), Some(100.5));
        assert_eq!(s.p99(), Some(198.0));
        assert_eq!(s.max(), Some(200.0));
    }
}
