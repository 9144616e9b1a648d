//! The `gsp` table: everything a mod can call. `scripting/API.md` documents
//! it for modders; this module implements it.
//!
//! Calls that read or change the world reach it through a pointer that the
//! host sets only while it runs a mod's code on the tick thread (the
//! state's `Armed`); outside a callback they fail with an error instead.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bevy_ecs::prelude::*;
use gsp_engine::components::{
    Avatar, Body, BodyKind, CurrentRoom, Position, Replicated, Rotation, Sensor, Sessions, Shape,
    TickTime, Velocity, KIND_PROP,
};
use gsp_engine::map::RoomId;
use gsp_engine::{Outbound, TextEvent, Vec3, WorldMap};
use mlua::{
    AnyUserData, Function, Lua, MetaMethod, MultiValue, Table, UserData, UserDataFields,
    UserDataMethods, Value, Variadic,
};

use crate::armed::Armed;
use crate::entity::EntityRef;
use crate::manifest::{ModSource, Permission};
use crate::value::{from_plain, to_plain};

/// The events a mod can listen to with `gsp.on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Every tick: `fn(tick)`.
    Tick,
    /// `fn(player)`.
    PlayerJoin,
    /// `fn(player, name)`: the avatar is already gone.
    PlayerLeave,
    /// `fn(player, room, from)`.
    EnterRoom,
    /// `fn(player, room, to)`.
    LeaveRoom,
    /// `fn(player, text, room)`.
    Say,
    /// `fn(sensor_name, entity, entered)`.
    Trigger,
}

impl EventKind {
    /// Every kind, in the order of [`EventKind::index`].
    pub const ALL: [EventKind; 7] = [
        EventKind::Tick,
        EventKind::PlayerJoin,
        EventKind::PlayerLeave,
        EventKind::EnterRoom,
        EventKind::LeaveRoom,
        EventKind::Say,
        EventKind::Trigger,
    ];

    /// The name `gsp.on` takes.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Tick => "tick",
            EventKind::PlayerJoin => "player_join",
            EventKind::PlayerLeave => "player_leave",
            EventKind::EnterRoom => "enter_room",
            EventKind::LeaveRoom => "leave_room",
            EventKind::Say => "say",
            EventKind::Trigger => "trigger",
        }
    }

    /// A dense index, for per-kind handler lists.
    pub fn index(self) -> usize {
        self as usize
    }

    fn parse(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// A timer registered by `gsp.every` or `gsp.after`.
pub(crate) struct Timer {
    pub id: u64,
    pub due: u64,
    pub every: Option<u64>,
    pub func: Function,
}

/// Registrations made by a mod's code, collected by the host after each call.
#[derive(Default)]
pub(crate) struct Pending {
    pub handlers: Vec<(EventKind, Function)>,
    pub commands: Vec<(String, String, Function)>,
    pub timers: Vec<Timer>,
    pub cancels: Vec<u64>,
}

/// One mod's state as its API calls see it (Lua app data).
pub(crate) struct ModCtx {
    pub name: Arc<str>,
    pub source: ModSource,
    /// The world and budget of the running callback.
    pub armed: Arc<Armed>,
    pub pending: Pending,
    pub links: Arc<Links>,
    pub next_timer: u64,
}

/// What mods can reach of each other: their Lua states, for `gsp.call`.
#[derive(Default)]
pub(crate) struct Links {
    pub mods: Mutex<HashMap<String, LinkEntry>>,
    pub depth: AtomicUsize,
}

#[derive(Clone)]
pub(crate) struct LinkEntry {
    pub lua: Lua,
    pub quarantined: bool,
}

/// How deep calls between mods may nest.
const MAX_CALL_DEPTH: usize = 8;

/// Marks an entity a mod spawned; reloading the mod despawns it.
#[derive(Component, Debug, Clone)]
pub struct ModOwned(pub Arc<str>);

/// The name a mod gave a non-player entity (its prefab, or a sensor's name).
#[derive(Component, Debug, Clone)]
pub struct Named(pub String);

/// A shape and body mods spawn by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Prefab {
    /// Its physical body.
    pub body: Body,
    /// Its priority weight for replication.
    pub weight: f32,
    /// Whether graphical players get its velocity.
    pub send_velocity: bool,
}

/// The prefabs of the world, by name: `crate` and `ball` built in, more
/// from `gsp.prefab`.
#[derive(Resource, Debug, Clone)]
pub struct Prefabs(pub HashMap<String, Prefab>);

impl Default for Prefabs {
    fn default() -> Self {
        let mut map = HashMap::new();
        map.insert(
            "crate".to_owned(),
            Prefab {
                body: Body::dynamic(Shape::Cuboid {
                    half: Vec3::new(0.5, 0.5, 0.5),
                }),
                weight: 1.0,
                send_velocity: false,
            },
        );
        map.insert(
            "ball".to_owned(),
            Prefab {
                body: Body {
                    density: 200.0,
                    restitution: 0.6,
                    friction: 0.3,
                    ..Body::dynamic(Shape::Ball { radius: 0.3 })
                },
                weight: 2.0,
                send_velocity: true,
            },
        );
        Prefabs(map)
    }
}

/// The context of a command: `ctx.player`, `ctx:reply(text)`.
#[derive(Debug, Clone, Copy)]
pub struct CommandCtx {
    /// Who typed it.
    pub player: Entity,
}

/// Formats an error raised by an API call with the mod's file and line.
pub(crate) fn api_error(lua: &Lua, message: impl std::fmt::Display) -> mlua::Error {
    let place = lua
        .inspect_stack(1, |d| {
            let src = d.source().short_src.map(|s| s.into_owned());
            (src, d.current_line())
        })
        .and_then(|(src, line)| Some(format!("{}:{}: ", src?, line?)));
    mlua::Error::runtime(format!("{}{message}", place.unwrap_or_default()))
}

fn with_ctx<R>(lua: &Lua, f: impl FnOnce(&mut ModCtx) -> R) -> R {
    let mut ctx = lua
        .app_data_mut::<ModCtx>()
        .expect("every mod's Lua state has its context");
    f(&mut ctx)
}

/// Queues a registration for the host to file after the call.
fn pend<R>(lua: &Lua, f: impl FnOnce(&mut ModCtx) -> R) -> R {
    with_ctx(lua, |c| {
        c.armed.note_registration();
        f(c)
    })
}

fn permit(lua: &Lua, permission: Permission) -> mlua::Result<()> {
    let (ok, name) = with_ctx(lua, |c| (c.source.may(permission), c.name.clone()));
    if ok {
        Ok(())
    } else {
        Err(api_error(
            lua,
            format!(
                "mod `{name}` lacks the `{permission}` permission (add it to `permissions` in its mod.toml)"
            ),
        ))
    }
}

/// Runs `f` on the world; an error if no callback is running.
pub(crate) fn with_world<R>(
    lua: &Lua,
    f: impl FnOnce(&mut World) -> mlua::Result<R>,
) -> mlua::Result<R> {
    let ptr = with_ctx(lua, |c| c.armed.world());
    if ptr.is_null() {
        return Err(api_error(
            lua,
            "the world can only be used from gsp callbacks",
        ));
    }
    // SAFETY: the host set this pointer from its `&mut World` for the
    // duration of the current call into Lua and does not touch the world
    // until the call returns; API functions are not re-entered while `f`
    // runs, because `f` never calls into Lua.
    let world = unsafe { &mut *ptr };
    f(world)
}

/// Reads a position from `{x=, y=, z=}`, `{x, y, z}` or a Luau vector.
pub(crate) fn to_vec3(lua: &Lua, value: &Value) -> mlua::Result<Vec3> {
    let bad = || api_error(lua, "expected a position: {x = 0, y = 0, z = 0}");
    let v = match value {
        Value::Vector(v) => Vec3::new(v.x(), v.y(), v.z()),
        Value::Table(t) => {
            let get = |key: &str, i: i64| -> mlua::Result<f32> {
                match t.get::<Option<f64>>(key)? {
                    Some(n) => Ok(n as f32),
                    None => t.get::<Option<f64>>(i)?.map(|n| n as f32).ok_or_else(bad),
                }
            };
            Vec3::new(get("x", 1)?, get("y", 2)?, get("z", 3)?)
        }
        _ => return Err(bad()),
    };
    if !(v.x.is_finite() && v.y.is_finite() && v.z.is_finite()) {
        return Err(api_error(lua, "positions must be finite numbers"));
    }
    Ok(v)
}

pub(crate) fn vec3_table(lua: &Lua, v: Vec3) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(0, 3)?;
    t.raw_set("x", v.x)?;
    t.raw_set("y", v.y)?;
    t.raw_set("z", v.z)?;
    Ok(t)
}

fn room_key(world: &World, room: RoomId) -> String {
    world.resource::<WorldMap>().room(room).key.clone()
}

fn find_room(lua: &Lua, world: &World, key: &str) -> mlua::Result<RoomId> {
    world
        .resource::<WorldMap>()
        .rooms
        .iter()
        .position(|r| r.key == key)
        .map(|i| RoomId(i as u16))
        .ok_or_else(|| api_error(lua, format!("there is no room `{key}`")))
}

/// The room an entity is in: its current room if it is an avatar, else the
/// room containing its position.
fn entity_room(world: &World, entity: Entity) -> Option<RoomId> {
    if let Some(r) = world.get::<CurrentRoom>(entity) {
        return r.0;
    }
    let p = world.get::<Position>(entity)?;
    world.resource::<WorldMap>().room_at(p.0)
}

fn live(lua: &Lua, world: &World, entity: Entity) -> mlua::Result<()> {
    if world.get_entity(entity).is_ok() && world.get::<Position>(entity).is_some() {
        Ok(())
    } else {
        Err(api_error(lua, "that entity no longer exists"))
    }
}

/// A live entity's vector component as a Lua table (zero if it has none).
fn read_vec3<C: Component>(lua: &Lua, entity: Entity, get: fn(&C) -> Vec3) -> mlua::Result<Table> {
    let v = with_world(lua, |w| {
        live(lua, w, entity)?;
        Ok(w.get::<C>(entity).map(get).unwrap_or_default())
    })?;
    vec3_table(lua, v)
}

fn tell(world: &mut World, entity: Entity, text: String) -> bool {
    let Some(session) = world.get::<Avatar>(entity).map(|a| a.session) else {
        return false;
    };
    world
        .resource_mut::<Sessions>()
        .send(session, Outbound::Text(TextEvent::Info(text)));
    true
}

/// The most JSON one `gsp.gmcp` call may send.
const MAX_GMCP_JSON: usize = 16 * 1024;

/// A GMCP package a mod may send: `Module.Message` (letters, digits and
/// `_`, dot-separated, 64 bytes at most), never the protocol's own `Core`.
fn gmcp_package_arg(lua: &Lua, package: &str) -> mlua::Result<()> {
    let segments: Vec<&str> = package.split('.').collect();
    let well_formed = package.len() <= 64
        && segments.len() >= 2
        && segments
            .iter()
            .all(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if !well_formed {
        return Err(api_error(
            lua,
            format!("`{package}` is not a GMCP package name such as `Char.Vitals`"),
        ));
    }
    if segments[0].eq_ignore_ascii_case("core") {
        return Err(api_error(lua, "the Core package belongs to the protocol"));
    }
    Ok(())
}

fn occupants(world: &mut World, room: RoomId) -> Vec<Entity> {
    let mut q = world.query::<(Entity, &CurrentRoom)>();
    q.iter(world)
        .filter(|(_, r)| r.0 == Some(room))
        .map(|(e, _)| e)
        .collect()
}

fn to_text(lua: &Lua, v: &Value) -> mlua::Result<String> {
    match v {
        Value::String(s) => Ok(s.to_string_lossy()),
        Value::Nil => Ok("nil".into()),
        other => Ok(lua
            .coerce_string(other.clone())?
            .map(|s| s.to_string_lossy())
            .unwrap_or_else(|| format!("<{}>", other.type_name()))),
    }
}

impl UserData for EntityRef {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("id", |_, this| Ok(this.entity.index_u32()));
        fields.add_field_method_get("name", |lua, this| {
            with_world(lua, |w| {
                Ok(w.get::<Avatar>(this.entity)
                    .map(|a| a.name.clone())
                    .or_else(|| w.get::<Named>(this.entity).map(|n| n.0.clone())))
            })
        });
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("exists", |lua, this, ()| {
            with_world(lua, |w| Ok(live(lua, w, this.entity).is_ok()))
        });
        methods.add_method("is_player", |lua, this, ()| {
            with_world(lua, |w| Ok(w.get::<Avatar>(this.entity).is_some()))
        });
        methods.add_method("position", |lua, this, ()| {
            read_vec3::<Position>(lua, this.entity, |p| p.0)
        });
        methods.add_method("set_position", |lua, this, v: Value| {
            permit(lua, Permission::Entities)?;
            let v = to_vec3(lua, &v)?;
            with_world(lua, |w| {
                live(lua, w, this.entity)?;
                if let Some(mut p) = w.get_mut::<Position>(this.entity) {
                    p.0 = v;
                }
                Ok(())
            })
        });
        methods.add_method("velocity", |lua, this, ()| {
            read_vec3::<Velocity>(lua, this.entity, |v| v.0)
        });
        methods.add_method("set_velocity", |lua, this, v: Value| {
            permit(lua, Permission::Entities)?;
            let v = to_vec3(lua, &v)?;
            with_world(lua, |w| {
                live(lua, w, this.entity)?;
                match w.get_mut::<Velocity>(this.entity) {
                    Some(mut vel) => vel.0 = v,
                    None => {
                        w.entity_mut(this.entity).insert(Velocity(v));
                    }
                }
                Ok(())
            })
        });
        methods.add_method("room", |lua, this, ()| {
            with_world(lua, |w| {
                live(lua, w, this.entity)?;
                Ok(entity_room(w, this.entity).map(|r| room_key(w, r)))
            })
        });
        methods.add_method("send", |lua, this, text: Value| {
            let text = to_text(lua, &text)?;
            with_world(lua, |w| {
                if tell(w, this.entity, text) {
                    Ok(())
                } else {
                    Err(api_error(lua, "only players can be sent text"))
                }
            })
        });
        methods.add_method("despawn", |lua, this, ()| despawn(lua, *this));
        methods.add_method("get", |lua, this, key: String| {
            with_world(lua, |w| {
                live(lua, w, this.entity)?;
                match w
                    .get::<gsp_engine::components::Attributes>(this.entity)
                    .and_then(|a| a.0.get(&key))
                {
                    Some(json) => crate::value::from_plain(lua, &crate::value::from_json(json)),
                    None => Ok(Value::Nil),
                }
            })
        });
        methods.add_method("set", |lua, this, (key, value): (String, Value)| {
            permit(lua, Permission::Entities)?;
            let json = crate::value::to_json(&crate::value::to_plain(&value)?);
            with_world(lua, |w| {
                live(lua, w, this.entity)?;
                let mut entity = w.entity_mut(this.entity);
                match entity.get_mut::<gsp_engine::components::Attributes>() {
                    Some(mut attributes) => {
                        if json.is_null() {
                            attributes.0.remove(&key);
                        } else {
                            attributes.0.insert(key, json);
                        }
                    }
                    None if !json.is_null() => {
                        let mut map = gsp_engine::persist::AttributeMap::new();
                        map.insert(key, json);
                        entity.insert(gsp_engine::components::Attributes(map));
                    }
                    None => {}
                }
                Ok(())
            })
        });
        methods.add_method("set_display", |lua, this, options: Table| {
            permit(lua, Permission::Entities)?;
            let name: Option<String> = options.get("name")?;
            let colour: Option<String> = options.get("colour")?;
            if let Some(n) = &name {
                if n.len() > gsp_engine::look::MAX_NAME_BYTES {
                    return Err(api_error(lua, "a display name is at most 128 bytes"));
                }
            }
            let colour = match colour {
                None => None,
                Some(c) => Some(gsp_engine::map::parse_colour(&c).ok_or_else(|| {
                    api_error(lua, format!("`{c}` is not a colour: expected \"#rrggbb\""))
                })?),
            };
            with_world(lua, |w| {
                live(lua, w, this.entity)?;
                w.entity_mut(this.entity)
                    .insert(gsp_engine::look::Display { name, colour });
                Ok(())
            })
        });
        methods.add_meta_method(MetaMethod::Eq, |_, this, other: AnyUserData| {
            Ok(other
                .borrow::<EntityRef>()
                .is_ok_and(|o| o.entity == this.entity))
        });
        methods.add_meta_method(MetaMethod::ToString, |_, this, ()| {
            Ok(format!("entity {}", this.entity.index_u32()))
        });
    }
}

impl UserData for CommandCtx {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields.add_field_method_get("player", |_, this| {
            Ok(EntityRef {
                entity: this.player,
            })
        });
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("reply", |lua, this, text: Value| {
            let text = to_text(lua, &text)?;
            with_world(lua, |w| {
                tell(w, this.player, text);
                Ok(())
            })
        });
    }
}

fn despawn(lua: &Lua, e: EntityRef) -> mlua::Result<()> {
    permit(lua, Permission::Entities)?;
    with_world(lua, |w| {
        if w.get::<Avatar>(e.entity).is_some() {
            return Err(api_error(lua, "players cannot be despawned"));
        }
        w.despawn(e.entity);
        Ok(())
    })
}

fn entity_arg(lua: &Lua, v: &Value) -> mlua::Result<EntityRef> {
    match v {
        Value::UserData(ud) => ud
            .borrow::<EntityRef>()
            .map(|e| *e)
            .map_err(|_| api_error(lua, "expected an entity")),
        _ => Err(api_error(lua, "expected an entity")),
    }
}

fn name_arg(lua: &Lua, what: &str, name: &str) -> mlua::Result<()> {
    let ok = (1..=24).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(api_error(
            lua,
            format!("{what} `{name}` must be 1 to 24 lowercase letters, digits, `_` or `-`, starting with a letter"),
        ))
    }
}

fn prefab_from(lua: &Lua, def: &Table) -> mlua::Result<Prefab> {
    let shape = match def.get::<Option<String>>("shape")?.as_deref() {
        Some("ball") | None => Shape::Ball {
            radius: def.get::<Option<f32>>("radius")?.unwrap_or(0.3),
        },
        Some("box") => {
            let size: Value = def.get("size")?;
            let half = if size.is_nil() {
                Vec3::new(0.5, 0.5, 0.5)
            } else {
                to_vec3(lua, &size)? * 0.5
            };
            Shape::Cuboid { half }
        }
        Some(other) => {
            return Err(api_error(
                lua,
                format!("unknown shape `{other}` (use \"ball\" or \"box\")"),
            ))
        }
    };
    let kind = match def.get::<Option<String>>("body")?.as_deref() {
        Some("dynamic") | None => BodyKind::Dynamic,
        Some("kinematic") => BodyKind::Kinematic,
        Some("fixed") => BodyKind::Fixed,
        Some(other) => {
            return Err(api_error(
                lua,
                format!("unknown body `{other}` (use \"dynamic\", \"kinematic\" or \"fixed\")"),
            ))
        }
    };
    let positive = |v: Option<f32>, default: f32, what: &str| -> mlua::Result<f32> {
        let v = v.unwrap_or(default);
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(api_error(
                lua,
                format!("`{what}` must be a positive number"),
            ))
        }
    };
    if let Shape::Ball { radius } = shape {
        positive(Some(radius), 0.3, "radius")?;
    }
    Ok(Prefab {
        body: Body {
            kind,
            shape,
            density: positive(def.get("density")?, 1000.0, "density")?,
            friction: def.get::<Option<f32>>("friction")?.unwrap_or(0.5).max(0.0),
            restitution: def
                .get::<Option<f32>>("restitution")?
                .unwrap_or(0.2)
                .clamp(0.0, 1.0),
        },
        weight: positive(def.get("weight")?, 1.0, "weight")?,
        send_velocity: def.get::<Option<bool>>("send_velocity")?.unwrap_or(false),
    })
}

/// Calls `function` exported by mod `target` from the mod running in `lua`,
/// copying arguments and results.
fn call_mod(lua: &Lua, target: &str, function: &str, args: MultiValue) -> mlua::Result<MultiValue> {
    let (links, armed, me) = with_ctx(lua, |c| (c.links.clone(), c.armed.clone(), c.name.clone()));
    let entry = links
        .mods
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(target)
        .cloned();
    let Some(entry) = entry else {
        return Err(api_error(lua, format!("there is no mod `{target}`")));
    };
    if entry.quarantined {
        return Err(api_error(lua, format!("mod `{target}` is quarantined")));
    }
    if links.depth.load(Ordering::Relaxed) >= MAX_CALL_DEPTH {
        return Err(api_error(
            lua,
            format!("calls between mods nest deeper than {MAX_CALL_DEPTH}"),
        ));
    }
    let exports: Table = entry.lua.named_registry_value(EXPORTS_KEY)?;
    let f = match exports.get::<Value>(function)? {
        Value::Function(f) => f,
        _ => {
            return Err(api_error(
                lua,
                format!("mod `{target}` exports no function `{function}`"),
            ))
        }
    };
    let mut copied = Vec::with_capacity(args.len());
    for a in args.iter() {
        copied.push(from_plain(&entry.lua, &to_plain(a)?)?);
    }
    let (same, target_armed) =
        with_ctx(&entry.lua, |c| (Arc::ptr_eq(&me, &c.name), c.armed.clone()));
    // The callee runs on the caller's world and deadline.
    let saved = (!same).then(|| target_armed.lend(&armed));
    links.depth.fetch_add(1, Ordering::Relaxed);
    let result = f.call::<MultiValue>(MultiValue::from_vec(copied));
    links.depth.fetch_sub(1, Ordering::Relaxed);
    if let Some(saved) = saved {
        target_armed.restore(saved);
    }
    let results = result.map_err(|e| {
        api_error(
            lua,
            format!(
                "mod `{target}` failed in `{function}`: {}",
                crate::describe(&e)
            ),
        )
    })?;
    let mut back = Vec::with_capacity(results.len());
    for r in results.iter() {
        back.push(from_plain(lua, &to_plain(r)?)?);
    }
    Ok(MultiValue::from_vec(back))
}

/// Registry key of a mod's `gsp.exports` table.
pub(crate) const EXPORTS_KEY: &str = "gsp.exports";
/// Registry key of a mod's `gsp.storage` table.
pub(crate) const STORAGE_KEY: &str = "gsp.storage";

/// Builds the `gsp` table for the mod running in `lua`.
pub(crate) fn gsp_table(lua: &Lua) -> mlua::Result<Table> {
    let gsp = lua.create_table()?;

    gsp.set(
        "on",
        lua.create_function(|lua, (event, f): (String, Function)| {
            let kind = EventKind::parse(&event).ok_or_else(|| {
                let names: Vec<&str> = EventKind::ALL.iter().map(|k| k.name()).collect();
                api_error(
                    lua,
                    format!("unknown event `{event}` (one of: {})", names.join(", ")),
                )
            })?;
            pend(lua, |c| c.pending.handlers.push((kind, f)));
            Ok(())
        })?,
    )?;

    gsp.set(
        "every",
        lua.create_function(|lua, (n, f): (f64, Function)| {
            if !(1.0..=1e9).contains(&n) {
                return Err(api_error(lua, "gsp.every needs a number of ticks >= 1"));
            }
            let n = n as u64;
            let tick = with_world(lua, |w| Ok(w.resource::<TickTime>().tick))?;
            Ok(pend(lua, |c| {
                c.next_timer += 1;
                let id = c.next_timer;
                c.pending.timers.push(Timer {
                    id,
                    due: tick + n,
                    every: Some(n),
                    func: f,
                });
                id
            }))
        })?,
    )?;

    gsp.set(
        "after",
        lua.create_function(|lua, (seconds, f): (f64, Function)| {
            if !(0.0..=1e7).contains(&seconds) {
                return Err(api_error(lua, "gsp.after needs a number of seconds >= 0"));
            }
            let (tick, rate) = with_world(lua, |w| {
                let t = w.resource::<TickTime>();
                Ok((t.tick, t.rate))
            })?;
            let ticks = ((seconds * f64::from(rate)).round() as u64).max(1);
            Ok(pend(lua, |c| {
                c.next_timer += 1;
                let id = c.next_timer;
                c.pending.timers.push(Timer {
                    id,
                    due: tick + ticks,
                    every: None,
                    func: f,
                });
                id
            }))
        })?,
    )?;

    gsp.set(
        "cancel",
        lua.create_function(|lua, id: u64| {
            pend(lua, |c| {
                c.pending.timers.retain(|t| t.id != id);
                c.pending.cancels.push(id);
            });
            Ok(())
        })?,
    )?;

    gsp.set(
        "command",
        lua.create_function(|lua, (name, help, f): (String, String, Function)| {
            permit(lua, Permission::Commands)?;
            name_arg(lua, "command", &name)?;
            if is_builtin(&name) {
                return Err(api_error(
                    lua,
                    format!("`{name}` is a built-in command and cannot be replaced"),
                ));
            }
            let help = help.lines().next().unwrap_or_default().to_owned();
            pend(lua, |c| c.pending.commands.push((name, help, f)));
            Ok(())
        })?,
    )?;

    gsp.set(
        "help",
        lua.create_function(|lua, (topic, text): (String, String)| {
            permit(lua, Permission::Commands)?;
            name_arg(lua, "help topic", &topic)?;
            if text.len() > 4096 {
                return Err(api_error(lua, "a help topic is at most 4096 bytes"));
            }
            let owner = with_ctx(lua, |c| c.name.to_string());
            with_world(lua, |w| {
                w.resource_mut::<gsp_engine::components::HelpTopics>()
                    .by_name
                    .insert(topic, gsp_engine::components::HelpTopic { owner, text });
                Ok(())
            })
        })?,
    )?;

    gsp.set(
        "prefab",
        lua.create_function(|lua, (name, def): (String, Table)| {
            permit(lua, Permission::Entities)?;
            name_arg(lua, "prefab", &name)?;
            let prefab = prefab_from(lua, &def)?;
            with_world(lua, |w| {
                w.resource_mut::<Prefabs>().0.insert(name, prefab);
                Ok(())
            })
        })?,
    )?;

    gsp.set(
        "spawn",
        lua.create_function(
            |lua, (prefab, at, options): (String, Value, Option<Table>)| {
                permit(lua, Permission::Entities)?;
                let at = to_vec3(lua, &at)?;
                let owner = with_ctx(lua, |c| c.name.clone());
                let key: Option<String> = match &options {
                    Some(o) => o.get("key")?,
                    None => None,
                };
                // Keys are the mod's own: `football` saving `ball` is `football:ball`.
                let key: Option<Arc<str>> = key.map(|k| format!("{owner}:{k}").into());
                let entity = with_world(lua, |w| {
                    let Some(p) = w.resource::<Prefabs>().0.get(&prefab).cloned() else {
                        return Err(api_error(lua, format!("there is no prefab `{prefab}`")));
                    };
                    if let Some(key) = &key {
                        if let Some(found) = gsp_engine::systems::save::find_persistent(w, key) {
                            // Restored from the last save, or kept over a reload.
                            w.entity_mut(found).insert((Named(prefab), ModOwned(owner)));
                            return Ok(found);
                        }
                    }
                    let mut spawned = w.spawn((
                        Position(at),
                        Rotation::default(),
                        Velocity::default(),
                        Replicated {
                            kind: KIND_PROP,
                            weight: p.weight,
                            send_velocity: p.send_velocity,
                        },
                        p.body,
                        Named(prefab),
                        ModOwned(owner),
                    ));
                    if let Some(key) = key {
                        spawned.insert(gsp_engine::components::Persistent { key });
                    }
                    Ok(spawned.id())
                })?;
                Ok(EntityRef { entity })
            },
        )?,
    )?;

    gsp.set(
        "despawn",
        lua.create_function(|lua, e: Value| despawn(lua, entity_arg(lua, &e)?))?,
    )?;

    gsp.set(
        "sensor",
        lua.create_function(|lua, (name, center, size): (String, Value, Value)| {
            permit(lua, Permission::Entities)?;
            let center = to_vec3(lua, &center)?;
            let half = to_vec3(lua, &size)? * 0.5;
            if half.x <= 0.0 || half.y <= 0.0 || half.z <= 0.0 {
                return Err(api_error(lua, "a sensor's size must be positive"));
            }
            let owner = with_ctx(lua, |c| c.name.clone());
            let entity = with_world(lua, |w| {
                Ok(w.spawn((
                    Position(center),
                    Sensor {
                        name: name.clone(),
                        shape: Shape::Cuboid { half },
                    },
                    Named(name),
                    ModOwned(owner),
                ))
                .id())
            })?;
            Ok(EntityRef { entity })
        })?,
    )?;

    gsp.set(
        "find_in_room",
        lua.create_function(|lua, key: String| {
            let found = with_world(lua, |w| {
                let room = find_room(lua, w, &key)?;
                let mut q = w.query_filtered::<Entity, With<Position>>();
                let all: Vec<Entity> = q.iter(w).collect();
                Ok(all
                    .into_iter()
                    .filter(|&e| w.get::<Sensor>(e).is_none() && entity_room(w, e) == Some(room))
                    .collect::<Vec<_>>())
            })?;
            lua.create_sequence_from(found.into_iter().map(|entity| EntityRef { entity }))
        })?,
    )?;

    gsp.set(
        "players",
        lua.create_function(|lua, ()| {
            let found = with_world(lua, |w| {
                let mut q = w.query_filtered::<Entity, With<Avatar>>();
                Ok(q.iter(w).collect::<Vec<_>>())
            })?;
            lua.create_sequence_from(found.into_iter().map(|entity| EntityRef { entity }))
        })?,
    )?;

    gsp.set(
        "player",
        lua.create_function(|lua, name: String| {
            with_world(lua, |w| {
                let mut q = w.query::<(Entity, &Avatar)>();
                Ok(q.iter(w)
                    .find(|(_, a)| a.name.eq_ignore_ascii_case(&name))
                    .map(|(entity, _)| EntityRef { entity }))
            })
        })?,
    )?;

    gsp.set(
        "send",
        lua.create_function(|lua, (player, text): (Value, Value)| {
            let e = entity_arg(lua, &player)?;
            let text = to_text(lua, &text)?;
            with_world(lua, |w| {
                if tell(w, e.entity, text) {
                    Ok(())
                } else {
                    Err(api_error(lua, "only players can be sent text"))
                }
            })
        })?,
    )?;

    gsp.set(
        "gmcp",
        lua.create_function(|lua, (player, package, data): (Value, String, Value)| {
            let e = entity_arg(lua, &player)?;
            gmcp_package_arg(lua, &package)?;
            let json = crate::value::to_json(&to_plain(&data)?).to_string();
            if json.len() > MAX_GMCP_JSON {
                return Err(api_error(
                    lua,
                    format!("gsp.gmcp data is over {MAX_GMCP_JSON} bytes as JSON"),
                ));
            }
            with_world(lua, |w| {
                let Some(session) = w.get::<Avatar>(e.entity).map(|a| a.session) else {
                    return Err(api_error(lua, "only players can be sent GMCP"));
                };
                w.resource_mut::<Sessions>()
                    .send(session, Outbound::Gmcp { package, json });
                Ok(())
            })
        })?,
    )?;

    gsp.set(
        "send_room",
        lua.create_function(|lua, (key, text, except): (String, Value, Value)| {
            let text = to_text(lua, &text)?;
            let except = match except {
                Value::Nil => None,
                e => Some(entity_arg(lua, &e)?.entity),
            };
            with_world(lua, |w| {
                let room = find_room(lua, w, &key)?;
                for e in occupants(w, room) {
                    if Some(e) != except {
                        tell(w, e, text.clone());
                    }
                }
                Ok(())
            })
        })?,
    )?;

    gsp.set(
        "say_as",
        lua.create_function(|lua, (speaker, key, text): (String, String, Value)| {
            let text = to_text(lua, &text)?;
            with_world(lua, |w| {
                let room = find_room(lua, w, &key)?;
                for e in occupants(w, room) {
                    if let Some(session) = w.get::<Avatar>(e).map(|a| a.session) {
                        w.resource_mut::<Sessions>().send(
                            session,
                            Outbound::Text(TextEvent::Said {
                                speaker: speaker.clone(),
                                room: key.clone(),
                                text: text.clone(),
                                by_you: false,
                            }),
                        );
                    }
                }
                Ok(())
            })
        })?,
    )?;

    gsp.set(
        "broadcast",
        lua.create_function(|lua, text: Value| {
            permit(lua, Permission::Broadcast)?;
            let text = to_text(lua, &text)?;
            with_world(lua, |w| {
                let mut sessions = w.resource_mut::<Sessions>();
                let ids: Vec<_> = sessions.by_id.keys().copied().collect();
                for id in ids {
                    sessions.send(id, Outbound::Text(TextEvent::Info(text.clone())));
                }
                Ok(())
            })
        })?,
    )?;

    gsp.set(
        "rooms",
        lua.create_function(|lua, ()| {
            let keys = with_world(lua, |w| {
                Ok(w.resource::<WorldMap>()
                    .rooms
                    .iter()
                    .map(|r| r.key.clone())
                    .collect::<Vec<_>>())
            })?;
            lua.create_sequence_from(keys)
        })?,
    )?;

    gsp.set(
        "room",
        lua.create_function(|lua, key: String| {
            let room = with_world(lua, |w| {
                let map = w.resource::<WorldMap>();
                Ok(map.rooms.iter().find(|r| r.key == key).cloned())
            })?;
            let Some(room) = room else {
                return Ok(Value::Nil);
            };
            let t = lua.create_table()?;
            t.set("key", room.key.clone())?;
            t.set("title", room.title.clone())?;
            t.set("description", room.description.clone())?;
            t.set("spawn", vec3_table(lua, room.spawn_point())?)?;
            t.set("min", vec3_table(lua, room.bounds.min)?)?;
            t.set("max", vec3_table(lua, room.bounds.max)?)?;
            let exits = lua.create_table()?;
            let keys = with_world(lua, |w| {
                let map = w.resource::<WorldMap>();
                Ok(room
                    .exits
                    .iter()
                    .map(|e| (e.direction.name(), map.room(e.to).key.clone()))
                    .collect::<Vec<_>>())
            })?;
            for (dir, to) in keys {
                exits.set(dir, to)?;
            }
            t.set("exits", exits)?;
            Ok(Value::Table(t))
        })?,
    )?;

    gsp.set(
        "tick",
        lua.create_function(|lua, ()| with_world(lua, |w| Ok(w.resource::<TickTime>().tick)))?,
    )?;

    gsp.set(
        "time",
        lua.create_function(|lua, ()| {
            with_world(lua, |w| {
                let t = w.resource::<TickTime>();
                Ok(t.tick as f64 / f64::from(t.rate))
            })
        })?,
    )?;

    gsp.set("log", lua.create_function(log)?)?;

    gsp.set(
        "call",
        lua.create_function(
            |lua, (target, function, args): (String, String, MultiValue)| {
                call_mod(lua, &target, &function, args)
            },
        )?,
    )?;

    gsp.set(
        "mod",
        lua.create_function(|lua, target: String| {
            let known = with_ctx(lua, |c| {
                c.links
                    .mods
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .contains_key(&target)
            });
            if !known {
                return Err(api_error(lua, format!("there is no mod `{target}`")));
            }
            Ok(ModProxy(target))
        })?,
    )?;

    let exports = lua.create_table()?;
    lua.set_named_registry_value(EXPORTS_KEY, &exports)?;
    gsp.set("exports", exports)?;
    let storage: Table = lua.named_registry_value(STORAGE_KEY)?;
    gsp.set("storage", storage)?;
    Ok(gsp)
}

/// `gsp.mod("doors")`: indexing it gives functions that call the mod's exports.
struct ModProxy(String);

impl UserData for ModProxy {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Index, |lua, this, function: String| {
            let target = this.0.clone();
            lua.create_function(move |lua, args: MultiValue| {
                call_mod(lua, &target, &function, args)
            })
        });
    }
}

/// `gsp.log(...)` and `print(...)`: a line in the server log, naming the mod.
pub(crate) fn log(lua: &Lua, values: Variadic<Value>) -> mlua::Result<()> {
    let mut line = String::new();
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            line.push(' ');
        }
        line.push_str(&to_text(lua, v)?);
    }
    let name = with_ctx(lua, |c| c.name.clone());
    tracing::info!(target: "gsp::mods", mod_name = %name, "{line}");
    Ok(())
}

/// Whether `name` is a built-in command (or direction): anything the
/// parser does not hand on as a possible mod command.
fn is_builtin(name: &str) -> bool {
    !matches!(
        gsp_engine::text::parse(name),
        gsp_engine::text::Command::Other { .. }
    )
}
