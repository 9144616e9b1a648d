//! GSP scripting: sandboxed Luau mods in the tick.
//!
//! It runs on the tick thread of the world server (`gsp world`, and the
//! default world of `gsp up`), whose composition root discovers the mods
//! folder and installs them into its [`GameWorld`].
//!
//! A mod is a folder with a `mod.toml` ([`manifest`]) and an `init.lua`.
//! [`install`] loads a folder of mods in dependency order into a
//! [`GameWorld`]: each mod gets a Luau state of its own ([`sandbox`]) with
//! the `gsp` table ([`api`], documented for modders in `scripting/API.md`),
//! and its `init.lua` runs. From then on the [`ScriptHost`] runs in the
//! scripts stage of every tick: it delivers the world's events
//! ([`gsp_engine::WorldEvent`]) to the handlers mods registered, runs their
//! timers and the commands players type, and reloads a mod whose files
//! changed ([`watch`]).
//!
//! Nothing a mod does can stop the world: an error is caught and reported
//! with the mod, file and line; a callback that runs past its CPU budget is
//! interrupted; memory is capped per mod; a mod that keeps failing is
//! quarantined and listed as such in `/status`; and the time all mods may
//! take per tick is bounded, with events left over delivered next tick.
//!
//! # Layout
//!
//! - [`manifest`]: `mod.toml`, what a mod needs and may do, and the load order of a folder.
//! - [`sandbox`]: one sandboxed Luau state per mod, with its memory and CPU limits.
//! - `armed` (internal): what the host arms around each call into a mod: the
//!   world pointer, the CPU deadline and its raw Luau interrupt.
//! - [`host`]: [`ScriptHost`], loading mods and running them in the scripts stage.
//! - [`api`]: the `gsp` table, everything a mod can call.
//! - [`entity`]: [`EntityRef`], the entity handle mods hold.
//! - [`value`]: plain data that can leave a Lua state (storage, calls between mods).
//! - [`watch`]: `--watch`, noticing a mod's files changed so that it is reloaded.
//!
//! ```no_run
//! use gsp_engine::{GameWorld, WorldConfig, WorldMap};
//! use gsp_scripting::{discover, install, ScriptConfig};
//!
//! let mods = discover(std::path::Path::new("mods")).unwrap();
//! let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
//! install(&mut world, mods, ScriptConfig::default());
//! world.step();
//! ```

#![warn(missing_docs)]

pub mod api;
mod armed;
pub mod entity;
pub mod host;
pub mod manifest;
pub mod sandbox;
pub mod value;
pub mod watch;

use bevy_ecs::prelude::*;
use gsp_engine::{GameWorld, TickStage, WorldEvents};

pub use api::{EventKind, Prefab, Prefabs};
pub use entity::EntityRef;
pub use host::{run_scripts, ModState, ScriptConfig, ScriptHost};
pub use manifest::{discover, Manifest, ManifestError, ModSource, Permission};
pub use sandbox::Limits;
pub use value::Plain;

/// Loads `mods` (in the order [`discover`] gives) into `world` and adds the
/// host to its scripts stage. Mods that fail to load are reported (log and
/// `/status`) and the world runs without them.
pub fn install(world: &mut GameWorld, mods: Vec<ModSource>, config: ScriptConfig) {
    let w = world.world_mut();
    w.init_resource::<Prefabs>();
    w.resource_mut::<WorldEvents>().listening = true;
    let host = ScriptHost::load(w, mods, config);
    w.resource::<gsp_engine::systems::emit::StatsHandle>()
        .0
        .set_mods(host.reports());
    w.insert_resource(host);
    w.insert_resource(gsp_engine::systems::save::ModStorageHook(Box::new(
        |world| {
            world
                .get_resource::<ScriptHost>()
                .map(ScriptHost::storage_json)
                .unwrap_or_default()
        },
    )));
    world
        .schedule_mut()
        .add_systems(run_scripts.in_set(TickStage::Scripts));
}

/// The first line of a Lua error, without mlua's wrapping and traceback.
pub(crate) fn describe(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => describe(cause),
        mlua::Error::WithContext { cause, .. } => describe(cause),
        mlua::Error::MemoryError(_) => "out of memory: the mod reached its memory limit".into(),
        mlua::Error::SyntaxError { message, .. } => first_line(message),
        mlua::Error::RuntimeError(message) => first_line(message),
        other => first_line(&other.to_string()),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_owned()
}
