//! The scripting host: loads mods, delivers the world's events to them in
//! the scripts stage, runs their timers and commands, reloads them when
//! their files change, and quarantines the ones that keep failing.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy_ecs::entity::EntityHashMap;
use bevy_ecs::prelude::*;
use bevy_ecs::world::Mut;
use gsp_engine::components::{ModCommand, ModCommands, Sessions, TickTime};
use gsp_engine::map::RoomId;
use gsp_engine::systems::emit::StatsHandle;
use gsp_engine::{ModReport, Outbound, TextEvent, WorldEvent, WorldEvents, WorldMap};
use mlua::{AnyUserData, Function, IntoLuaMulti, Lua, LuaString, Value};

use crate::api::{CommandCtx, EventKind, LinkEntry, Links, ModCtx, ModOwned, Timer, STORAGE_KEY};
use crate::armed::Armed;
use crate::entity::EntityRef;
use crate::manifest::{read_manifest, ModSource};
use crate::sandbox::{new_state, run_file, Limits};
use crate::value::{to_plain, Plain};

/// How the host runs mods.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptConfig {
    /// Per-mod limits: CPU per callback, memory.
    pub limits: Limits,
    /// Script time one tick may spend in all mods together; events left
    /// over wait for the next tick.
    pub tick_budget: Duration,
    /// Errors within [`ScriptConfig::quarantine_window`] that quarantine a mod.
    pub quarantine_errors: usize,
    /// See [`ScriptConfig::quarantine_errors`].
    pub quarantine_window: Duration,
    /// Events that may wait for script time before the oldest are dropped.
    pub max_backlog: usize,
}

impl Default for ScriptConfig {
    fn default() -> Self {
        ScriptConfig {
            limits: Limits::default(),
            tick_budget: Duration::from_millis(10),
            quarantine_errors: 5,
            quarantine_window: Duration::from_secs(60),
            max_backlog: 10_000,
        }
    }
}

/// Where a mod stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModState {
    /// Loaded and receiving events.
    Running,
    /// Failed too often; receives nothing until it is reloaded.
    Quarantined,
    /// Did not load (its error says why); a reload may fix it.
    Failed,
}

impl ModState {
    fn name(self) -> &'static str {
        match self {
            ModState::Running => "running",
            ModState::Quarantined => "quarantined",
            ModState::Failed => "failed",
        }
    }
}

struct ModVm {
    lua: Lua,
    /// What calls into `lua` arm: the world, the budget.
    armed: Arc<Armed>,
    handlers: [Vec<Function>; EventKind::ALL.len()],
    commands: HashMap<String, Function>,
    timers: Vec<Timer>,
    args: ArgCache,
}

/// Lua values for handler arguments, made once and passed again: entity
/// handles for the rest of the tick, names (of sensors, of rooms) for as
/// long as there are few of them.
#[derive(Default)]
struct ArgCache {
    entities: EntityHashMap<AnyUserData>,
    names: HashMap<Box<str>, LuaString>,
}

/// Names an [`ArgCache`] keeps; past this it starts over.
const MAX_NAMES: usize = 1024;

impl ArgCache {
    /// The handle of `entity`, the same one all tick.
    fn entity(&mut self, lua: &Lua, entity: Entity) -> mlua::Result<AnyUserData> {
        if let Some(handle) = self.entities.get(&entity) {
            return Ok(handle.clone());
        }
        let handle = lua.create_userdata(EntityRef { entity })?;
        self.entities.insert(entity, handle.clone());
        Ok(handle)
    }

    /// `name` as a Lua string.
    fn name(&mut self, lua: &Lua, name: &str) -> mlua::Result<LuaString> {
        if let Some(s) = self.names.get(name) {
            return Ok(s.clone());
        }
        if self.names.len() >= MAX_NAMES {
            self.names.clear();
        }
        let s = lua.create_string(name)?;
        self.names.insert(name.into(), s.clone());
        Ok(s)
    }
}

struct ModSlot {
    source: ModSource,
    vm: Option<ModVm>,
    state: ModState,
    errors: u64,
    recent: VecDeque<Instant>,
    last_error: Option<String>,
    /// Storage kept while the mod is not loaded, for its next load.
    kept_storage: Option<Plain>,
}

/// The mods of one world, as a resource of that world.
#[derive(Resource)]
pub struct ScriptHost {
    config: ScriptConfig,
    mods: Vec<ModSlot>,
    commands: HashMap<String, usize>,
    links: Arc<Links>,
    reloads: Option<crossbeam_channel::Receiver<String>>,
    backlog: VecDeque<WorldEvent>,
    dropped_events: u64,
    report_dirty: bool,
    /// The clock as last read: at the start of a tick, after each call into
    /// a mod. A call's budget starts from it, which saves a clock read per
    /// call; between the reading and the call the host only builds the
    /// call's arguments.
    now: Instant,
}

/// What a callback is, for error messages.
#[derive(Debug, Clone, Copy)]
enum Site<'a> {
    Init,
    Handler(EventKind),
    Timer,
    Command(&'a str),
}

impl std::fmt::Display for Site<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Site::Init => f.write_str("loading"),
            Site::Handler(kind) => write!(f, "the `{}` handler", kind.name()),
            Site::Timer => f.write_str("a timer"),
            Site::Command(name) => write!(f, "the `{name}` command"),
        }
    }
}

impl ScriptHost {
    /// Loads `sources` (already in dependency order) into `world`: each
    /// mod's `init.lua` runs with the world reachable. A mod that fails to
    /// load is reported and skipped, as are the mods that depend on it.
    pub fn load(world: &mut World, sources: Vec<ModSource>, config: ScriptConfig) -> ScriptHost {
        let mut host = ScriptHost {
            config,
            mods: Vec::with_capacity(sources.len()),
            commands: HashMap::new(),
            links: Arc::new(Links::default()),
            reloads: None,
            backlog: VecDeque::new(),
            dropped_events: 0,
            report_dirty: true,
            now: Instant::now(),
        };
        let mut restored = world
            .remove_resource::<gsp_engine::systems::save::RestoredStorage>()
            .unwrap_or_default()
            .0;
        for source in sources {
            let kept_storage = restored
                .remove(&source.manifest.name)
                .map(|json| crate::value::from_json(&json));
            host.mods.push(ModSlot {
                source,
                vm: None,
                state: ModState::Failed,
                errors: 0,
                recent: VecDeque::new(),
                last_error: None,
                kept_storage,
            });
            let index = host.mods.len() - 1;
            host.start(index, world);
        }
        host
    }

    /// Reloads the named mods whenever `changes` delivers a name (see
    /// [`crate::watch`]).
    pub fn watch(&mut self, changes: crossbeam_channel::Receiver<String>) {
        self.reloads = Some(changes);
    }

    /// Every mod with its state, as `/status` lists them.
    pub fn reports(&self) -> Vec<ModReport> {
        self.mods
            .iter()
            .map(|m| ModReport {
                name: m.source.manifest.name.clone(),
                version: m.source.manifest.version.clone(),
                state: m.state.name().to_owned(),
                errors: m.errors,
                last_error: m.last_error.clone(),
            })
            .collect()
    }

    /// The state of mod `name`.
    pub fn state(&self, name: &str) -> Option<ModState> {
        self.slot(name).map(|i| self.mods[i].state)
    }

    /// Events dropped because script time ran short for too long.
    pub fn dropped_events(&self) -> u64 {
        self.dropped_events
    }

    /// The mod's `gsp.storage`, copied out.
    pub fn storage(&self, name: &str) -> Option<Plain> {
        let slot = &self.mods[self.slot(name)?];
        match &slot.vm {
            Some(vm) => storage_of(&vm.lua).ok(),
            None => slot.kept_storage.clone(),
        }
    }

    /// Every mod's `gsp.storage` as JSON, for world saves. A storage that
    /// holds what cannot be saved (a function) is left out, with a warning.
    pub fn storage_json(&self) -> Vec<(String, serde_json::Value)> {
        self.mods
            .iter()
            .filter_map(|m| {
                let plain = match &m.vm {
                    Some(vm) => match storage_of(&vm.lua) {
                        Ok(p) => p,
                        Err(e) => {
                            tracing::warn!(mod_name = %m.source.manifest.name,
                                "storage not saved: {}", crate::describe(&e));
                            return None;
                        }
                    },
                    None => m.kept_storage.clone()?,
                };
                Some((
                    m.source.manifest.name.clone(),
                    crate::value::to_json(&plain),
                ))
            })
            .collect()
    }

    fn slot(&self, name: &str) -> Option<usize> {
        self.mods
            .iter()
            .position(|m| m.source.manifest.name == name)
    }

    /// Reloads mod `name` from disk in place, keeping its storage.
    pub fn reload(&mut self, name: &str, world: &mut World) -> Result<(), String> {
        let index = self
            .slot(name)
            .ok_or_else(|| format!("there is no mod `{name}`"))?;
        let dir = self.mods[index].source.dir.clone();
        match read_manifest(&dir) {
            Ok(source) if source.manifest.name == name => self.mods[index].source = source,
            Ok(_) => {}
            Err(e) => {
                let message = format!("mod `{name}`: reload refused: {e}");
                self.fail(index, message.clone());
                return Err(message);
            }
        }
        self.stop(index, world);
        self.start(index, world);
        match self.mods[index].state {
            ModState::Running => {
                tracing::info!(mod_name = name, "reloaded");
                Ok(())
            }
            _ => Err(self.mods[index].last_error.clone().unwrap_or_default()),
        }
    }

    /// Unloads mod `index`: keeps its storage, removes its commands and
    /// the entities it spawned.
    fn stop(&mut self, index: usize, world: &mut World) {
        let slot = &mut self.mods[index];
        if let Some(vm) = slot.vm.take() {
            match storage_of(&vm.lua) {
                Ok(plain) => slot.kept_storage = Some(plain),
                Err(e) => tracing::warn!(mod_name = %slot.source.manifest.name,
                    "storage holds values that cannot be kept and was reset: {}", crate::describe(&e)),
            }
        }
        let name = slot.source.manifest.name.clone();
        self.commands.retain(|_, owner| *owner != index);
        world
            .resource_mut::<ModCommands>()
            .by_name
            .retain(|_, c| c.owner != name);
        world
            .resource_mut::<gsp_engine::components::HelpTopics>()
            .by_name
            .retain(|_, t| t.owner != name);
        // Persistent entities stay: the reloaded mod finds them again by key.
        let mut owned = world
            .query_filtered::<(Entity, &ModOwned), Without<gsp_engine::components::Persistent>>();
        let doomed: Vec<Entity> = owned
            .iter(world)
            .filter(|(_, o)| &*o.0 == name.as_str())
            .map(|(e, _)| e)
            .collect();
        for e in doomed {
            world.despawn(e);
        }
        self.links
            .mods
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&name);
        self.report_dirty = true;
    }

    /// Creates mod `index`'s state and runs its `init.lua`.
    fn start(&mut self, index: usize, world: &mut World) {
        let name = self.mods[index].source.manifest.name.clone();
        let deps = self.mods[index].source.manifest.dependencies.clone();
        for dep in &deps {
            let ok = self.mods.iter().any(|m| {
                &m.source.manifest.name == dep && m.state != ModState::Failed && m.vm.is_some()
            });
            if !ok {
                self.fail(
                    index,
                    format!("mod `{name}`: its dependency `{dep}` is not loaded"),
                );
                return;
            }
        }
        let slot = &mut self.mods[index];
        let (lua, armed) = match new_state(
            &slot.source,
            self.links.clone(),
            self.config.limits,
            slot.kept_storage.as_ref(),
        ) {
            Ok(state) => state,
            Err(e) => {
                let message = format!("mod `{name}`: {}", crate::describe(&e));
                self.fail(index, message);
                return;
            }
        };
        slot.vm = Some(ModVm {
            lua: lua.clone(),
            armed,
            handlers: Default::default(),
            commands: HashMap::new(),
            timers: Vec::new(),
            args: ArgCache::default(),
        });
        slot.state = ModState::Running;
        slot.recent.clear();
        self.links
            .mods
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                name.clone(),
                LinkEntry {
                    lua: lua.clone(),
                    quarantined: false,
                },
            );
        let source = self.mods[index].source.clone();
        self.now = Instant::now();
        let ok = self.call(index, world, Site::Init, |vm| {
            run_file(&vm.lua, &source, "init.lua").map(|_| ())
        });
        if ok {
            self.mods[index].kept_storage = None;
        } else {
            // Half-initialised mods are not left running.
            let error = self.mods[index].last_error.clone().unwrap_or_default();
            self.stop(index, world);
            self.fail(index, error);
        }
        self.report_dirty = true;
    }

    fn fail(&mut self, index: usize, message: String) {
        tracing::warn!("{message}");
        let slot = &mut self.mods[index];
        slot.state = ModState::Failed;
        slot.last_error = Some(message);
        slot.vm = None;
        self.report_dirty = true;
    }

    /// Calls into mod `index` with the world reachable and the CPU budget
    /// armed, then collects what it registered. Returns whether it succeeded;
    /// a failure is recorded against the mod.
    fn call(
        &mut self,
        index: usize,
        world: &mut World,
        site: Site<'_>,
        f: impl FnOnce(&mut ModVm) -> mlua::Result<()>,
    ) -> bool {
        let start = self.now;
        let Some(vm) = self.mods[index].vm.as_mut() else {
            return false;
        };
        vm.armed.arm(world, start);
        let result = f(vm);
        vm.armed.disarm();
        self.now = Instant::now();
        let pending = vm.armed.take_registered().then(|| {
            let mut ctx = vm.lua.app_data_mut::<ModCtx>().expect("mod context");
            std::mem::take(&mut ctx.pending)
        });
        let slow = pending.is_some() || result.is_err();
        if let Some(pending) = pending {
            self.collect(index, world, pending);
        }
        let ok = match result {
            Ok(()) => true,
            Err(e) => {
                let name = &self.mods[index].source.manifest.name;
                let message = format!("mod `{name}`, in {site}: {}", crate::describe(&e));
                self.record_error(index, message);
                false
            }
        };
        if slow {
            // Filing and logging took time that is not the next call's.
            self.now = Instant::now();
        }
        ok
    }

    /// Files registrations made by mod `index` during a call.
    fn collect(&mut self, index: usize, world: &mut World, pending: crate::api::Pending) {
        if pending.handlers.is_empty()
            && pending.commands.is_empty()
            && pending.timers.is_empty()
            && pending.cancels.is_empty()
        {
            // The common case on every event: nothing to file.
            return;
        }
        let owner = self.mods[index].source.manifest.name.clone();
        let mut refused = Vec::new();
        let Some(vm) = self.mods[index].vm.as_mut() else {
            return;
        };
        for (kind, f) in pending.handlers {
            vm.handlers[kind.index()].push(f);
        }
        vm.timers.retain(|t| !pending.cancels.contains(&t.id));
        vm.timers.extend(pending.timers);
        let mut registry = world.resource_mut::<ModCommands>();
        for (name, help, f) in pending.commands {
            match self.commands.get(&name) {
                Some(&other) if other != index => {
                    let by = registry
                        .by_name
                        .get(&name)
                        .map(|c| c.owner.clone())
                        .unwrap_or_default();
                    refused.push(format!(
                        "mod `{owner}`: command `{name}` is already registered by mod `{by}`"
                    ));
                }
                _ => {
                    self.commands.insert(name.clone(), index);
                    registry.by_name.insert(
                        name.clone(),
                        ModCommand {
                            owner: owner.clone(),
                            help,
                        },
                    );
                    vm.commands.insert(name, f);
                }
            }
        }
        for message in refused {
            self.record_error(index, message);
        }
    }

    fn record_error(&mut self, index: usize, message: String) {
        let now = Instant::now();
        let window = self.config.quarantine_window;
        let limit = self.config.quarantine_errors;
        let slot = &mut self.mods[index];
        tracing::warn!("{message}");
        slot.errors += 1;
        slot.last_error = Some(message);
        slot.recent.push_back(now);
        while slot
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) > window)
        {
            slot.recent.pop_front();
        }
        if slot.state == ModState::Running && slot.recent.len() >= limit {
            slot.state = ModState::Quarantined;
            let name = slot.source.manifest.name.clone();
            tracing::warn!(mod_name = %name, "quarantined after {limit} errors; fix it and it reloads (with --watch)");
            if let Some(entry) = self
                .links
                .mods
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_mut(&name)
            {
                entry.quarantined = true;
            }
        }
        self.report_dirty = true;
    }

    fn running(&self, index: usize) -> bool {
        self.mods[index].state == ModState::Running && self.mods[index].vm.is_some()
    }

    /// One tick of scripts: reloads, then queued events, `tick` handlers and
    /// timers, within the tick's script budget.
    pub fn run_tick(&mut self, world: &mut World) {
        let started = Instant::now();
        self.now = started;
        let changed: Vec<String> = self
            .reloads
            .as_ref()
            .map(|rx| rx.try_iter().collect())
            .unwrap_or_default();
        for name in changed {
            if let Err(e) = self.reload(&name, world) {
                tracing::warn!("reloading mod `{name}` failed: {e}");
            }
        }
        self.now = Instant::now();
        let budget = self.config.tick_budget;
        let mut fresh = std::mem::take(&mut world.resource_mut::<WorldEvents>().queue);
        if self.backlog.is_empty() {
            // The common case: this tick's events, straight from the queue.
            let mut done = 0;
            for event in &fresh {
                if self.out_of_time(started, done) {
                    break;
                }
                self.dispatch(world, event);
                done += 1;
            }
            self.backlog.extend(fresh.drain(done..));
        } else {
            self.backlog.extend(fresh.drain(..));
            let mut done = 0;
            while !self.backlog.is_empty() && !self.out_of_time(started, done) {
                let event = self.backlog.pop_front().expect("not empty");
                self.dispatch(world, &event);
                done += 1;
            }
        }
        while self.backlog.len() > self.config.max_backlog {
            self.backlog.pop_front();
            self.dropped_events += 1;
        }
        // Hand the queue's buffer back, so that pushing next tick's events
        // does not allocate again.
        fresh.clear();
        let mut events = world.resource_mut::<WorldEvents>();
        if events.queue.is_empty() {
            events.queue = fresh;
        }
        self.now = Instant::now();
        if self.now.duration_since(started) < budget {
            let tick = world.resource::<TickTime>().tick;
            self.run_tick_handlers(world, tick);
            self.run_timers(world, tick);
        }
        for vm in self.mods.iter_mut().filter_map(|m| m.vm.as_mut()) {
            // Entity handles are passed again within a tick only.
            vm.args.entities.clear();
        }
        if self.report_dirty {
            self.report_dirty = false;
            world.resource::<StatsHandle>().0.set_mods(self.reports());
        }
    }

    /// Whether the tick's script time is spent, after `done` events. The
    /// clock is read after every call into a mod, and on every 256th event
    /// here in case events go to no mod at all.
    fn out_of_time(&mut self, started: Instant, done: usize) -> bool {
        if done % 256 == 255 {
            self.now = Instant::now();
        }
        self.now.duration_since(started) >= self.config.tick_budget
    }

    fn run_tick_handlers(&mut self, world: &mut World, tick: u64) {
        for index in 0..self.mods.len() {
            let count = self.handler_count(index, EventKind::Tick);
            for h in 0..count {
                self.call_handler(index, world, EventKind::Tick, h, |_, _| Ok(tick));
            }
        }
    }

    fn run_timers(&mut self, world: &mut World, tick: u64) {
        for index in 0..self.mods.len() {
            if !self.running(index) {
                continue;
            }
            let due: Vec<Function> = {
                let vm = self.mods[index]
                    .vm
                    .as_mut()
                    .expect("running mods have a state");
                let mut due = Vec::new();
                vm.timers.retain_mut(|t| {
                    if t.due > tick {
                        return true;
                    }
                    due.push(t.func.clone());
                    match t.every {
                        Some(n) => {
                            t.due = tick + n;
                            true
                        }
                        None => false,
                    }
                });
                due
            };
            for f in due {
                if !self.running(index) {
                    break;
                }
                self.call(index, world, Site::Timer, |_| f.call::<()>(()));
            }
        }
    }

    fn handler_count(&self, index: usize, kind: EventKind) -> usize {
        match (&self.mods[index].vm, self.running(index)) {
            (Some(vm), true) => vm.handlers[kind.index()].len(),
            _ => 0,
        }
    }

    /// Calls handler `h` for `kind` of mod `index` with the arguments
    /// `args` builds in that mod's state.
    fn call_handler<A: IntoLuaMulti>(
        &mut self,
        index: usize,
        world: &mut World,
        kind: EventKind,
        h: usize,
        args: impl FnOnce(&Lua, &mut ArgCache) -> mlua::Result<A>,
    ) {
        if !self.running(index) {
            return;
        }
        self.call(index, world, Site::Handler(kind), |vm| {
            let ModVm {
                lua,
                handlers,
                args: cache,
                ..
            } = vm;
            match handlers[kind.index()].get(h) {
                Some(f) => f.call::<()>(args(lua, cache)?),
                None => Ok(()),
            }
        });
    }

    fn dispatch(&mut self, world: &mut World, event: &WorldEvent) {
        let key = |world: &World, room: RoomId| world.resource::<WorldMap>().room(room).key.clone();
        match event {
            WorldEvent::Command {
                session,
                entity,
                name,
                args,
            } => {
                let Some(&index) = self.commands.get(name) else {
                    return;
                };
                if !self.running(index) {
                    let why = format!(
                        "'{name}' is unavailable: its mod `{}` is {}.",
                        self.mods[index].source.manifest.name,
                        self.mods[index].state.name()
                    );
                    world
                        .resource_mut::<Sessions>()
                        .send(*session, Outbound::Text(TextEvent::Error(why)));
                    return;
                }
                let known = self.mods[index]
                    .vm
                    .as_ref()
                    .is_some_and(|vm| vm.commands.contains_key(name));
                if !known {
                    return;
                }
                let ctx = CommandCtx { player: *entity };
                let ok = self.call(index, world, Site::Command(name), |vm| {
                    match vm.commands.get(name) {
                        Some(f) => f.call::<()>((ctx, args.as_str())),
                        None => Ok(()),
                    }
                });
                if !ok {
                    world.resource_mut::<Sessions>().send(
                        *session,
                        Outbound::Text(TextEvent::Error(format!(
                            "Something went wrong running '{name}'."
                        ))),
                    );
                }
            }
            WorldEvent::PlayerJoin { entity, .. } => {
                self.each(world, EventKind::PlayerJoin, |lua, c| {
                    c.entity(lua, *entity)
                });
            }
            WorldEvent::PlayerLeave { entity, name, .. } => {
                self.each(world, EventKind::PlayerLeave, |lua, c| {
                    Ok((c.entity(lua, *entity)?, name.as_str()))
                });
            }
            WorldEvent::EnterRoom { entity, room, from } => {
                let (room, from) = (key(world, *room), from.map(|r| key(world, r)));
                self.each(world, EventKind::EnterRoom, |lua, c| {
                    let from = from.as_deref().map(|r| c.name(lua, r)).transpose()?;
                    Ok((c.entity(lua, *entity)?, c.name(lua, &room)?, from))
                });
            }
            WorldEvent::LeaveRoom { entity, room, to } => {
                let (room, to) = (key(world, *room), to.map(|r| key(world, r)));
                self.each(world, EventKind::LeaveRoom, |lua, c| {
                    let to = to.as_deref().map(|r| c.name(lua, r)).transpose()?;
                    Ok((c.entity(lua, *entity)?, c.name(lua, &room)?, to))
                });
            }
            WorldEvent::Say { entity, room, text } => {
                let room = key(world, *room);
                self.each(world, EventKind::Say, |lua, c| {
                    Ok((c.entity(lua, *entity)?, text.as_str(), c.name(lua, &room)?))
                });
            }
            WorldEvent::Trigger {
                name,
                other,
                entered,
                ..
            } => {
                self.each(world, EventKind::Trigger, |lua, c| {
                    Ok((c.name(lua, name)?, c.entity(lua, *other)?, *entered))
                });
            }
        }
    }

    /// Calls every running mod's handlers for `kind`.
    fn each<A: IntoLuaMulti>(
        &mut self,
        world: &mut World,
        kind: EventKind,
        args: impl Fn(&Lua, &mut ArgCache) -> mlua::Result<A>,
    ) {
        for index in 0..self.mods.len() {
            for h in 0..self.handler_count(index, kind) {
                self.call_handler(index, world, kind, h, &args);
            }
        }
    }
}

fn storage_of(lua: &Lua) -> mlua::Result<Plain> {
    let value: Value = lua.named_registry_value(STORAGE_KEY)?;
    to_plain(&value)
}

/// The scripts stage: the host runs with the world at hand.
pub fn run_scripts(world: &mut World) {
    world.resource_scope(|world, mut host: Mut<ScriptHost>| host.run_tick(world));
}
