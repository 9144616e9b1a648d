//! The cost of one tick with N graphical players walking about.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gsp_benches::{drain, populated_world, wander};

fn tick(c: &mut Criterion) {
    let mut group = c.benchmark_group("tick");
    for players in [50usize, 200, 1000] {
        let (mut world, mut sessions) = populated_world(players);
        let mut sequence = 0u32;
        group.throughput(Throughput::Elements(players as u64));
        group.bench_with_input(BenchmarkId::new("players", players), &players, |b, _| {
            b.iter(|| {
                sequence += 1;
                wander(&sessions, sequence);
                world.step();
                drain(&mut sessions)
            })
        });
        assert_eq!(world.stats().snapshot().slow_disconnects, 0);
    }
    group.finish();
}

criterion_group!(benches, tick);
criterion_main!(benches);
