//! Simulate: avatars walk where their intent points, and stay inside rooms.
//!
//! This is the kinematic stand-in that physics replaces: the floor is flat,
//! walls are the outside faces of the map's rooms, and an avatar that would
//! leave every room slides along the wall instead.

use bevy_ecs::prelude::*;

use crate::components::{MoveIntent, Position, TickTime, WorldConfig};
use crate::map::WorldMap;
use crate::math::Vec3;

/// Moves every avatar by its intent for one tick.
pub fn move_avatars(
    time: Res<TickTime>,
    config: Res<WorldConfig>,
    map: Res<WorldMap>,
    mut avatars: Query<(&MoveIntent, &mut Position)>,
) {
    let step = config.walk_speed * time.dt;
    for (intent, mut position) in &mut avatars {
        let (mut x, mut z) = (intent.x, intent.z);
        let len_sq = x * x + z * z;
        if len_sq == 0.0 {
            continue;
        }
        if len_sq > 1.0 {
            let len = len_sq.sqrt();
            x /= len;
            z /= len;
        }
        let from = position.0;
        let candidates = [
            from + Vec3::new(x, 0.0, z) * step,
            from + Vec3::new(x, 0.0, 0.0) * step,
            from + Vec3::new(0.0, 0.0, z) * step,
        ];
        if let Some(to) = candidates.into_iter().find(|p| map.room_at(*p).is_some()) {
            position.0 = to;
        }
    }
}
