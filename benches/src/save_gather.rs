//! The tick thread's share of a world save: gathering what changed among N
//! persistent entities into a `WorldSave` and handing it to the writer's
//! channel. Writing it is the writer's business (see `save-report`).

use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use gsp_engine::components::{Attributes, Persistent, Position, Replicated, KIND_PROP};
use gsp_engine::{GameWorld, Persist, PersistSink, Vec3, WorldConfig, WorldMap};

/// A world of `entities` persistent props (every tenth with a small
/// attribute map), saving into an unbounded channel that the caller drains.
pub fn world_with_props(entities: usize) -> (GameWorld, Receiver<Persist>) {
    let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
    let (tx, rx) = crossbeam_channel::unbounded();
    world.enable_saves(PersistSink { tx }, 0);
    for i in 0..entities {
        let at = Vec3::new((i % 100) as f32, 0.5, (i / 100) as f32);
        let mut e = world.world_mut().spawn((
            Persistent {
                key: format!("bench:prop-{i}").into(),
            },
            Position(at),
            Replicated::new(KIND_PROP),
        ));
        if i % 10 == 0 {
            let mut attrs = serde_json::Map::new();
            attrs.insert("owner".into(), "ada".into());
            attrs.insert("hp".into(), 100.into());
            e.insert(Attributes(attrs));
        }
    }
    // The first save holds everything; later ones only what changed.
    world.save_now(false);
    rx.try_iter().for_each(drop);
    (world, rx)
}

/// Moves the first `changed` props a centimetre up or down, so that each
/// differs from its last save (as physics moves them: by value).
pub fn move_props(world: &mut GameWorld, changed: usize) {
    let mut query = world.world_mut().query::<(&Persistent, &mut Position)>();
    for (_, mut p) in query.iter_mut(world.world_mut()).take(changed) {
        p.0.y += if p.0.y > 0.5 { -0.01 } else { 0.01 };
    }
}

/// Time on the tick thread for one save with `changed` of the world's
/// props moved since the last, over `rounds` saves: (mean, max).
pub fn gather_cost(
    world: &mut GameWorld,
    rx: &Receiver<Persist>,
    changed: usize,
    rounds: u32,
) -> (Duration, Duration) {
    let mut total = Duration::ZERO;
    let mut worst = Duration::ZERO;
    for _ in 0..rounds {
        move_props(world, changed);
        let start = Instant::now();
        let sent = world.save_now(false);
        let took = start.elapsed();
        assert!(sent, "the save channel is unbounded");
        let upserts: usize = rx
            .try_iter()
            .map(|m| match m {
                Persist::World(s) => s.upserts.len(),
                Persist::Character(..) => 0,
            })
            .sum();
        assert_eq!(upserts, changed, "a save holds exactly what changed");
        total += took;
        worst = worst.max(took);
    }
    (total / rounds.max(1), worst)
}
