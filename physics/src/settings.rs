//! [`PhysicsSettings`]: gravity, and how avatars are built and move.

/// How avatars are built and move.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PhysicsSettings {
    /// Gravity, metres per second squared, pointing down.
    pub gravity: f32,
    /// The avatar capsule's radius, metres.
    pub avatar_radius: f32,
    /// Half the height of the capsule's cylinder part, metres; the avatar is
    /// `2 * (avatar_half_height + avatar_radius)` tall.
    pub avatar_half_height: f32,
    /// The mass an avatar pushes props with, kg.
    pub avatar_mass: f32,
    /// The highest step an avatar walks up without jumping, metres.
    pub max_step: f32,
    /// The steepest slope an avatar walks up, degrees.
    pub max_slope_degrees: f32,
    /// How far down an avatar follows the ground (down steps and slopes)
    /// instead of leaving it, metres.
    pub snap_to_ground: f32,
    /// The fastest an avatar falls, metres per second.
    pub max_fall_speed: f32,
}

impl Default for PhysicsSettings {
    fn default() -> Self {
        PhysicsSettings {
            gravity: 9.81,
            avatar_radius: 0.35,
            avatar_half_height: 0.55,
            avatar_mass: 80.0,
            max_step: 0.3,
            max_slope_degrees: 45.0,
            snap_to_ground: 0.5,
            max_fall_speed: 50.0,
        }
    }
}
