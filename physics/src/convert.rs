//! Between the engine's types and rapier's: vectors, poses, shapes, and the
//! entity each collider belongs to (its user data).

use bevy_ecs::prelude::*;
use gsp_engine::math::Vec3;
use rapier3d::math::{Pose, Rotation, Vector};
use rapier3d::prelude::*;

/// What [`Collider::user_data`] holds for static map geometry, which belongs
/// to no entity. Colliders of entities hold [`Entity::to_bits`].
pub(crate) const STATIC: u128 = u128::MAX;

/// The entity a collider or body belongs to, from its user data.
pub(crate) fn entity_of(user_data: u128) -> Option<Entity> {
    if user_data == STATIC {
        None
    } else {
        Entity::try_from_bits(user_data as u64)
    }
}

/// What rapier's user data holds for `entity`.
pub(crate) fn user_data(entity: Entity) -> u128 {
    u128::from(entity.to_bits())
}

/// Engine vector to rapier vector.
pub(crate) fn to_rapier(v: Vec3) -> Vector {
    Vector::new(v.x, v.y, v.z)
}

/// Rapier vector to engine vector.
pub(crate) fn to_engine(v: Vector) -> Vec3 {
    Vec3::new(v.x, v.y, v.z)
}

/// Engine quaternion (x, y, z, w) to rapier rotation, normalised; the
/// identity if it cannot be.
pub(crate) fn rotation_to_rapier(q: [f32; 4]) -> Rotation {
    let r = Rotation::from_xyzw(q[0], q[1], q[2], q[3]);
    let len = r.length();
    if len.is_finite() && len > 1e-6 {
        r / len
    } else {
        Rotation::IDENTITY
    }
}

/// A pose from an engine position and rotation.
pub(crate) fn pose(position: Vec3, rotation: [f32; 4]) -> Pose {
    Pose::from_parts(to_rapier(position), rotation_to_rapier(rotation))
}

/// Whether every coordinate is finite.
pub(crate) fn finite(v: Vec3) -> bool {
    v.x.is_finite() && v.y.is_finite() && v.z.is_finite()
}

/// The collider for a shape, or why it cannot be built.
pub(crate) fn collider_for(shape: &gsp_engine::Shape) -> Result<ColliderBuilder, String> {
    let positive = |v: f32| v.is_finite() && v > 0.0;
    match *shape {
        gsp_engine::Shape::Ball { radius } if positive(radius) => Ok(ColliderBuilder::ball(radius)),
        gsp_engine::Shape::Cuboid { half }
            if positive(half.x) && positive(half.y) && positive(half.z) =>
        {
            Ok(ColliderBuilder::cuboid(half.x, half.y, half.z))
        }
        gsp_engine::Shape::Capsule {
            half_height,
            radius,
        } if positive(radius) && half_height.is_finite() && half_height >= 0.0 => {
            Ok(ColliderBuilder::capsule_y(half_height, radius))
        }
        other => Err(format!("{other:?} has no positive, finite size")),
    }
}
