//! Plain data that can leave a Lua state: mod storage kept across hot
//! reloads, and the arguments and results of calls between mods (each mod
//! runs in a Lua state of its own, so values are copied, never shared).

use bevy_ecs::entity::Entity;
use mlua::{Lua, Value};

use crate::api::EntityRef;

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
