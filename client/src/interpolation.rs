//! Entity interpolation: draw other entities a little in the past, between
//! two states the server actually sent, and keep a clock of the server's tick.
//!
//! Snapshots arrive at the tick rate at best, late, out of order or not at
//! all, and under the bandwidth budget not every entity is updated in every
//! snapshot. Drawing each entity at its newest state would stutter. Instead,
//! as in Valve's Source engine ("entity interpolation") and Glenn Fiedler's
//! "Snapshot Interpolation", the client renders at a **render tick** a few
//! ticks behind the server ([`ServerClock::render_tick`]), where two samples
//! usually bracket it:
//!
//! * [`Interpolator::push_view`] keeps, per entity, up to [`MAX_SAMPLES`]
//!   samples `(tick, position, rotation)` sorted by tick. A sample is stamped
//!   with the tick its state was *sampled* at ([`ViewEntity::tick`]), not
//!   the snapshot's tick, so an entity the budget left out for a few ticks
//!   still moves smoothly across the gap. Late views fill gaps in order. The newest
//!   view decides membership: entities it lacks are forgotten, and an entity
//!   whose kind changed, or that was created again, starts a new history.
//! * [`Interpolator::sample`] lerps positions and normalised-lerps rotations
//!   (shortest arc) between the bracketing samples; before the first it
//!   holds the first; after the last it extrapolates from the last two for
//!   at most [`Interpolator::max_extrapolation_ticks`], then holds.
//!
//! "No news" is ambiguous: an entity absent from a snapshot's updates is
//! either unchanged (the sender skips unchanged entities) or waiting for
//! budget. Two rules make resting entities look right without hurting moving
//! ones. Past its last sample, an entity is extrapolated only if no newer
//! snapshot listed it unchanged; otherwise it is at rest, and is held. And
//! when an entity listed unchanged for at least [`REST_TICKS`] ticks moves
//! again, a copy of its resting sample is added at the last tick it was
//! listed, so it does not creep across the whole rest towards where it went.
//!
//! Ticks compare as plain integers: at 30 Hz a `u32` lasts over four years.
//!
//! [`ViewEntity::tick`]: gsp_protocol::snapshot::ViewEntity::tick

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use gsp_protocol::snapshot::{QState, Quantizer, View};

/// Samples kept per entity.
pub const MAX_SAMPLES: usize = 32;
/// Samples more than this many ticks older than an entity's newest are dropped.
pub const MAX_AGE_TICKS: u32 = 64;
/// Ticks an entity must have been listed unchanged to count as having rested.
pub const REST_TICKS: u32 = 8;

/// One entity's state at one tick, in floats.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sample {
    tick: u32,
    position: [f32; 3],
    rotation: [f32; 4],
}

#[derive(Debug, Clone)]
struct Track {
    kind: u8,
    /// Sorted by tick, no repeats, never empty.
    samples: Vec<Sample>,
    /// The newest snapshot tick (from newest views) that listed the entity.
    listed: u32,
}

impl Track {
    fn add(&mut self, s: Sample) {
        if let Err(i) = self.samples.binary_search_by_key(&s.tick, |x| x.tick) {
            self.samples.insert(i, s);
        }
        let Some(newest) = self.samples.last().map(|x| x.tick) else {
            return;
        };
        let stale = self
            .samples
            .partition_point(|x| newest - x.tick > MAX_AGE_TICKS)
            .max(self.samples.len().saturating_sub(MAX_SAMPLES));
        self.samples.drain(..stale);
    }

    fn at(&self, render: f64, max_extrapolation: f64) -> Option<Sample> {
        let first = *self.samples.first()?;
        if render.is_nan() || render <= f64::from(first.tick) {
            return Some(first);
        }
        // At least one sample (the first) is at or before `render`.
        let i = self
            .samples
            .partition_point(|x| f64::from(x.tick) <= render);
        if let Some(&b) = self.samples.get(i) {
            let a = self.samples[i - 1];
            let t = (render - f64::from(a.tick)) / f64::from(b.tick - a.tick);
            return Some(blend(&a, &b, t));
        }
        let last = self.samples[i - 1];
        if i < 2 || self.listed > last.tick {
            return Some(last);
        }
        let a = self.samples[i - 2];
        let ahead = (render - f64::from(last.tick)).min(max_extrapolation.max(0.0));
        Some(blend(
            &a,
            &last,
            1.0 + ahead / f64::from(last.tick - a.tick),
        ))
    }
}

/// `a` at `t = 0`, `b` at `t = 1`, beyond 1 extrapolated.
fn blend(a: &Sample, b: &Sample, t: f64) -> Sample {
    let t = t as f32;
    let position = std::array::from_fn(|i| a.position[i] + (b.position[i] - a.position[i]) * t);
    // q and -q are the same rotation: take the shorter way round.
    let dot: f32 = a.rotation.iter().zip(b.rotation).map(|(x, y)| x * y).sum();
    let sign = if dot < 0.0 { -1.0 } else { 1.0 };
    let q: [f32; 4] =
        std::array::from_fn(|i| a.rotation[i] + (b.rotation[i] * sign - a.rotation[i]) * t);
    let len = q.iter().map(|c| c * c).sum::<f32>().sqrt();
    let rotation = if len.is_finite() && len > 1e-6 {
        q.map(|c| c / len)
    } else {
        b.rotation
    };
    Sample {
        tick: b.tick,
        position,
        rotation,
    }
}

/// An entity as it should be drawn at the render tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RenderEntity {
    /// The entity's wire id.
    pub id: u32,
    /// Its kind, as the server sent it.
    pub kind: u8,
    /// Position, metres.
    pub position: [f32; 3],
    /// Rotation, unit quaternion (x, y, z, w).
    pub rotation: [f32; 4],
}

/// Histories of entity states, and interpolation between them.
#[derive(Debug, Clone)]
pub struct Interpolator {
    /// How far past an entity's last sample it is extrapolated, in ticks,
    /// before it is held (0 or less: never extrapolate).
    pub max_extrapolation_ticks: f64,
    tracks: BTreeMap<u32, Track>,
    newest: Option<u32>,
}

impl Default for Interpolator {
    /// Extrapolates at most 3 ticks.
    fn default() -> Self {
        Interpolator::new(3.0)
    }
}

impl Interpolator {
    /// An empty interpolator extrapolating at most `max_extrapolation_ticks`.
    pub fn new(max_extrapolation_ticks: f64) -> Self {
        Interpolator {
            max_extrapolation_ticks,
            tracks: BTreeMap::new(),
            newest: None,
        }
    }

    /// Adds a view's samples. `newest` says whether it is the newest view
    /// received so far ([`Receipt::Newest`](gsp_protocol::snapshot::Receipt)):
    /// only then does it add and remove entities; an older view only fills
    /// gaps in the histories of entities still known, with the same kind.
    pub fn push_view(&mut self, view: &View, q: &Quantizer, newest: bool) {
        if newest {
            self.newest = Some(self.newest.map_or(view.tick, |n| n.max(view.tick)));
            self.tracks.retain(|id, _| view.get(*id).is_some());
        }
        let sample = |tick, s: &QState| Sample {
            tick,
            position: q.position_of(s.position),
            rotation: q.rotation_of(s.rotation),
        };
        for e in &view.entities {
            let fresh = || Track {
                kind: e.kind,
                samples: Vec::with_capacity(MAX_SAMPLES),
                listed: view.tick,
            };
            if newest {
                self.tracks.entry(e.id).or_insert_with(fresh);
            }
            let Some(track) = self.tracks.get_mut(&e.id) else {
                continue;
            };
            if let Some(last) = track.samples.last().copied() {
                // A create record is the only way previous_tick equals tick: a
                // new one after what we hold is a new entity under the same id.
                let recreated = e.previous_tick == e.tick && e.tick > last.tick;
                if track.kind != e.kind || recreated {
                    if !newest {
                        continue;
                    }
                    *track = fresh();
                } else if newest
                    && track.listed >= last.tick.saturating_add(REST_TICKS)
                    && track.listed < e.tick
                {
                    track.add(Sample {
                        tick: track.listed,
                        ..last
                    });
                }
            }
            if e.previous_tick != e.tick {
                track.add(sample(e.previous_tick, &e.previous));
            }
            track.add(sample(e.tick, &e.state));
            if newest {
                track.listed = track.listed.max(view.tick);
            }
        }
    }

    /// Every entity as it should be drawn at `render_tick`, sorted by id,
    /// into `out` (cleared first).
    pub fn sample(&self, render_tick: f64, out: &mut Vec<RenderEntity>) {
        out.clear();
        for (&id, track) in &self.tracks {
            if let Some(s) = track.at(render_tick, self.max_extrapolation_ticks) {
                out.push(RenderEntity {
                    id,
                    kind: track.kind,
                    position: s.position,
                    rotation: s.rotation,
                });
            }
        }
    }

    /// How many entities are known.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// Whether no entity is known.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// The tick of the newest view pushed as newest, if any.
    pub fn newest_tick(&self) -> Option<u32> {
        self.newest
    }
}

/// Observations older than this do not count towards the clock's estimate.
const CLOCK_WINDOW: Duration = Duration::from_secs(1);
/// Time constant with which the estimate rises to a higher offset, seconds.
const CLOCK_RISE_SECS: f64 = 0.1;
/// Time constant with which it falls to a lower one, seconds.
const CLOCK_FALL_SECS: f64 = 2.0;
/// An offset this many seconds' worth of ticks away resynchronises at once.
const CLOCK_RESYNC_SECS: f64 = 1.0;

/// Seconds from `origin` to `at`, negative if `at` is earlier.
fn seconds(origin: Instant, at: Instant) -> f64 {
    match at.checked_duration_since(origin) {
        Some(d) => d.as_secs_f64(),
        None => -origin.duration_since(at).as_secs_f64(),
    }
}

/// An estimate of the server's tick, from when snapshots arrive.
///
/// Each snapshot of tick `t` arriving `s` seconds after the first implies an
/// offset `t - s * rate`: the tick the server was at when the clock started,
/// minus the snapshot's delay. Delays only add, so the *largest* offset of
/// the last second (the snapshot that came fastest) is the best estimate,
/// and late snapshots say little. The estimate rises to that maximum quickly
/// (time constant 0.1 s) and falls slowly (2 s), so a jittery network does
/// not pull the clock back and forth, while a lasting change of latency or
/// clock drift is followed. When the window's maximum is more than a
/// second's worth of ticks away from the estimate (a restarted server, a
/// stall), the estimate jumps to it; a single very late snapshot cannot do
/// that, as it is never the maximum.
///
/// [`ServerClock::tick_at`] is thus the newest tick whose snapshot could
/// have arrived by then: interpolate a little behind it.
#[derive(Debug, Clone)]
pub struct ServerClock {
    rate: f64,
    origin: Option<Instant>,
    /// Recent (arrival, offset) with offsets decreasing: the front is the
    /// largest of the window.
    window: VecDeque<(Instant, f64)>,
    estimate: f64,
    updated: Option<Instant>,
}

impl ServerClock {
    /// A clock for a server ticking `tick_rate` times a second (0 counts as 1).
    pub fn new(tick_rate: u16) -> Self {
        ServerClock {
            rate: f64::from(tick_rate.max(1)),
            origin: None,
            window: VecDeque::new(),
            estimate: 0.0,
            updated: None,
        }
    }

    /// Records a snapshot of `tick` arriving `at`. Arrival times should not
    /// go backwards; one that does counts as arriving with the latest.
    pub fn observe(&mut self, tick: u32, at: Instant) {
        let at = self.updated.map_or(at, |u| at.max(u));
        let origin = *self.origin.get_or_insert(at);
        let offset = f64::from(tick) - seconds(origin, at) * self.rate;
        let Some(updated) = self.updated.replace(at) else {
            self.estimate = offset;
            self.window.push_back((at, offset));
            return;
        };
        while self.window.back().is_some_and(|&(_, o)| o <= offset) {
            self.window.pop_back();
        }
        self.window.push_back((at, offset));
        while self
            .window
            .front()
            .is_some_and(|&(t, _)| t + CLOCK_WINDOW < at)
        {
            self.window.pop_front();
        }
        let target = self.window.front().map_or(offset, |&(_, o)| o);
        let gap = target - self.estimate;
        if gap.abs() > CLOCK_RESYNC_SECS * self.rate {
            self.estimate = target;
            return;
        }
        let dt = at.duration_since(updated).as_secs_f64();
        let tau = if gap > 0.0 {
            CLOCK_RISE_SECS
        } else {
            CLOCK_FALL_SECS
        };
        self.estimate += gap * (1.0 - (-dt / tau).exp());
    }

    /// The server's tick at `at`, as a real number (`None` before any snapshot).
    pub fn tick_at(&self, at: Instant) -> Option<f64> {
        let origin = self.origin?;
        Some(self.estimate + seconds(origin, at) * self.rate)
    }

    /// The tick to render at `at`: [`tick_at`](Self::tick_at) less `delay`.
    pub fn render_tick(&self, at: Instant, delay: Duration) -> Option<f64> {
        Some(self.tick_at(at)? - delay.as_secs_f64() * self.rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gsp_protocol::snapshot::{ViewEntity, IDENTITY};

    /// Pushes a view of `tick` holding, per `(id, tick, x, previous tick,
    /// previous x)`, an entity of kind 1 at `(x, 0, 0)`.
    fn push(interp: &mut Interpolator, tick: u32, es: &[(u32, u32, f32, u32, f32)], newest: bool) {
        let q = Quantizer::default();
        let state = |x| QState {
            position: q.position([x, 0.0, 0.0]),
            rotation: q.rotation(IDENTITY),
            velocity: None,
        };
        let entities = es.iter().map(|&(id, t, x, pt, px)| ViewEntity {
            id,
            kind: 1,
            generation: 0,
            state: state(x),
            tick: t,
            previous: state(px),
            previous_tick: pt,
        });
        let view = View {
            sequence: tick,
            tick,
            entities: entities.collect(),
        };
        interp.push_view(&view, &q, newest);
    }

    /// Whether the first entity is at `x` at `tick`.
    fn at(interp: &Interpolator, tick: f64, x: f32) -> bool {
        let mut out = Vec::new();
        interp.sample(tick, &mut out);
        (out[0].position[0] - x).abs() < 0.01
    }

    #[test]
    fn interpolates_and_late_views_fill_gaps() {
        let mut interp = Interpolator::default();
        push(&mut interp, 10, &[(1, 10, 0.0, 10, 0.0)], true);
        push(&mut interp, 14, &[(1, 14, 6.0, 10, 0.0)], true);
        assert!(at(&interp, 12.0, 3.0) && at(&interp, 5.0, 0.0));
        push(&mut interp, 12, &[(1, 12, 5.0, 10, 0.0)], false);
        assert!(at(&interp, 13.0, 5.5) && at(&interp, 11.0, 2.5));
        assert_eq!(interp.newest_tick(), Some(14));
    }

    #[test]
    fn extrapolates_a_bounded_time_then_holds() {
        let mut interp = Interpolator::default();
        push(&mut interp, 11, &[(1, 11, 1.0, 10, 0.0)], true);
        assert!(at(&interp, 13.0, 3.0) && at(&interp, 14.0, 4.0) && at(&interp, 20.0, 4.0));
        // A newer snapshot listing it unchanged: it is at rest, not moving.
        push(&mut interp, 12, &[(1, 11, 1.0, 10, 0.0)], true);
        assert!(at(&interp, 14.0, 1.0));
        // When it moves after a rest, it does not creep across the rest.
        for tick in 13..=30 {
            push(&mut interp, tick, &[(1, 11, 1.0, 10, 0.0)], true);
        }
        push(&mut interp, 31, &[(1, 31, 2.0, 11, 1.0)], true);
        assert!(at(&interp, 20.0, 1.0) && at(&interp, 30.5, 1.5));
    }

    #[test]
    fn the_newest_view_decides_membership() {
        let mut interp = Interpolator::default();
        let both = [(1, 10, 0.0, 10, 0.0), (2, 10, 5.0, 10, 5.0)];
        push(&mut interp, 10, &both, true);
        push(&mut interp, 11, &[(1, 11, 1.0, 10, 0.0)], true);
        // A late view does not bring the removed entity back.
        push(&mut interp, 10, &both, false);
        assert_eq!(interp.len(), 1);
        // A create record (previous tick = tick) is a new entity: no interpolation.
        push(&mut interp, 13, &[(1, 13, 20.0, 13, 20.0)], true);
        assert!(at(&interp, 10.5, 20.0));
        push(&mut interp, 14, &[], true);
        assert!(interp.is_empty());
        let mut out = Vec::new();
        push(
            &mut interp,
            15,
            &[(3, 15, 1.0, 15, 1.0), (4, 15, 2.0, 15, 2.0)],
            true,
        );
        interp.sample(15.0, &mut out);
        interp.sample(15.0, &mut out);
        assert_eq!(out.iter().map(|e| e.id).collect::<Vec<_>>(), [3, 4]);
    }

    #[test]
    fn histories_are_bounded() {
        let mut interp = Interpolator::default();
        for t in 1..200 {
            let x = t as f32;
            push(&mut interp, t, &[(1, t, x, t - 1, x - 1.0)], true);
        }
        let ticks: Vec<u32> = interp.tracks[&1].samples.iter().map(|s| s.tick).collect();
        assert_eq!(ticks, (168..200).collect::<Vec<_>>());
    }

    #[test]
    fn rotations_take_the_short_way() {
        let half = |deg: f32| (deg.to_radians() / 2.0).sin_cos();
        let at = |tick, rotation| Sample {
            tick,
            position: [0.0; 3],
            rotation,
        };
        // 190 degrees about y has w < 0: its dot with the identity is < 0.
        let (s, c) = half(190.0);
        let r = blend(&at(0, IDENTITY), &at(2, [0.0, s, 0.0, c]), 0.5).rotation;
        // Halfway the short way is -85 degrees, not +95.
        let (s, c) = half(-85.0);
        assert!((r[1] * s + r[3] * c).abs() > 0.999, "{r:?}");
    }

    #[test]
    fn clock_follows_a_jittery_stream() {
        let start = Instant::now();
        let mut clock = ServerClock::new(30);
        assert_eq!(clock.tick_at(start), None);
        // Tick k leaves at k/30 s and arrives 50 ms later plus up to 60 ms of
        // jitter (so some arrive out of order); now and then 300 ms late.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut arrivals: Vec<(Duration, u32)> = Vec::new();
        for k in 0..300u32 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let late = if k % 37 == 0 { 0.3 } else { 0.0 };
            let delay = 0.05 + (seed % 60) as f64 / 1000.0 + late;
            arrivals.push((
                Duration::from_secs_f64(f64::from(k) / 30.0 + delay),
                1000 + k,
            ));
        }
        arrivals.sort();
        for &(at, tick) in &arrivals {
            clock.observe(tick, start + at);
            let secs = at.as_secs_f64();
            // The newest tick that could have arrived by now.
            let ideal = 1000.0 + (secs - 0.05) * 30.0;
            let got = clock.tick_at(start + at).unwrap_or(f64::NAN);
            assert!(secs < 2.0 || (got - ideal).abs() < 1.0, "{secs}: {got}");
        }
        let at = start + Duration::from_secs(12);
        let render = clock.render_tick(at, Duration::from_millis(100));
        assert!(
            matches!((clock.tick_at(at), render), (Some(t), Some(r)) if (t - r - 3.0).abs() < 1e-9)
        );
    }
}
