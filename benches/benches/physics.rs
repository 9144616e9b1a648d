//! Physics through the ECS against bare rapier: 1,000 dynamic props and
//! 1,000 avatars walking with the character controller, one tick per
//! iteration, the same scene stepped both ways in one group
//! ([`gsp_benches::physics`]). The target is ECS / bare ≤ 1.2.
//!
//! ```text
//! cargo bench -p gsp-benches --bench physics
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gsp_benches::physics::{BareScene, EcsScene, Scene, AVATARS, PROPS};

fn physics(c: &mut Criterion) {
    let mut group = c.benchmark_group("physics");
    group.sample_size(30);
    group.throughput(Throughput::Elements((PROPS + AVATARS) as u64));
    // Both settle for a second first: props land, avatars start walking.
    let mut ecs = EcsScene::new();
    let mut bare = BareScene::new();
    for _ in 0..30 {
        ecs.step();
        bare.step();
    }
    assert_eq!(ecs.body_count(), PROPS + AVATARS);
    assert_eq!(bare.body_count(), PROPS + AVATARS);
    // The scene's cost changes as avatars walk and props scatter, so both
    // scenes always advance together: each bench times its own scene's
    // tick and then steps the other one, untimed.
    group.bench_function("ecs", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                ecs.step();
                spent += start.elapsed();
                bare.step();
            }
            spent
        })
    });
    group.bench_function("bare", |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                bare.step();
                spent += start.elapsed();
                ecs.step();
            }
            spent
        })
    });
    group.finish();
}

/// The physics stage alone with 1,000 avatars and 100 props packed into one
/// 20 m room, and the same crowd spread over the 200 m field (target:
/// packed ≤ 3 ms a tick and ≤ 2× spread).
fn crowd(c: &mut Criterion) {
    let mut group = c.benchmark_group("physics_crowd");
    group.sample_size(30);
    for (name, scene) in [("packed", Scene::PACKED), ("spread", Scene::SPREAD)] {
        let mut world = EcsScene::of(&scene);
        for _ in 0..30 {
            world.step();
        }
        group.bench_function(name, |b| b.iter(|| world.step()));
    }
    group.finish();
}

criterion_group!(benches, physics, crowd);
criterion_main!(benches);
