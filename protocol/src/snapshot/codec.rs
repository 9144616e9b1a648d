//! The snapshot payload: what changed between a baseline view and the next.
//!
//! A [`View`] is everything a client knows about the world at one snapshot:
//! the entities in its interest, sorted by id, each with its quantized state
//! and the state before that. A snapshot payload turns a *baseline* view (one
//! the client acknowledged) into the next view with three sections, each a
//! count and records in increasing id order, ids written as gaps:
//!
//! ```text
//! removes: count, then per entity: id gap
//! creates: count, then per entity: id gap, kind (8), position, rotation, velocity?
//! updates: count, then per entity: id gap, position?, rotation?, velocity?
//! ```
//!
//! An entity the payload does not mention keeps its baseline state, so an
//! unchanged entity costs nothing, and a payload with no changes is empty.
//!
//! An update is coded against a **prediction** both ends can make: each view
//! entry keeps its last two states and the ticks they were sampled at, and
//! the reader extrapolates them linearly, in integers, to the snapshot's
//! tick. What is written is the error of that prediction ([`Residual`]), a
//! few bits for anything that moves smoothly, or the absolute value when the
//! prediction is far off. A field that equals its baseline costs one bit.

use super::bits::{BitReader, BitSink, Overrun, Residual};
use super::quant::{QPosition, QRotation, QVelocity, Quantizer};

/// Ticks of history beyond which an entity's motion is not extrapolated.
const MAX_SPAN: u32 = 32;
/// Ticks ahead beyond which an entity's motion is not extrapolated.
const MAX_AHEAD: u32 = 32;

/// One entity's quantized state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QState {
    /// Position on the grid.
    pub position: QPosition,
    /// Rotation, smallest three.
    pub rotation: QRotation,
    /// Velocity, for entities that send one (fixed when the entity is created).
    pub velocity: Option<QVelocity>,
}

/// One entity in a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViewEntity {
    /// The entity's wire id.
    pub id: u32,
    /// What kind of thing it is (set by the world; avatars, props...).
    pub kind: u8,
    /// The server's identity check for reused ids; never sent, 0 on clients.
    pub generation: u32,
    /// The newest state.
    pub state: QState,
    /// The tick `state` was sampled at.
    pub tick: u32,
    /// The state before `state` (equal to it on creation).
    pub previous: QState,
    /// The tick `previous` was sampled at.
    pub previous_tick: u32,
}

/// What a client knows after one snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct View {
    /// The snapshot's sequence number (0 for the empty view).
    pub sequence: u32,
    /// The tick the snapshot describes.
    pub tick: u32,
    /// The entities, sorted by id.
    pub entities: Vec<ViewEntity>,
}

impl View {
    /// The entity with `id`, if the view holds it.
    pub fn get(&self, id: u32) -> Option<&ViewEntity> {
        self.entities
            .binary_search_by_key(&id, |e| e.id)
            .ok()
            .map(|i| &self.entities[i])
    }

    /// Empties the view, keeping its capacity.
    pub fn clear(&mut self) {
        self.sequence = 0;
        self.tick = 0;
        self.entities.clear();
    }
}

/// An entity entering the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Create {
    /// Wire id.
    pub id: u32,
    /// Kind.
    pub kind: u8,
    /// Server-side identity check (not sent).
    pub generation: u32,
    /// Its state.
    pub state: QState,
}

/// An entity in the baseline whose state changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Update {
    /// Wire id.
    pub id: u32,
    /// Its new state.
    pub state: QState,
}

/// The changes one payload carries, each list sorted by id. Kept and reused
/// by senders and readers, so steady-state snapshots do not allocate.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Entities leaving the view.
    pub removes: Vec<u32>,
    /// Entities entering it (a create replaces an entity with the same id).
    pub creates: Vec<Create>,
    /// Entities whose state changed.
    pub updates: Vec<Update>,
}

impl Changes {
    /// Empties every list.
    pub fn clear(&mut self) {
        self.removes.clear();
        self.creates.clear();
        self.updates.clear();
    }

    /// Whether there is nothing to say.
    pub fn is_empty(&self) -> bool {
        self.removes.is_empty() && self.creates.is_empty() && self.updates.is_empty()
    }
}

/// Why a payload could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The bits ran out or held an impossible value.
    #[error(transparent)]
    Truncated(#[from] Overrun),
    /// An id overflowed, or a remove or update names an entity not in the baseline.
    #[error("snapshot names entity {0}, which its baseline does not hold")]
    UnknownEntity(u32),
    /// The baseline the snapshot is relative to is not held.
    #[error("baseline snapshot {0} is not held")]
    MissingBaseline(u32),
    /// Bits were left over after the last record.
    #[error("snapshot payload has trailing data")]
    TrailingData,
}

/// The code for position residuals: ±8 steps in 6 bits, ±264 in 12.
fn position_code(q: &Quantizer, axis: usize) -> Residual {
    Residual {
        short: 4,
        long: 9,
        full: q.position_bits()[axis],
    }
}

/// The code for rotation residuals: ±4 steps in 5 bits, ±68 in 10.
fn rotation_code(q: &Quantizer) -> Residual {
    Residual {
        short: 3,
        long: 7,
        full: q.rotation_bits(),
    }
}

/// The code for velocity changes: ±8 steps in 6 bits, ±136 in 11.
fn velocity_code(q: &Quantizer) -> Residual {
    Residual {
        short: 4,
        long: 8,
        full: q.velocity_bits(),
    }
}

/// Fixed-point bits of an extrapolation ratio.
const RATIO_BITS: u32 = 16;

/// `ahead / span` in 16.16 fixed point, rounded: a multiplication where a
/// division would cost ten times more. Both ends use the same integers.
#[inline]
fn ratio(ahead: u32, span: u32) -> i64 {
    ((i64::from(ahead) << RATIO_BITS) + i64::from(span) / 2) / i64::from(span)
}

/// Linear extrapolation in integers: `now + (now - before) × ratio`,
/// rounded, clamped to `0..=max` (values below 2^30, ratio at most 32, so
/// `i64` never overflows and both ends compute the same).
#[inline]
fn extrapolate(now: u32, before: u32, ratio: i64, max: u32) -> u32 {
    let (now, before) = (i64::from(now), i64::from(before));
    let step = ((now - before) * ratio + (1 << (RATIO_BITS - 1))) >> RATIO_BITS;
    (now + step).clamp(0, i64::from(max)) as u32
}

/// The ratio of how far ahead of its last sample to the span of history an
/// entity is extrapolated over at `tick`; `None` when it is not.
#[inline]
fn extrapolation(e: &ViewEntity, tick: u32) -> Option<i64> {
    let span = e.tick.wrapping_sub(e.previous_tick);
    let ahead = tick.wrapping_sub(e.tick);
    if span == 0 || span > MAX_SPAN || ahead == 0 || ahead > MAX_AHEAD {
        return None;
    }
    Some(if ahead == span {
        1 << RATIO_BITS
    } else {
        ratio(ahead, span)
    })
}

/// Where the reader expects an entity to be at `tick`.
#[inline]
pub fn predict_position(q: &Quantizer, e: &ViewEntity, tick: u32) -> QPosition {
    let Some(ratio) = extrapolation(e, tick) else {
        return e.state.position;
    };
    let bits = q.position_bits();
    std::array::from_fn(|a| {
        extrapolate(
            e.state.position[a],
            e.previous.position[a],
            ratio,
            (1u32 << bits[a]) - 1,
        )
    })
}

/// How the reader expects an entity to be turned at `tick`.
#[inline]
pub fn predict_rotation(q: &Quantizer, e: &ViewEntity, tick: u32) -> QRotation {
    let (now, before) = (e.state.rotation, e.previous.rotation);
    let Some(ratio) = extrapolation(e, tick) else {
        return now;
    };
    if now.largest != before.largest {
        return now;
    }
    let max = (1u32 << q.rotation_bits()) - 1;
    QRotation {
        largest: now.largest,
        rest: std::array::from_fn(|i| {
            extrapolate(
                u32::from(now.rest[i]),
                u32::from(before.rest[i]),
                ratio,
                max,
            ) as u16
        }),
    }
}

fn write_position<S: BitSink>(q: &Quantizer, w: &mut S, p: QPosition) {
    let bits = q.position_bits();
    for a in 0..3 {
        w.write(p[a], bits[a]);
    }
}

fn write_rotation<S: BitSink>(q: &Quantizer, w: &mut S, r: QRotation) {
    w.write(u32::from(r.largest), 2);
    for c in r.rest {
        w.write(u32::from(c), q.rotation_bits());
    }
}

fn velocity_wire(q: &Quantizer, c: i16) -> u32 {
    (i32::from(c) + q.velocity_offset) as u32
}

/// Writes a create record's body (everything after the id).
pub fn write_create<S: BitSink>(q: &Quantizer, w: &mut S, kind: u8, s: &QState) {
    w.write(u32::from(kind), 8);
    write_position(q, w, s.position);
    write_rotation(q, w, s.rotation);
    w.write_bool(s.velocity.is_some());
    if let Some(v) = s.velocity {
        for c in v {
            w.write(velocity_wire(q, c), q.velocity_bits());
        }
    }
}

/// Writes an update record's body against its baseline entry `base`.
/// `s.velocity` must be present exactly when the baseline's is.
pub fn write_update<S: BitSink>(
    q: &Quantizer,
    w: &mut S,
    base: &ViewEntity,
    tick: u32,
    s: &QState,
) {
    if s.position == base.state.position {
        w.write_bool(false);
    } else {
        w.write_bool(true);
        let pos = predict_position(q, base, tick);
        for (a, (&predicted, &actual)) in pos.iter().zip(&s.position).enumerate() {
            position_code(q, a).write(w, predicted, actual);
        }
    }
    if s.rotation == base.state.rotation {
        w.write_bool(false);
    } else {
        w.write_bool(true);
        let rot = predict_rotation(q, base, tick);
        if s.rotation.largest == rot.largest {
            w.write_bool(true);
            let code = rotation_code(q);
            for (&predicted, &actual) in rot.rest.iter().zip(&s.rotation.rest) {
                code.write(w, u32::from(predicted), u32::from(actual));
            }
        } else {
            w.write_bool(false);
            write_rotation(q, w, s.rotation);
        }
    }
    if let (Some(before), Some(now)) = (base.state.velocity, s.velocity) {
        if before == now {
            w.write_bool(false);
        } else {
            w.write_bool(true);
            let code = velocity_code(q);
            for (b, n) in before.into_iter().zip(now) {
                code.write(w, velocity_wire(q, b), velocity_wire(q, n));
            }
        }
    }
}

/// The gap code of `id` after `previous` in a sorted list (the id itself first).
pub(crate) fn id_gap(previous: Option<u32>, id: u32) -> u32 {
    match previous {
        None => id,
        Some(p) => id - p - 1,
    }
}

/// Writes `changes` relative to `baseline` for a snapshot of `tick`. Every
/// remove and update must name an entity of the baseline, and the lists must
/// be sorted by id without repeats. Nothing is written when there are no changes.
pub fn encode<S: BitSink>(q: &Quantizer, baseline: &View, tick: u32, changes: &Changes, w: &mut S) {
    // Both lists are sorted by id: walk the baseline once.
    let mut cursor = baseline.entities.iter();
    write_sections(
        w,
        changes,
        |w, i| {
            let c = &changes.creates[i];
            write_create(q, w, c.kind, &c.state);
        },
        |w, i| {
            let u = &changes.updates[i];
            let base = cursor
                .find(|e| e.id >= u.id)
                .filter(|e| e.id == u.id)
                .expect("an update names an entity of its baseline");
            write_update(q, w, base, tick, &u.state);
        },
    );
}

/// Writes the payload's frame: each section's count and its ids as gaps,
/// with `create_body(w, i)` and `update_body(w, i)` writing the body of the
/// `i`th create and update after its id. [`encode`] writes the bodies
/// itself; a sender may copy bodies it wrote earlier.
pub(crate) fn write_sections<S: BitSink>(
    w: &mut S,
    changes: &Changes,
    mut create_body: impl FnMut(&mut S, usize),
    mut update_body: impl FnMut(&mut S, usize),
) {
    if changes.is_empty() {
        return;
    }
    w.write_golomb(changes.removes.len() as u32);
    let mut prev = None;
    for &id in &changes.removes {
        w.write_golomb(id_gap(prev, id));
        prev = Some(id);
    }
    w.write_golomb(changes.creates.len() as u32);
    let mut prev = None;
    for (i, c) in changes.creates.iter().enumerate() {
        w.write_golomb(id_gap(prev, c.id));
        prev = Some(c.id);
        create_body(w, i);
    }
    w.write_golomb(changes.updates.len() as u32);
    let mut prev = None;
    for (i, u) in changes.updates.iter().enumerate() {
        w.write_golomb(id_gap(prev, u.id));
        prev = Some(u.id);
        update_body(w, i);
    }
}

fn read_id(r: &mut BitReader<'_>, prev: Option<u32>) -> Result<u32, SnapshotError> {
    let gap = r.read_golomb()?;
    match prev {
        None => Ok(gap),
        Some(p) => p
            .checked_add(gap)
            .and_then(|v| v.checked_add(1))
            .ok_or(SnapshotError::UnknownEntity(u32::MAX)),
    }
}

fn read_position(q: &Quantizer, r: &mut BitReader<'_>) -> Result<QPosition, Overrun> {
    let bits = q.position_bits();
    Ok([r.read(bits[0])?, r.read(bits[1])?, r.read(bits[2])?])
}

fn read_rotation(q: &Quantizer, r: &mut BitReader<'_>) -> Result<QRotation, Overrun> {
    let largest = r.read(2)? as u8;
    let b = q.rotation_bits();
    Ok(QRotation {
        largest,
        rest: [r.read(b)? as u16, r.read(b)? as u16, r.read(b)? as u16],
    })
}

fn read_velocity_component(q: &Quantizer, wire: u32) -> Result<i16, Overrun> {
    let c = i64::from(wire) - i64::from(q.velocity_offset);
    if c.abs() > i64::from(q.velocity_offset) {
        return Err(Overrun);
    }
    Ok(c as i16)
}

/// Reads a payload written by [`encode`] against the same `baseline` and
/// `tick` into `changes` (cleared first). Every value is checked: a payload
/// from a hostile or broken server is an error, never a panic.
pub fn decode(
    q: &Quantizer,
    baseline: &View,
    tick: u32,
    payload: &[u8],
    changes: &mut Changes,
) -> Result<(), SnapshotError> {
    changes.clear();
    if payload.is_empty() {
        return Ok(());
    }
    let r = &mut BitReader::new(payload);
    let count = r.read_golomb()?;
    let mut prev = None;
    for _ in 0..count {
        let id = read_id(r, prev)?;
        prev = Some(id);
        if baseline.get(id).is_none() {
            return Err(SnapshotError::UnknownEntity(id));
        }
        changes.removes.push(id);
    }
    let count = r.read_golomb()?;
    let mut prev = None;
    for _ in 0..count {
        let id = read_id(r, prev)?;
        prev = Some(id);
        let kind = r.read(8)? as u8;
        let position = read_position(q, r)?;
        let rotation = read_rotation(q, r)?;
        let velocity = if r.read_bool()? {
            let b = q.velocity_bits();
            Some([
                read_velocity_component(q, r.read(b)?)?,
                read_velocity_component(q, r.read(b)?)?,
                read_velocity_component(q, r.read(b)?)?,
            ])
        } else {
            None
        };
        changes.creates.push(Create {
            id,
            kind,
            generation: 0,
            state: QState {
                position,
                rotation,
                velocity,
            },
        });
    }
    let count = r.read_golomb()?;
    let mut prev = None;
    for _ in 0..count {
        let id = read_id(r, prev)?;
        prev = Some(id);
        let base = baseline.get(id).ok_or(SnapshotError::UnknownEntity(id))?;
        let mut state = base.state;
        if r.read_bool()? {
            let pos = predict_position(q, base, tick);
            for (a, slot) in state.position.iter_mut().enumerate() {
                *slot = position_code(q, a).read(r, pos[a])?;
            }
        }
        if r.read_bool()? {
            let rot = predict_rotation(q, base, tick);
            state.rotation = if r.read_bool()? {
                let code = rotation_code(q);
                QRotation {
                    largest: rot.largest,
                    rest: [
                        code.read(r, u32::from(rot.rest[0]))? as u16,
                        code.read(r, u32::from(rot.rest[1]))? as u16,
                        code.read(r, u32::from(rot.rest[2]))? as u16,
                    ],
                }
            } else {
                read_rotation(q, r)?
            };
        }
        if let Some(before) = base.state.velocity {
            if r.read_bool()? {
                let code = velocity_code(q);
                let mut v = before;
                for (slot, b) in v.iter_mut().zip(before) {
                    *slot = read_velocity_component(q, code.read(r, velocity_wire(q, b))?)?;
                }
                state.velocity = Some(v);
            }
        }
        changes.updates.push(Update { id, state });
    }
    // Only the zero padding of the last byte may remain.
    if r.remaining() >= 8 || r.read(r.remaining() as u32)? != 0 {
        return Err(SnapshotError::TrailingData);
    }
    Ok(())
}

/// Builds the view after a snapshot: `baseline` with `changes` applied,
/// stamped `sequence` and `tick`. Both ends call this with the same
/// arguments, so they hold the same view.
pub fn apply(baseline: &View, sequence: u32, tick: u32, changes: &Changes, out: &mut View) {
    out.entities.clear();
    out.sequence = sequence;
    out.tick = tick;
    let (mut ci, mut ui, mut ri) = (0, 0, 0);
    let creates = &changes.creates;
    let updates = &changes.updates;
    let removes = &changes.removes;
    let created = |c: &Create| ViewEntity {
        id: c.id,
        kind: c.kind,
        generation: c.generation,
        state: c.state,
        tick,
        previous: c.state,
        previous_tick: tick,
    };
    for e in &baseline.entities {
        while ci < creates.len() && creates[ci].id < e.id {
            out.entities.push(created(&creates[ci]));
            ci += 1;
        }
        while ri < removes.len() && removes[ri] < e.id {
            ri += 1;
        }
        while ui < updates.len() && updates[ui].id < e.id {
            ui += 1;
        }
        if ci < creates.len() && creates[ci].id == e.id {
            out.entities.push(created(&creates[ci]));
            ci += 1;
            continue;
        }
        if ri < removes.len() && removes[ri] == e.id {
            continue;
        }
        let mut entry = *e;
        if ui < updates.len() && updates[ui].id == e.id {
            entry.previous = entry.state;
            entry.previous_tick = entry.tick;
            entry.state = updates[ui].state;
            entry.tick = tick;
        }
        out.entities.push(entry);
    }
    for c in &creates[ci..] {
        out.entities.push(created(c));
    }
}
