//! The snapshot codec and replication state machines, without sockets.

use gsp_protocol::snapshot::codec::{apply, decode, encode, Create, Update};
use gsp_protocol::snapshot::quant::angle_between;
use gsp_protocol::snapshot::*;
use proptest::prelude::*;

const OVERHEAD: usize = gsp_protocol::SNAPSHOT_OVERHEAD_BYTES;

fn unit(v: [f32; 4]) -> [f32; 4] {
    let len = v.iter().map(|c| c * c).sum::<f32>().sqrt();
    if len < 1e-3 {
        return IDENTITY;
    }
    v.map(|c| c / len)
}

/// A body in a little test world.
#[derive(Debug, Clone, Copy)]
struct Body {
    id: u32,
    generation: u32,
    kind: u8,
    position: [f32; 3],
    rotation: [f32; 4],
    velocity: Option<[f32; 3]>,
}

impl Body {
    fn relevant(&self, q: &Quantizer, priority: f32) -> Relevant {
        Relevant {
            id: self.id,
            kind: self.kind,
            generation: self.generation,
            state: QState {
                position: q.position(self.position),
                rotation: q.rotation(self.rotation),
                velocity: self.velocity.map(|v| q.velocity(v)),
            },
            priority,
        }
    }
}

fn body_strategy() -> impl Strategy<Value = Body> {
    (
        0u32..5000,
        0u32..3,
        any::<u8>(),
        proptest::array::uniform3(-900.0f32..900.0),
        proptest::array::uniform4(-1.0f32..1.0),
        proptest::option::of(proptest::array::uniform3(-30.0f32..30.0)),
    )
        .prop_map(
            |(id, generation, kind, position, rotation, velocity)| Body {
                id,
                generation,
                kind,
                position: [position[0], position[1] * 0.1, position[2]],
                rotation: unit(rotation),
                velocity,
            },
        )
}

/// Builds the snapshot of `tick`, delivers it and its acknowledgement at once.
fn deliver(
    sender: &mut Sender,
    replica: &mut Replica,
    tick: u32,
    bodies: &[Relevant],
) -> SnapshotStats {
    let (stats, payload) = sender.build(tick, bodies);
    let header = SnapshotHeader {
        sequence: stats.sequence,
        baseline: stats.baseline,
        tick,
        last_input: 0,
    };
    replica.receive(&header, payload).unwrap();
    let (a, b) = replica.acks();
    sender.acknowledge(a, b);
    stats
}

fn sorted_unique(mut bodies: Vec<Body>) -> Vec<Body> {
    bodies.sort_by_key(|b| b.id);
    bodies.dedup_by_key(|b| b.id);
    bodies
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever the baseline and the changes, the reader gets exactly the
    /// quantized values back, and those are within quantization of the floats.
    #[test]
    fn payloads_round_trip_exactly(
        before in proptest::collection::vec(body_strategy(), 0..60),
        after in proptest::collection::vec(body_strategy(), 0..60),
        moves in proptest::collection::vec((proptest::array::uniform3(-3.0f32..3.0), proptest::array::uniform4(-0.2f32..0.2)), 60),
        tick_gap in 1u32..40,
    ) {
        let q = Quantizer::default();
        let before = sorted_unique(before);
        // A baseline view with some history, so that prediction is exercised.
        let mut older = View::default();
        let mut changes = Changes::default();
        for b in &before {
            changes.creates.push(Create { id: b.id, kind: b.kind, generation: 0, state: b.relevant(&q, 1.0).state });
        }
        apply(&View::default(), 1, 100, &changes, &mut older);
        changes.clear();
        let mut moved = before.clone();
        for (b, (dp, dr)) in moved.iter_mut().zip(&moves) {
            for (p, d) in b.position.iter_mut().zip(dp) { *p += d; }
            b.rotation = unit(std::array::from_fn(|i| b.rotation[i] + dr[i]));
            changes.updates.push(Update { id: b.id, state: b.relevant(&q, 1.0).state });
        }
        let mut baseline = View::default();
        apply(&older, 2, 103, &changes, &mut baseline);

        // The changes to send: some removed, some moved again, some new.
        let after = sorted_unique(after);
        let mut target = Changes::default();
        for (i, b) in moved.iter().enumerate() {
            match i % 3 {
                0 => target.removes.push(b.id),
                1 => {
                    let mut m = *b;
                    let (dp, dr) = moves[(i * 7) % moves.len()];
                    for (p, d) in m.position.iter_mut().zip(dp) { *p += d * 2.0; }
                    m.rotation = unit(std::array::from_fn(|k| m.rotation[k] - dr[k]));
                    target.updates.push(Update { id: m.id, state: m.relevant(&q, 1.0).state });
                }
                _ => {}
            }
        }
        for b in after.iter().filter(|b| baseline.get(b.id).is_none()) {
            target.creates.push(Create { id: b.id, kind: b.kind, generation: 0, state: b.relevant(&q, 1.0).state });
        }
        let tick = 103 + tick_gap;
        let mut w = bits::BitWriter::new();
        encode(&q, &baseline, tick, &target, &mut w);
        let mut count = bits::BitCount::default();
        encode(&q, &baseline, tick, &target, &mut count);
        prop_assert_eq!(count.0 as usize, w.bit_len());
        let payload = w.finish().to_vec();
        let mut read = Changes::default();
        decode(&q, &baseline, tick, &payload, &mut read).unwrap();
        prop_assert_eq!(&read, &target);

        let (mut mine, mut theirs) = (View::default(), View::default());
        apply(&baseline, 3, tick, &target, &mut mine);
        apply(&baseline, 3, tick, &read, &mut theirs);
        prop_assert_eq!(&mine, &theirs);
        for b in &after {
            if let Some(e) = theirs.get(b.id) {
                if target.creates.iter().any(|c| c.id == b.id) {
                    let p = q.position_of(e.state.position);
                    for (got, sent) in p.iter().zip(b.position) {
                        prop_assert!((got - sent).abs() <= q.position_error() * 1.01);
                    }
                    prop_assert!(angle_between(q.rotation_of(e.state.rotation), b.rotation) < 0.01);
                    if let (Some(v), Some(sent)) = (e.state.velocity, b.velocity) {
                        let v = q.velocity_of(v);
                        for a in 0..3 {
                            prop_assert!((v[a] - sent[a]).abs() <= 0.5 / 64.0 + 1e-6);
                        }
                    }
                }
            }
        }
    }

    /// Corrupt payloads are errors, never panics.
    #[test]
    fn corrupt_payloads_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let q = Quantizer::default();
        let mut base = View::default();
        let mut c = Changes::default();
        for id in [1, 5, 9] {
            c.creates.push(Create { id, kind: 0, generation: 0, state: QState::default() });
        }
        apply(&View::default(), 1, 1, &c, &mut base);
        let _ = decode(&q, &base, 5, &bytes, &mut c);
    }

    /// Under random loss, duplication and reordering in both directions, the
    /// client ends up with exactly the server's quantized state, and every
    /// snapshot it decodes is one the server built.
    #[test]
    fn clients_converge_under_loss_duplication_and_reordering(
        seed in any::<u64>(),
        loss in 0.0f64..0.6,
        duplicate in 0.0f64..0.3,
        max_delay in 0usize..6,
        budget in prop_oneof![Just(4_000u32), Just(8_000u32), Just(32_000u32)],
    ) {
        let q = Quantizer::default();
        let mut rng = fastrand::Rng::with_seed(seed);
        let config = SenderConfig { bytes_per_second: budget, ..SenderConfig::default() };
        let mut sender = Sender::new(q, config, OVERHEAD);
        let mut replica = Replica::new(q);
        let mut bodies: Vec<Body> = (0..40)
            .map(|i| Body {
                id: i * 3 + rng.u32(0..3),
                generation: 0,
                kind: (i % 4) as u8,
                position: [rng.f32() * 100.0, 0.0, rng.f32() * 100.0],
                rotation: IDENTITY,
                velocity: (i % 5 == 0).then_some([1.0, 0.0, 0.0]),
            })
            .collect();
        let mut in_flight: Vec<(usize, SnapshotHeader, Vec<u8>)> = Vec::new();
        let mut acks_in_flight: Vec<(usize, (u32, u64))> = Vec::new();
        let mut sent: std::collections::HashMap<u32, View> = Default::default();
        let rounds = 120;
        for tick in 1..=(rounds + 200) {
            let lossy = tick <= rounds;
            if lossy {
                // The world changes: bodies move, turn, leave, come back as new entities.
                for b in bodies.iter_mut() {
                    match rng.u32(0..20) {
                        0 => b.generation += 1,
                        1..=12 => {
                            b.position[0] += rng.f32() * 2.0 - 1.0;
                            b.position[2] += rng.f32() * 0.5;
                            b.rotation = unit([0.0, rng.f32() - 0.5, 0.0, 1.0]);
                            if let Some(v) = b.velocity.as_mut() {
                                v[1] = rng.f32() * 4.0;
                            }
                        }
                        _ => {}
                    }
                }
            }
            let visible: Vec<Relevant> = bodies
                .iter()
                .filter(|b| !lossy || b.id % 7 != (tick as u32 / 10) % 7)
                .map(|b| b.relevant(&q, 1.0 + b.position[0].abs() / 100.0))
                .collect();
            let (stats, payload) = sender.build(tick as u32, &visible);
            let payload = payload.to_vec();
            let header = SnapshotHeader { sequence: stats.sequence, baseline: stats.baseline, tick: tick as u32, last_input: 0 };
            sent.insert(stats.sequence, sender.view(stats.sequence).unwrap().clone());
            prop_assert!(payload.len() + OVERHEAD <= config.max_datagram_bytes);
            let copies = if !lossy { 1 } else if rng.f64() < loss { 0 } else if rng.f64() < duplicate { 2 } else { 1 };
            for _ in 0..copies {
                let delay = if lossy { rng.usize(0..=max_delay) } else { 0 };
                in_flight.push((tick + delay, header, payload.clone()));
            }
            // Deliver what is due, in a shuffled order.
            let (due, later): (Vec<_>, Vec<_>) = in_flight.drain(..).partition(|(t, _, _)| *t <= tick);
            in_flight = later;
            let mut due = due;
            rng.shuffle(&mut due);
            for (_, h, p) in due {
                replica.receive(&h, &p).unwrap();
                let view = replica.view(h.sequence).unwrap();
                let expected = &sent[&h.sequence];
                prop_assert_eq!(view.entities.len(), expected.entities.len());
                for (a, b) in view.entities.iter().zip(&expected.entities) {
                    prop_assert_eq!((a.id, a.kind, a.state, a.tick), (b.id, b.kind, b.state, b.tick));
                }
            }
            let copies = if lossy && rng.f64() < loss { 0 } else { 1 };
            for _ in 0..copies {
                let delay = if lossy { rng.usize(0..=max_delay) } else { 0 };
                acks_in_flight.push((tick + delay, replica.acks()));
            }
            let (due, later): (Vec<_>, Vec<_>) = acks_in_flight.drain(..).partition(|(t, _)| *t <= tick);
            acks_in_flight = later;
            for (_, (newest, bits)) in due {
                sender.acknowledge(newest, bits);
            }
        }
        let latest = replica.latest();
        let expected: Vec<Relevant> = bodies.iter().map(|b| b.relevant(&q, 1.0)).collect();
        prop_assert_eq!(latest.entities.len(), expected.len());
        for (e, r) in latest.entities.iter().zip(&expected) {
            prop_assert_eq!((e.id, e.kind, e.state), (r.id, r.kind, r.state));
        }
    }
}

#[test]
fn an_idle_world_sends_only_headers() {
    let q = Quantizer::default();
    let mut sender = Sender::new(q, SenderConfig::default(), OVERHEAD);
    let mut replica = Replica::new(q);
    let bodies: Vec<Relevant> = (0..50u32)
        .map(|i| Body {
            id: i,
            generation: 0,
            kind: 0,
            position: [i as f32, 0.0, -(i as f32)],
            rotation: IDENTITY,
            velocity: None,
        })
        .map(|b| b.relevant(&q, 1.0))
        .collect();
    let mut sizes = Vec::new();
    for tick in 1..=20 {
        let stats = deliver(&mut sender, &mut replica, tick, &bodies);
        sizes.push(stats.payload_bits.div_ceil(8));
    }
    assert!(sizes[0] > 0, "the first snapshot creates everything");
    assert!(
        sizes[2..].iter().all(|&n| n == 0),
        "an idle world sends empty payloads: {sizes:?}"
    );
    assert_eq!(replica.latest().entities.len(), 50);
}

#[test]
fn nothing_starves_under_a_tight_budget() {
    let q = Quantizer::default();
    // About 40 bytes of payload per tick: a few records at a time.
    let config = SenderConfig {
        bytes_per_second: (OVERHEAD as u32 + 40) * 30,
        ..SenderConfig::default()
    };
    let mut sender = Sender::new(q, config, OVERHEAD);
    let mut replica = Replica::new(q);
    let mut last_seen = vec![0u32; 200];
    let mut worst_wait = 0;
    for tick in 1..=400u32 {
        // Every body moves every tick; the near ones matter far more.
        let bodies: Vec<Relevant> = (0..200u32)
            .map(|i| {
                let b = Body {
                    id: i,
                    generation: 0,
                    kind: 0,
                    position: [i as f32, 0.0, tick as f32 * 0.1],
                    rotation: IDENTITY,
                    velocity: None,
                };
                b.relevant(&q, if i < 10 { 50.0 } else { 1.0 })
            })
            .collect();
        let stats = deliver(&mut sender, &mut replica, tick, &bodies);
        assert!(stats.waiting > 0, "the budget is the limit");
        for e in &replica.latest().entities {
            if e.tick == tick {
                let id = e.id as usize;
                if tick > 100 {
                    worst_wait = worst_wait.max(tick - last_seen[id]);
                }
                last_seen[id] = tick;
            }
        }
    }
    assert!(
        last_seen.iter().all(|&t| t > 300),
        "every body is sent now and then: {last_seen:?}"
    );
    // The near, heavy ones go far more often than the rest.
    let near = last_seen[..10].iter().min().unwrap();
    assert!(*near > 390, "high-priority bodies are fresh: {near}");
    assert!(worst_wait < 100, "worst wait {worst_wait} ticks");
}

#[test]
fn a_missing_baseline_is_refused_and_the_slot_kept() {
    let q = Quantizer::default();
    let mut replica = Replica::new(q);
    let header = SnapshotHeader {
        sequence: 5,
        baseline: 4,
        tick: 10,
        last_input: 0,
    };
    assert_eq!(
        replica.receive(&header, &[]),
        Err(SnapshotError::MissingBaseline(4))
    );
    assert_eq!(replica.acks(), (0, 0), "nothing is acknowledged");
}

#[test]
fn smooth_motion_costs_a_few_bits() {
    let q = Quantizer::default();
    let mut sender = Sender::new(q, SenderConfig::default(), OVERHEAD);
    let mut replica = Replica::new(q);
    let mut bits_after_warmup = Vec::new();
    for tick in 1..=30u32 {
        let t = tick as f32 / 30.0;
        let bodies: Vec<Relevant> = (0..20u32)
            .map(|i| Body {
                id: i,
                generation: 0,
                kind: 0,
                position: [i as f32 + 3.0 * t, 1.0, 4.0 * t],
                rotation: unit([0.0, (t * 0.5).sin(), 0.0, (t * 0.5).cos()]),
                velocity: None,
            })
            .map(|b| b.relevant(&q, 1.0))
            .collect();
        let stats = deliver(&mut sender, &mut replica, tick, &bodies);
        if tick > 3 {
            assert_eq!(stats.updates, 20);
            bits_after_warmup.push(stats.payload_bits / stats.updates);
        }
    }
    // Absolute coding is 58 bits of position and 29 of rotation; predicted
    // residuals of straight-line motion take a fraction of that.
    let worst = bits_after_warmup.iter().max().unwrap();
    assert!(*worst < 40, "bits per updated body: {bits_after_warmup:?}");
}

#[test]
fn a_shared_record_cache_changes_no_byte() {
    let q = Quantizer::default();
    let config = SenderConfig {
        bytes_per_second: 6_000,
        ..SenderConfig::default()
    };
    // Three clients with different ack patterns, built alone and with a
    // cache shared among them: the payloads must be identical.
    let mut alone: Vec<Sender> = (0..3).map(|_| Sender::new(q, config, OVERHEAD)).collect();
    let mut shared: Vec<Sender> = (0..3).map(|_| Sender::new(q, config, OVERHEAD)).collect();
    let mut cache = RecordCache::default();
    for tick in 1..=120u32 {
        let bodies: Vec<Relevant> = (0..60u32)
            .map(|i| {
                let t = tick as f32 * 0.03;
                Body {
                    id: i * 2,
                    generation: 0,
                    kind: 1,
                    position: [i as f32 + t * (i % 5) as f32, 0.0, t],
                    rotation: unit([0.0, (t * 0.3 + i as f32).sin(), 0.0, 1.0]),
                    velocity: None,
                }
                .relevant(&q, 1.0 + (i % 3) as f32)
            })
            .collect();
        for client in 0..3 {
            let (a_stats, a) = alone[client].build(tick, &bodies);
            let a = a.to_vec();
            let (b_stats, b) = shared[client].build_shared(tick, &bodies, &mut cache);
            assert_eq!(a_stats, b_stats);
            assert_eq!(a, b, "client {client}, tick {tick}");
            // Client 0 acks everything, client 1 every other snapshot, client 2 rarely.
            if tick % (client as u32 * 3 + 1) == 0 {
                alone[client].acknowledge(a_stats.sequence, 0);
                shared[client].acknowledge(b_stats.sequence, 0);
            }
        }
    }
}
