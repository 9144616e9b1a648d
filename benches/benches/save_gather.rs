//! The tick thread's share of a save of 10,000 persistent entities: all
//! changed, a tenth changed, none changed. Target: under 1 ms.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gsp_benches::save_gather::{move_props, world_with_props};

fn gather(c: &mut Criterion) {
    let mut group = c.benchmark_group("save_gather");
    let entities = 10_000;
    let (mut world, rx) = world_with_props(entities);
    for changed in [entities, entities / 10, 0] {
        group.bench_with_input(
            BenchmarkId::new("changed", changed),
            &changed,
            |b, &changed| {
                b.iter_custom(|iters| {
                    let mut spent = std::time::Duration::ZERO;
                    for _ in 0..iters {
                        move_props(&mut world, changed);
                        let start = std::time::Instant::now();
                        world.save_now(false);
                        spent += start.elapsed();
                        rx.try_iter().for_each(drop);
                    }
                    spent
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, gather);
criterion_main!(benches);
