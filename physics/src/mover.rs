//! The character controller as plain code over rapier's world: an avatar's
//! [`Character`] (its body and how it is falling) and the [`CharacterMover`]
//! that walks it one tick, slides it along walls, up slopes and steps, and
//! settles it on the ground, and [`CrowdMoves`], which keeps avatars out
//! of each other ([`crowd`](crate::crowd)) before they move. The systems
//! that drive it are in [`character`](crate::character).

use gsp_engine::math::Vec3;
use rapier3d::control::{
    CharacterAutostep, CharacterCollision, CharacterLength, KinematicCharacterController,
};
use rapier3d::math::{Pose, Vector};
use rapier3d::parry::bounding_volume::{Aabb, BoundingVolume};
use rapier3d::parry::query::ShapeCastOptions;
use rapier3d::parry::shape::Capsule;
use rapier3d::prelude::*;

use crate::convert::{to_engine, to_rapier};
use crate::crowd::{Capsules, Crowd, Member};
use crate::settings::PhysicsSettings;

/// The collision group of avatars' capsules. The character controller's
/// queries leave it out: avatars keep apart through [`Crowd`], not through
/// rapier's shape casts (see [`crowd`](crate::crowd)).
pub const AVATARS: Group = Group::GROUP_2;

/// The collision groups of an avatar's capsule: a member of [`AVATARS`],
/// touching everything else (props, sensors, the map) but not other
/// avatars, so that a packed crowd makes no pairs in rapier at all.
pub fn avatar_groups() -> InteractionGroups {
    InteractionGroups::new(
        AVATARS,
        Group::ALL.difference(AVATARS),
        InteractionTestMode::And,
    )
}

/// What the character controller's queries see: everything but avatars.
fn all_but_avatars() -> InteractionGroups {
    InteractionGroups::new(
        Group::ALL,
        Group::ALL.difference(AVATARS),
        InteractionTestMode::And,
    )
}

/// An avatar's body in rapier, and how it is falling.
#[derive(Debug, Clone, Copy)]
pub struct Character {
    /// Its kinematic body.
    pub body: RigidBodyHandle,
    /// Its capsule.
    pub collider: ColliderHandle,
    /// Where the capsule's centre is (or will be after this tick's step).
    pub center: Vector,
    /// Vertical speed, metres per second (negative: falling).
    pub fall_speed: f32,
    /// Whether it stood on something after its last move.
    pub grounded: bool,
    /// Whether it has moved since it was placed: until then it is not
    /// [at rest](Character::at_rest), so that a new or teleported avatar
    /// finds out whether it stands or falls.
    pub settled: bool,
    /// Whether its last move went clearly less far than it was asked to
    /// (a wall, a prop, a slope): the crowd pass then treats it as standing.
    pub blocked: bool,
    /// Its last move, horizontally (x z, metres).
    pub last_move: [f32; 2],
    /// How its last tick moved it.
    pub last_path: MovePath,
}

/// How a tick moved an avatar: what its cost was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MovePath {
    /// Not at all: it stood at rest.
    #[default]
    Rest,
    /// By its walk alone, on open level floor.
    OpenFloor,
    /// Through the character controller's casts.
    Controller,
}

impl Character {
    /// A character standing (or about to fall) with its capsule centred on
    /// `center`.
    pub fn new(body: RigidBodyHandle, collider: ColliderHandle, center: Vector) -> Character {
        Character {
            body,
            collider,
            center,
            fall_speed: 0.0,
            // Assumed until its first move says otherwise, so that an avatar
            // put on the floor settles there instead of falling first.
            grounded: true,
            settled: false,
            blocked: false,
            last_move: [0.0, 0.0],
            last_path: MovePath::Rest,
        }
    }
}

/// Moves characters: rapier's [`KinematicCharacterController`] with the
/// [`PhysicsSettings`], gravity, and a ground-following step of its own.
///
/// The controller keeps a skin ([`SKIN`]) between the capsule and what it
/// touches. After each move, a grounded character is *settled*: a plain
/// shape cast straight down measures the gap to the ground and moves the
/// capsule so that the gap is exactly [`REST`] (down steps and slopes within
/// [`PhysicsSettings::snap_to_ground`], or up by the fraction of a millimetre
/// the controller left it short). The controller's own snap-to-ground is
/// off: its cast starts inside the skin it keeps, where the shape cast can
/// report impacts a few centimetres too far, which made resting avatars
/// bob. A settled avatar on level ground keeps its height to the bit.
#[derive(Debug, Clone)]
pub struct CharacterMover {
    /// The controller.
    pub controller: KinematicCharacterController,
    /// Every avatar's shape.
    pub capsule: Capsule,
    /// The settings it was made from.
    pub settings: PhysicsSettings,
    /// From the point at an avatar's feet to its capsule's centre.
    pub feet_to_center: f32,
}

impl CharacterMover {
    /// The mover for `settings`.
    pub fn new(settings: PhysicsSettings) -> CharacterMover {
        CharacterMover {
            controller: controller(&settings),
            capsule: Capsule::new_y(settings.avatar_half_height, settings.avatar_radius),
            feet_to_center: settings.avatar_half_height + settings.avatar_radius + REST,
            settings,
        }
    }

    /// Moves `c` for one tick of `dt` seconds by `walk` (metres, horizontal)
    /// plus its fall, against everything in `rapier` but its own body and
    /// sensors, pushing dynamic bodies it runs into; sets its body's
    /// velocity for the step. Returns how far it moved. `collisions` is scratch
    /// space.
    ///
    /// A settled avatar on open level floor (see `on_open_floor`) is moved
    /// by exactly `walk` without asking the controller, which would do the
    /// same at the cost of several shape casts and contact tests: in a
    /// crowd, most moves are such.
    pub fn move_character(
        &self,
        rapier: &mut PhysicsWorld,
        c: &mut Character,
        walk: [f32; 2],
        dt: f32,
        collisions: &mut Vec<CharacterCollision>,
    ) -> Vector {
        let s = &self.settings;
        let was_grounded = c.grounded;
        c.fall_speed = if was_grounded {
            0.0
        } else {
            (c.fall_speed - s.gravity * dt).max(-s.max_fall_speed)
        };
        let desired = Vector::new(walk[0], c.fall_speed * dt, walk[1]);
        collisions.clear();
        let filter = || {
            QueryFilter::new()
                .exclude_sensors()
                .exclude_rigid_body(c.body)
                .groups(all_but_avatars())
        };
        let queries = rapier.broad_phase.as_query_pipeline(
            rapier.narrow_phase.query_dispatcher(),
            &rapier.bodies,
            &rapier.colliders,
            filter(),
        );
        let mut moved;
        if was_grounded && c.settled && self.on_open_floor(&queries, c.center, walk) {
            // Nothing but level floor near the way: the controller would
            // move it by exactly `walk`, and it stays at rest height.
            moved = Vector::new(walk[0], 0.0, walk[1]);
            c.last_path = MovePath::OpenFloor;
        } else {
            c.last_path = MovePath::Controller;
            let movement = self.controller.move_shape(
                dt,
                &queries,
                &self.capsule,
                &Pose::from_translation(c.center),
                desired,
                |hit| collisions.push(hit),
            );
            moved = movement.translation;
            c.grounded = movement.grounded;
            if (was_grounded || c.grounded) && moved.y <= 1e-3 {
                match self.ground_gap(&queries, c.center + moved) {
                    Some(gap) => {
                        moved.y -= gap - REST;
                        c.grounded = true;
                    }
                    None => c.grounded = false,
                }
            }
        }
        if c.grounded {
            c.fall_speed = 0.0;
        }
        if !collisions.is_empty() {
            let mut queries = rapier.broad_phase.as_query_pipeline_mut(
                rapier.narrow_phase.query_dispatcher(),
                &mut rapier.bodies,
                &mut rapier.colliders,
                filter(),
            );
            self.controller.solve_character_collision_impulses(
                dt,
                &mut queries,
                &self.capsule,
                s.avatar_mass,
                collisions.iter(),
            );
        }
        c.settled = true;
        let asked = (walk[0] * walk[0] + walk[1] * walk[1]).sqrt();
        let went = (moved.x * moved.x + moved.z * moved.z).sqrt();
        c.blocked = asked > STILL && went < 0.9 * asked;
        c.last_move = [moved.x, moved.z];
        if moved.length() <= STILL {
            return Vector::ZERO;
        }
        c.center += moved;
        // Aimed from where rapier has the body, so float rounding in its
        // integration never accumulates.
        let body = &mut rapier.bodies[c.body];
        let aim = (c.center - body.translation()) / dt;
        body.set_linvel(aim, true);
        moved
    }

    /// Whether a settled avatar whose capsule is centred on `center` can
    /// walk `walk` without the controller: within a few centimetres of its
    /// swept capsule there is nothing but fixed, level, axis-aligned floor
    /// boxes entirely below its feet, and one of them lies exactly
    /// [`REST`] under it where it arrives. The controller would then move it
    /// by exactly `walk` and find it grounded; this answers with one walk
    /// down the query tree, where the controller's casts and contact tests
    /// cost tens of microseconds. Anything else near (a wall, a step, a
    /// ramp, a prop, the floor's edge) leaves the move to the controller.
    fn on_open_floor(&self, queries: &QueryPipeline<'_>, center: Vector, walk: [f32; 2]) -> bool {
        let r = self.settings.avatar_radius + OPEN_MARGIN;
        let half_height = self.settings.avatar_half_height + self.settings.avatar_radius;
        let to = center + Vector::new(walk[0], 0.0, walk[1]);
        let ground = center.y - half_height - REST;
        let swept = Aabb::new(
            Vector::new(
                center.x.min(to.x) - r,
                ground - OPEN_MARGIN,
                center.z.min(to.z) - r,
            ),
            Vector::new(
                center.x.max(to.x) + r,
                center.y + half_height + OPEN_MARGIN,
                center.z.max(to.z) + r,
            ),
        );
        let mut supported = false;
        for (_, collider) in queries.intersect_aabb_conservative(swept) {
            let exact = collider.compute_aabb();
            if !exact.intersects(&swept) {
                continue;
            }
            let fixed = collider
                .parent()
                .is_none_or(|b| queries.bodies.get(b).is_some_and(|b| b.is_fixed()));
            let level_box = collider.shape().as_cuboid().is_some()
                && collider
                    .rotation()
                    .abs_diff_eq(rapier3d::math::Rotation::IDENTITY, 1e-6);
            if !fixed || !level_box || exact.maxs.y > ground + LEVEL {
                return false;
            }
            supported |= (exact.maxs.y - ground).abs() <= LEVEL
                && (exact.mins.x..=exact.maxs.x).contains(&to.x)
                && (exact.mins.z..=exact.maxs.z).contains(&to.z);
        }
        supported
    }

    /// Stops every character's body after a step. They are kinematic bodies
    /// moved by velocity (the step carries them to where the controller put
    /// them), and the controller treats a kinematic body's velocity as a
    /// moving platform's: left in place, two avatars walking into each
    /// other would shove each other back.
    pub fn stop_all<'a>(
        &self,
        rapier: &mut PhysicsWorld,
        characters: impl Iterator<Item = &'a Character>,
    ) {
        for c in characters {
            if let Some(body) = rapier.bodies.get_mut(c.body) {
                body.set_linvel(Vector::ZERO, false);
            }
        }
    }

    /// The gap between the bottom of a capsule centred on `center` and the
    /// ground under it, if there is ground within the snapping distance.
    fn ground_gap(&self, queries: &QueryPipeline<'_>, center: Vector) -> Option<f32> {
        // Cast from a little higher, so that a capsule the controller left
        // slightly inside its skin still measures a positive gap.
        let lift = REST;
        let (_, hit) = queries.cast_shape(
            &Pose::from_translation(center + Vector::Y * lift),
            -Vector::Y,
            &self.capsule,
            ShapeCastOptions {
                max_time_of_impact: lift + self.settings.snap_to_ground + REST,
                target_distance: 0.0,
                stop_at_penetration: false,
                compute_impact_geometry_on_penetration: false,
            },
        )?;
        Some(hit.time_of_impact - lift)
    }

    /// An avatar's capsule collider, in [`AVATARS`].
    pub fn avatar_collider(&self) -> ColliderBuilder {
        let s = &self.settings;
        ColliderBuilder::capsule_y(s.avatar_half_height, s.avatar_radius)
            .collision_groups(avatar_groups())
    }

    /// The shape [`Crowd`] keeps apart.
    pub fn capsules(&self) -> Capsules {
        let s = &self.settings;
        Capsules {
            radius: s.avatar_radius,
            height: 2.0 * (s.avatar_half_height + s.avatar_radius),
        }
    }

    /// The point at the feet of a capsule centred on `center`, its height
    /// rounded to the millimetre: an avatar standing on a floor at y = 0 is
    /// at y = 0, inside the room boxes that start there.
    pub fn feet_of(&self, center: Vector) -> Vec3 {
        let mut feet = to_engine(center - Vector::Y * self.feet_to_center);
        feet.y = (feet.y * 1000.0).round() / 1000.0;
        feet
    }

    /// The capsule centre for an avatar whose feet are at `feet`.
    pub fn center_of(&self, feet: Vec3) -> Vector {
        to_rapier(feet) + Vector::Y * self.feet_to_center
    }
}

/// The gap the character controller keeps between an avatar and what it
/// walks along, metres.
pub const SKIN: f32 = 0.01;

/// The gap between a settled avatar's capsule and the ground under it,
/// metres: more than [`SKIN`], so that the controller's casts start outside
/// the skin even on a 45° slope.
pub const REST: f32 = 0.015;

/// Every avatar's move of one tick, with the buffers reused tick after tick:
/// [`CrowdMoves::add`] each avatar with its walk, then
/// [`CrowdMoves::solve`] gives each its move (walk plus the push that keeps
/// it out of the others), for [`CharacterMover::move_character`].
#[derive(Debug, Default, Clone)]
pub struct CrowdMoves {
    crowd: Crowd,
    members: Vec<Member>,
    moves: Vec<[f32; 2]>,
}

impl CrowdMoves {
    /// Empty.
    pub fn new() -> CrowdMoves {
        CrowdMoves::default()
    }

    /// Starts a tick.
    pub fn clear(&mut self) {
        self.members.clear();
        self.moves.clear();
    }

    /// Adds `c`, walking `walk` (metres, x z) this tick.
    pub fn add(&mut self, c: &Character, walk: [f32; 2]) {
        self.members.push(Member {
            center: [c.center.x, c.center.y, c.center.z],
            walk,
            expect: if c.blocked { c.last_move } else { walk },
            walking: walk != [0.0, 0.0] && !c.blocked,
        });
    }

    /// Each avatar's move, in the order they were added; a push is at most
    /// one avatar radius per tick.
    pub fn solve(&mut self, mover: &CharacterMover) -> &[[f32; 2]] {
        let shape = mover.capsules();
        self.crowd
            .separate(&self.members, shape, shape.radius, &mut self.moves);
        &self.moves
    }
}

impl Character {
    /// Whether a move of `walk` this tick would leave it exactly where it
    /// is: it has moved since it was placed, stands on the ground, is not
    /// falling, and neither walks nor is pushed. Such a character need not
    /// be moved at all.
    pub fn at_rest(&self, walk: [f32; 2]) -> bool {
        walk == [0.0, 0.0] && self.settled && self.grounded && self.fall_speed == 0.0
    }
}

/// How close (metres) something may come to an avatar's swept capsule
/// before its move is left to the controller: more than [`SKIN`], the gap
/// the controller keeps.
const OPEN_MARGIN: f32 = 0.05;

/// How far (metres) a floor's top may be from an avatar's rest height and
/// still count as the floor it stands on.
const LEVEL: f32 = 1e-4;

/// Movements shorter than this are rounding, not movement, metres.
const STILL: f32 = 1e-5;

/// The character controller for `settings`: no snap to ground (see
/// [`CharacterMover`]).
fn controller(settings: &PhysicsSettings) -> KinematicCharacterController {
    KinematicCharacterController {
        up: Vector::Y,
        offset: CharacterLength::Absolute(SKIN),
        slide: true,
        autostep: Some(CharacterAutostep {
            max_height: CharacterLength::Absolute(settings.max_step),
            min_width: CharacterLength::Absolute(0.15),
            include_dynamic_bodies: false,
        }),
        max_slope_climb_angle: settings.max_slope_degrees.to_radians(),
        min_slope_slide_angle: settings.max_slope_degrees.to_radians(),
        snap_to_ground: None,
        ..KinematicCharacterController::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DT: f32 = 1.0 / 30.0;

    /// A 10 m floor box with its top at y = 0, a wall along x = 3, and a
    /// crate at (-3, 0.3, 0); returns the world and the mover.
    fn floor_wall_crate() -> (PhysicsWorld, CharacterMover) {
        let mut rapier = PhysicsWorld::new();
        rapier.integration_parameters.dt = DT;
        rapier.insert_collider(
            ColliderBuilder::cuboid(5.0, 0.5, 5.0).translation(Vector::new(0.0, -0.5, 0.0)),
            None,
        );
        rapier.insert_collider(
            ColliderBuilder::cuboid(0.25, 2.0, 5.0).translation(Vector::new(3.25, 2.0, 0.0)),
            None,
        );
        rapier.insert(
            RigidBodyBuilder::dynamic().translation(Vector::new(-3.0, 0.3, 0.0)),
            ColliderBuilder::cuboid(0.3, 0.3, 0.3),
        );
        rapier.step();
        (rapier, CharacterMover::new(PhysicsSettings::default()))
    }

    fn avatar_at(rapier: &mut PhysicsWorld, mover: &CharacterMover, feet: Vec3) -> Character {
        let center = mover.center_of(feet);
        let (body, collider) = rapier.insert(
            RigidBodyBuilder::kinematic_velocity_based().translation(center),
            mover.avatar_collider(),
        );
        Character::new(body, collider, center)
    }

    /// Walks `c` `ticks` times by `walk` per tick, stepping the world.
    fn walk(
        rapier: &mut PhysicsWorld,
        mover: &CharacterMover,
        c: &mut Character,
        walk: [f32; 2],
        ticks: usize,
    ) {
        let mut collisions = Vec::new();
        for _ in 0..ticks {
            mover.move_character(rapier, c, walk, DT, &mut collisions);
            rapier.step();
            mover.stop_all(rapier, std::iter::once(&*c));
        }
    }

    fn open(rapier: &PhysicsWorld, mover: &CharacterMover, c: &Character, walk: [f32; 2]) -> bool {
        let queries = rapier.broad_phase.as_query_pipeline(
            rapier.narrow_phase.query_dispatcher(),
            &rapier.bodies,
            &rapier.colliders,
            QueryFilter::new()
                .exclude_sensors()
                .exclude_rigid_body(c.body)
                .groups(all_but_avatars()),
        );
        mover.on_open_floor(&queries, c.center, walk)
    }

    #[test]
    fn open_floor_is_told_from_walls_props_and_edges() {
        let (mut rapier, mover) = floor_wall_crate();
        let mut c = avatar_at(&mut rapier, &mover, Vec3::new(0.0, 0.0, 0.0));
        // Settle it first, as the world does.
        walk(&mut rapier, &mover, &mut c, [0.0, 0.0], 2);
        assert!(
            open(&rapier, &mover, &c, [0.2, 0.0]),
            "the middle of the floor is open"
        );
        let mut by_wall = avatar_at(&mut rapier, &mover, Vec3::new(2.55, 0.0, 0.0));
        walk(&mut rapier, &mover, &mut by_wall, [0.0, 0.0], 2);
        assert!(
            !open(&rapier, &mover, &by_wall, [0.1, 0.0]),
            "the wall is near"
        );
        let mut by_crate = avatar_at(&mut rapier, &mover, Vec3::new(-2.0, 0.0, 0.0));
        walk(&mut rapier, &mover, &mut by_crate, [0.0, 0.0], 2);
        assert!(
            !open(&rapier, &mover, &by_crate, [-0.3, 0.0]),
            "the crate is in the way"
        );
        let mut at_edge = avatar_at(&mut rapier, &mover, Vec3::new(0.0, 0.0, 4.9));
        walk(&mut rapier, &mover, &mut at_edge, [0.0, 0.0], 2);
        assert!(
            !open(&rapier, &mover, &at_edge, [0.0, 0.2]),
            "past the edge is no floor"
        );
    }

    #[test]
    fn open_floor_moves_match_the_controller_and_the_height_holds() {
        let (mut rapier, mover) = floor_wall_crate();
        let mut c = avatar_at(&mut rapier, &mover, Vec3::new(-1.0, 0.0, -2.0));
        walk(&mut rapier, &mover, &mut c, [0.0, 0.0], 2);
        let rest_height = c.center.y;
        let stride = 0.2;
        // What rapier's controller alone does with the same move.
        let queries = rapier.broad_phase.as_query_pipeline(
            rapier.narrow_phase.query_dispatcher(),
            &rapier.bodies,
            &rapier.colliders,
            QueryFilter::new()
                .exclude_sensors()
                .exclude_rigid_body(c.body)
                .groups(all_but_avatars()),
        );
        let by_controller = mover.controller.move_shape(
            DT,
            &queries,
            &mover.capsule,
            &Pose::from_translation(c.center),
            Vector::new(stride, 0.0, 0.0),
            |_| {},
        );
        assert!(by_controller.grounded);
        assert!((by_controller.translation.x - stride).abs() < 1e-4);
        assert!(by_controller.translation.y.abs() < 1e-3);
        walk(&mut rapier, &mover, &mut c, [stride, 0.0], 10);
        assert!(
            (c.center.x - (-1.0 + 10.0 * stride)).abs() < 1e-4,
            "{}",
            c.center.x
        );
        assert_eq!(c.center.y, rest_height, "the height holds to the bit");
        assert!(c.grounded && !c.blocked);
    }

    #[test]
    fn walkers_still_stop_at_walls_and_fall_off_edges() {
        let (mut rapier, mover) = floor_wall_crate();
        let mut c = avatar_at(&mut rapier, &mover, Vec3::new(1.0, 0.0, 0.0));
        walk(&mut rapier, &mover, &mut c, [0.2, 0.0], 30);
        let face = 3.0 - mover.settings.avatar_radius;
        assert!(
            c.center.x <= face + 1e-3,
            "through the wall: {}",
            c.center.x
        );
        assert!(c.center.x > face - 0.05, "stopped short: {}", c.center.x);
        let mut d = avatar_at(&mut rapier, &mover, Vec3::new(0.0, 0.0, 4.0));
        walk(&mut rapier, &mover, &mut d, [0.0, 0.2], 30);
        assert!(!d.grounded, "walked off the edge and is falling");
        assert!(mover.feet_of(d.center).y < -0.5, "{}", d.center.y);
    }

    #[test]
    fn walkers_push_a_prop_in_their_way() {
        let (mut rapier, mover) = floor_wall_crate();
        let mut c = avatar_at(&mut rapier, &mover, Vec3::new(-1.0, 0.0, 0.0));
        walk(&mut rapier, &mover, &mut c, [-0.2, 0.0], 40);
        let prop = rapier
            .bodies
            .iter()
            .find(|(_, b)| b.is_dynamic())
            .map(|(_, b)| b.translation())
            .expect("the crate");
        assert!(prop.x < -3.2, "the crate was pushed west: {}", prop.x);
    }
}
