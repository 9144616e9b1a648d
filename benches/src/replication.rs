//! The replication scenarios the benchmarks and `replication-report` share.
//!
//! A [`BodyScene`] is the engine's [`Replication`] fed by hand: `bodies`
//! rigid bodies wandering over a 200 m square, every one moving and turning
//! every tick, half of them also tumbling (props rolling), watched by
//! `clients` observers at the centre who see all of them. Each tick the
//! scene quantizes every body, updates the spatial grid, and builds every
//! client's snapshot exactly as the world's replicate stage does (minus the
//! ECS query that hands it the components). Clients acknowledge snapshots
//! after a configurable delay, and some acknowledgements can be lost.

use bevy_ecs::entity::Entity;
use gsp_engine::math::quat_mul;
use gsp_engine::replication::{Replication, TickReplication};
use gsp_engine::{ReplicationConfig, SessionId, Vec3};
use gsp_protocol::snapshot::SnapshotStats;

/// How clients acknowledge.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AckModel {
    /// Ticks between a snapshot and its acknowledgement reaching the server
    /// (0: before the next tick, as on loopback; 3: a 100 ms round trip at 30 Hz).
    pub delay_ticks: usize,
    /// Fraction of snapshots lost on the way (never acknowledged).
    pub loss: f64,
}

impl AckModel {
    /// Loopback: every snapshot acknowledged before the next tick.
    pub const LOOPBACK: AckModel = AckModel {
        delay_ticks: 0,
        loss: 0.0,
    };
}

#[derive(Debug, Clone, Copy)]
struct Motion {
    position: Vec3,
    velocity: Vec3,
    rotation: [f32; 4],
    heading: f32,
    speed: f32,
    turn: f32,
    spin_axis: [f32; 3],
    spin_rate: f32,
    spin: f32,
}

/// Bodies, observers and the replication state between them.
pub struct BodyScene {
    /// The engine's replication state.
    pub replication: Replication,
    entities: Vec<Entity>,
    motions: Vec<Motion>,
    observers: Vec<(SessionId, Entity)>,
    pending_acks: Vec<std::collections::VecDeque<Option<u32>>>,
    acks: AckModel,
    rng: fastrand::Rng,
    tick: u64,
    moving: bool,
    dt: f32,
}

/// The replication settings of the scenarios: defaults (256 kbit/s, 1,100-byte
/// datagrams, 1/512 m, 9-bit rotations), with a view that holds every body.
pub fn scene_config(bodies: usize) -> ReplicationConfig {
    ReplicationConfig {
        view_radius: 400.0,
        max_interest: bodies + 1,
        ..ReplicationConfig::default()
    }
}

fn entity(index: u32) -> Entity {
    Entity::from_raw_u32(index).expect("a valid entity index")
}

impl BodyScene {
    /// `bodies` bodies and `clients` observers, with `config` and `acks`.
    pub fn new(bodies: usize, clients: usize, config: ReplicationConfig, acks: AckModel) -> Self {
        let mut rng = fastrand::Rng::with_seed(0x5EED);
        let replication = Replication::new(config, 30).expect("valid settings");
        let motions = (0..bodies)
            .map(|i| {
                let axis = [rng.f32() - 0.5, rng.f32() - 0.5, rng.f32() - 0.5];
                let len = axis.iter().map(|c| c * c).sum::<f32>().sqrt().max(1e-3);
                Motion {
                    position: Vec3::new(rng.f32() * 200.0 - 100.0, 0.5, rng.f32() * 200.0 - 100.0),
                    velocity: Vec3::ZERO,
                    rotation: [0.0, 0.0, 0.0, 1.0],
                    heading: rng.f32() * std::f32::consts::TAU,
                    speed: 1.0 + rng.f32() * 5.0,
                    turn: rng.f32() - 0.5,
                    spin_axis: axis.map(|c| c / len),
                    spin_rate: if i % 2 == 0 {
                        0.5 + rng.f32() * 1.5
                    } else {
                        0.0
                    },
                    spin: 0.0,
                }
            })
            .collect();
        let entities: Vec<Entity> = (0..bodies as u32).map(entity).collect();
        let observers: Vec<(SessionId, Entity)> = (0..clients as u32)
            .map(|c| (SessionId(u64::from(c) + 1), entity(bodies as u32 + c)))
            .collect();
        BodyScene {
            replication,
            entities,
            motions,
            pending_acks: vec![Default::default(); clients],
            observers,
            acks,
            rng,
            tick: 0,
            moving: true,
            dt: 1.0 / 30.0,
        }
    }

    /// Whether bodies move (true) or rest from now on.
    pub fn set_moving(&mut self, moving: bool) {
        self.moving = moving;
    }

    /// Moves every body one tick: forward at its speed, turning, tumbling.
    pub fn advance(&mut self) {
        if !self.moving {
            return;
        }
        let dt = self.dt;
        for m in &mut self.motions {
            m.heading += m.turn * dt;
            m.position.x += m.heading.sin() * m.speed * dt;
            m.position.z += m.heading.cos() * m.speed * dt;
            // Stay in the square: turn back at its edges.
            if m.position.x.abs() > 100.0 || m.position.z.abs() > 100.0 {
                m.heading += std::f32::consts::PI;
                m.position.x = m.position.x.clamp(-100.0, 100.0);
                m.position.z = m.position.z.clamp(-100.0, 100.0);
            }
            m.spin += m.spin_rate * dt;
            m.velocity = Vec3::new(m.heading.sin() * m.speed, 0.0, m.heading.cos() * m.speed);
            m.rotation = Self::rotation(m);
        }
    }

    fn rotation(m: &Motion) -> [f32; 4] {
        let (s, c) = (m.heading * 0.5).sin_cos();
        let yaw = [0.0, s, 0.0, c];
        if m.spin_rate == 0.0 {
            return yaw;
        }
        let (s, c) = (m.spin * 0.5).sin_cos();
        let [x, y, z] = m.spin_axis;
        quat_mul(yaw, [x * s, y * s, z * s, c])
    }

    /// One tick of replication: quantize and index every body, then build
    /// every client's snapshot. Returns the tick's totals.
    pub fn replicate(&mut self) -> TickReplication {
        self.tick += 1;
        let tick = self.tick;
        let rep = &mut self.replication;
        rep.begin_tick();
        for (e, m) in self.entities.iter().zip(&self.motions) {
            rep.update_body(tick, *e, 1, 1.0, m.position, m.rotation, m.velocity, false);
        }
        rep.sweep(tick);
        for (i, &(session, observer)) in self.observers.iter().enumerate() {
            // Acknowledgements due this tick.
            let queue = &mut self.pending_acks[i];
            let mut acks = None;
            while queue.len() > self.acks.delay_ticks {
                if let Some(Some(seq)) = queue.pop_front() {
                    acks = Some((seq, 0));
                }
            }
            rep.build_snapshot(session, tick, observer, Vec3::ZERO, acks, 0);
            let client = rep.client_mut(session).expect("client");
            let stats = client.last_stats();
            let arrived = self.rng.f64() >= self.acks.loss;
            client.take_datagram();
            queue.push_back(arrived.then_some(stats.sequence));
        }
        rep.last_tick()
    }

    /// The last snapshot built for client `i`.
    pub fn last_stats(&mut self, i: usize) -> SnapshotStats {
        let session = self.observers[i].0;
        self.replication
            .client_mut(session)
            .expect("client")
            .last_stats()
    }

    /// Bodies in the scene.
    pub fn bodies(&self) -> usize {
        self.entities.len()
    }
}

/// Bits per entity update, measured over `ticks` ticks after a warm-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bandwidth {
    /// Payload bits per entity created or updated (sections and id gaps included).
    pub bits_per_changed_entity: f64,
    /// Payload bits per unchanged entity per snapshot, from a scene at rest.
    pub bits_per_unchanged_entity: f64,
    /// Entities updated per snapshot (the budget's share of the 1,000).
    pub changed_per_snapshot: f64,
    /// Snapshot bytes per second to the observer, envelopes included.
    pub bytes_per_second: f64,
}

/// Runs the bandwidth scenario: `bodies` moving bodies, one observer
/// seeing all of them, under the default budget.
pub fn measure_bandwidth(bodies: usize, acks: AckModel, ticks: usize) -> Bandwidth {
    let mut scene = BodyScene::new(bodies, 1, scene_config(bodies), acks);
    // Warm up: everything created and the budget in its steady state.
    for _ in 0..150 {
        scene.advance();
        scene.replicate();
    }
    let (mut bits, mut changed, mut bytes) = (0u64, 0u64, 0u64);
    for _ in 0..ticks {
        scene.advance();
        let total = scene.replicate();
        let s = scene.last_stats(0);
        bits += u64::from(s.payload_bits);
        changed += u64::from(s.creates + s.updates);
        bytes += total.bytes;
    }
    // At rest: once the rest state is acknowledged, what do unchanged bodies cost?
    scene.set_moving(false);
    for _ in 0..150 {
        scene.replicate();
    }
    let mut rest_bits = 0u64;
    for _ in 0..ticks {
        scene.replicate();
        rest_bits += u64::from(scene.last_stats(0).payload_bits);
    }
    Bandwidth {
        bits_per_changed_entity: bits as f64 / changed.max(1) as f64,
        bits_per_unchanged_entity: rest_bits as f64 / (ticks * bodies) as f64,
        changed_per_snapshot: changed as f64 / ticks as f64,
        bytes_per_second: bytes as f64 / ticks as f64 * 30.0,
    }
}
