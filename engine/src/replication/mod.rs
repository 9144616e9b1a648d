//! Replication: what each graphical player is sent, every tick, at the
//! bandwidth limit.
//!
//! The engine's half of the snapshot machinery in
//! [`gsp_protocol::snapshot`]:
//!
//! 1. **Bodies.** Every entity with [`Replicated`] and a [`Position`] is
//!    quantized once per tick into a table indexed by its wire id (the ECS
//!    entity index; the generation tells a reused index from the entity
//!    before it), and listed in a [`SpatialGrid`] that follows it as it moves.
//! 2. **Interest.** For each graphical session, the grid gives the entities
//!    within the view radius; the nearest [`max_interest`] are relevant, the
//!    player's own avatar always. Entering this set creates the entity on the
//!    client and leaving it destroys it, reliably, because snapshots describe
//!    whole views against acknowledged baselines.
//! 3. **Priority.** Each relevant entity with something to send gains
//!    `weight × (1 + speed / 4 m/s) / (1 + (distance / 16 m)²)` in its
//!    accumulator; the player's own avatar is always first.
//! 4. **Snapshot.** The session's [`Sender`] deltas against the newest
//!    acknowledged baseline and fills its byte budget by accumulator; the
//!    datagram waits in [`ClientReplication`] for the emit stage. Record
//!    bodies are shared through one [`RecordCache`]: clients that hold an
//!    entity in the same state get the same bits, encoded once per tick.
//!
//! In steady state none of this allocates: every list is kept and reused.
//!
//! [`max_interest`]: crate::ReplicationConfig::max_interest
//! [`Replicated`]: crate::components::Replicated
//! [`Position`]: crate::components::Position

pub mod grid;

use std::collections::HashMap;

use bevy_ecs::prelude::*;
use flatbuffers::FlatBufferBuilder;
use gsp_protocol::snapshot::quant::QuantizationError;
use gsp_protocol::snapshot::{
    QState, Quantizer, RecordCache, Relevant, Sender, SenderConfig, SnapshotHeader, SnapshotStats,
};
use gsp_protocol::{encode_snapshot, SNAPSHOT_OVERHEAD_BYTES};

use crate::components::ReplicationConfig;
use crate::math::Vec3;
use crate::session::SessionId;

pub use grid::SpatialGrid;

/// Metres at which an entity's priority has fallen to half.
const PRIORITY_FALLOFF_M: f32 = 16.0;
/// Speed at which an entity's priority has doubled.
const PRIORITY_SPEED_MPS: f32 = 4.0;

/// One replicated entity as of this tick.
#[derive(Debug, Clone, Copy, Default)]
struct Body {
    live: bool,
    seen: u64,
    generation: u32,
    kind: u8,
    weight: f32,
    speed: f32,
    position: Vec3,
    state: QState,
}

/// One graphical session's replication state.
#[derive(Debug)]
pub struct ClientReplication {
    sender: Sender,
    relevant: Vec<Relevant>,
    nearby: Vec<(f32, u32)>,
    datagram: Vec<u8>,
    ready: bool,
    last: SnapshotStats,
}

impl ClientReplication {
    /// The snapshot datagram built this tick, if one is waiting; taking it
    /// leaves the buffer for reuse.
    pub fn take_datagram(&mut self) -> Option<&[u8]> {
        std::mem::take(&mut self.ready).then_some(&self.datagram[..])
    }

    /// What the last snapshot carried.
    pub fn last_stats(&self) -> SnapshotStats {
        self.last
    }

    /// The entities relevant to this session this tick, sorted by id.
    pub fn relevant(&self) -> &[Relevant] {
        &self.relevant
    }

    /// The server's snapshot state machine for this session.
    pub fn sender(&self) -> &Sender {
        &self.sender
    }
}

/// Totals of one tick's replication, over all sessions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReplication {
    /// Snapshots built.
    pub snapshots: u32,
    /// Snapshot bytes, envelopes included.
    pub bytes: u64,
    /// Entities created, updated and removed on clients.
    pub records: u64,
    /// Entity changes that waited for a later tick.
    pub waiting: u64,
}

/// The replication state of a world.
#[derive(Resource)]
pub struct Replication {
    quantizer: Quantizer,
    config: ReplicationConfig,
    sender_config: SenderConfig,
    grid: SpatialGrid,
    bodies: Vec<Body>,
    clients: HashMap<SessionId, ClientReplication>,
    fbb: FlatBufferBuilder<'static>,
    last_tick: TickReplication,
    /// Scratch: which ids are relevant to the client being built, one bit each.
    present: Vec<u64>,
    /// Record bodies encoded this tick, shared by every client's sender.
    records: RecordCache,
}

impl std::fmt::Debug for Replication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replication")
            .field("config", &self.config)
            .field("clients", &self.clients.len())
            .field("last_tick", &self.last_tick)
            .finish_non_exhaustive()
    }
}

impl Replication {
    /// Replication with `config` at `tick_rate` snapshots per second.
    pub fn new(config: ReplicationConfig, tick_rate: u16) -> Result<Self, QuantizationError> {
        let quantizer = Quantizer::new(config.quantization)?;
        let q = &config.quantization;
        let grid = SpatialGrid::new([q.min[0], q.min[2]], [q.max[0], q.max[2]], config.cell_size);
        let sender_config = SenderConfig {
            bytes_per_second: config.bytes_per_second,
            max_datagram_bytes: config.max_datagram_bytes,
            snapshots_per_second: tick_rate,
            ..SenderConfig::default()
        };
        Ok(Replication {
            quantizer,
            config,
            sender_config,
            grid,
            bodies: Vec::new(),
            clients: HashMap::new(),
            fbb: FlatBufferBuilder::with_capacity(2048),
            last_tick: TickReplication::default(),
            present: Vec::new(),
            records: RecordCache::default(),
        })
    }

    /// The quantizer clients must use.
    pub fn quantizer(&self) -> &Quantizer {
        &self.quantizer
    }

    /// The settings.
    pub fn config(&self) -> &ReplicationConfig {
        &self.config
    }

    /// The entity's wire id and generation.
    pub fn wire_id(entity: Entity) -> (u32, u32) {
        (entity.index_u32(), entity.generation().to_bits())
    }

    /// Records where a replicated entity is this tick.
    #[allow(clippy::too_many_arguments)]
    pub fn update_body(
        &mut self,
        tick: u64,
        entity: Entity,
        kind: u8,
        weight: f32,
        position: Vec3,
        rotation: [f32; 4],
        velocity: Vec3,
        send_velocity: bool,
    ) {
        let (id, generation) = Self::wire_id(entity);
        let slot = id as usize;
        if slot >= self.bodies.len() {
            self.bodies.resize(slot + 1, Body::default());
        }
        let q = &self.quantizer;
        let state = QState {
            position: q.position(position.to_array()),
            rotation: q.rotation(rotation),
            velocity: send_velocity.then(|| q.velocity(velocity.to_array())),
        };
        let speed = velocity.length_squared().sqrt();
        self.bodies[slot] = Body {
            live: true,
            seen: tick,
            generation,
            kind,
            weight: if weight.is_finite() {
                weight.max(0.0)
            } else {
                1.0
            },
            speed: if speed.is_finite() { speed } else { 0.0 },
            position,
            state,
        };
        self.grid.place(id, position);
    }

    /// Forgets the bodies not updated at `tick` (despawned, or no longer replicated).
    pub fn sweep(&mut self, tick: u64) {
        for (id, body) in self.bodies.iter_mut().enumerate() {
            if body.live && body.seen != tick {
                body.live = false;
                self.grid.remove(id as u32);
            }
        }
    }

    /// Stops replicating to sessions `keep` says are gone.
    pub fn retain_clients(&mut self, mut keep: impl FnMut(SessionId) -> bool) {
        self.clients.retain(|id, _| keep(*id));
    }

    /// A session's replication state, if it has one.
    pub fn client(&self, session: SessionId) -> Option<&ClientReplication> {
        self.clients.get(&session)
    }

    /// A session's replication state.
    pub fn client_mut(&mut self, session: SessionId) -> Option<&mut ClientReplication> {
        self.clients.get_mut(&session)
    }

    /// Totals of the last tick.
    pub fn last_tick(&self) -> TickReplication {
        self.last_tick
    }

    /// Starts a tick's totals.
    pub fn begin_tick(&mut self) {
        self.last_tick = TickReplication::default();
    }

    /// Builds this tick's snapshot for `session` (starting to replicate to
    /// it if this is its first), seen from its avatar
    /// `observer` at `eye`. `acks` are the acknowledgements that arrived;
    /// `last_input` the newest input applied.
    pub fn build_snapshot(
        &mut self,
        session: SessionId,
        tick: u64,
        observer: Entity,
        eye: Vec3,
        acks: Option<(u32, u64)>,
        last_input: u32,
    ) {
        let Replication {
            grid,
            bodies,
            clients,
            fbb,
            config,
            last_tick,
            present,
            records,
            quantizer,
            sender_config,
        } = self;
        let client = clients.entry(session).or_insert_with(|| ClientReplication {
            sender: Sender::new(*quantizer, *sender_config, SNAPSHOT_OVERHEAD_BYTES),
            relevant: Vec::new(),
            nearby: Vec::new(),
            datagram: Vec::with_capacity(sender_config.max_datagram_bytes),
            ready: false,
            last: SnapshotStats::default(),
        });
        if let Some((newest, bits)) = acks {
            client.sender.acknowledge(newest, bits);
        }
        let (own, _) = Self::wire_id(observer);
        let radius = config.view_radius.max(0.0);
        let radius_sq = radius * radius;

        // Who is near: the grid's candidates, measured, the nearest kept.
        client.nearby.clear();
        grid.query(eye, radius, |id| {
            if id == own {
                return;
            }
            let b = &bodies[id as usize];
            let d = b.position.distance_squared(eye);
            if d <= radius_sq {
                client.nearby.push((d, id));
            }
        });
        let keep = config.max_interest.max(1) - 1;
        if client.nearby.len() > keep {
            client
                .nearby
                .select_nth_unstable_by(keep, |a, b| a.0.total_cmp(&b.0));
            client.nearby.truncate(keep);
        }
        // Sorted by id through a bitset over the id space: linear, where a
        // comparison sort of the same ids costs several times more.
        present.clear();
        present.resize(bodies.len().div_ceil(64), 0);
        for &(_, id) in &client.nearby {
            present[id as usize / 64] |= 1 << (id % 64);
        }
        if bodies.get(own as usize).is_some_and(|b| b.live) {
            present[own as usize / 64] |= 1 << (own % 64);
        }

        // The relevant set, sorted by id, with this tick's priority gains.
        client.relevant.clear();
        let inverse_falloff_sq = 1.0 / (PRIORITY_FALLOFF_M * PRIORITY_FALLOFF_M);
        let inverse_speed = 1.0 / PRIORITY_SPEED_MPS;
        for (word_index, &word) in present.iter().enumerate() {
            let mut rest = word;
            while rest != 0 {
                let id = (word_index * 64) as u32 + rest.trailing_zeros();
                rest &= rest - 1;
                let b = &bodies[id as usize];
                let priority = if id == own {
                    f32::INFINITY
                } else {
                    let d = b.position.distance_squared(eye);
                    b.weight * (1.0 + b.speed * inverse_speed) / (1.0 + d * inverse_falloff_sq)
                };
                client.relevant.push(Relevant {
                    id,
                    kind: b.kind,
                    generation: b.generation,
                    state: b.state,
                    priority,
                });
            }
        }

        let tick = tick as u32;
        let (stats, payload) = client.sender.build_shared(tick, &client.relevant, records);
        let header = SnapshotHeader {
            sequence: stats.sequence,
            baseline: stats.baseline,
            tick,
            last_input,
        };
        let bytes = encode_snapshot(fbb, &header, payload);
        client.datagram.clear();
        client.datagram.extend_from_slice(bytes);
        client.ready = true;
        client.last = stats;
        last_tick.snapshots += 1;
        last_tick.bytes += bytes.len() as u64;
        last_tick.records += u64::from(stats.creates + stats.updates + stats.removes);
        last_tick.waiting += u64::from(stats.waiting);
    }
}
