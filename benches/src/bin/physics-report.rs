//! Steps the physics benchmark's scene through the ECS and in bare rapier,
//! interleaved tick by tick so both see the same machine state, and prints
//! the median tick of each, their ratio, and where bare rapier's tick goes;
//! then the crowd scenes, packed and spread, interleaved the same way, with
//! the median tick of each, their ratio, and how close two avatars came.
//!
//! ```text
//! cargo run --release -p gsp-benches --bin physics-report [-- TICKS [crowd]]
//! ```
//!
//! With `crowd`, only the crowd scenes run.

use std::time::{Duration, Instant};

use gsp_benches::physics::{BareScene, EcsScene, Scene};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let ticks: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(300)
        .max(1);
    let only_crowd = std::env::args().nth(2).as_deref() == Some("crowd");
    if !only_crowd {
        field(ticks);
    }
    // The crowd: placement spreads the packed avatars over the first tick;
    // then both walk for a second before the timed ticks.
    let mut packed = EcsScene::of(&Scene::PACKED);
    let mut spread = EcsScene::of(&Scene::SPREAD);
    for _ in 0..30 {
        packed.step();
        spread.step();
    }
    let (mut p, mut s) = (Vec::with_capacity(ticks), Vec::with_capacity(ticks));
    let mut closest = f32::MAX;
    let mut paths = [[0usize; 3]; 2];
    for _ in 0..ticks {
        let start = Instant::now();
        packed.step();
        p.push(start.elapsed());
        let start = Instant::now();
        spread.step();
        s.push(start.elapsed());
        closest = closest.min(packed.closest_avatars());
        for (sum, scene) in paths.iter_mut().zip([&packed, &spread]) {
            for (total, n) in sum.iter_mut().zip(scene.move_paths()) {
                *total += n;
            }
        }
    }
    let (p, s) = (median(p), median(s));
    println!(
        "crowd, 1,000 avatars and 100 props, ticks {ticks}: packed in a 20 m room {:.3} ms, spread over 200 m {:.3} ms, ratio {:.3}; closest two packed avatars {:.3} m",
        ms(p),
        ms(s),
        p.as_secs_f64() / s.as_secs_f64(),
        closest
    );
    for (name, [rest, open, controller]) in ["packed", "spread"].into_iter().zip(paths) {
        let all = (rest + open + controller).max(1) as f64 / 100.0;
        println!(
            "  {name}: avatar moves at rest {:.1} %, on open floor {:.1} %, through the controller {:.1} %",
            rest as f64 / all,
            open as f64 / all,
            controller as f64 / all
        );
    }
}

/// The field scene, ECS against bare rapier.
fn field(ticks: usize) {
    let mut ecs = EcsScene::new();
    let mut bare = BareScene::new();
    for _ in 0..30 {
        ecs.step();
        bare.step();
    }
    let (mut e, mut b) = (Vec::with_capacity(ticks), Vec::with_capacity(ticks));
    let mut parts: [Vec<Duration>; 3] = Default::default();
    for _ in 0..ticks {
        let start = Instant::now();
        ecs.step();
        e.push(start.elapsed());
        let start = Instant::now();
        let split = bare.step_timed();
        b.push(start.elapsed());
        for (p, d) in parts.iter_mut().zip(split) {
            p.push(d);
        }
    }
    let (e, b) = (median(e), median(b));
    let [moving, stepping, reading] = parts.map(median);
    println!(
        "ticks {ticks}: ecs {:.3} ms, bare {:.3} ms, ratio {:.3}",
        e.as_secs_f64() * 1e3,
        b.as_secs_f64() * 1e3,
        e.as_secs_f64() / b.as_secs_f64()
    );
    println!(
        "bare tick, median of each part: character controller {:.3} ms, rapier step {:.3} ms, read back {:.3} ms",
        ms(moving),
        ms(stepping),
        ms(reading)
    );
}
