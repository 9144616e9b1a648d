//! Who a player is and what is kept of them, as plain data: the
//! [`AccountId`] an avatar belongs to, its saved [`CharacterState`], and the
//! [`AttributeMap`] mods attach to entities.
//!
//! These are the few types that sessions, components, saves and the account
//! interface all speak of; they live here, depending on nothing else in the
//! crate but [`math`](crate::math), so that those modules need not depend on
//! each other.

use serde::{Deserialize, Serialize};

use crate::math::Vec3;

/// An account's id in the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

impl std::fmt::Display for AccountId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "account {}", self.0)
    }
}

/// Mod-defined data on an entity (avatar or prop): a JSON object. Mods read
/// and write it with `entity:get(key)` and `entity:set(key, value)`; it is
/// saved with the entity (avatars: with the character).
pub type AttributeMap = serde_json::Map<String, serde_json::Value>;

/// A player's saved character.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CharacterState {
    /// Where the avatar stood.
    pub position: Vec3,
    /// The key of the room it was in, if any. Restores fall back to the
    /// start room when the room no longer exists.
    pub room: Option<String>,
    /// Mod-defined attributes.
    pub attributes: AttributeMap,
}
