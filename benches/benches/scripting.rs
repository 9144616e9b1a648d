//! The cost of mods: delivering one event to a Lua handler, and what the
//! CPU-budget interrupt adds to a hot loop.
//!
//! `dispatch`: 1,000 `trigger` events per iteration through the scripts
//! stage to a handler that counts them (per-element time = per event).
//! `hot_loop`: a 10,000-iteration numeric loop in a mod's `tick` handler
//! (sandboxed, interrupt armed) against the same loop in a bare Luau state
//! with no interrupt; `hot_calls`: the same with a Lua function call in
//! each iteration (three interrupts per iteration: call, return, back-edge).

use bevy_ecs::entity::Entity;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gsp_engine::{GameWorld, WorldConfig, WorldEvent, WorldEvents, WorldMap};

const EVENTS: usize = 1000;
const LOOP: &str = "local x = 0 for i = 1, 10000 do x += i end return x";
const CALLS: &str =
    "local function f(i) return i end local x = 0 for i = 1, 10000 do x += f(i) end return x";

fn world_with_mod(init: &str) -> (GameWorld, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("bench");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(m.join("mod.toml"), "name = \"bench\"\nversion = \"1\"\n").unwrap();
    std::fs::write(m.join("init.lua"), init).unwrap();
    let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
    let mods = gsp_scripting::discover(dir.path()).unwrap();
    // A budget far above what the loop takes: this measures what enforcing
    // it costs, not what happens when it trips.
    let config = gsp_scripting::ScriptConfig {
        limits: gsp_scripting::Limits {
            callback: std::time::Duration::from_secs(10),
            ..Default::default()
        },
        tick_budget: std::time::Duration::from_secs(10),
        ..Default::default()
    };
    gsp_scripting::install(&mut world, mods, config);
    world.step();
    (world, dir)
}

fn dispatch(c: &mut Criterion) {
    let (mut world, _dir) = world_with_mod(
        "local n = 0\ngsp.on('trigger', function(name, entity, entered) n += 1 end)",
    );
    let w = world.world_mut();
    let other = w.spawn_empty().id();
    let mut group = c.benchmark_group("scripting");
    group.throughput(Throughput::Elements(EVENTS as u64));
    group.bench_function("dispatch_trigger_event", |b| {
        b.iter(|| {
            let mut events = w.resource_mut::<WorldEvents>();
            for i in 0..EVENTS {
                events.push(WorldEvent::Trigger {
                    sensor: Entity::PLACEHOLDER,
                    name: "goal".into(),
                    other,
                    entered: i % 2 == 0,
                });
            }
            gsp_scripting::run_scripts(w);
        })
    });
    group.finish();
}

/// `code` as a mod's `tick` handler against the same in a bare Luau state.
fn sandboxed_against_bare(c: &mut Criterion, group: &str, code: &str) {
    let (mut world, _dir) = world_with_mod(&format!("gsp.on('tick', function() {code} end)"));
    let mut group = c.benchmark_group(group);
    group.throughput(Throughput::Elements(10_000));
    let w = world.world_mut();
    group.bench_function("sandboxed_with_budget", |b| {
        b.iter(|| gsp_scripting::run_scripts(w))
    });
    let lua = mlua::Lua::new();
    let f = lua.load(code).into_function().unwrap();
    group.bench_function("bare_luau", |b| b.iter(|| f.call::<f64>(()).unwrap()));
    group.finish();
    let reports = world.stats().mods();
    assert_eq!(reports[0].errors, 0, "{:?}", reports[0].last_error);
}

fn hot_loop(c: &mut Criterion) {
    sandboxed_against_bare(c, "scripting_hot_loop", LOOP);
}

fn hot_calls(c: &mut Criterion) {
    sandboxed_against_bare(c, "scripting_hot_calls", CALLS);
}

criterion_group!(benches, dispatch, hot_loop, hot_calls);
criterion_main!(benches);
