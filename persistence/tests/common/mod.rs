//! Helpers shared by the store tests.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use gsp_engine::persist::{AttributeMap, SavedBody};
use gsp_engine::{CharacterState, EntityRecord, Vec3};

/// A client address, distinct per `n`.
pub fn peer(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))
}

pub fn attributes(json: serde_json::Value) -> AttributeMap {
    match json {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// An entity whose every field depends on `x`, so a stale row shows.
pub fn entity(key: &str, x: f32) -> EntityRecord {
    EntityRecord {
        key: Arc::from(key),
        kind: 3,
        position: Vec3::new(x, x * 0.5, -x),
        rotation: [0.0, 0.38268343, 0.0, 0.9238795],
        velocity: Vec3::new(0.1, x, 0.0),
        body: (x as i32 % 2 == 0).then_some(SavedBody {
            kind: 0,
            shape: [1.0, 0.5, 0.25, x],
            density: 1000.0,
            friction: 0.7,
            restitution: 0.1,
        }),
        attributes: attributes(
            serde_json::json!({ "hp": x, "tags": ["a", "b"], "nested": { "k": null } }),
        ),
    }
}

pub fn character(x: f32, room: Option<&str>) -> CharacterState {
    CharacterState {
        position: Vec3::new(x, 1.5, -x),
        room: room.map(str::to_string),
        attributes: attributes(serde_json::json!({ "gold": 12, "title": "the brave", "x": x })),
    }
}
