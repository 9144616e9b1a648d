//! The server's half of replication for one client: baselines, acks,
//! priorities and the byte budget. Sans-I/O: it takes the entities relevant
//! to the client this tick and gives back a payload.
//!
//! Every tick [`Sender::build`]:
//!
//! 1. picks the **baseline**: the newest snapshot the client acknowledged
//!    that is still in the ring, or the empty view (everything absolute);
//! 2. compares the relevant entities with it: gone ones are removed, new
//!    ones created, changed ones updated, unchanged ones cost nothing;
//! 3. adds each waiting entity's priority increment to its **accumulator**,
//!    so that whatever is left out this tick ranks higher the next: nothing
//!    starves;
//! 4. takes the highest accumulators that fit the **budget** (a token bucket
//!    of bytes per second, and one datagram), writes them sorted by id, and
//!    resets their accumulators;
//! 5. keeps the resulting view in the ring under the new sequence number.
//!
//! Because the baseline is always one the client holds, any pattern of loss,
//! duplication and reordering converges to the server's state.

use super::ack::{is_newer, next_sequence, AckWindow};
use super::bits::{golomb_bits, BitWriter};
use super::codec::{
    apply, encode, id_gap, write_create, write_sections, write_update, Changes, Create, QState,
    Update, View, ViewEntity,
};
use super::quant::Quantizer;

/// Budget and ring settings of a [`Sender`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SenderConfig {
    /// Bytes per second the client may receive in snapshots (256 kbit/s by
    /// default). At least the envelope of every snapshot plus 32 bytes is
    /// allowed, whatever is asked (about 25 kbit/s at 30 snapshots a second).
    pub bytes_per_second: u32,
    /// The largest snapshot datagram, envelope included.
    pub max_datagram_bytes: usize,
    /// Snapshots per second (the tick rate).
    pub snapshots_per_second: u16,
    /// Snapshots kept as possible baselines (32: about a second at 30 Hz;
    /// acknowledgements slower than that fall back to absolute state).
    pub ring: usize,
}

impl Default for SenderConfig {
    fn default() -> Self {
        SenderConfig {
            bytes_per_second: 256_000 / 8,
            max_datagram_bytes: 1200,
            snapshots_per_second: 30,
            ring: 32,
        }
    }
}

/// An entity relevant to the client this tick.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Relevant {
    /// Wire id.
    pub id: u32,
    /// Kind, sent on creation.
    pub kind: u8,
    /// Identity check for reused ids: a change means a new entity.
    pub generation: u32,
    /// Its quantized state now.
    pub state: QState,
    /// What its accumulator gains this tick if it has something to send;
    /// `f32::INFINITY` puts it first (the client's own avatar).
    pub priority: f32,
}

/// What one [`Sender::build`] produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotStats {
    /// The snapshot's sequence number.
    pub sequence: u32,
    /// The baseline's sequence number (0: absolute).
    pub baseline: u32,
    /// Entities created.
    pub creates: u32,
    /// Entities updated.
    pub updates: u32,
    /// Entities removed.
    pub removes: u32,
    /// Entities with changes that did not fit and wait for a later tick.
    pub waiting: u32,
    /// Relevant entities unchanged against the baseline.
    pub unchanged: u32,
    /// Payload size in bits (before padding to bytes).
    pub payload_bits: u32,
}

#[derive(Debug, Clone, Copy)]
struct Candidate {
    index: u32,
    /// The entity's index in the baseline, for an update.
    base: u32,
    create: bool,
    priority: f32,
}

#[derive(Debug, Clone, Copy)]
struct Chosen {
    index: u32,
    create: bool,
    /// Where its body was written in the scratch writer, and its length.
    start: u32,
    bits: u32,
    priority: f32,
}

#[derive(Debug, Default)]
struct Slot {
    view: View,
    acked: bool,
}

/// The server's replication state for one client.
#[derive(Debug)]
pub struct Sender {
    q: Quantizer,
    config: SenderConfig,
    ring: Vec<Slot>,
    sequence: u32,
    empty: View,
    accumulators: Vec<f32>,
    candidates: Vec<Candidate>,
    chosen: Vec<Chosen>,
    changes: Changes,
    writer: BitWriter,
    scratch: BitWriter,
    own_cache: RecordCache,
    /// Mean bits of a record body over recent ticks.
    record_bits: u32,
    tokens: f64,
    overhead_bytes: usize,
}

impl Sender {
    /// A sender with nothing sent yet. `overhead_bytes` is what the envelope
    /// around a payload costs (see [`crate::messages::SNAPSHOT_OVERHEAD_BYTES`]).
    pub fn new(q: Quantizer, mut config: SenderConfig, overhead_bytes: usize) -> Self {
        let floor = (overhead_bytes as u32 + 32) * u32::from(config.snapshots_per_second.max(1));
        config.bytes_per_second = config.bytes_per_second.max(floor);
        config.max_datagram_bytes = config.max_datagram_bytes.max(overhead_bytes + 32);
        Sender {
            q,
            config,
            ring: (0..config.ring.max(2)).map(|_| Slot::default()).collect(),
            sequence: 0,
            empty: View::default(),
            accumulators: Vec::new(),
            candidates: Vec::new(),
            chosen: Vec::new(),
            changes: Changes::default(),
            writer: BitWriter::new(),
            scratch: BitWriter::new(),
            own_cache: RecordCache::default(),
            record_bits: 64,
            tokens: 0.0,
            overhead_bytes,
        }
    }

    /// Records the client's acknowledgements.
    pub fn acknowledge(&mut self, newest: u32, bits: u64) {
        let mut window = AckWindow::new();
        window.merge(newest, bits);
        for slot in &mut self.ring {
            if slot.view.sequence != 0 && window.contains(slot.view.sequence) {
                slot.acked = true;
            }
        }
    }

    /// The view of the newest acknowledged snapshot still held, if any.
    pub fn baseline(&self) -> Option<&View> {
        self.newest_acked(None).map(|i| &self.ring[i].view)
    }

    /// The ring slot of the newest acknowledged snapshot, other than `except`.
    fn newest_acked(&self, except: Option<usize>) -> Option<usize> {
        self.ring
            .iter()
            .enumerate()
            .filter(|(i, s)| s.acked && s.view.sequence != 0 && Some(*i) != except)
            .reduce(|a, b| {
                if is_newer(b.1.view.sequence, a.1.view.sequence) {
                    b
                } else {
                    a
                }
            })
            .map(|(i, _)| i)
    }

    /// The view the client will hold once it has snapshot `sequence`.
    pub fn view(&self, sequence: u32) -> Option<&View> {
        let slot = &self.ring[sequence as usize % self.ring.len()];
        (sequence != 0 && slot.view.sequence == sequence).then_some(&slot.view)
    }

    /// Builds the snapshot of `tick` from `relevant` (sorted by id, no
    /// repeats). Returns its statistics and payload.
    pub fn build(&mut self, tick: u32, relevant: &[Relevant]) -> (SnapshotStats, &[u8]) {
        let mut cache = std::mem::take(&mut self.own_cache);
        let stats = self.build_inner(tick, relevant, &mut cache);
        self.own_cache = cache;
        (stats, self.writer.finish())
    }

    /// [`Sender::build`], reusing records other senders encoded this tick:
    /// clients whose baselines hold an entity in the same state get the same
    /// bits, encoded once. Share one cache among the senders of a world
    /// (they must use the same quantizer); entries from other ticks are
    /// never used.
    pub fn build_shared(
        &mut self,
        tick: u32,
        relevant: &[Relevant],
        cache: &mut RecordCache,
    ) -> (SnapshotStats, &[u8]) {
        let stats = self.build_inner(tick, relevant, cache);
        (stats, self.writer.finish())
    }

    fn build_inner(
        &mut self,
        tick: u32,
        relevant: &[Relevant],
        cache: &mut RecordCache,
    ) -> SnapshotStats {
        let sequence = next_sequence(self.sequence);
        self.sequence = sequence;
        let target = sequence as usize % self.ring.len();
        // The slot about to be overwritten cannot serve as the baseline.
        let baseline_index = self.newest_acked(Some(target));
        let mut out = std::mem::take(&mut self.ring[target].view);
        self.ring[target].acked = false;
        let base = match baseline_index {
            Some(i) => &self.ring[i].view,
            None => &self.empty,
        };
        let mut stats = SnapshotStats {
            sequence,
            baseline: base.sequence,
            ..Default::default()
        };

        // Compare the relevant entities with the baseline.
        self.changes.clear();
        self.candidates.clear();
        let accumulators = &mut self.accumulators;
        let mut bi = 0;
        for (index, rel) in relevant.iter().enumerate() {
            while bi < base.entities.len() && base.entities[bi].id < rel.id {
                self.changes.removes.push(base.entities[bi].id);
                bi += 1;
            }
            let mut base_index = u32::MAX;
            let create = if bi < base.entities.len() && base.entities[bi].id == rel.id {
                let e = &base.entities[bi];
                base_index = bi as u32;
                bi += 1;
                if e.generation != rel.generation
                    || e.kind != rel.kind
                    || e.state.velocity.is_some() != rel.state.velocity.is_some()
                {
                    self.changes.removes.push(rel.id);
                    true
                } else if e.state == rel.state {
                    stats.unchanged += 1;
                    if let Some(a) = accumulators.get_mut(rel.id as usize) {
                        *a = 0.0;
                    }
                    continue;
                } else {
                    false
                }
            } else {
                true
            };
            let slot = rel.id as usize;
            if slot >= accumulators.len() {
                accumulators.resize(slot + 1, 0.0);
            }
            accumulators[slot] += rel.priority;
            self.candidates.push(Candidate {
                index: index as u32,
                base: base_index,
                create,
                priority: accumulators[slot],
            });
        }
        for e in &base.entities[bi..] {
            self.changes.removes.push(e.id);
        }

        // The room this tick: the token bucket, capped at one datagram.
        let per_tick = f64::from(self.config.bytes_per_second)
            / f64::from(self.config.snapshots_per_second.max(1));
        self.tokens = (self.tokens + per_tick).min(per_tick * 2.0);
        let room_bytes = self
            .tokens
            .min(self.config.max_datagram_bytes as f64)
            .floor() as usize;
        let mut room_bits = room_bytes.saturating_sub(self.overhead_bytes) as i64 * 8;
        // Three section counts.
        room_bits -= 3 * 11;
        // Removes first: cheap, and what makes leaving interest reliable.
        let mut remove_bits = 0i64;
        let mut keep = 0;
        let mut prev: Option<u32> = None;
        for &id in &self.changes.removes {
            let gap = id_gap(prev, id);
            let bits = i64::from(golomb_bits(gap));
            if remove_bits + bits > room_bits / 2 {
                break;
            }
            remove_bits += bits;
            prev = Some(id);
            keep += 1;
        }
        self.changes.removes.truncate(keep);
        room_bits -= remove_bits;

        // Then the highest accumulators that fit.
        let ids_estimate = {
            let span = relevant.last().map_or(0, |r| r.id) - relevant.first().map_or(0, |r| r.id);
            let expected = (room_bits / 48).max(1) as u32;
            golomb_bits(span / expected.min(relevant.len().max(1) as u32))
        };
        // Each record's body is written once, into the scratch writer; the
        // payload is assembled from it in id order.
        self.chosen.clear();
        self.scratch.clear();
        // When everything is likely to fit (judging by the records of past
        // ticks), try taking it all in id order: no sorting at all.
        let likely = self.candidates.len() as f64
            * (f64::from(self.record_bits) * 1.25 + f64::from(ids_estimate));
        let mut all_fit = false;
        if likely <= room_bits as f64 {
            let mut used = 0i64;
            all_fit = true;
            for c in &self.candidates {
                let record =
                    write_record(&self.q, &mut self.scratch, cache, c, relevant, base, tick);
                used += i64::from(record.bits + ids_estimate);
                if used > room_bits {
                    all_fit = false;
                    break;
                }
                self.chosen.push(record);
            }
            if !all_fit {
                self.chosen.clear();
                self.scratch.clear();
            }
        }
        if !all_fit {
            // The highest accumulators first, as many as fit.
            let most = ((room_bits.max(0) / 24) as usize).min(self.candidates.len());
            let by_priority = |a: &Candidate, b: &Candidate| b.priority.total_cmp(&a.priority);
            if most < self.candidates.len() && most > 0 {
                self.candidates.select_nth_unstable_by(most, by_priority);
            }
            self.candidates[..most].sort_unstable_by(by_priority);
            let mut used = 0i64;
            for c in &self.candidates[..most] {
                let record =
                    write_record(&self.q, &mut self.scratch, cache, c, relevant, base, tick);
                let cost = i64::from(record.bits + ids_estimate);
                if used + cost > room_bits {
                    self.scratch.truncate(record.start as usize);
                    if room_bits - used < 16 {
                        break;
                    }
                    continue;
                }
                used += cost;
                self.chosen.push(record);
            }
            // `relevant` is sorted by id, so index order is id order.
            self.chosen.sort_unstable_by_key(|c| c.index);
        }
        if !self.chosen.is_empty() {
            let total: u32 = self.chosen.iter().map(|c| c.bits).sum();
            let mean = total / self.chosen.len() as u32;
            self.record_bits = (self.record_bits * 3 + mean) / 4;
        }

        // The exact size; if the id estimate was short, drop the lowest priorities.
        let limit_bits = (room_bytes.saturating_sub(self.overhead_bytes) * 8) as u32;
        let removes_bits = section_id_bits(self.changes.removes.iter().copied());
        loop {
            let bits =
                removes_bits + payload_bits(&self.chosen, self.changes.removes.len(), relevant);
            if bits <= limit_bits || self.chosen.is_empty() {
                break;
            }
            let lowest = self
                .chosen
                .iter()
                .enumerate()
                .min_by(|a, b| a.1.priority.total_cmp(&b.1.priority))
                .map(|(i, _)| i)
                .expect("not empty");
            self.chosen.remove(lowest);
        }
        for c in &self.chosen {
            let rel = &relevant[c.index as usize];
            if c.create {
                self.changes.creates.push(Create {
                    id: rel.id,
                    kind: rel.kind,
                    generation: rel.generation,
                    state: rel.state,
                });
            } else {
                self.changes.updates.push(Update {
                    id: rel.id,
                    state: rel.state,
                });
            }
        }
        self.writer.clear();
        assemble(
            &mut self.writer,
            self.scratch.finish(),
            &self.chosen,
            &self.changes,
        );
        stats.payload_bits = self.writer.bit_len() as u32;
        if cfg!(debug_assertions) {
            // The assembled payload is exactly what the codec writes.
            let mut check = BitWriter::new();
            encode(&self.q, base, tick, &self.changes, &mut check);
            debug_assert_eq!(check.finish(), self.writer.clone().finish());
        }
        apply(base, sequence, tick, &self.changes, &mut out);
        self.ring[target].view = out;

        for c in &self.changes.creates {
            accumulators[c.id as usize] = 0.0;
        }
        for u in &self.changes.updates {
            accumulators[u.id as usize] = 0.0;
        }
        stats.creates = self.changes.creates.len() as u32;
        stats.updates = self.changes.updates.len() as u32;
        stats.removes = self.changes.removes.len() as u32;
        stats.waiting = self.candidates.len() as u32 - stats.creates - stats.updates;
        self.tokens -= (stats.payload_bits.div_ceil(8) as usize + self.overhead_bytes) as f64;
        stats
    }

    /// The quantizer.
    pub fn quantizer(&self) -> &Quantizer {
        &self.q
    }
}

/// Writes candidate `c`'s record body at the end of `scratch` (from the
/// cache when it holds it) and says where it went.
fn write_record(
    q: &Quantizer,
    scratch: &mut BitWriter,
    cache: &mut RecordCache,
    c: &Candidate,
    relevant: &[Relevant],
    base: &View,
    tick: u32,
) -> Chosen {
    let start = scratch.bit_len();
    let e = (!c.create).then(|| &base.entities[c.base as usize]);
    cache.write(q, scratch, tick, &relevant[c.index as usize], e);
    Chosen {
        index: c.index,
        create: c.create,
        start: start as u32,
        bits: (scratch.bit_len() - start) as u32,
        priority: c.priority,
    }
}

/// Bits of a section's ids, gap-coded, without its count.
fn section_id_bits(ids: impl Iterator<Item = u32>) -> u32 {
    let mut prev: Option<u32> = None;
    let mut bits = 0;
    for id in ids {
        bits += golomb_bits(id_gap(prev, id));
        prev = Some(id);
    }
    bits
}

/// The exact payload size of the chosen records with `removes` removals
/// (the removals' ids aside).
fn payload_bits(chosen: &[Chosen], removes: usize, relevant: &[Relevant]) -> u32 {
    let creates = chosen.iter().filter(|c| c.create);
    let updates = chosen.iter().filter(|c| !c.create);
    let (n_creates, n_updates) = (
        creates.clone().count() as u32,
        updates.clone().count() as u32,
    );
    if n_creates + n_updates == 0 && removes == 0 {
        return 0;
    }
    let id = |c: &Chosen| relevant[c.index as usize].id;
    golomb_bits(removes as u32)
        + golomb_bits(n_creates)
        + golomb_bits(n_updates)
        + section_id_bits(creates.clone().map(id))
        + section_id_bits(updates.clone().map(id))
        + creates.chain(updates).map(|c| c.bits).sum::<u32>()
}

/// Writes the payload: sections in the codec's order, ids as gaps, each
/// record's body copied from where selection wrote it.
fn assemble(w: &mut BitWriter, scratch: &[u8], chosen: &[Chosen], changes: &Changes) {
    let mut creates = chosen.iter().filter(|c| c.create);
    let mut updates = chosen.iter().filter(|c| !c.create);
    let copy = |w: &mut BitWriter, record: Option<&Chosen>| {
        let record = record.expect("one chosen record per change");
        w.append(scratch, record.start as usize, record.bits as usize);
    };
    write_sections(
        w,
        changes,
        |w, _| copy(w, creates.next()),
        |w, _| copy(w, updates.next()),
    );
}

/// One record body, as encoded this tick for one baseline entry.
#[derive(Debug, Clone)]
struct CachedRecord {
    tick: u32,
    /// The baseline entry it was encoded against (`None`: a create).
    base: Option<(QState, u32, QState, u32)>,
    state: QState,
    kind: u8,
    bits: u32,
    bytes: [u8; 40],
}

/// Record bodies encoded this tick, by entity id, shared among the senders
/// of a world (see [`Sender::build_shared`]). In steady state most clients
/// acknowledged the last snapshot and hold each entity in the same state, so
/// most records are encoded once and copied for the others.
#[derive(Debug, Default)]
pub struct RecordCache {
    records: Vec<Option<CachedRecord>>,
    record: BitWriter,
}

impl RecordCache {
    /// Writes `rel`'s record body (a create without `base`, an update
    /// against `base`) into `w`, from the cache when it holds the same one.
    fn write(
        &mut self,
        q: &Quantizer,
        w: &mut BitWriter,
        tick: u32,
        rel: &Relevant,
        base: Option<&ViewEntity>,
    ) {
        let key = base.map(|e| (e.state, e.tick, e.previous, e.previous_tick));
        let slot = rel.id as usize;
        if let Some(Some(hit)) = self.records.get(slot) {
            if hit.tick == tick && hit.base == key && hit.state == rel.state && hit.kind == rel.kind
            {
                w.append(&hit.bytes, 0, hit.bits as usize);
                return;
            }
        }
        self.record.clear();
        match base {
            None => write_create(q, &mut self.record, rel.kind, &rel.state),
            Some(e) => write_update(q, &mut self.record, e, tick, &rel.state),
        }
        let bits = self.record.bit_len();
        let encoded = self.record.finish();
        w.append(encoded, 0, bits);
        if encoded.len() <= 40 {
            if slot >= self.records.len() {
                self.records.resize(slot + 1, None);
            }
            let mut bytes = [0u8; 40];
            bytes[..encoded.len()].copy_from_slice(encoded);
            self.records[slot] = Some(CachedRecord {
                tick,
                base: key,
                state: rel.state,
                kind: rel.kind,
                bits: bits as u32,
                bytes,
            });
        }
    }
}
