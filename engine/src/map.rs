//! The map: rooms as named regions of 3D space, joined by exits, and the
//! static geometry (floors, walls, ramps, stairs) that physics collides with.
//!
//! A room is an axis-aligned box with a title, a description and exits. An
//! avatar is in the room whose box contains its position, so a graphical
//! player walking north out of the Plaza is, from that moment, in the Tavern,
//! and the text players there see it arrive. Text players travel by exit:
//! `go north` puts the avatar at the room's anchor (its floor centre unless
//! the map says otherwise).
//!
//! Maps are data: [`WorldMap::from_toml`] reads the format below, and
//! [`WorldMap::default_world`] is the `core` mod's `mods/core/map.toml`.
//!
//! ```toml
//! start = "hall"                  # where players join; the first room if omitted
//!
//! [[room]]
//! key = "hall"                    # stable lowercase key
//! title = "The Hall"
//! description = "A bare stone hall."
//! min = [-5, 0, -5]               # the room's box: min inclusive, max exclusive
//! max = [5, 4, 5]
//! anchor = [0, 0, 2]              # optional: where `go` and joins put avatars
//! exits = { up = "loft" }         # direction = room key
//!
//! [[room]]
//! key = "loft"
//! title = "The Loft"
//! min = [-5, 4, -5]
//! max = [5, 8, 5]
//! exits = { down = "hall" }
//!
//! [[solid]]                       # a box, by corners...
//! kind = "box"
//! min = [-5, -0.5, -5]
//! max = [5, 0, 5]
//!
//! [[solid]]                       # ...or by centre and half size, optionally turned
//! kind = "box"                    # (degrees: yaw about +y, then pitch about +x,
//! center = [0, 1, -4]             #  then roll about +z)
//! half = [1, 1, 0.25]
//! yaw = 30
//!
//! [[solid]]                       # a slab whose top runs from `from` to `to`
//! kind = "ramp"
//! from = [-4, 0, 0]
//! to = [-4, 1, 3]
//! width = 2
//! thickness = 0.3                 # optional, 0.5 by default
//!
//! [[solid]]                       # `steps` equal steps, solid down to the lower end
//! kind = "stairs"
//! from = [3, 0, -2]
//! to = [3, 4, 3]
//! width = 1.5
//! steps = 16
//! colour = "#8a6d4b"              # any solid: how graphical clients draw it
//! ```
//!
//! Every solid becomes an oriented box ([`Solid`]); ramps and stairs are
//! shorthands that expand into them.

use std::collections::BTreeMap;
use std::fmt;

use bevy_ecs::prelude::Resource;
use serde::Deserialize;

use crate::math::{quat_mul, Aabb, Vec3};

/// An index into [`WorldMap::rooms`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub u16);

/// The six ways out of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// +z
    North,
    /// -z
    South,
    /// +x
    East,
    /// -x
    West,
    /// +y
    Up,
    /// -y
    Down,
}

impl Direction {
    /// Every direction, in the order exits are listed.
    pub const ALL: [Direction; 6] = [
        Direction::North,
        Direction::East,
        Direction::South,
        Direction::West,
        Direction::Up,
        Direction::Down,
    ];

    /// The word a player types and reads: "north".
    pub fn name(self) -> &'static str {
        match self {
            Direction::North => "north",
            Direction::South => "south",
            Direction::East => "east",
            Direction::West => "west",
            Direction::Up => "up",
            Direction::Down => "down",
        }
    }

    /// The way back.
    pub fn opposite(self) -> Direction {
        match self {
            Direction::North => Direction::South,
            Direction::South => Direction::North,
            Direction::East => Direction::West,
            Direction::West => Direction::East,
            Direction::Up => Direction::Down,
            Direction::Down => Direction::Up,
        }
    }

    /// Parses "north", "n", "NORTH"...
    pub fn parse(word: &str) -> Option<Direction> {
        let w = word.to_ascii_lowercase();
        Direction::ALL
            .into_iter()
            .find(|d| w == d.name() || (w.len() == 1 && d.name().starts_with(w.as_str())))
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A way out of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    /// Which way.
    pub direction: Direction,
    /// Where it leads.
    pub to: RoomId,
}

/// A named region of space.
#[derive(Debug, Clone, PartialEq)]
pub struct Room {
    /// A stable lowercase key, "plaza".
    pub key: String,
    /// The title players read, "The Plaza".
    pub title: String,
    /// A paragraph of description.
    pub description: String,
    /// The space the room occupies.
    pub bounds: Aabb,
    /// Its exits, in [`Direction::ALL`] order.
    pub exits: Vec<Exit>,
    /// Where avatars arriving by exit (or joining) stand: on the floor,
    /// inside [`Room::bounds`]. The floor centre unless the map says otherwise.
    pub anchor: Vec3,
}

impl Room {
    /// Where an avatar arriving by exit (or joining) is placed: the room's
    /// [`anchor`](Room::anchor).
    pub fn spawn_point(&self) -> Vec3 {
        self.anchor
    }

    /// The exit in `direction`, if there is one.
    pub fn exit(&self, direction: Direction) -> Option<&Exit> {
        self.exits.iter().find(|e| e.direction == direction)
    }

    /// The exit that leads to `room`, if there is one.
    pub fn exit_to(&self, room: RoomId) -> Option<&Exit> {
        self.exits.iter().find(|e| e.to == room)
    }
}

/// A piece of static geometry: a box of `2 * half` centred on `center`,
/// turned by the unit quaternion `rotation` (x, y, z, w).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Solid {
    /// The centre of the box.
    pub center: Vec3,
    /// Half its size along its own axes.
    pub half: Vec3,
    /// Its orientation, a unit quaternion (x, y, z, w).
    pub rotation: [f32; 4],
    /// The colour graphical clients draw it in, `0xRRGGBB` (the map's
    /// `colour = "#rrggbb"`); `None` leaves it to the client.
    pub colour: Option<u32>,
}

impl Solid {
    /// The unturned box between two corners.
    pub fn between(min: Vec3, max: Vec3) -> Solid {
        Solid {
            center: (min + max) * 0.5,
            half: (max - min) * 0.5,
            rotation: IDENTITY,
            colour: None,
        }
    }
}

/// All the rooms of a world, and its static geometry.
#[derive(Debug, Clone, Resource)]
pub struct WorldMap {
    /// Indexed by [`RoomId`].
    pub rooms: Vec<Room>,
    /// Where new avatars appear.
    pub start: RoomId,
    /// Floors, walls, ramps and stairs, for physics; empty for maps built
    /// with [`WorldMap::build`].
    pub solids: Vec<Solid>,
}

/// What went wrong building a map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// Two rooms' boxes overlap.
    #[error("rooms `{0}` and `{1}` overlap")]
    Overlap(String, String),
    /// An exit names a room that does not exist.
    #[error("room `{0}` has an exit to unknown room `{1}`")]
    UnknownExit(String, String),
    /// The map has no rooms.
    #[error("a map needs at least one room")]
    Empty,
    /// The map text is not valid TOML, or not a map (a missing or misspelt
    /// field). The message carries the line and column.
    #[error("{0}")]
    Parse(String),
    /// A room's box is empty or inverted, or its anchor lies outside it.
    #[error("line {line}: room `{key}`: {reason}")]
    BadRoom {
        /// The line of its `[[room]]` table.
        line: usize,
        /// The room's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A solid cannot be built (no size, a zero-length ramp...).
    #[error("line {line}: solid: {reason}")]
    BadSolid {
        /// The line of its `[[solid]]` table.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// `start` names no room.
    #[error("the start room `{0}` does not exist")]
    UnknownStart(String),
}

/// A room as written in a map definition, before ids are resolved.
#[derive(Debug, Clone)]
pub struct RoomSpec<'a> {
    /// Stable key.
    pub key: &'a str,
    /// Title.
    pub title: &'a str,
    /// Description.
    pub description: &'a str,
    /// Lowest corner.
    pub min: [f32; 3],
    /// Highest corner.
    pub max: [f32; 3],
    /// Exits by target key.
    pub exits: &'a [(Direction, &'a str)],
}

impl WorldMap {
    /// Builds a map, checking that rooms do not overlap and exits lead somewhere.
    /// The first room is where players start.
    pub fn build(specs: &[RoomSpec<'_>]) -> Result<WorldMap, MapError> {
        if specs.is_empty() {
            return Err(MapError::Empty);
        }
        let index = |key: &str| specs.iter().position(|s| s.key == key);
        let mut rooms = Vec::with_capacity(specs.len());
        for s in specs {
            let mut exits = Vec::new();
            for &(direction, to) in s.exits {
                let to = index(to).ok_or_else(|| MapError::UnknownExit(s.key.into(), to.into()))?;
                exits.push(Exit {
                    direction,
                    to: RoomId(to as u16),
                });
            }
            exits.sort_by_key(|e| Direction::ALL.iter().position(|d| *d == e.direction));
            let [x0, y0, z0] = s.min;
            let [x1, y1, z1] = s.max;
            rooms.push(Room {
                key: s.key.into(),
                title: s.title.into(),
                description: s.description.into(),
                bounds: Aabb::new(Vec3::new(x0, y0, z0), Vec3::new(x1, y1, z1)),
                anchor: Aabb::new(Vec3::new(x0, y0, z0), Vec3::new(x1, y1, z1)).floor_center(),
                exits,
            });
        }
        for (i, a) in rooms.iter().enumerate() {
            for b in &rooms[i + 1..] {
                if a.bounds.intersects(&b.bounds) {
                    return Err(MapError::Overlap(a.key.clone(), b.key.clone()));
                }
            }
        }
        Ok(WorldMap {
            rooms,
            start: RoomId(0),
            solids: Vec::new(),
        })
    }

    /// The default world, the `core` mod's `mods/core/map.toml`: a plaza with
    /// a tavern (and, down its stairs, the cellar) to the north, a market with
    /// a raised platform to the east, and the town gate to the south, beyond
    /// which lies a forest. Each ground room is 20 m across, walled, with
    /// doorways where its exits are; walking through one into a neighbour's
    /// box is the same as taking the exit.
    pub fn default_world() -> WorldMap {
        WorldMap::from_toml(DEFAULT_MAP).expect("the default world is a valid map")
    }

    /// Reads a map in the format of the [module documentation](self),
    /// checking what [`WorldMap::build`] checks (no overlapping rooms, no
    /// exits to nowhere) and that every solid can be built.
    pub fn from_toml(text: &str) -> Result<WorldMap, MapError> {
        let file: MapFile = toml::from_str(text).map_err(|e| MapError::Parse(e.to_string()))?;
        let line_of = |span: std::ops::Range<usize>| {
            1 + text.as_bytes()[..span.start.min(text.len())]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
        };
        for room in &file.rooms {
            let r = room.get_ref();
            let bad = |reason: &str| MapError::BadRoom {
                line: line_of(room.span()),
                key: r.key.clone(),
                reason: reason.into(),
            };
            if !(0..3).all(|i| r.min[i].is_finite() && r.max[i].is_finite() && r.min[i] < r.max[i])
            {
                return Err(bad("`min` must be below `max` on every axis"));
            }
            if let Some(anchor) = r.anchor {
                let bounds = Aabb::new(Vec3::from(r.min), Vec3::from(r.max));
                if !bounds.contains(Vec3::from(anchor)) {
                    return Err(bad("its anchor lies outside its box"));
                }
            }
        }
        let exits: Vec<Vec<(Direction, &str)>> = file
            .rooms
            .iter()
            .map(|r| {
                r.get_ref()
                    .exits
                    .iter()
                    .map(|(d, to)| (d.0, to.as_str()))
                    .collect()
            })
            .collect();
        let specs: Vec<RoomSpec<'_>> = file
            .rooms
            .iter()
            .zip(&exits)
            .map(|(r, exits)| {
                let r = r.get_ref();
                RoomSpec {
                    key: &r.key,
                    title: &r.title,
                    description: &r.description,
                    min: r.min,
                    max: r.max,
                    exits,
                }
            })
            .collect();
        let mut map = WorldMap::build(&specs)?;
        for (room, def) in map.rooms.iter_mut().zip(&file.rooms) {
            if let Some(anchor) = def.get_ref().anchor {
                room.anchor = Vec3::from(anchor);
            }
        }
        if let Some(start) = &file.start {
            let index = map
                .rooms
                .iter()
                .position(|r| &r.key == start)
                .ok_or_else(|| MapError::UnknownStart(start.clone()))?;
            map.start = RoomId(index as u16);
        }
        for solid in &file.solids {
            solid
                .get_ref()
                .expand(&mut map.solids)
                .map_err(|reason| MapError::BadSolid {
                    line: line_of(solid.span()),
                    reason,
                })?;
        }
        Ok(map)
    }

    /// The room.
    ///
    /// # Panics
    /// If `id` is not from this map.
    pub fn room(&self, id: RoomId) -> &Room {
        &self.rooms[usize::from(id.0)]
    }

    /// The room containing `p`, if any.
    pub fn room_at(&self, p: Vec3) -> Option<RoomId> {
        self.rooms
            .iter()
            .position(|r| r.bounds.contains(p))
            .map(|i| RoomId(i as u16))
    }
}

/// The text of `mods/core/map.toml`, the default world.
pub const DEFAULT_MAP: &str = include_str!("../../mods/core/map.toml");

/// The identity rotation (x, y, z, w).
const IDENTITY: [f32; 4] = [0.0, 0.0, 0.0, 1.0];

/// A map file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    start: Option<String>,
    #[serde(default, rename = "room")]
    rooms: Vec<toml::Spanned<RoomDef>>,
    #[serde(default, rename = "solid")]
    solids: Vec<toml::Spanned<SolidDef>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoomDef {
    key: String,
    title: String,
    #[serde(default)]
    description: String,
    min: [f32; 3],
    max: [f32; 3],
    #[serde(default)]
    anchor: Option<[f32; 3]>,
    #[serde(default)]
    exits: BTreeMap<DirectionKey, String>,
}

/// A direction as a table key: `north = "tavern"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct DirectionKey(Direction);

impl<'de> Deserialize<'de> for DirectionKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        Direction::ALL
            .into_iter()
            .find(|dir| dir.name() == word)
            .map(DirectionKey)
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "unknown direction `{word}`: expected north, east, south, west, up or down"
                ))
            })
    }
}

fn default_thickness() -> f32 {
    0.5
}

#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
enum SolidDef {
    Box {
        #[serde(default)]
        min: Option<[f32; 3]>,
        #[serde(default)]
        max: Option<[f32; 3]>,
        #[serde(default)]
        center: Option<[f32; 3]>,
        #[serde(default)]
        half: Option<[f32; 3]>,
        #[serde(default)]
        yaw: f32,
        #[serde(default)]
        pitch: f32,
        #[serde(default)]
        roll: f32,
        #[serde(default)]
        colour: Option<Colour>,
    },
    Ramp {
        from: [f32; 3],
        to: [f32; 3],
        width: f32,
        #[serde(default = "default_thickness")]
        thickness: f32,
        #[serde(default)]
        colour: Option<Colour>,
    },
    Stairs {
        from: [f32; 3],
        to: [f32; 3],
        width: f32,
        steps: u32,
        #[serde(default)]
        colour: Option<Colour>,
    },
}

/// A colour as written in a map: `"#rrggbb"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Colour(u32);

impl<'de> Deserialize<'de> for Colour {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        parse_colour(&text).map(Colour).ok_or_else(|| {
            serde::de::Error::custom(format!("`{text}` is not a colour: expected \"#rrggbb\""))
        })
    }
}

/// Parses `"#rrggbb"` into `0xRRGGBB`.
pub fn parse_colour(text: &str) -> Option<u32> {
    let hex = text.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

/// The most boxes one `stairs` may expand to.
const MAX_STEPS: u32 = 1000;

impl SolidDef {
    /// Appends the boxes this solid is made of, or says why it cannot be built.
    fn expand(&self, out: &mut Vec<Solid>) -> Result<(), String> {
        let finite = |vs: &[f32]| vs.iter().all(|v| v.is_finite());
        match *self {
            SolidDef::Box {
                min,
                max,
                center,
                half,
                yaw,
                pitch,
                roll,
                colour,
            } => {
                let (center, half) = match (min, max, center, half) {
                    (Some(min), Some(max), None, None) => {
                        let (min, max) = (Vec3::from(min), Vec3::from(max));
                        ((min + max) * 0.5, (max - min) * 0.5)
                    }
                    (None, None, Some(c), Some(h)) => (Vec3::from(c), Vec3::from(h)),
                    _ => {
                        return Err(
                            "a box needs either `min` and `max`, or `center` and `half`".into()
                        )
                    }
                };
                let ok = finite(&[center.x, center.y, center.z, yaw, pitch, roll])
                    && finite(&half.to_array())
                    && half.x > 0.0
                    && half.y > 0.0
                    && half.z > 0.0;
                if !ok {
                    return Err("a box needs a finite, positive size".into());
                }
                out.push(Solid {
                    center,
                    half,
                    rotation: yaw_pitch_roll(
                        yaw.to_radians(),
                        pitch.to_radians(),
                        roll.to_radians(),
                    ),
                    colour: colour.map(|c| c.0),
                });
            }
            SolidDef::Ramp {
                from,
                to,
                width,
                thickness,
                colour,
            } => {
                let (from, to) = (Vec3::from(from), Vec3::from(to));
                let run = to - from;
                let length = run.length_squared().sqrt();
                if !(finite(&[length, width, thickness])
                    && length > 0.0
                    && width > 0.0
                    && thickness > 0.0)
                {
                    return Err("a ramp needs `from` and `to` apart, and a positive `width` and `thickness`".into());
                }
                let horizontal = (run.x * run.x + run.z * run.z).sqrt();
                if horizontal == 0.0 {
                    return Err("a ramp cannot be vertical".into());
                }
                // Local +z along the run, local +y the ramp's top normal.
                let rotation = yaw_pitch_roll(run.x.atan2(run.z), -run.y.atan2(horizontal), 0.0);
                let up = rotate(rotation, Vec3::new(0.0, 1.0, 0.0));
                out.push(Solid {
                    center: (from + to) * 0.5 - up * (thickness * 0.5),
                    half: Vec3::new(width * 0.5, thickness * 0.5, length * 0.5),
                    rotation,
                    colour: colour.map(|c| c.0),
                });
            }
            SolidDef::Stairs {
                from,
                to,
                width,
                steps,
                colour,
            } => {
                let (from, to) = (Vec3::from(from), Vec3::from(to));
                // Build from the lower end: the first riser stands there, the
                // top of the last step is level with the upper end.
                let (low, high) = if from.y <= to.y {
                    (from, to)
                } else {
                    (to, from)
                };
                let run = Vec3::new(high.x - low.x, 0.0, high.z - low.z);
                let horizontal = run.length_squared().sqrt();
                let rise = high.y - low.y;
                if !(finite(&[horizontal, rise, width])
                    && horizontal > 0.0
                    && rise > 0.0
                    && width > 0.0)
                {
                    return Err(
                        "stairs need a horizontal run, a rise and a positive `width`".into(),
                    );
                }
                if !(1..=MAX_STEPS).contains(&steps) {
                    return Err(format!("stairs need 1 to {MAX_STEPS} steps"));
                }
                let rotation = yaw_pitch_roll(run.x.atan2(run.z), 0.0, 0.0);
                let n = steps as f32;
                let tread = horizontal / n;
                for i in 0..steps {
                    let top = low.y + rise * (i + 1) as f32 / n;
                    let along = low + run * ((i as f32 + 0.5) / n);
                    out.push(Solid {
                        center: Vec3::new(along.x, (low.y + top) * 0.5, along.z),
                        half: Vec3::new(width * 0.5, (top - low.y) * 0.5, tread * 0.5),
                        rotation,
                        colour: colour.map(|c| c.0),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The rotation by `yaw` about +y, then `pitch` about the turned +x, then
/// `roll` about the turned +z (radians), as a quaternion (x, y, z, w).
fn yaw_pitch_roll(yaw: f32, pitch: f32, roll: f32) -> [f32; 4] {
    let axis = |v: [f32; 3], angle: f32| {
        let (s, c) = (angle * 0.5).sin_cos();
        [v[0] * s, v[1] * s, v[2] * s, c]
    };
    let q = quat_mul(axis([0.0, 1.0, 0.0], yaw), axis([1.0, 0.0, 0.0], pitch));
    quat_mul(q, axis([0.0, 0.0, 1.0], roll))
}

/// `v` turned by the unit quaternion `q`.
fn rotate(q: [f32; 4], v: Vec3) -> Vec3 {
    let r = quat_mul(
        quat_mul(q, [v.x, v.y, v.z, 0.0]),
        [-q[0], -q[1], -q[2], q[3]],
    );
    Vec3::new(r[0], r[1], r[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_world_exits_are_two_way_and_spawns_are_inside() {
        let map = WorldMap::default_world();
        for (i, room) in map.rooms.iter().enumerate() {
            let id = RoomId(i as u16);
            assert_eq!(map.room_at(room.spawn_point()), Some(id), "{}", room.key);
            for exit in &room.exits {
                let back = map.room(exit.to).exit(exit.direction.opposite());
                assert_eq!(
                    back.map(|e| e.to),
                    Some(id),
                    "{} {}",
                    room.key,
                    exit.direction
                );
            }
        }
    }

    #[test]
    fn walking_north_from_the_plaza_reaches_the_tavern() {
        let map = WorldMap::default_world();
        let tavern = map.room_at(Vec3::new(0.0, 0.0, 10.0)).unwrap();
        assert_eq!(map.room(tavern).key, "tavern");
        assert_eq!(map.room_at(Vec3::new(10.0, 0.0, 10.0)), None);
    }

    #[test]
    fn rejects_overlaps_and_dangling_exits() {
        let a = RoomSpec {
            key: "a",
            title: "A",
            description: "",
            min: [0.0; 3],
            max: [2.0; 3],
            exits: &[],
        };
        let mut b = a.clone();
        b.key = "b";
        assert!(matches!(
            WorldMap::build(&[a.clone(), b]),
            Err(MapError::Overlap(..))
        ));
        let mut c = a.clone();
        c.exits = &[(Direction::North, "nowhere")];
        assert!(matches!(
            WorldMap::build(&[c]),
            Err(MapError::UnknownExit(..))
        ));
    }

    #[test]
    fn the_shipped_map_has_geometry_and_anchors() {
        let map = WorldMap::default_world();
        let keys: Vec<&str> = map.rooms.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(
            keys,
            ["plaza", "tavern", "cellar", "market", "gate", "forest"]
        );
        assert_eq!(map.room(map.start).key, "plaza");
        let tavern = &map.rooms[1];
        assert_eq!(tavern.spawn_point(), Vec3::new(-4.0, 0.0, 18.0));
        // No anchor given: the floor centre.
        assert_eq!(map.rooms[2].spawn_point(), Vec3::new(0.0, -10.0, 20.0));
        assert_eq!(
            map.rooms[0].description,
            "Cobblestones spread out around a dry fountain. The smell of ale drifts from the \
             tavern to the north, the market bustles to the east, and the town gate stands to \
             the south."
        );
        // 28 boxes, one ramp and 40 steps.
        assert_eq!(map.solids.len(), 28 + 1 + 40);
    }

    fn parse_err(text: &str) -> MapError {
        WorldMap::from_toml(text).expect_err("the map is invalid")
    }

    const ONE_ROOM: &str =
        "[[room]]\nkey = \"a\"\ntitle = \"A\"\nmin = [0, 0, 0]\nmax = [2, 2, 2]\n";

    #[test]
    fn toml_errors_say_what_and_where() {
        let e = parse_err("[[room]]\nkey = \"a\"\ntitle = \n");
        assert!(matches!(e, MapError::Parse(_)), "{e:?}");
        assert!(e.to_string().contains("line 3"), "{e}");

        let e = parse_err(&format!("{ONE_ROOM}colour = \"red\"\n"));
        assert!(e.to_string().contains("colour"), "{e}");

        let e = parse_err(&format!("{ONE_ROOM}exits = {{ nowhere = \"a\" }}\n"));
        assert!(e.to_string().contains("unknown direction `nowhere`"), "{e}");
        assert!(e.to_string().contains("line 6"), "{e}");

        let e = parse_err(&format!("{ONE_ROOM}exits = {{ north = \"b\" }}\n"));
        assert_eq!(e, MapError::UnknownExit("a".into(), "b".into()));
        assert_eq!(e.to_string(), "room `a` has an exit to unknown room `b`");

        let overlapping = format!("{ONE_ROOM}{}", ONE_ROOM.replace("\"a\"", "\"b\""));
        assert_eq!(
            parse_err(&overlapping),
            MapError::Overlap("a".into(), "b".into())
        );

        let e = parse_err(&format!("{ONE_ROOM}anchor = [5, 0, 0]\n"));
        assert_eq!(
            e.to_string(),
            "line 1: room `a`: its anchor lies outside its box"
        );

        let e = parse_err(&format!(
            "{ONE_ROOM}\n[[solid]]\nkind = \"box\"\nmin = [0, 0, 0]\n"
        ));
        assert_eq!(
            e.to_string(),
            "line 7: solid: a box needs either `min` and `max`, or `center` and `half`"
        );

        let e = parse_err(&format!(
            "{ONE_ROOM}[[solid]]\nkind = \"ramp\"\nfrom = [0, 0, 0]\nto = [0, 0, 0]\nwidth = 1\n"
        ));
        assert!(matches!(e, MapError::BadSolid { line: 6, .. }), "{e:?}");

        let e = parse_err(&format!("{ONE_ROOM}[[solid]]\nkind = \"sphere\"\n"));
        assert!(matches!(e, MapError::Parse(_)), "{e:?}");
        assert!(e.to_string().contains("sphere"), "{e}");

        assert_eq!(
            parse_err(&format!("start = \"b\"\n{ONE_ROOM}")),
            MapError::UnknownStart("b".into())
        );
        assert_eq!(parse_err(""), MapError::Empty);
    }

    /// The corners of a solid's top face, in world space.
    fn top_corners(s: &Solid) -> Vec<Vec3> {
        [(-1.0, -1.0), (-1.0, 1.0), (1.0, -1.0), (1.0, 1.0)]
            .into_iter()
            .map(|(sx, sz)| {
                s.center
                    + rotate(
                        s.rotation,
                        Vec3::new(sx * s.half.x, s.half.y, sz * s.half.z),
                    )
            })
            .collect()
    }

    #[test]
    fn ramps_and_stairs_expand_into_boxes() {
        let map = WorldMap::from_toml(&format!(
            "{ONE_ROOM}[[solid]]\nkind = \"ramp\"\nfrom = [0, 0, 0]\nto = [3, 1, 4]\nwidth = 2\n\
             [[solid]]\nkind = \"stairs\"\nfrom = [0, 0, 10]\nto = [0, -2, 6]\nwidth = 1\nsteps = 4\n"
        ))
        .unwrap();
        assert_eq!(map.solids.len(), 1 + 4);
        // The ramp's top face runs from `from` to `to`: its corners lie 1 m
        // either side of the line between them.
        let ramp = &map.solids[0];
        let dir = Vec3::new(3.0, 1.0, 4.0) * (1.0 / 26f32.sqrt());
        for corner in top_corners(ramp) {
            let t = corner.x * dir.x + corner.y * dir.y + corner.z * dir.z;
            let off_line = corner - dir * t;
            assert!(
                (off_line.length_squared().sqrt() - 1.0).abs() < 1e-4,
                "{corner:?}"
            );
            assert!((-1e-4..=26f32.sqrt() + 1e-4).contains(&t), "{corner:?}");
        }
        // Stairs from the lower end (z = 6, y = -2) up to y = 0 at z = 10,
        // each step solid down to y = -2.
        for (i, step) in map.solids[1..].iter().enumerate() {
            let top = -2.0 + 0.5 * (i + 1) as f32;
            assert!((step.center.y + step.half.y - top).abs() < 1e-5, "step {i}");
            assert!((step.center.y - step.half.y + 2.0).abs() < 1e-5, "step {i}");
            assert!((step.center.z - (6.5 + i as f32)).abs() < 1e-5, "step {i}");
            assert!((step.half.z - 0.5).abs() < 1e-5 && (step.half.x - 0.5).abs() < 1e-5);
        }
    }

    #[test]
    fn solids_carry_their_colour() {
        let map = WorldMap::from_toml(&format!(
            "{ONE_ROOM}[[solid]]\nkind = \"box\"\nmin = [0, 0, 0]\nmax = [1, 1, 1]\ncolour = \"#A0b1c2\"\n\
             [[solid]]\nkind = \"box\"\nmin = [0, 0, 0]\nmax = [1, 1, 1]\n"
        ))
        .unwrap();
        assert_eq!(map.solids[0].colour, Some(0xa0b1c2));
        assert_eq!(map.solids[1].colour, None);
        let e = parse_err(&format!(
            "{ONE_ROOM}[[solid]]\nkind = \"box\"\nmin = [0, 0, 0]\nmax = [1, 1, 1]\ncolour = \"red\"\n"
        ));
        assert!(e.to_string().contains("`red` is not a colour"), "{e}");
        // The shipped plaza floor has one.
        let plaza = WorldMap::default_world().solids[0];
        assert_eq!(plaza.colour, Some(PLAZA_FLOOR));
    }

    /// The plaza floor's colour in `mods/core/map.toml`.
    const PLAZA_FLOOR: u32 = 0xb89a6a;

    #[test]
    fn parses_directions() {
        assert_eq!(Direction::parse("n"), Some(Direction::North));
        assert_eq!(Direction::parse("DOWN"), Some(Direction::Down));
        assert_eq!(Direction::parse("x"), None);
        assert_eq!(Direction::parse("nort"), None);
    }
}
