//! Server replication CPU: 1,000 bodies changed every tick, sent to 1 and
//! to 20 clients who each see all of them (the scenario of bevy_replicon's
//! `mutations_send`). Throughput is per entity·client.
//!
//! ```text
//! cargo bench -p gsp-benches --bench replication
//! ```

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use gsp_benches::replication::{scene_config, AckModel, BodyScene};

fn mutations_send(c: &mut Criterion) {
    let mut group = c.benchmark_group("replication/mutations_send");
    for clients in [1usize, 20] {
        let bodies = 1000;
        let mut scene = BodyScene::new(bodies, clients, scene_config(bodies), AckModel::LOOPBACK);
        for _ in 0..60 {
            scene.advance();
            scene.replicate();
        }
        group.throughput(Throughput::Elements((bodies * clients) as u64));
        group.bench_with_input(BenchmarkId::new("clients", clients), &clients, |b, _| {
            // Only replication is timed, not the bodies' movement.
            b.iter_custom(|iters| {
                let mut spent = std::time::Duration::ZERO;
                for _ in 0..iters {
                    scene.advance();
                    let start = std::time::Instant::now();
                    std::hint::black_box(scene.replicate());
                    spent += start.elapsed();
                }
                spent
            })
        });
    }
    group.finish();
}

criterion_group!(benches, mutations_send);
criterion_main!(benches);
