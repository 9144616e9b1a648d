//! Static colliders from the map's solids.

use bevy_ecs::prelude::*;
use gsp_engine::WorldMap;
use rapier3d::prelude::*;

use crate::convert::{pose, to_rapier, STATIC};
use crate::world::Physics;

/// Replaces the map's colliders with one fixed box per
/// [`Solid`](gsp_engine::map::Solid) of `map`.
pub fn build_statics(physics: &mut Physics, map: &WorldMap) {
    for handle in std::mem::take(&mut physics.statics) {
        physics.rapier.remove_collider(handle);
    }
    for solid in &map.solids {
        let half = to_rapier(solid.half);
        let collider = ColliderBuilder::cuboid(half.x, half.y, half.z)
            .position(pose(solid.center, solid.rotation))
            .user_data(STATIC);
        let handle = physics.rapier.insert_collider(collider, None);
        physics.statics.push(handle);
    }
}

/// Rebuilds the static colliders when the [`WorldMap`] resource changes (a
/// mod loaded a new map). [`install`](crate::install) built them for the
/// map the world started with, so the first run has nothing to do.
pub fn sync_map(map: Res<WorldMap>, mut physics: ResMut<Physics>, mut first: Local<bool>) {
    if !std::mem::replace(&mut *first, true) {
        return;
    }
    if map.is_changed() {
        build_statics(&mut physics, &map);
    }
}
