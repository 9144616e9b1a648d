//! What a client needs to draw the world: the map (rooms, solid geometry,
//! what each kind of entity looks like) and each entity's name and colour.
//!
//! The server sends the map right after `Welcome`, split into
//! [`MapChunk`]s ([`chunk_map`]) so that any map fits under
//! [`limits::MAX_FRAME_BYTES`] and the verifier's table limit; a client puts
//! them back together with a [`MapAssembler`], which checks that they come
//! in order and that every exit leads to a room. [`EntityInfo`] says how to
//! draw one entity (a player's name, a prop's label and shape).
//!
//! Colours are `0xRRGGBB`; `0` means "none given" (the kind's colour, or
//! the client's default).

use flatbuffers::{FlatBufferBuilder, WIPOffset};

use crate::error::DecodeError;
use crate::limits;
use crate::wire;

pub use crate::wire::{Direction, ShapeKind};

/// A piece of static geometry: a box of `2 * half` centred on `center`,
/// turned by the unit quaternion `rotation` (x, y, z, w).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapSolid {
    /// The box's centre, metres.
    pub center: [f32; 3],
    /// Half its size along its own axes.
    pub half: [f32; 3],
    /// Its orientation (x, y, z, w).
    pub rotation: [f32; 4],
    /// `0xRRGGBB`, or 0 for none given.
    pub colour: u32,
}

/// A way out of a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MapExit {
    /// Which way.
    pub direction: Direction,
    /// The index of the room it leads to.
    pub to: u16,
}

/// A named region of space.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRoom {
    /// Its index in the whole map.
    pub index: u16,
    /// Stable lowercase key ("plaza").
    pub key: String,
    /// What players read ("The Plaza").
    pub title: String,
    /// Lowest corner (inclusive).
    pub min: [f32; 3],
    /// Highest corner (exclusive).
    pub max: [f32; 3],
    /// Its exits.
    pub exits: Vec<MapExit>,
}

impl MapRoom {
    /// Whether `p` (an avatar's feet) is inside the room.
    pub fn contains(&self, p: [f32; 3]) -> bool {
        (0..3).all(|i| p[i] >= self.min[i] && p[i] < self.max[i])
    }
}

/// How to draw something: a shape and its size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Look {
    /// Box, ball or capsule.
    pub shape: ShapeKind,
    /// Box: its full size. Ball: `x` is its diameter. Capsule: `x` across,
    /// `y` tall.
    pub size: [f32; 3],
}

/// What the entities of one snapshot `kind` look like by default.
#[derive(Debug, Clone, PartialEq)]
pub struct KindLook {
    /// The snapshot kind.
    pub kind: u8,
    /// "avatar", "prop".
    pub name: String,
    /// Shape and size.
    pub look: Look,
    /// `0xRRGGBB`.
    pub colour: u32,
    /// The entity's position is the shape's bottom (avatars' feet), not its centre.
    pub at_feet: bool,
}

/// One piece of the map; see [`chunk_map`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MapChunk {
    /// This chunk's index, from 0.
    pub chunk: u16,
    /// How many chunks the map has (at least 1).
    pub count: u16,
    /// The room players start in.
    pub start: u16,
    /// Rooms, in index order.
    pub rooms: Vec<MapRoom>,
    /// Solids.
    pub solids: Vec<MapSolid>,
    /// Kind looks (chunk 0 only).
    pub kinds: Vec<KindLook>,
}

/// A whole map, as a client draws it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MapData {
    /// Rooms, `rooms[i].index == i`.
    pub rooms: Vec<MapRoom>,
    /// All the static geometry.
    pub solids: Vec<MapSolid>,
    /// What each kind of entity looks like.
    pub kinds: Vec<KindLook>,
    /// The index of the room players start in.
    pub start: u16,
}

impl MapData {
    /// The room whose box holds `p`, if any.
    pub fn room_at(&self, p: [f32; 3]) -> Option<&MapRoom> {
        self.rooms.iter().find(|r| r.contains(p))
    }

    /// The look of `kind`, if the map gave one.
    pub fn kind(&self, kind: u8) -> Option<&KindLook> {
        self.kinds.iter().find(|k| k.kind == kind)
    }
}

/// How to draw one entity: what the server sends when it enters a
/// player's interest, and again when it changes.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EntityInfo {
    /// The entity's snapshot id.
    pub id: u32,
    /// Its generation (a reused id's newer entity has a larger one).
    pub generation: u32,
    /// The name shown over it; empty for none.
    pub name: String,
    /// `0xRRGGBB`, or 0 for the kind's colour.
    pub colour: u32,
    /// Its own shape, replacing the kind's.
    pub look: Option<Look>,
}

/// Longest room key, title, kind name or entity name sent, bytes: longer
/// ones are cut (at a character boundary) when encoding.
pub const MAX_NAME_BYTES: usize = 128;
/// Most rooms in one chunk.
pub const MAX_ROOMS_PER_CHUNK: usize = 32;
/// Most kind looks a map has.
pub const MAX_KINDS: usize = 32;
/// Most exits a room has.
pub const MAX_EXITS: usize = 6;
/// Most chunks a map has (16 MiB of map at most).
pub const MAX_CHUNKS: u16 = 1024;
/// The estimated size one chunk is filled to (the frame limit is 16 KiB).
const CHUNK_BUDGET_BYTES: usize = 12 * 1024;

/// `s` cut to at most [`MAX_NAME_BYTES`], at a character boundary.
pub fn clip(s: &str) -> &str {
    if s.len() <= MAX_NAME_BYTES {
        return s;
    }
    let mut end = MAX_NAME_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Splits a map into chunks that each encode under the frame and table
/// limits, in order: kinds first (chunk 0), then rooms, then solids. Always
/// at least one chunk.
///
/// # Panics
/// If the map has more than 65,535 rooms, more than [`MAX_KINDS`] kinds, or
/// is too large for [`MAX_CHUNKS`] chunks: a server's own configuration
/// error, caught when the map is built.
pub fn chunk_map(map: &MapData) -> Vec<MapChunk> {
    assert!(map.kinds.len() <= MAX_KINDS, "too many kinds");
    assert!(map.rooms.len() <= usize::from(u16::MAX), "too many rooms");
    let mut chunks = vec![MapChunk {
        start: map.start,
        kinds: map.kinds.clone(),
        ..MapChunk::default()
    }];
    let mut used: usize = map.kinds.iter().map(|k| 48 + clip(&k.name).len()).sum();
    for room in &map.rooms {
        let cost = 64 + clip(&room.key).len() + clip(&room.title).len() + 4 * room.exits.len();
        let last = chunks.last_mut().expect("one chunk at least");
        if used + cost > CHUNK_BUDGET_BYTES || last.rooms.len() == MAX_ROOMS_PER_CHUNK {
            chunks.push(MapChunk::default());
            used = 0;
        }
        let mut room = room.clone();
        room.exits.truncate(MAX_EXITS);
        chunks.last_mut().expect("pushed").rooms.push(room);
        used += cost;
    }
    for solid in &map.solids {
        const COST: usize = 44;
        if used + COST > CHUNK_BUDGET_BYTES {
            chunks.push(MapChunk::default());
            used = 0;
        }
        chunks
            .last_mut()
            .expect("one chunk at least")
            .solids
            .push(*solid);
        used += COST;
    }
    let count = u16::try_from(chunks.len())
        .ok()
        .filter(|&c| c <= MAX_CHUNKS)
        .expect("the map is too large to send");
    for (i, c) in chunks.iter_mut().enumerate() {
        c.chunk = i as u16;
        c.count = count;
        c.start = map.start;
    }
    chunks
}

/// Why chunks do not make a map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapAssemblyError {
    /// A chunk arrived out of order, or after the map was whole.
    #[error("map chunk {got} arrived when chunk {expected} was due")]
    OutOfOrder {
        /// The chunk's index.
        got: u16,
        /// The index expected.
        expected: u16,
    },
    /// A chunk's `count` differs from the first's.
    #[error("map chunk says {got} chunks, the first said {expected}")]
    CountChanged {
        /// This chunk's count.
        got: u16,
        /// The first's.
        expected: u16,
    },
    /// A room's index is not its place in the map.
    #[error("room index {got} where {expected} was due")]
    RoomIndex {
        /// The index given.
        got: u16,
        /// Its place.
        expected: u16,
    },
    /// An exit or the start names a room that does not exist.
    #[error("the map refers to room {0}, which it does not have")]
    UnknownRoom(u16),
}

/// Puts a map back together from its chunks.
#[derive(Debug, Clone, Default)]
pub struct MapAssembler {
    next: u16,
    count: u16,
    partial: MapData,
    done: bool,
}

impl MapAssembler {
    /// An assembler waiting for chunk 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether the map is whole.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Adds the next chunk; returns the whole map after the last one.
    pub fn push(&mut self, chunk: MapChunk) -> Result<Option<MapData>, MapAssemblyError> {
        if self.done || chunk.chunk != self.next {
            return Err(MapAssemblyError::OutOfOrder {
                got: chunk.chunk,
                expected: self.next,
            });
        }
        if chunk.chunk == 0 {
            self.count = chunk.count;
            self.partial.start = chunk.start;
            self.partial.kinds = chunk.kinds;
        } else if chunk.count != self.count {
            return Err(MapAssemblyError::CountChanged {
                got: chunk.count,
                expected: self.count,
            });
        }
        for room in chunk.rooms {
            let expected = self.partial.rooms.len() as u16;
            if room.index != expected {
                return Err(MapAssemblyError::RoomIndex {
                    got: room.index,
                    expected,
                });
            }
            self.partial.rooms.push(room);
        }
        self.partial.solids.extend(chunk.solids);
        self.next += 1;
        if self.next < self.count {
            return Ok(None);
        }
        let rooms = self.partial.rooms.len();
        let known = |i: u16| usize::from(i) < rooms;
        if !self.partial.rooms.is_empty() && !known(self.partial.start) {
            return Err(MapAssemblyError::UnknownRoom(self.partial.start));
        }
        for room in &self.partial.rooms {
            if let Some(e) = room.exits.iter().find(|e| !known(e.to)) {
                return Err(MapAssemblyError::UnknownRoom(e.to));
            }
        }
        self.done = true;
        Ok(Some(std::mem::take(&mut self.partial)))
    }
}

fn vec3(v: [f32; 3]) -> wire::Vec3 {
    wire::Vec3::new(v[0], v[1], v[2])
}

fn from_vec3(v: &wire::Vec3) -> [f32; 3] {
    [v.x(), v.y(), v.z()]
}

fn finite(field: &'static str, vs: &[f32]) -> Result<(), DecodeError> {
    if vs.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(DecodeError::InvalidField {
            field,
            why: "not a finite number",
        })
    }
}

fn non_negative(field: &'static str, vs: &[f32]) -> Result<(), DecodeError> {
    finite(field, vs)?;
    if vs.iter().all(|&v| v >= 0.0) {
        Ok(())
    } else {
        Err(DecodeError::InvalidField {
            field,
            why: "must not be negative",
        })
    }
}

fn shape(field: &'static str, s: ShapeKind) -> Result<ShapeKind, DecodeError> {
    if s.0 <= ShapeKind::ENUM_MAX {
        Ok(s)
    } else {
        Err(DecodeError::InvalidField {
            field,
            why: "unknown shape",
        })
    }
}

fn name(field: &'static str, s: Option<&str>) -> Result<String, DecodeError> {
    let s = s.unwrap_or_default();
    if s.len() > MAX_NAME_BYTES {
        return Err(DecodeError::InvalidField {
            field,
            why: "longer than 128 bytes",
        });
    }
    Ok(s.to_owned())
}

/// Builds a map chunk's table in `fbb`.
pub(crate) fn encode_chunk<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    c: &MapChunk,
) -> WIPOffset<wire::MapChunk<'a>> {
    let rooms: Vec<_> = c
        .rooms
        .iter()
        .map(|r| {
            let key = fbb.create_string(clip(&r.key));
            let title = fbb.create_string(clip(&r.title));
            let exits: Vec<wire::MapExit> = r
                .exits
                .iter()
                .take(MAX_EXITS)
                .map(|e| wire::MapExit::new(e.direction, e.to))
                .collect();
            let exits = fbb.create_vector(&exits);
            let (min, max) = (vec3(r.min), vec3(r.max));
            wire::MapRoom::create(
                fbb,
                &wire::MapRoomArgs {
                    index: r.index,
                    key: Some(key),
                    title: Some(title),
                    min: Some(&min),
                    max: Some(&max),
                    exits: Some(exits),
                },
            )
        })
        .collect();
    let rooms = fbb.create_vector(&rooms);
    let solids: Vec<wire::MapSolid> = c
        .solids
        .iter()
        .map(|s| {
            let [x, y, z, w] = s.rotation;
            wire::MapSolid::new(
                &vec3(s.center),
                &vec3(s.half),
                &wire::Quat::new(x, y, z, w),
                s.colour,
            )
        })
        .collect();
    let solids = fbb.create_vector(&solids);
    let kinds: Vec<_> = c
        .kinds
        .iter()
        .map(|k| {
            let name = fbb.create_string(clip(&k.name));
            let size = vec3(k.look.size);
            wire::KindLook::create(
                fbb,
                &wire::KindLookArgs {
                    kind: k.kind,
                    name: Some(name),
                    shape: k.look.shape,
                    size: Some(&size),
                    colour: k.colour,
                    at_feet: k.at_feet,
                },
            )
        })
        .collect();
    let kinds = fbb.create_vector(&kinds);
    wire::MapChunk::create(
        fbb,
        &wire::MapChunkArgs {
            chunk: c.chunk,
            count: c.count,
            start: c.start,
            rooms: Some(rooms),
            solids: Some(solids),
            kinds: Some(kinds),
        },
    )
}

/// Reads a verified map chunk, checking what the schema cannot.
pub(crate) fn decode_chunk(m: wire::MapChunk<'_>) -> Result<MapChunk, DecodeError> {
    if m.count() == 0 || m.count() > MAX_CHUNKS || m.chunk() >= m.count() {
        return Err(DecodeError::InvalidField {
            field: "chunk",
            why: "chunk must be below count, and count 1 to 1024",
        });
    }
    let mut chunk = MapChunk {
        chunk: m.chunk(),
        count: m.count(),
        start: m.start(),
        ..MapChunk::default()
    };
    let rooms = m.rooms().unwrap_or_default();
    if rooms.len() > MAX_ROOMS_PER_CHUNK {
        return Err(DecodeError::InvalidField {
            field: "rooms",
            why: "more than 32 rooms in a chunk",
        });
    }
    for r in rooms.iter() {
        let (min, max) = match (r.min(), r.max()) {
            (Some(a), Some(b)) => (from_vec3(a), from_vec3(b)),
            _ => return Err(DecodeError::MissingField("room bounds")),
        };
        finite("room bounds", &[min, max].concat())?;
        let mut exits = Vec::new();
        for e in r.exits().unwrap_or_default().iter() {
            if e.direction().0 > Direction::ENUM_MAX || exits.len() == MAX_EXITS {
                return Err(DecodeError::InvalidField {
                    field: "exits",
                    why: "unknown direction, or more than 6 exits",
                });
            }
            exits.push(MapExit {
                direction: e.direction(),
                to: e.to(),
            });
        }
        chunk.rooms.push(MapRoom {
            index: r.index(),
            key: name("room key", r.key())?,
            title: name("room title", r.title())?,
            min,
            max,
            exits,
        });
    }
    for s in m.solids().unwrap_or_default().iter() {
        let r = s.rotation();
        let solid = MapSolid {
            center: from_vec3(s.center()),
            half: from_vec3(s.half()),
            rotation: [r.x(), r.y(), r.z(), r.w()],
            colour: s.colour() & 0xFF_FF_FF,
        };
        finite(
            "solid",
            &[solid.center.as_slice(), &solid.rotation].concat(),
        )?;
        non_negative("solid size", &solid.half)?;
        chunk.solids.push(solid);
    }
    let kinds = m.kinds().unwrap_or_default();
    if kinds.len() > MAX_KINDS {
        return Err(DecodeError::InvalidField {
            field: "kinds",
            why: "more than 32 kinds",
        });
    }
    for k in kinds.iter() {
        let size = k.size().map(from_vec3).unwrap_or([1.0; 3]);
        non_negative("kind size", &size)?;
        chunk.kinds.push(KindLook {
            kind: k.kind(),
            name: name("kind name", k.name())?,
            look: Look {
                shape: shape("kind shape", k.shape())?,
                size,
            },
            colour: k.colour() & 0xFF_FF_FF,
            at_feet: k.at_feet(),
        });
    }
    Ok(chunk)
}

/// Builds an entity info's table in `fbb`.
pub(crate) fn encode_info<'a>(
    fbb: &mut FlatBufferBuilder<'a>,
    e: &EntityInfo,
) -> WIPOffset<wire::EntityInfo<'a>> {
    let name = fbb.create_string(clip(&e.name));
    let size = e.look.map(|l| vec3(l.size));
    wire::EntityInfo::create(
        fbb,
        &wire::EntityInfoArgs {
            id: e.id,
            generation: e.generation,
            name: Some(name),
            colour: e.colour,
            has_shape: e.look.is_some(),
            shape: e.look.map_or(ShapeKind::Box, |l| l.shape),
            size: size.as_ref(),
        },
    )
}

/// Reads a verified entity info.
pub(crate) fn decode_info(e: wire::EntityInfo<'_>) -> Result<EntityInfo, DecodeError> {
    let look = if e.has_shape() {
        let size = e
            .size()
            .map(from_vec3)
            .ok_or(DecodeError::MissingField("size"))?;
        non_negative("size", &size)?;
        Some(Look {
            shape: shape("shape", e.shape())?,
            size,
        })
    } else {
        None
    };
    Ok(EntityInfo {
        id: e.id(),
        generation: e.generation(),
        name: name("name", e.name())?,
        colour: e.colour() & 0xFF_FF_FF,
        look,
    })
}

/// The byte limit a map chunk frame is built to stay under.
pub const MAX_CHUNK_BYTES: usize = limits::MAX_FRAME_BYTES;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServerMessage;

    fn room(index: u16, exits: Vec<MapExit>) -> MapRoom {
        MapRoom {
            index,
            key: format!("room-{index}"),
            title: format!("Room number {index} with a longish title"),
            min: [index as f32 * 10.0, 0.0, 0.0],
            max: [index as f32 * 10.0 + 10.0, 4.0, 10.0],
            exits,
        }
    }

    fn solid(i: usize) -> MapSolid {
        MapSolid {
            center: [i as f32, -0.25, 0.5],
            half: [0.5, 0.25, 0.5],
            rotation: [0.0, 0.0, 0.0, 1.0],
            colour: (i as u32 * 7919) & 0xFF_FF_FF,
        }
    }

    fn big_map(rooms: u16, solids: usize) -> MapData {
        MapData {
            rooms: (0..rooms)
                .map(|i| {
                    room(
                        i,
                        vec![MapExit {
                            direction: Direction::East,
                            to: (i + 1) % rooms,
                        }],
                    )
                })
                .collect(),
            solids: (0..solids).map(solid).collect(),
            kinds: vec![KindLook {
                kind: 0,
                name: "avatar".into(),
                look: Look {
                    shape: ShapeKind::Capsule,
                    size: [0.7, 1.8, 0.7],
                },
                colour: 0x3366cc,
                at_feet: true,
            }],
            start: 1,
        }
    }

    #[test]
    fn a_map_larger_than_a_frame_arrives_whole() {
        let map = big_map(300, 5000);
        let chunks = chunk_map(&map);
        assert!(chunks.len() > 10, "{} chunks", chunks.len());
        let mut assembler = MapAssembler::new();
        let mut whole = None;
        for chunk in &chunks {
            let bytes = ServerMessage::Map(chunk.clone()).encode();
            assert!(bytes.len() <= limits::MAX_FRAME_BYTES, "{}", bytes.len());
            let ServerMessage::Map(decoded) = ServerMessage::decode(&bytes).unwrap() else {
                panic!("not a map chunk");
            };
            assert_eq!(&decoded, chunk);
            assert!(whole.is_none(), "whole before the last chunk");
            whole = assembler.push(decoded).unwrap();
        }
        assert_eq!(whole.unwrap(), map);
        assert!(assembler.is_done());
    }

    #[test]
    fn an_empty_map_is_one_chunk() {
        let chunks = chunk_map(&MapData::default());
        assert_eq!(chunks.len(), 1);
        let mut a = MapAssembler::new();
        assert_eq!(a.push(chunks[0].clone()).unwrap(), Some(MapData::default()));
    }

    #[test]
    fn assembly_refuses_disorder_and_dangling_exits() {
        let chunks = chunk_map(&big_map(100, 1000));
        assert!(chunks.len() >= 3);
        let mut a = MapAssembler::new();
        assert_eq!(
            a.push(chunks[1].clone()),
            Err(MapAssemblyError::OutOfOrder {
                got: 1,
                expected: 0
            })
        );
        a.push(chunks[0].clone()).unwrap();
        let mut changed = chunks[1].clone();
        changed.count += 1;
        assert!(matches!(
            a.push(changed),
            Err(MapAssemblyError::CountChanged { .. })
        ));

        let mut map = big_map(3, 2);
        map.rooms[2].exits[0].to = 9;
        let mut a = MapAssembler::new();
        let only = chunk_map(&map).remove(0);
        assert_eq!(a.push(only), Err(MapAssemblyError::UnknownRoom(9)));
    }

    #[test]
    fn long_names_are_clipped_at_a_character_boundary() {
        let long = "é".repeat(100);
        let clipped = clip(&long);
        assert!(clipped.len() <= MAX_NAME_BYTES && clipped.len() >= MAX_NAME_BYTES - 1);
        let info = EntityInfo {
            id: 3,
            generation: 1,
            name: long.clone(),
            colour: 0xff8800,
            look: None,
        };
        let ServerMessage::Entity(back) =
            ServerMessage::decode(&ServerMessage::Entity(info).encode()).unwrap()
        else {
            panic!("not an entity info");
        };
        assert_eq!(back.name, clipped);
    }

    #[test]
    fn malformed_chunks_and_infos_are_refused() {
        let mut bad = chunk_map(&big_map(2, 2)).remove(0);
        bad.solids[0].half[1] = -1.0;
        assert!(ServerMessage::decode(&ServerMessage::Map(bad).encode()).is_err());
        let mut bad = chunk_map(&big_map(2, 2)).remove(0);
        bad.rooms[0].min[0] = f32::NAN;
        assert!(ServerMessage::decode(&ServerMessage::Map(bad).encode()).is_err());
        let mut bad = chunk_map(&big_map(2, 2)).remove(0);
        bad.chunk = 1;
        assert!(ServerMessage::decode(&ServerMessage::Map(bad).encode()).is_err());
        let mut bad = chunk_map(&big_map(2, 2)).remove(0);
        bad.rooms[0].exits[0].direction = Direction(9);
        assert!(ServerMessage::decode(&ServerMessage::Map(bad).encode()).is_err());
        let info = EntityInfo {
            look: Some(Look {
                shape: ShapeKind(7),
                size: [1.0; 3],
            }),
            ..EntityInfo::default()
        };
        assert!(ServerMessage::decode(&ServerMessage::Entity(info).encode()).is_err());
    }

    #[test]
    fn corrupted_chunks_never_panic() {
        let bytes = ServerMessage::Map(chunk_map(&big_map(4, 8)).remove(0)).encode();
        let mut rng = fastrand::Rng::with_seed(19);
        for _ in 0..5000 {
            let mut b = bytes.clone();
            for _ in 0..rng.usize(1..4) {
                let i = rng.usize(..b.len());
                b[i] = rng.u8(..);
            }
            let _ = ServerMessage::decode(&b);
        }
    }
}
