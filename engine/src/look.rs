//! What graphical players are told so that they can draw the world.
//!
//! Snapshots carry only ids, kinds and poses. On the reliable stream, each
//! graphical session is also sent:
//!
//! * **the map**, once, right after it joins: the rooms (key, title, box,
//!   exits), every solid of the static geometry with its colour, and what
//!   each replicated kind looks like ([`kind_looks`]), chunked by
//!   [`gsp_protocol::map::chunk_map`] so that any map fits the frame limit.
//!   The chunks are encoded once per world and shared by every session,
//!   and come before anything else the session is told after its welcome.
//! * **an [`EntityInfo`]** for each entity when it enters the session's
//!   interest, and again whenever it changes while in view: a player's
//!   name, or a prop's label, colour and shape. A mod sets these with a
//!   [`Display`] component (`entity:set_display` in Lua).
//!
//! The work per tick is linear in what changed: each session's relevant set
//! (sorted by id, from [`crate::replication`]) is compared with the last
//! tick's by a merge, and only entities whose info changed this tick are
//! looked up again.

use std::collections::HashMap;
use std::sync::Arc;

use bevy_ecs::prelude::*;
use gsp_protocol::map::{
    chunk_map, EntityInfo, KindLook, Look, MapData, MapExit, MapRoom, MapSolid, ShapeKind,
};
use gsp_protocol::ServerMessage;

use crate::components::{Avatar, Body, Replicated, Sessions, Shape, KIND_AVATAR, KIND_PROP};
use crate::map::{Direction, WorldMap};
use crate::replication::Replication;
use crate::session::{GatewayKind, Outbound, SessionId};

/// How a mod wants an entity shown: a name over it and a colour. Players'
/// avatars show their player's name unless a mod gives another.
#[derive(Component, Debug, Clone, PartialEq, Default)]
pub struct Display {
    /// The name shown over the entity.
    pub name: Option<String>,
    /// Its colour, `0xRRGGBB`.
    pub colour: Option<u32>,
}

/// The longest display name a client is sent, bytes.
pub const MAX_NAME_BYTES: usize = gsp_protocol::map::MAX_NAME_BYTES;

/// An avatar's size as drawn: the physics plugin's default capsule
/// (radius 0.35 m, 1.8 m tall), standing on its position.
pub const AVATAR_SIZE: [f32; 3] = [0.7, 1.8, 0.7];
/// The colour avatars are drawn in unless a mod says otherwise.
pub const AVATAR_COLOUR: u32 = 0x3a6fd8;
/// The colour props are drawn in unless a mod says otherwise.
pub const PROP_COLOUR: u32 = 0xd08a2e;

/// What the engine's own kinds look like.
pub fn kind_looks() -> Vec<KindLook> {
    vec![
        KindLook {
            kind: KIND_AVATAR,
            name: "avatar".into(),
            look: Look {
                shape: ShapeKind::Capsule,
                size: AVATAR_SIZE,
            },
            colour: AVATAR_COLOUR,
            at_feet: true,
        },
        KindLook {
            kind: KIND_PROP,
            name: "prop".into(),
            look: Look {
                shape: ShapeKind::Box,
                size: [1.0; 3],
            },
            colour: PROP_COLOUR,
            at_feet: false,
        },
    ]
}

fn wire_direction(d: Direction) -> gsp_protocol::map::Direction {
    use gsp_protocol::map::Direction as W;
    match d {
        Direction::North => W::North,
        Direction::East => W::East,
        Direction::South => W::South,
        Direction::West => W::West,
        Direction::Up => W::Up,
        Direction::Down => W::Down,
    }
}

/// The map as graphical clients are sent it.
pub fn map_data(map: &WorldMap) -> MapData {
    MapData {
        rooms: map
            .rooms
            .iter()
            .enumerate()
            .map(|(i, r)| MapRoom {
                index: i as u16,
                key: r.key.clone(),
                title: r.title.clone(),
                min: r.bounds.min.to_array(),
                max: r.bounds.max.to_array(),
                exits: r
                    .exits
                    .iter()
                    .map(|e| MapExit {
                        direction: wire_direction(e.direction),
                        to: e.to.0,
                    })
                    .collect(),
            })
            .collect(),
        solids: map
            .solids
            .iter()
            .map(|s| MapSolid {
                center: s.center.to_array(),
                half: s.half.to_array(),
                rotation: s.rotation,
                colour: s.colour.unwrap_or(0),
            })
            .collect(),
        kinds: kind_looks(),
        start: map.start.0,
    }
}

/// The map's frames, encoded: what every graphical session is sent first.
pub fn map_frames(map: &WorldMap) -> Vec<Arc<[u8]>> {
    chunk_map(&map_data(map))
        .into_iter()
        .map(|c| Arc::from(ServerMessage::Map(c).encode()))
        .collect()
}

/// The look of a body's shape.
fn shape_look(shape: &Shape) -> Look {
    match *shape {
        Shape::Ball { radius } => Look {
            shape: ShapeKind::Ball,
            size: [2.0 * radius; 3],
        },
        Shape::Cuboid { half } => Look {
            shape: ShapeKind::Box,
            size: (half * 2.0).to_array(),
        },
        Shape::Capsule {
            half_height,
            radius,
        } => Look {
            shape: ShapeKind::Capsule,
            size: [2.0 * radius, 2.0 * (half_height + radius), 2.0 * radius],
        },
    }
}

/// What a client is told about one entity.
pub fn entity_info(
    id: u32,
    generation: u32,
    avatar: Option<&Avatar>,
    display: Option<&Display>,
    body: Option<&Body>,
) -> EntityInfo {
    let name = display
        .and_then(|d| d.name.clone())
        .or_else(|| avatar.map(|a| a.name.clone()))
        .unwrap_or_default();
    EntityInfo {
        id,
        generation,
        name,
        colour: display.and_then(|d| d.colour).unwrap_or(0) & 0xFF_FF_FF,
        look: body.map(|b| shape_look(&b.shape)),
    }
}

/// One entity's info as of this tick.
#[derive(Debug, Clone)]
struct Slot {
    generation: u32,
    info: EntityInfo,
    frame: Arc<[u8]>,
}

/// What one session has been sent.
#[derive(Debug, Default)]
struct SessionLooks {
    map_sent: bool,
    /// Last tick's relevant set, (id, generation), sorted by id.
    previous: Vec<(u32, u32)>,
    current: Vec<(u32, u32)>,
}

/// The look system's memory between ticks.
#[derive(Debug, Default)]
pub struct LookState {
    map: Option<Vec<Arc<[u8]>>>,
    slots: Vec<Option<Slot>>,
    /// Ids whose info changed this tick.
    changed: Vec<u32>,
    sessions: HashMap<SessionId, SessionLooks>,
}

/// Sends each graphical session the map when it joins, and entity infos as
/// entities enter its view or change. Runs after replication has chosen
/// each session's relevant set.
#[allow(clippy::type_complexity)]
pub fn send_looks(
    mut state: Local<LookState>,
    map: Res<WorldMap>,
    replication: Res<Replication>,
    mut sessions: ResMut<Sessions>,
    entities: Query<
        (
            Entity,
            Option<&Avatar>,
            Option<Ref<Display>>,
            Option<Ref<Body>>,
        ),
        With<Replicated>,
    >,
) {
    let state = &mut *state;
    let frames = state.map.get_or_insert_with(|| map_frames(&map));
    state.changed.clear();
    for (entity, avatar, display, body) in &entities {
        let (id, generation) = Replication::wire_id(entity);
        let slot = id as usize;
        if slot >= state.slots.len() {
            state.slots.resize(slot + 1, None);
        }
        let fresh = match &state.slots[slot] {
            None => true,
            Some(s) => {
                s.generation != generation
                    || display.as_ref().is_some_and(|d| d.is_changed())
                    || body.as_ref().is_some_and(|b| b.is_changed())
            }
        };
        if !fresh {
            continue;
        }
        let info = entity_info(id, generation, avatar, display.as_deref(), body.as_deref());
        if state.slots[slot]
            .as_ref()
            .is_some_and(|s| s.generation == generation && s.info == info)
        {
            continue;
        }
        let frame = Arc::from(ServerMessage::Entity(info.clone()).encode());
        state.slots[slot] = Some(Slot {
            generation,
            info,
            frame,
        });
        state.changed.push(id);
    }
    state.changed.sort_unstable();

    let LookState {
        slots,
        changed,
        sessions: looks,
        ..
    } = state;
    looks.retain(|id, _| sessions.by_id.contains_key(id));
    for (&id, entry) in sessions.by_id.iter_mut() {
        if entry.kind != GatewayKind::Quic {
            continue;
        }
        let Some(client) = replication.client(id) else {
            continue;
        };
        let session = looks.entry(id).or_default();
        if !std::mem::replace(&mut session.map_sent, true) {
            // Right after the welcome, before anything else it is told.
            let at = entry
                .outbox
                .iter()
                .position(|m| matches!(m, Outbound::Joined { .. }))
                .map_or(0, |i| i + 1);
            entry
                .outbox
                .splice(at..at, frames.iter().map(|f| Outbound::Frame(f.clone())))
                .for_each(drop);
        }
        session.current.clear();
        session
            .current
            .extend(client.relevant().iter().map(|r| (r.id, r.generation)));
        let frame_of = |id: u32, generation: u32| {
            slots
                .get(id as usize)
                .and_then(Option::as_ref)
                .filter(|s| s.generation == generation)
                .map(|s| Outbound::Frame(s.frame.clone()))
        };
        // Entered the view (or a reused id): send. Stayed in view and
        // changed this tick: send again.
        let mut before = session.previous.iter().peekable();
        for &(id, generation) in &session.current {
            while before.next_if(|&&(p, _)| p < id).is_some() {}
            let stayed = before
                .next_if(|&&(p, g)| p == id && g == generation)
                .is_some();
            if !stayed || changed.binary_search(&id).is_ok() {
                entry.outbox.extend(frame_of(id, generation));
            }
        }
        std::mem::swap(&mut session.previous, &mut session.current);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::math::Vec3;

    #[test]
    fn the_default_map_fits_one_frame_and_keeps_its_colours() {
        let map = WorldMap::default_world();
        let frames = map_frames(&map);
        assert_eq!(frames.len(), 1);
        let Ok(ServerMessage::Map(chunk)) = ServerMessage::decode(&frames[0]) else {
            panic!("not a map chunk");
        };
        assert_eq!(chunk.rooms.len(), map.rooms.len());
        assert_eq!(chunk.rooms[0].key, "plaza");
        assert_eq!(chunk.rooms[0].exits.len(), 3);
        assert_eq!(chunk.solids.len(), map.solids.len());
        assert_eq!(chunk.solids[0].colour, map.solids[0].colour.unwrap());
        assert_eq!(chunk.kinds, kind_looks());
    }

    #[test]
    fn infos_name_players_and_shape_props() {
        let avatar = Avatar {
            name: "ada".into(),
            session: SessionId(1),
        };
        let info = entity_info(4, 2, Some(&avatar), None, None);
        assert_eq!(
            (info.name.as_str(), info.colour, info.look),
            ("ada", 0, None)
        );
        let display = Display {
            name: Some("The Ball".into()),
            colour: Some(0xffffff),
        };
        let ball = Body::dynamic(Shape::Ball { radius: 0.25 });
        let info = entity_info(5, 1, None, Some(&display), Some(&ball));
        assert_eq!(info.name, "The Ball");
        assert_eq!(info.colour, 0xffffff);
        assert_eq!(
            info.look,
            Some(Look {
                shape: ShapeKind::Ball,
                size: [0.5; 3]
            })
        );
        let crate_ = Body::dynamic(Shape::Cuboid {
            half: Vec3::new(0.5, 1.0, 0.25),
        });
        assert_eq!(
            entity_info(6, 1, None, None, Some(&crate_))
                .look
                .unwrap()
                .size,
            [1.0, 2.0, 0.5]
        );
    }
}
