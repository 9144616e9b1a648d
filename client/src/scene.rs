//! What a graphical client knows about the world besides the snapshots:
//! the map, each entity's name and look, and what the world said. Sans-I/O.
//!
//! Feed it every stream message ([`Scene::apply`]); it puts the map back
//! together from its chunks, keeps the newest [`EntityInfo`] of each id,
//! and keeps the last [`MAX_LINES`] lines of text. The renderer asks it how
//! to draw an entity of the snapshot ([`Scene::look_of`]) and which room a
//! point is in ([`Scene::room_at`]).

use std::collections::{HashMap, VecDeque};

use gsp_protocol::map::{
    EntityInfo, Look, MapAssembler, MapAssemblyError, MapData, MapRoom, ShapeKind,
};
use gsp_protocol::{EventKind, ServerMessage};

/// Lines of text kept.
pub const MAX_LINES: usize = 500;

/// The colour of anything the server gave none: stone grey.
pub const DEFAULT_COLOUR: u32 = 0x8f8a80;

/// One line the world said.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// What kind of event it came from.
    pub kind: EventKind,
    /// The text (one line of it).
    pub text: String,
}

/// What [`Scene::apply`] changed.
#[derive(Debug, Clone, PartialEq)]
pub enum SceneUpdate {
    /// A chunk of the map arrived; more are due.
    MapPart,
    /// The last chunk arrived: [`Scene::map`] is the whole map.
    MapComplete,
    /// The info of this entity id arrived.
    Entity(u32),
    /// Lines of text arrived.
    Text,
    /// Nothing a scene keeps (a welcome, a refusal).
    Nothing,
}

/// How to draw one entity.
#[derive(Debug, Clone, PartialEq)]
pub struct Drawn<'a> {
    /// Shape and size.
    pub look: Look,
    /// `0xRRGGBB`.
    pub colour: u32,
    /// The position is the shape's bottom, not its centre.
    pub at_feet: bool,
    /// The name over it, if any.
    pub name: Option<&'a str>,
}

/// The map, the entity infos and the text of one connection.
#[derive(Debug, Default)]
pub struct Scene {
    assembler: MapAssembler,
    map: Option<MapData>,
    infos: HashMap<u32, EntityInfo>,
    lines: VecDeque<TextLine>,
    received_lines: u64,
}

impl Scene {
    /// A scene that knows nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes one stream message. A map chunk out of order or a map with
    /// exits to nowhere is an error: the server is broken.
    pub fn apply(&mut self, message: &ServerMessage) -> Result<SceneUpdate, MapAssemblyError> {
        match message {
            ServerMessage::Map(chunk) => match self.assembler.push(chunk.clone())? {
                Some(map) => {
                    self.map = Some(map);
                    Ok(SceneUpdate::MapComplete)
                }
                None => Ok(SceneUpdate::MapPart),
            },
            ServerMessage::Entity(info) => {
                self.infos.insert(info.id, info.clone());
                Ok(SceneUpdate::Entity(info.id))
            }
            ServerMessage::Event { kind, text, .. } => {
                for line in text.lines() {
                    self.push_line(*kind, line);
                }
                Ok(SceneUpdate::Text)
            }
            ServerMessage::Welcome { .. } | ServerMessage::Refusal { .. } => {
                Ok(SceneUpdate::Nothing)
            }
        }
    }

    /// Adds a line of the client's own (a notice, what the player typed).
    pub fn push_line(&mut self, kind: EventKind, text: &str) {
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(TextLine {
            kind,
            text: text.to_owned(),
        });
        self.received_lines += 1;
    }

    /// The whole map, once it has arrived.
    pub fn map(&self) -> Option<&MapData> {
        self.map.as_ref()
    }

    /// The newest info of entity `id`.
    pub fn info(&self, id: u32) -> Option<&EntityInfo> {
        self.infos.get(&id)
    }

    /// Every entity info received, in no particular order.
    pub fn infos(&self) -> impl Iterator<Item = &EntityInfo> {
        self.infos.values()
    }

    /// The name shown over entity `id`, if it has one.
    pub fn name_of(&self, id: u32) -> Option<&str> {
        self.infos
            .get(&id)
            .map(|i| i.name.as_str())
            .filter(|n| !n.is_empty())
    }

    /// How to draw entity `id` of snapshot `kind`: its own info first,
    /// then its kind's look, then a grey metre cube.
    pub fn look_of(&self, id: u32, kind: u8) -> Drawn<'_> {
        let kind_look = self.map.as_ref().and_then(|m| m.kind(kind));
        let info = self.infos.get(&id);
        let look = info
            .and_then(|i| i.look)
            .or(kind_look.map(|k| k.look))
            .unwrap_or(Look {
                shape: ShapeKind::Box,
                size: [1.0; 3],
            });
        let colour = info
            .map(|i| i.colour)
            .filter(|&c| c != 0)
            .or(kind_look.map(|k| k.colour))
            .unwrap_or(DEFAULT_COLOUR);
        Drawn {
            look,
            colour,
            // An entity with a shape of its own is a body, centred on its position.
            at_feet: info.and_then(|i| i.look).is_none() && kind_look.is_some_and(|k| k.at_feet),
            name: self.name_of(id),
        }
    }

    /// The room whose box holds `p`.
    pub fn room_at(&self, p: [f32; 3]) -> Option<&MapRoom> {
        self.map.as_ref()?.room_at(p)
    }

    /// The last lines of text, oldest first.
    pub fn lines(&self) -> impl DoubleEndedIterator<Item = &TextLine> + ExactSizeIterator {
        self.lines.iter()
    }

    /// How many lines have arrived in all (some may have scrolled away).
    pub fn received_lines(&self) -> u64 {
        self.received_lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gsp_protocol::map::{chunk_map, KindLook, MapRoom};

    fn map() -> MapData {
        MapData {
            rooms: vec![MapRoom {
                index: 0,
                key: "plaza".into(),
                title: "The Plaza".into(),
                min: [-10.0, 0.0, -10.0],
                max: [10.0, 10.0, 10.0],
                exits: vec![],
            }],
            solids: vec![],
            kinds: vec![KindLook {
                kind: 0,
                name: "avatar".into(),
                look: Look {
                    shape: ShapeKind::Capsule,
                    size: [0.7, 1.8, 0.7],
                },
                colour: 0x123456,
                at_feet: true,
            }],
            start: 0,
        }
    }

    #[test]
    fn names_and_looks_fall_back_to_the_kind() {
        let mut scene = Scene::new();
        for c in chunk_map(&map()) {
            scene.apply(&ServerMessage::Map(c)).unwrap();
        }
        assert_eq!(scene.room_at([0.0, 0.0, 0.0]).unwrap().key, "plaza");
        assert!(scene.room_at([0.0, 0.0, 11.0]).is_none());
        let d = scene.look_of(7, 0);
        assert_eq!((d.colour, d.at_feet, d.name), (0x123456, true, None));
        scene
            .apply(&ServerMessage::Entity(EntityInfo {
                id: 7,
                generation: 1,
                name: "ada".into(),
                colour: 0xff0000,
                look: None,
            }))
            .unwrap();
        let d = scene.look_of(7, 0);
        assert_eq!((d.colour, d.name), (0xff0000, Some("ada")));
        // An unknown kind of an unknown entity: a grey cube.
        assert_eq!(scene.look_of(9, 42).colour, DEFAULT_COLOUR);
    }

    #[test]
    fn text_is_kept_line_by_line_and_bounded() {
        let mut scene = Scene::new();
        scene
            .apply(&ServerMessage::Event {
                kind: EventKind::Room,
                text: "The Plaza\nCobblestones.".into(),
                actor: None,
                room: None,
            })
            .unwrap();
        assert_eq!(scene.lines().len(), 2);
        for i in 0..MAX_LINES {
            scene.push_line(EventKind::Info, &format!("line {i}"));
        }
        assert_eq!(scene.lines().len(), MAX_LINES);
        assert_eq!(scene.received_lines(), MAX_LINES as u64 + 2);
        assert_eq!(
            scene.lines().last().unwrap().text,
            format!("line {}", MAX_LINES - 1)
        );
    }
}
