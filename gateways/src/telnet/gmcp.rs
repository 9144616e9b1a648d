//! GMCP: `Package.Message <json>` in `IAC SB 201 ... IAC SE`.
//!
//! [`parse`] and [`encode`] are the message format; [`Supports`] is what the
//! client asked for with `Core.Supports.Set/Add/Remove` (only those
//! packages are sent, `Core` always); the other functions build the
//! messages the world sends, in the shapes Mudlet and IRE-style clients
//! read: `Char.Name`, `Char.Status`, `Room.Info` (`num`, `name`, `area`,
//! `exits` as direction to room number, `coords`), `Room.Players`,
//! `Comm.Channel.Text` and `Comm.Channel.List`.

use std::collections::BTreeMap;

use gsp_engine::text::render_plain;
use gsp_engine::{Direction, RoomView, TextEvent};
use serde_json::{json, Value};

/// The most packages a client may list in `Core.Supports`.
pub const MAX_SUPPORTS: usize = 64;

/// A GMCP message: the package and its data (`None` when there is none).
pub fn parse(data: &[u8]) -> Option<(String, Option<Value>)> {
    let text = std::str::from_utf8(data).ok()?.trim();
    let (package, json) = match text.split_once(char::is_whitespace) {
        Some((p, j)) => (p, Some(j.trim())),
        None => (text, None),
    };
    if package.is_empty() || package.len() > 64 || !package.contains('.') {
        return None;
    }
    let value = match json {
        None | Some("") => None,
        Some(j) => Some(serde_json::from_str(j).ok()?),
    };
    Some((package.to_owned(), value))
}

/// The payload for `package` with `data` (`Package.Message {...}`).
pub fn encode(package: &str, data: &Value) -> Vec<u8> {
    let mut out = package.as_bytes().to_vec();
    out.push(b' ');
    out.extend_from_slice(data.to_string().as_bytes());
    out
}

/// The payload for `package` with data already in JSON text.
pub fn encode_json(package: &str, json: &str) -> Vec<u8> {
    let mut out = package.as_bytes().to_vec();
    out.push(b' ');
    out.extend_from_slice(json.as_bytes());
    out
}

/// The packages a client said it supports, by lowercase name, with versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Supports {
    packages: BTreeMap<String, u32>,
}

impl Supports {
    fn entries(list: &Value) -> Vec<(String, u32)> {
        let Some(items) = list.as_array() else {
            return Vec::new();
        };
        items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|item| {
                let mut words = item.split_whitespace();
                let name = words.next()?.to_ascii_lowercase();
                if name.len() > 64 {
                    return None;
                }
                let version = words.next().and_then(|v| v.parse().ok()).unwrap_or(1);
                Some((name, version))
            })
            .collect()
    }

    /// `Core.Supports.Set`: these and no others.
    pub fn set(&mut self, list: &Value) {
        self.packages.clear();
        self.add(list);
    }

    /// `Core.Supports.Add`.
    pub fn add(&mut self, list: &Value) {
        for (name, version) in Self::entries(list) {
            if self.packages.len() >= MAX_SUPPORTS && !self.packages.contains_key(&name) {
                break;
            }
            self.packages.insert(name, version);
        }
    }

    /// `Core.Supports.Remove`.
    pub fn remove(&mut self, list: &Value) {
        for (name, _) in Self::entries(list) {
            self.packages.remove(&name);
        }
    }

    /// Whether a message of `package` (`Room.Info`) may be sent: `Core`
    /// always; others when the client listed it or a module above it
    /// (`Room`, or `Comm.Channel` for `Comm.Channel.Text`).
    pub fn allows(&self, package: &str) -> bool {
        let package = package.to_ascii_lowercase();
        if package.starts_with("core.") {
            return true;
        }
        let mut prefix = package.as_str();
        loop {
            if self.packages.contains_key(prefix) {
                return true;
            }
            match prefix.rfind('.') {
                Some(i) => prefix = &prefix[..i],
                None => return false,
            }
        }
    }

    /// How many packages are listed.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    /// Whether none are.
    pub fn is_empty(&self) -> bool {
        self.packages.is_empty()
    }
}

/// What a client's message asks of the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// Nothing to answer.
    None,
    /// Answer `Core.Ping`.
    Ping,
    /// The client introduced itself (`Core.Hello`).
    Hello {
        /// Its name.
        client: String,
        /// Its version.
        version: String,
    },
}

/// Applies a client's message to `supports`; says what to answer.
pub fn handle(supports: &mut Supports, package: &str, data: Option<&Value>) -> Request {
    let empty = Value::Array(Vec::new());
    let data_or_empty = data.unwrap_or(&empty);
    match package.to_ascii_lowercase().as_str() {
        "core.supports.set" => supports.set(data_or_empty),
        "core.supports.add" => supports.add(data_or_empty),
        "core.supports.remove" => supports.remove(data_or_empty),
        "core.ping" => return Request::Ping,
        "core.hello" => {
            let field = |k: &str| {
                data.and_then(|d| d.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .chars()
                    .take(64)
                    .collect::<String>()
            };
            return Request::Hello {
                client: field("client"),
                version: field("version"),
            };
        }
        _ => {}
    }
    Request::None
}

/// The short direction names IRE-style mappers key exits by.
pub fn short_direction(d: Direction) -> &'static str {
    match d {
        Direction::North => "n",
        Direction::South => "s",
        Direction::East => "e",
        Direction::West => "w",
        Direction::Up => "u",
        Direction::Down => "d",
    }
}

/// `Room.Info`: `num`, `name`, `area`, `environment`, `exits` (short
/// direction to room number) and `coords` (the room's centre in metres).
pub fn room_info(view: &RoomView, area: &str) -> Value {
    let exits: serde_json::Map<String, Value> = view
        .exits
        .iter()
        .zip(&view.exit_rooms)
        .map(|(d, to)| (short_direction(*d).to_owned(), json!(to)))
        .collect();
    let [x, y, z] = view.center.map(|c| c.round() as i64);
    json!({
        "num": view.number,
        "name": view.title,
        "area": area,
        "environment": "",
        "exits": exits,
        "coords": {"x": x, "y": z, "z": y},
        "details": [],
    })
}

/// `Room.Players`: the players in the room, the reader first.
pub fn room_players(view: &RoomView) -> Value {
    Value::Array(
        view.players
            .iter()
            .map(|p| json!({"name": p, "fullname": p}))
            .collect(),
    )
}

/// `Room.AddPlayer` / `Room.RemovePlayer`.
pub fn room_player(name: &str) -> Value {
    json!({"name": name, "fullname": name})
}

/// `Char.Name`.
pub fn char_name(name: &str) -> Value {
    json!({"name": name, "fullname": name})
}

/// `Char.Status`.
pub fn char_status(name: &str, world: &str, room: Option<&str>) -> Value {
    json!({"name": name, "fullname": name, "area": world, "room": room})
}

/// `Comm.Channel.Text`: who said what on which channel, and the line as
/// the text shows it.
pub fn channel_text(channel: &str, talker: &str, text: &str) -> Value {
    json!({"channel": channel, "talker": talker, "text": text})
}

/// `Comm.Channel.List`: the channels and how to speak on them.
pub fn channel_list(channels: &[(&str, &str)]) -> Value {
    Value::Array(
        channels
            .iter()
            .map(|(name, about)| {
                json!({"name": name, "caption": about, "command": format!("chat {name}")})
            })
            .collect(),
    )
}

/// The GMCP messages that go with a text event: `Room.Info`,
/// `Room.Players` and `Char.Status` with a room, `Room.AddPlayer` and
/// `Room.RemovePlayer` with arrivals and departures, `Comm.Channel.Text`
/// with chat and speech (channel `say`). `name` is the reader's, `area` the
/// world's.
pub fn for_event(event: &TextEvent, name: &str, area: &str) -> Vec<(&'static str, Value)> {
    match event {
        TextEvent::Room(view) => vec![
            ("Room.Info", room_info(view, area)),
            ("Room.Players", room_players(view)),
            ("Char.Status", char_status(name, area, Some(&view.title))),
        ],
        TextEvent::Arrived { name, .. } => vec![("Room.AddPlayer", room_player(name))],
        TextEvent::Departed { name, .. } => vec![("Room.RemovePlayer", json!(name))],
        TextEvent::Chat {
            channel,
            world,
            here,
            from,
            ..
        } => {
            let talker = if *here {
                from.clone()
            } else {
                format!("{from}@{world}")
            };
            vec![(
                "Comm.Channel.Text",
                channel_text(channel, &talker, &render_plain(event)),
            )]
        }
        TextEvent::Said { speaker, .. } => vec![(
            "Comm.Channel.Text",
            channel_text("say", speaker, &render_plain(event)),
        )],
        TextEvent::Told { from, .. } => vec![(
            "Comm.Channel.Text",
            channel_text("tell", from, &render_plain(event)),
        )],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_parse_and_encode() {
        assert_eq!(
            parse(br#"Core.Hello {"client":"Mudlet","version":"4.17"}"#),
            Some((
                "Core.Hello".into(),
                Some(json!({"client":"Mudlet","version":"4.17"}))
            ))
        );
        assert_eq!(parse(b"Core.Ping"), Some(("Core.Ping".into(), None)));
        assert_eq!(parse(b"Core.Ping  "), Some(("Core.Ping".into(), None)));
        assert_eq!(parse(b"Core.Ping {bad json"), None);
        assert_eq!(parse(b"NoDot 1"), None);
        assert_eq!(parse(b""), None);
        assert_eq!(parse(&[0xff, 0xfe]), None);
        assert_eq!(
            encode("Comm.Channel.Text", &json!({"a": 1})),
            br#"Comm.Channel.Text {"a":1}"#.to_vec()
        );
    }

    #[test]
    fn only_supported_packages_are_allowed() {
        let mut s = Supports::default();
        assert!(s.allows("Core.Ping"));
        assert!(!s.allows("Room.Info"));
        s.set(&json!(["Char 1", "Room 1", "Comm.Channel 1"]));
        assert!(s.allows("Room.Info") && s.allows("room.players"));
        assert!(s.allows("Char.Name") && s.allows("Comm.Channel.Text"));
        assert!(!s.allows("Comm.Other"));
        assert!(!s.allows("Roomy.Info"));
        s.remove(&json!(["Room"]));
        assert!(!s.allows("Room.Info"));
        s.add(&json!(["Room.Info 1"]));
        assert!(s.allows("Room.Info") && !s.allows("Room.Players"));
        s.set(&json!(["Char 1"]));
        assert!(!s.allows("Room.Info") && !s.allows("Comm.Channel.Text"));
        assert_eq!(s.len(), 1);
        // Junk shapes are ignored; the list is bounded.
        s.set(&json!({"not": "a list"}));
        assert!(s.is_empty());
        let many: Vec<String> = (0..1000).map(|i| format!("P{i} 1")).collect();
        s.set(&json!(many));
        assert_eq!(s.len(), MAX_SUPPORTS);
    }

    #[test]
    fn core_messages_are_handled() {
        let mut s = Supports::default();
        assert_eq!(handle(&mut s, "Core.Ping", None), Request::Ping);
        assert_eq!(
            handle(
                &mut s,
                "Core.Hello",
                Some(&json!({"client": "Mudlet", "version": "4.17.2"}))
            ),
            Request::Hello {
                client: "Mudlet".into(),
                version: "4.17.2".into()
            }
        );
        assert_eq!(
            handle(&mut s, "core.supports.set", Some(&json!(["Room 1"]))),
            Request::None
        );
        assert!(s.allows("Room.Info"));
        assert_eq!(handle(&mut s, "Core.Supports.Remove", None), Request::None);
        assert!(s.allows("Room.Info"));
        assert_eq!(handle(&mut s, "Char.Items.Inv", None), Request::None);
    }

    #[test]
    fn room_info_in_the_mapper_shape() {
        let view = RoomView {
            key: "plaza".into(),
            title: "The Plaza".into(),
            description: "Cobbles.".into(),
            exits: vec![Direction::North, Direction::East],
            players: vec!["ada".into(), "bob".into()],
            number: 1,
            exit_rooms: vec![2, 4],
            center: [0.0, 2.5, 10.4],
        };
        let info = room_info(&view, "town");
        assert_eq!(info["num"], 1);
        assert_eq!(info["name"], "The Plaza");
        assert_eq!(info["area"], "town");
        assert_eq!(info["exits"], json!({"n": 2, "e": 4}));
        assert_eq!(info["coords"], json!({"x": 0, "y": 10, "z": 3}));
        assert_eq!(
            room_players(&view),
            json!([{"name": "ada", "fullname": "ada"}, {"name": "bob", "fullname": "bob"}])
        );
        let list = channel_list(&[("public", "everyone")]);
        assert_eq!(list[0]["command"], "chat public");
        let sent = for_event(&TextEvent::Room(view), "ada", "town");
        let packages: Vec<&str> = sent.iter().map(|(p, _)| *p).collect();
        assert_eq!(packages, ["Room.Info", "Room.Players", "Char.Status"]);
        assert_eq!(sent[2].1["room"], "The Plaza");
    }

    #[test]
    fn chat_and_speech_are_channel_text() {
        let chat = TextEvent::Chat {
            channel: "public".into(),
            world: "elsewhere".into(),
            here: false,
            from: "bob".into(),
            text: "hi".into(),
        };
        let sent = for_event(&chat, "ada", "town");
        assert_eq!(sent[0].0, "Comm.Channel.Text");
        assert_eq!(
            sent[0].1,
            json!({"channel": "public", "talker": "bob@elsewhere", "text": "[public] bob@elsewhere: hi"})
        );
        let said = TextEvent::Said {
            speaker: "bob".into(),
            room: "plaza".into(),
            text: "hello".into(),
            by_you: false,
        };
        assert_eq!(for_event(&said, "ada", "town")[0].1["channel"], "say");
        assert!(for_event(&TextEvent::Info("x".into()), "ada", "town").is_empty());
    }
}
