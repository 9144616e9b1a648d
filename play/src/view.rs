//! The third-person camera and the maths between the world and the screen.
//! No window needed: the tests use it to say where something must appear.
//!
//! World coordinates are the server's: metres, +x east, +y up, +z north.
//! That frame is left-handed, so it is drawn with z flipped: render
//! coordinates are `(x, y, -z)` ([`to_render`]), and north points into the
//! screen when the camera faces north.

use macroquad::math::{vec3, Mat4, Vec3, Vec4};

/// Vertical field of view, radians (45°).
pub const FOV_Y: f32 = std::f32::consts::FRAC_PI_4;
/// How far behind the avatar the camera sits, metres.
pub const DISTANCE: f32 = 7.0;
/// The point the camera looks at, above the avatar's feet, metres.
pub const LOOK_HEIGHT: f32 = 1.4;
/// The pitch the camera starts with, radians below the horizon.
pub const DEFAULT_PITCH: f32 = 0.45;

/// A world point in render coordinates.
pub fn to_render(p: [f32; 3]) -> Vec3 {
    vec3(p[0], p[1], -p[2])
}

/// A world rotation (x, y, z, w) in render coordinates.
pub fn rotation_to_render(q: [f32; 4]) -> macroquad::math::Quat {
    macroquad::math::Quat::from_xyzw(-q[0], -q[1], q[2], q[3]).normalize()
}

/// A camera following an avatar from behind and above.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Follow {
    /// Which way the camera faces, radians from north towards east.
    pub yaw: f32,
    /// How far it looks down, radians (0.05 to 1.4).
    pub pitch: f32,
}

impl Default for Follow {
    fn default() -> Self {
        Follow {
            yaw: 0.0,
            pitch: DEFAULT_PITCH,
        }
    }
}

impl Follow {
    /// The horizontal direction the camera faces, `[x, z]` in the world.
    pub fn forward(&self) -> [f32; 2] {
        [self.yaw.sin(), self.yaw.cos()]
    }

    /// The horizontal direction to the camera's right, `[x, z]`.
    pub fn right(&self) -> [f32; 2] {
        [self.yaw.cos(), -self.yaw.sin()]
    }

    /// Turns by mouse movement: `dx` radians right, `dy` radians down.
    pub fn turn(&mut self, dx: f32, dy: f32) {
        if dx.is_finite() {
            self.yaw = (self.yaw + dx).rem_euclid(std::f32::consts::TAU);
        }
        if dy.is_finite() {
            self.pitch = (self.pitch + dy).clamp(0.05, 1.4);
        }
    }

    /// The movement intent `[x, z]` for keys held: forward/back (W/S) and
    /// right/left (D/A), each -1, 0 or 1. Diagonals are normalised.
    pub fn intent(&self, forward: f32, right: f32) -> [f32; 2] {
        let (f, r) = (self.forward(), self.right());
        let x = f[0] * forward + r[0] * right;
        let z = f[1] * forward + r[1] * right;
        let len = (x * x + z * z).sqrt();
        if len < 1e-6 {
            [0.0, 0.0]
        } else {
            [x / len, z / len]
        }
    }

    /// Where the camera is and what it looks at, in render coordinates,
    /// for an avatar whose feet are at `feet` (world).
    pub fn eye_and_target(&self, feet: [f32; 3]) -> (Vec3, Vec3) {
        let target = [feet[0], feet[1] + LOOK_HEIGHT, feet[2]];
        let [fx, fz] = self.forward();
        let back = DISTANCE * self.pitch.cos();
        let eye = [
            target[0] - fx * back,
            target[1] + DISTANCE * self.pitch.sin(),
            target[2] - fz * back,
        ];
        (to_render(eye), to_render(target))
    }

    /// The view-projection matrix for a screen of `width` by `height`.
    pub fn matrix(&self, feet: [f32; 3], width: f32, height: f32) -> Mat4 {
        let (eye, target) = self.eye_and_target(feet);
        let aspect = (width / height.max(1.0)).max(0.01);
        Mat4::perspective_rh_gl(FOV_Y, aspect, 0.05, 2000.0)
            * Mat4::look_at_rh(eye, target, Vec3::Y)
    }
}

/// Where the world point `p` appears on a `width` by `height` screen
/// (pixels from the top left), or `None` if it is behind the camera.
pub fn project(matrix: &Mat4, p: [f32; 3], width: f32, height: f32) -> Option<[f32; 2]> {
    let r = to_render(p);
    let clip = *matrix * Vec4::new(r.x, r.y, r.z, 1.0);
    if clip.w <= 1e-4 {
        return None;
    }
    let (x, y) = (clip.x / clip.w, clip.y / clip.w);
    Some([(x + 1.0) * 0.5 * width, (1.0 - y) * 0.5 * height])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walking_follows_the_camera() {
        let north = Follow::default();
        let i = north.intent(1.0, 0.0);
        assert!((i[0]).abs() < 1e-6 && (i[1] - 1.0).abs() < 1e-6);
        let i = north.intent(0.0, 1.0);
        assert!(
            (i[0] - 1.0).abs() < 1e-6 && i[1].abs() < 1e-6,
            "right is east"
        );
        let mut east = Follow::default();
        east.turn(std::f32::consts::FRAC_PI_2, 0.0);
        let i = east.intent(1.0, 0.0);
        assert!((i[0] - 1.0).abs() < 1e-5 && i[1].abs() < 1e-5);
        let i = east.intent(0.0, 1.0);
        assert!(
            i[0].abs() < 1e-5 && (i[1] + 1.0).abs() < 1e-5,
            "right is south"
        );
        assert_eq!(east.intent(0.0, 0.0), [0.0, 0.0]);
    }

    #[test]
    fn the_avatar_is_in_the_middle_and_north_is_up_the_screen() {
        let cam = Follow::default();
        let feet = [3.0, 0.0, -2.0];
        let m = cam.matrix(feet, 800.0, 600.0);
        let head = project(&m, [3.0, LOOK_HEIGHT, -2.0], 800.0, 600.0).unwrap();
        assert!(
            (head[0] - 400.0).abs() < 0.5 && (head[1] - 300.0).abs() < 0.5,
            "{head:?}"
        );
        // Facing north: a point to the east is right of centre, one to the
        // north is higher up the screen, one behind the camera is not drawn.
        let east = project(&m, [5.0, LOOK_HEIGHT, -2.0], 800.0, 600.0).unwrap();
        assert!(east[0] > 450.0, "{east:?}");
        let north = project(&m, [3.0, 0.0, 8.0], 800.0, 600.0).unwrap();
        let near = project(&m, [3.0, 0.0, -1.0], 800.0, 600.0).unwrap();
        assert!(north[1] < near[1], "{north:?} {near:?}");
        assert!(project(&m, [3.0, 0.0, -30.0], 800.0, 600.0).is_none());
    }

    #[test]
    fn rotations_turn_the_same_way_in_both_frames() {
        // A quarter turn about +y takes north (+z) to east (+x) in the world.
        let (s, c) = (std::f32::consts::FRAC_PI_4).sin_cos();
        let q = rotation_to_render([0.0, s, 0.0, c]);
        let north = to_render([0.0, 0.0, 1.0]);
        let turned = q * north;
        let east = to_render([1.0, 0.0, 0.0]);
        assert!((turned - east).length() < 1e-5, "{turned:?}");
    }
}
