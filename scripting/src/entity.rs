//! [`EntityRef`]: an entity as mods hold it, a Luau userdata.
//!
//! Only the handle lives here, so that both the `gsp` API ([`api`](crate::api),
//! which gives it its methods: `e:position()`, `e:send(text)`...) and plain
//! values ([`value`](crate::value), which copy handles between mods) can name
//! it without depending on each other.

use bevy_ecs::entity::Entity;

/// An entity as mods hold it. Its Lua methods are in [`api`](crate::api).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityRef {
    /// The entity.
    pub entity: Entity,
}
