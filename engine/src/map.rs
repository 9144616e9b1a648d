//! The map: rooms as named regions of 3D space, joined by exits.
//!
//! A room is an axis-aligned box with a title, a description and exits. An
//! avatar is in the room whose box contains its position, so a graphical
//! player walking north out of the Plaza is, from that moment, in the Tavern,
//! and the text players there see it arrive. Text players travel by exit:
//! `go north` puts the avatar at the floor centre of the room the exit leads to.
//!
//! Until the `core` mod owns the map, [`WorldMap::default_world`] builds the
//! default one.

use std::fmt;

use bevy_ecs::prelude::Resource;

use crate::math::{Aabb, Vec3};

/// An index into [`WorldMap::rooms`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub u16);

/// The ten ways out of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
}

impl Room {
    /// Where an avatar arriving by exit (or joining) is placed.
    pub fn spawn_point(&self) -> Vec3 {
        self.bounds.floor_center()
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

/// All the rooms of a world.
#[derive(Debug, Clone, Resource)]
pub struct WorldMap {
    /// Indexed by [`RoomId`].
    pub rooms: Vec<Room>,
    /// Where new avatars appear.
    pub start: RoomId,
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
        })
    }

    /// The default world: a plaza with a tavern (and its cellar) to the north,
    /// a market to the east, and the town gate to the south, beyond which lies
    /// a forest. Each ground room is 20 m across; walking off one edge into a
    /// neighbour's box is the same as taking the exit.
    pub fn default_world() -> WorldMap {
        use Direction::*;
        WorldMap::build(&[
            RoomSpec {
                key: "plaza",
                title: "The Plaza",
                description: "Cobblestones spread out around a dry fountain. The smell of ale drifts \
                              from the tavern to the north, the market bustles to the east, and the \
                              town gate stands to the south.",
                min: [-10.0, 0.0, -10.0],
                max: [10.0, 10.0, 10.0],
                exits: &[(North, "tavern"), (East, "market"), (South, "gate")],
            },
            RoomSpec {
                key: "tavern",
                title: "The Prancing Pony",
                description: "A low-beamed common room, warm from the hearth. Benches line long \
                              tables; a trapdoor behind the bar leads down to the cellar.",
                min: [-10.0, 0.0, 10.0],
                max: [10.0, 10.0, 30.0],
                exits: &[(South, "plaza"), (Down, "cellar")],
            },
            RoomSpec {
                key: "cellar",
                title: "The Tavern Cellar",
                description: "Barrels stacked to the ceiling and a damp earthen floor. A ladder \
                              climbs back up to the tavern.",
                min: [-10.0, -10.0, 10.0],
                max: [10.0, 0.0, 30.0],
                exits: &[(Up, "tavern")],
            },
            RoomSpec {
                key: "market",
                title: "The Market",
                description: "Stalls of fruit, cloth and copper pots crowd the square. Merchants \
                              call out their prices. The plaza lies west.",
                min: [10.0, 0.0, -10.0],
                max: [30.0, 10.0, 10.0],
                exits: &[(West, "plaza")],
            },
            RoomSpec {
                key: "gate",
                title: "The Town Gate",
                description: "A heavy oak gate in the town wall, propped open. Guards lean on \
                              their spears. The plaza is north; a forest path leads south.",
                min: [-10.0, 0.0, -30.0],
                max: [10.0, 10.0, -10.0],
                exits: &[(North, "plaza"), (South, "forest")],
            },
            RoomSpec {
                key: "forest",
                title: "The Old Forest",
                description: "Tall pines close in over a needle-strewn path. Birds call somewhere \
                              above. The town gate is back to the north.",
                min: [-10.0, 0.0, -70.0],
                max: [10.0, 10.0, -30.0],
                exits: &[(North, "gate")],
            },
        ])
        .expect("the default world is a valid map")
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
    fn parses_directions() {
        assert_eq!(Direction::parse("n"), Some(Direction::North));
        assert_eq!(Direction::parse("DOWN"), Some(Direction::Down));
        assert_eq!(Direction::parse("x"), None);
        assert_eq!(Direction::parse("nort"), None);
    }
}
