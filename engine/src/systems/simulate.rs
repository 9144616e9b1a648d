//! Simulate: avatars walk where their intent points, and stay inside rooms.
//!
//! This is the kinematic stand-in that physics replaces: the floor is flat,
//! walls are the outside faces of the map's rooms, and an avatar that would
//! leave every room slides along the wall instead. It runs only while no
//! [`ExternalMovement`] resource is present: a physics plugin inserts one
//! and moves avatars itself.

use bevy_ecs::prelude::*;

use crate::components::{MoveIntent, Position, Rotation, TickTime, Velocity, WorldConfig};
use crate::map::WorldMap;
use crate::math::Vec3;
use gsp_protocol::movement::walk_direction;

/// Present when something else (the physics plugin) moves avatars: the
/// stand-in [`move_avatars`] then does not run.
#[derive(Resource, Debug, Default, Clone, Copy)]
pub struct ExternalMovement;

/// Moves every avatar by its intent for one tick (the shared rule of
/// [`walk_direction`], which clients predict with), turning it to face
/// where it walks and setting its velocity.
pub fn move_avatars(
    time: Res<TickTime>,
    config: Res<WorldConfig>,
    map: Res<WorldMap>,
    mut avatars: Query<(
        &MoveIntent,
        &mut Position,
        Option<&mut Rotation>,
        Option<&mut Velocity>,
    )>,
) {
    let step = config.walk_speed * time.dt;
    for (intent, mut position, rotation, velocity) in &mut avatars {
        let Some([x, z]) = walk_direction([intent.x, intent.z]) else {
            if let Some(mut v) = velocity {
                if v.0 != Vec3::ZERO {
                    v.0 = Vec3::ZERO;
                }
            }
            continue;
        };
        let from = position.0;
        let candidates = [
            from + Vec3::new(x, 0.0, z) * step,
            from + Vec3::new(x, 0.0, 0.0) * step,
            from + Vec3::new(0.0, 0.0, z) * step,
        ];
        let to = candidates
            .into_iter()
            .find(|p| map.room_at(*p).is_some())
            .unwrap_or(from);
        position.0 = to;
        if let Some(mut v) = velocity {
            v.0 = (to - from) * (1.0 / time.dt);
        }
        if let Some(mut r) = rotation {
            *r = Rotation::from_yaw(x.atan2(z));
        }
    }
}
