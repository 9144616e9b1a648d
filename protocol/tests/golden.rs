//! The golden vectors of `protocol/PROTOCOL.md`, checked against the codec.
//!
//! Each vector in the document is a fenced block opened with
//! ```` ```golden NAME ````, holding hex bytes. This test builds the same
//! message with the codec and fails if the bytes differ, so that the
//! document a client in another language is written from cannot drift from
//! the wire. Run with `GSP_PRINT_GOLDEN=1` to print every vector as the
//! codec makes it.

use std::collections::BTreeMap;

use gsp_protocol::framing::encode_frame;
use gsp_protocol::map::{
    Direction, EntityInfo, KindLook, Look, MapChunk, MapExit, MapRoom, MapSolid, ShapeKind,
};
use gsp_protocol::snapshot::bits::BitWriter;
use gsp_protocol::snapshot::codec::{apply, decode, encode, Create, Update};
use gsp_protocol::snapshot::{
    Changes, QState, Quantization, Quantizer, SnapshotHeader, View, IDENTITY,
};
use gsp_protocol::{ClientDatagram, ClientMessage, Moves, ServerDatagram, ServerMessage};

fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|row| {
            row.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(payload, &mut out);
    out
}

fn payload(q: &Quantizer, baseline: &View, tick: u32, changes: &Changes) -> Vec<u8> {
    let mut w = BitWriter::new();
    encode(q, baseline, tick, changes, &mut w);
    w.finish().to_vec()
}

/// Every vector, by name, as the codec makes it today.
fn vectors() -> BTreeMap<&'static str, Vec<u8>> {
    let mut v = BTreeMap::new();
    v.insert(
        "hello",
        framed(
            &ClientMessage::Hello {
                protocol_version: gsp_protocol::PROTOCOL_VERSION,
                name: "ada".into(),
                password: None,
                token: None,
                create: false,
            }
            .encode(),
        ),
    );
    v.insert(
        "welcome",
        framed(
            &ServerMessage::Welcome {
                session_id: 1,
                entity_id: 7,
                tick_rate: 30,
                protocol_version: gsp_protocol::PROTOCOL_VERSION,
                quantization: Quantization::default(),
                walk_speed: 6.0,
                token: None,
            }
            .encode(),
        ),
    );
    v.insert(
        "command",
        framed(
            &ClientMessage::Command {
                text: "say hi".into(),
            }
            .encode(),
        ),
    );
    v.insert(
        "event",
        framed(
            &ServerMessage::Event {
                kind: gsp_protocol::EventKind::Say,
                text: "tess says, \"hi\"".into(),
                actor: Some("tess".into()),
                room: Some("plaza".into()),
            }
            .encode(),
        ),
    );
    v.insert(
        "map-chunk",
        framed(
            &ServerMessage::Map(MapChunk {
                chunk: 0,
                count: 1,
                start: 0,
                rooms: vec![MapRoom {
                    index: 0,
                    key: "hall".into(),
                    title: "The Hall".into(),
                    min: [-5.0, 0.0, -5.0],
                    max: [5.0, 4.0, 5.0],
                    exits: vec![MapExit {
                        direction: Direction::North,
                        to: 0,
                    }],
                }],
                solids: vec![MapSolid {
                    center: [0.0, -0.25, 0.0],
                    half: [5.0, 0.25, 5.0],
                    rotation: IDENTITY,
                    colour: 0xb89a6a,
                }],
                kinds: vec![KindLook {
                    kind: 0,
                    name: "avatar".into(),
                    look: Look {
                        shape: ShapeKind::Capsule,
                        size: [0.7, 1.8, 0.7],
                    },
                    colour: 0x3a6fd8,
                    at_feet: true,
                }],
            })
            .encode(),
        ),
    );
    v.insert(
        "entity-info",
        framed(
            &ServerMessage::Entity(EntityInfo {
                id: 9,
                generation: 1,
                name: "football".into(),
                colour: 0xf4f4f0,
                look: Some(Look {
                    shape: ShapeKind::Ball,
                    size: [0.5; 3],
                }),
            })
            .encode(),
        ),
    );
    v.insert(
        "input",
        ClientDatagram::Input {
            sequence: 5,
            moves: Moves::new(&[[0.0, 1.0], [0.0, 1.0]]),
            ack: 3,
            ack_bits: 0b11,
        }
        .encode(),
    );
    v.insert("ping", ClientDatagram::Ping { nonce: 42 }.encode());

    // The snapshots of one entity's walk, with the default quantization.
    let q = Quantizer::new(Quantization::default()).unwrap();
    let at = |p: [f32; 3]| QState {
        position: q.position(p),
        rotation: q.rotation(IDENTITY),
        velocity: None,
    };
    let empty = View::default();
    // 1 (tick 100, from nothing): create avatar 7 at the origin and prop 9.
    let first = Changes {
        removes: vec![],
        creates: vec![
            Create {
                id: 7,
                kind: 0,
                generation: 0,
                state: at([0.0, 0.0, 0.0]),
            },
            Create {
                id: 9,
                kind: 1,
                generation: 0,
                state: QState {
                    velocity: Some(q.velocity([0.0, -1.0, 2.5])),
                    ..at([1.5, 0.25, -2.0])
                },
            },
        ],
        updates: vec![],
    };
    let p1 = payload(&q, &empty, 100, &first);
    v.insert("snapshot-1-payload", p1.clone());
    v.insert(
        "snapshot-1",
        ServerDatagram::Snapshot {
            header: SnapshotHeader {
                sequence: 1,
                baseline: 0,
                tick: 100,
                last_input: 0,
            },
            payload: p1,
        }
        .encode(),
    );
    let mut view1 = View::default();
    apply(&empty, 1, 100, &first, &mut view1);
    // 2 (tick 101, against 1): 7 moved 0.2 m east (nothing to extrapolate
    // from yet), 9 removed.
    let second = Changes {
        removes: vec![9],
        creates: vec![],
        updates: vec![Update {
            id: 7,
            state: at([0.2, 0.0, 0.0]),
        }],
    };
    v.insert("snapshot-2-payload", payload(&q, &view1, 101, &second));
    let mut view2 = View::default();
    apply(&view1, 2, 101, &second, &mut view2);
    // 3 (tick 102, against 2): 7 moved on at the same speed, exactly as
    // extrapolated.
    let third = Changes {
        removes: vec![],
        creates: vec![],
        updates: vec![Update {
            id: 7,
            state: at([0.4, 0.0, 0.0]),
        }],
    };
    v.insert("snapshot-3-payload", payload(&q, &view2, 102, &third));
    // Every payload decodes back to what was encoded.
    let mut back = Changes::default();
    decode(&q, &view2, 102, &v["snapshot-3-payload"], &mut back).unwrap();
    assert_eq!(back, third);
    decode(&q, &view1, 101, &v["snapshot-2-payload"], &mut back).unwrap();
    assert_eq!(back, second);
    v
}

/// The vectors written in the document.
fn documented() -> BTreeMap<String, Vec<u8>> {
    let text = include_str!("../PROTOCOL.md");
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.trim().strip_prefix("```golden ") else {
            continue;
        };
        let mut bytes = Vec::new();
        for l in lines.by_ref() {
            if l.trim() == "```" {
                break;
            }
            for word in l.split_whitespace() {
                bytes.push(u8::from_str_radix(word, 16).expect("hex bytes"));
            }
        }
        out.insert(name.trim().to_owned(), bytes);
    }
    out
}

#[test]
fn protocol_md_golden_vectors_match_the_codec() {
    let made = vectors();
    if std::env::var_os("GSP_PRINT_GOLDEN").is_some() {
        for (name, bytes) in &made {
            println!("```golden {name}\n{}\n```\n", hex(bytes));
        }
    }
    let written = documented();
    let mut wrong = Vec::new();
    for (name, bytes) in &made {
        match written.get(*name) {
            None => wrong.push(format!("{name}: not in PROTOCOL.md")),
            Some(doc) if doc != bytes => wrong.push(format!(
                "{name}: PROTOCOL.md has\n{}\nthe codec makes\n{}",
                hex(doc),
                hex(bytes)
            )),
            Some(_) => {}
        }
    }
    for name in written.keys() {
        if !made.contains_key(name.as_str()) {
            wrong.push(format!("{name}: in PROTOCOL.md but not made by this test"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn documented_vectors_decode() {
    let written = documented();
    let frame = |name: &str| written[name][4..].to_vec();
    assert!(matches!(
        ClientMessage::decode(&frame("hello")).unwrap(),
        ClientMessage::Hello { ref name, .. } if name == "ada"
    ));
    assert!(matches!(
        ServerMessage::decode(&frame("map-chunk")).unwrap(),
        ServerMessage::Map(ref c) if c.rooms[0].title == "The Hall"
    ));
    assert!(matches!(
        ServerDatagram::decode(&written["snapshot-1"]).unwrap(),
        ServerDatagram::Snapshot { header, .. } if header.tick == 100
    ));
}
