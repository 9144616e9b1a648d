//! Plain data that can leave a Lua state: mod storage kept across hot
//! reloads, and the arguments and results of calls between mods (each mod
//! runs in a Lua state of its own, so values are copied, never shared).

use bevy_ecs::entity::Entity;
use mlua::{Lua, Value};

use crate::entity::EntityRef;

/// How deep a table may nest when it is copied.
pub const MAX_DEPTH: usize = 32;

/// A Lua value with no references into any Lua state.
#[derive(Debug, Clone, PartialEq)]
pub enum Plain {
    /// `nil`.
    Nil,
    /// A boolean.
    Bool(bool),
    /// A number.
    Number(f64),
    /// A string (bytes, as Lua strings are).
    String(Vec<u8>),
    /// A table as key/value pairs.
    Table(Vec<(Plain, Plain)>),
    /// An entity handle.
    Entity(Entity),
}

/// Copies `value` out of its Lua state. Functions, threads and other
/// userdata cannot be copied and give an error naming what was found.
pub fn to_plain(value: &Value) -> mlua::Result<Plain> {
    to_plain_at(value, 0)
}

fn to_plain_at(value: &Value, depth: usize) -> mlua::Result<Plain> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::runtime(format!(
            "tables nest deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match value {
        Value::Nil => Plain::Nil,
        Value::Boolean(b) => Plain::Bool(*b),
        Value::Integer(i) => Plain::Number(*i as f64),
        Value::Number(n) => Plain::Number(*n),
        Value::String(s) => Plain::String(s.as_bytes().to_vec()),
        Value::Table(t) => {
            let mut pairs = Vec::new();
            for pair in t.pairs::<Value, Value>() {
                let (k, v) = pair?;
                pairs.push((to_plain_at(&k, depth + 1)?, to_plain_at(&v, depth + 1)?));
            }
            Plain::Table(pairs)
        }
        Value::UserData(ud) => match ud.borrow::<EntityRef>() {
            Ok(e) => Plain::Entity(e.entity),
            Err(_) => return Err(mlua::Error::runtime("only plain data can be copied")),
        },
        other => {
            return Err(mlua::Error::runtime(format!(
                "a {} cannot be copied between mods or kept in storage",
                other.type_name()
            )))
        }
    })
}

/// `plain` as JSON, the form storage and attributes are saved in: a table
/// whose keys are 1..n is an array, any other table an object (keys that
/// are not strings become their text). Entity handles and numbers that are
/// not finite become `null`: an entity is not the same entity after a
/// restart.
pub fn to_json(plain: &Plain) -> serde_json::Value {
    use serde_json::Value as J;
    match plain {
        Plain::Nil | Plain::Entity(_) => J::Null,
        Plain::Bool(b) => J::Bool(*b),
        Plain::Number(n) => number_json(*n),
        Plain::String(s) => J::String(String::from_utf8_lossy(s).into_owned()),
        Plain::Table(pairs) => {
            let mut indices: Vec<usize> = Vec::with_capacity(pairs.len());
            let sequence = pairs.iter().all(|(k, _)| match k {
                Plain::Number(n) if n.fract() == 0.0 && *n >= 1.0 && *n <= pairs.len() as f64 => {
                    indices.push(*n as usize);
                    true
                }
                _ => false,
            });
            if sequence && !pairs.is_empty() {
                let mut items = vec![J::Null; pairs.len()];
                for (i, (_, v)) in indices.into_iter().zip(pairs) {
                    items[i - 1] = to_json(v);
                }
                J::Array(items)
            } else {
                J::Object(
                    pairs
                        .iter()
                        .map(|(k, v)| (key_text(k), to_json(v)))
                        .collect(),
                )
            }
        }
    }
}

fn number_json(n: f64) -> serde_json::Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        serde_json::Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(serde_json::Value::Null, serde_json::Value::Number)
    }
}

fn key_text(k: &Plain) -> String {
    match k {
        Plain::String(s) => String::from_utf8_lossy(s).into_owned(),
        Plain::Number(n) => number_json(*n).to_string(),
        Plain::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// JSON back as plain data: arrays become tables keyed 1..n, objects
/// tables keyed by string.
pub fn from_json(json: &serde_json::Value) -> Plain {
    use serde_json::Value as J;
    match json {
        J::Null => Plain::Nil,
        J::Bool(b) => Plain::Bool(*b),
        J::Number(n) => Plain::Number(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Plain::String(s.as_bytes().to_vec()),
        J::Array(items) => Plain::Table(
            items
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_null())
                .map(|(i, v)| (Plain::Number((i + 1) as f64), from_json(v)))
                .collect(),
        ),
        J::Object(map) => Plain::Table(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (Plain::String(k.as_bytes().to_vec()), from_json(v)))
                .collect(),
        ),
    }
}

/// Builds `plain` in `lua`.
pub fn from_plain(lua: &Lua, plain: &Plain) -> mlua::Result<Value> {
    Ok(match plain {
        Plain::Nil => Value::Nil,
        Plain::Bool(b) => Value::Boolean(*b),
        Plain::Number(n) => Value::Number(*n),
        Plain::String(s) => Value::String(lua.create_string(s)?),
        Plain::Table(pairs) => {
            let t = lua.create_table_with_capacity(0, pairs.len())?;
            for (k, v) in pairs {
                t.raw_set(from_plain(lua, k)?, from_plain(lua, v)?)?;
            }
            Value::Table(t)
        }
        Plain::Entity(e) => Value::UserData(lua.create_userdata(EntityRef { entity: *e })?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_what_storage_holds() {
        let json = serde_json::json!({
            "visits": {"ada": 3, "bob": 1},
            "board": ["north", "south", "north"],
            "ratio": 0.25,
            "open": true,
            "name": "Old Tom"
        });
        assert_eq!(to_json(&from_json(&json)), json);
    }

    #[test]
    fn odd_tables_become_objects_and_entities_null() {
        let plain = Plain::Table(vec![
            (Plain::Number(5.0), Plain::String(b"five".to_vec())),
            (
                Plain::String(b"who".to_vec()),
                Plain::Entity(bevy_ecs::entity::Entity::PLACEHOLDER),
            ),
        ]);
        assert_eq!(
            to_json(&plain),
            serde_json::json!({"5": "five", "who": null})
        );
        assert_eq!(to_json(&Plain::Number(f64::NAN)), serde_json::Value::Null);
    }
}
