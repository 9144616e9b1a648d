//! The physics scene of `benches/benches/physics.rs` and the
//! `physics-report` binary, built twice: once as ECS entities stepped by the
//! gsp-physics systems ([`EcsScene`]), once as the same rapier world stepped
//! by hand ([`BareScene`]).
//!
//! The scene: a 200 m square floor inside four walls; on a grid with 4 m
//! between points (a 180 m square), 1,000 dynamic props (balls and crates,
//! every other one) and 1,000 avatars between them. Every avatar walks at 6 m/s in a
//! direction that turns 0.6 rad/s, so it circles about 20 m across, through
//! props and past other avatars. Each step is the same work in both: steer
//! the avatars, move each with the character controller (gravity, slopes,
//! steps, pushing props; avatars kept apart by the crowd pass), one rapier
//! step, then read back every awake
//! prop's pose and velocity and every avatar's feet, velocity and facing.
//! The ECS version does it through queries and components; the bare one
//! through `Vec`s.
//!
//! The crowd scenes ([`Scene::PACKED`], [`Scene::SPREAD`]) measure what
//! crowding costs: 1,000 avatars and 100 props packed into one 20 m room,
//! walking the same way, against the same crowd spread over the 200 m
//! field. Avatars enter through the engine's placement (free spots around
//! where they are put), and keep apart through the crowd pass, not rapier's
//! shape casts, so packing them should cost about what spreading them does.

use bevy_ecs::prelude::*;
use gsp_engine::components::{
    Avatar, MoveIntent, Position, Replicated, Rotation, TickTime, Velocity, WorldConfig,
    KIND_AVATAR, KIND_PROP,
};
use gsp_engine::{Body, SessionId, Shape, TickStage, Vec3, WorldEvents, WorldMap};
use gsp_physics::character::{Character, CharacterMover};
use gsp_physics::mover::CrowdMoves;
use gsp_physics::PhysicsSettings;
use gsp_protocol::movement::walk_direction;
use rapier3d::prelude::*;

/// Dynamic props in the field scene.
pub const PROPS: usize = 1000;
/// Avatars in the field scene.
pub const AVATARS: usize = 1000;
/// Ticks per second.
pub const TICK_RATE: u16 = 30;

/// A scene: a square walled room and what stands in it on a grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scene {
    /// Half the room's side, metres.
    pub half_size: f32,
    /// Between grid points, metres.
    pub spacing: f32,
    /// Dynamic props.
    pub props: usize,
    /// Avatars.
    pub avatars: usize,
}

impl Scene {
    /// The physics benchmark's scene: 1,000 props and 1,000 avatars 4 m
    /// apart on a 200 m field.
    pub const FIELD: Scene = Scene {
        half_size: 100.0,
        spacing: 4.0,
        props: PROPS,
        avatars: AVATARS,
    };
    /// 1,000 avatars and 100 props in one 20 m room, about 0.55 m apart:
    /// closer than two avatars fit, so placement spreads them to the walls.
    pub const PACKED: Scene = Scene {
        half_size: 10.0,
        spacing: 0.55,
        props: 100,
        avatars: 1000,
    };
    /// The packed scene's avatars and props, 5.5 m apart on the 200 m field.
    pub const SPREAD: Scene = Scene {
        half_size: 100.0,
        spacing: 5.5,
        props: 100,
        avatars: 1000,
    };
}

/// The scene's map: one room, its floor and four walls.
pub fn scene_map() -> WorldMap {
    map_of(&Scene::FIELD)
}

fn map_of(scene: &Scene) -> WorldMap {
    let h = scene.half_size;
    WorldMap::from_toml(&format!(
        r#"
[[room]]
key = "field"
title = "The Field"
min = [{lo}, 0, {lo}]
max = [{h}, 20, {h}]

[[solid]]
kind = "box"
min = [{lo}, -0.5, {lo}]
max = [{h}, 0, {h}]

[[solid]]
kind = "box"
min = [{lo}, -0.5, {lo}]
max = [{lo2}, 4, {h}]

[[solid]]
kind = "box"
min = [{h2}, -0.5, {lo}]
max = [{h}, 4, {h}]

[[solid]]
kind = "box"
min = [{lo}, -0.5, {lo}]
max = [{h}, 4, {lo2}]

[[solid]]
kind = "box"
min = [{lo}, -0.5, {h2}]
max = [{h}, 4, {h}]
"#,
        lo = -h,
        lo2 = -h + 0.5,
        h2 = h - 0.5,
    ))
    .expect("the scene's map is valid")
}

/// What sits at grid point `i`: (is it a prop, where). Props take every
/// other point while they last.
fn layout(scene: &Scene) -> Vec<(bool, Vec3)> {
    let n = scene.props + scene.avatars;
    let side = (n as f32).sqrt().ceil() as usize;
    let origin = -(side as f32 - 1.0) * scene.spacing / 2.0;
    let mut props = 0;
    (0..n)
        .map(|i| {
            let (row, col) = (i / side, i % side);
            let at = Vec3::new(
                origin + col as f32 * scene.spacing,
                0.0,
                origin + row as f32 * scene.spacing,
            );
            let prop =
                (row + col).is_multiple_of(2) && props < scene.props || i >= scene.avatars + props;
            props += usize::from(prop);
            (prop, at)
        })
        .collect()
}

/// The shape of the `k`th prop: balls and crates in turn.
fn prop_shape(k: usize) -> Shape {
    if k.is_multiple_of(2) {
        Shape::Ball { radius: 0.3 }
    } else {
        Shape::Cuboid {
            half: Vec3::new(0.3, 0.3, 0.3),
        }
    }
}

/// Where avatar `i` walks at `tick`: a direction turning slowly.
pub fn steering(i: usize, tick: u64) -> [f32; 2] {
    let angle = i as f32 * 2.399_963 + tick as f32 * 0.02;
    [angle.cos(), angle.sin()]
}

fn tick_time(tick: u64) -> TickTime {
    TickTime {
        tick,
        dt: 1.0 / f32::from(TICK_RATE),
        rate: TICK_RATE,
    }
}

/// Sets every avatar's intent for this tick, as the engine's input stage does.
fn steer(time: Res<TickTime>, mut avatars: Query<(&Avatar, &mut MoveIntent)>) {
    for (avatar, mut intent) in &mut avatars {
        let [x, z] = steering(avatar.session.0 as usize, time.tick);
        intent.x = x;
        intent.z = z;
    }
}

/// The scene as ECS entities, stepped by the gsp-physics systems.
pub struct EcsScene {
    /// The ECS world.
    pub world: World,
    schedule: Schedule,
}

impl EcsScene {
    /// The field scene, avatars and props spawned (their bodies are made on
    /// the first step).
    pub fn new() -> EcsScene {
        EcsScene::of(&Scene::FIELD)
    }

    /// `scene`, avatars and props spawned (their bodies are made on the
    /// first step).
    pub fn of(scene: &Scene) -> EcsScene {
        let mut world = World::new();
        world.insert_resource(tick_time(0));
        world.insert_resource(WorldConfig::default());
        world.insert_resource(map_of(scene));
        world.insert_resource(WorldEvents::default());
        gsp_physics::insert_resources(&mut world, PhysicsSettings::default());
        let mut schedule = Schedule::default();
        schedule.set_executor(bevy_ecs::schedule::SingleThreadedExecutor::new());
        schedule.add_systems(steer.before(TickStage::Simulate));
        gsp_physics::add_systems(&mut schedule);
        let (mut props, mut avatars) = (0, 0);
        for (is_prop, at) in layout(scene) {
            if is_prop {
                let shape = prop_shape(props);
                world.spawn((
                    Position(Vec3::new(at.x, 0.31, at.z)),
                    Rotation::default(),
                    Velocity::default(),
                    Replicated::new(KIND_PROP),
                    Body::dynamic(shape),
                ));
                props += 1;
            } else {
                world.spawn((
                    Avatar {
                        name: format!("a{avatars}"),
                        session: SessionId(avatars as u64),
                    },
                    Position(at),
                    Rotation::default(),
                    Velocity::default(),
                    Replicated::new(KIND_AVATAR),
                    MoveIntent::default(),
                ));
                avatars += 1;
            }
        }
        EcsScene { world, schedule }
    }

    /// One tick.
    pub fn step(&mut self) {
        self.schedule.run(&mut self.world);
        self.world.resource_mut::<TickTime>().tick += 1;
        self.world.clear_trackers();
    }

    /// How many avatars the last tick left at rest, moved on open floor,
    /// and moved through the character controller.
    pub fn move_paths(&self) -> [usize; 3] {
        self.world.resource::<gsp_physics::Physics>().move_paths()
    }

    /// Rapier bodies.
    pub fn body_count(&self) -> usize {
        self.world.resource::<gsp_physics::Physics>().body_count()
    }

    /// The closest two avatars' capsule centres come, horizontally, among
    /// those at about the same height (metres).
    pub fn closest_avatars(&mut self) -> f32 {
        let mut q = self.world.query_filtered::<&Position, With<Avatar>>();
        let at: Vec<Vec3> = q.iter(&self.world).map(|p| p.0).collect();
        let mut closest = f32::MAX;
        for (i, a) in at.iter().enumerate() {
            for b in &at[i + 1..] {
                if (a.y - b.y).abs() < 1.8 {
                    closest = closest.min(((a.x - b.x).powi(2) + (a.z - b.z).powi(2)).sqrt());
                }
            }
        }
        closest
    }
}

impl Default for EcsScene {
    fn default() -> Self {
        EcsScene::new()
    }
}

/// The same scene in rapier alone, with the same per-step work.
pub struct BareScene {
    /// Rapier's world.
    pub rapier: PhysicsWorld,
    mover: CharacterMover,
    characters: Vec<Character>,
    collisions: Vec<rapier3d::control::CharacterCollision>,
    crowd: CrowdMoves,
    tick: u64,
    /// Each avatar's feet, velocity and facing after the last step.
    pub avatars: Vec<(Vec3, Vec3, [f32; 4])>,
    /// Each prop's body, and its position, rotation and velocity after the
    /// last step it moved.
    pub props: Vec<(RigidBodyHandle, Vec3, [f32; 4], Vec3)>,
}

impl BareScene {
    /// The scene, bodies made.
    pub fn new() -> BareScene {
        let dt = 1.0 / f32::from(TICK_RATE);
        let settings = PhysicsSettings::default();
        let mut rapier = PhysicsWorld::new();
        rapier.gravity = Vector::new(0.0, -settings.gravity, 0.0);
        rapier.integration_parameters.dt = dt;
        for solid in &scene_map().solids {
            let (c, h, q) = (solid.center, solid.half, solid.rotation);
            rapier.insert_collider(
                ColliderBuilder::cuboid(h.x, h.y, h.z).position(Pose::from_parts(
                    Vector::new(c.x, c.y, c.z),
                    rapier3d::math::Rotation::from_xyzw(q[0], q[1], q[2], q[3]),
                )),
                None,
            );
        }
        let mover = CharacterMover::new(settings);
        let (mut characters, mut props) = (Vec::new(), Vec::new());
        for (is_prop, at) in layout(&Scene::FIELD) {
            if is_prop {
                let body = Body::dynamic(prop_shape(props.len()));
                let collider = match body.shape {
                    Shape::Ball { radius } => ColliderBuilder::ball(radius),
                    Shape::Cuboid { half } => ColliderBuilder::cuboid(half.x, half.y, half.z),
                    Shape::Capsule { .. } => unreachable!("no capsules in the scene"),
                }
                .density(body.density)
                .friction(body.friction)
                .restitution(body.restitution);
                let (handle, _) = rapier.insert(
                    RigidBodyBuilder::dynamic()
                        .translation(Vector::new(at.x, 0.31, at.z))
                        .user_data(props.len() as u128),
                    collider,
                );
                props.push((handle, Vec3::ZERO, [0.0, 0.0, 0.0, 1.0], Vec3::ZERO));
            } else {
                let center = mover.center_of(at);
                let (body, collider) = rapier.insert(
                    RigidBodyBuilder::kinematic_velocity_based().translation(center),
                    mover.avatar_collider(),
                );
                characters.push(Character::new(body, collider, center));
            }
        }
        BareScene {
            avatars: vec![(Vec3::ZERO, Vec3::ZERO, [0.0, 0.0, 0.0, 1.0]); characters.len()],
            rapier,
            mover,
            characters,
            collisions: Vec::new(),
            crowd: CrowdMoves::new(),
            tick: 0,
            props,
        }
    }

    /// One tick.
    pub fn step(&mut self) {
        self.step_timed();
    }

    /// One tick, and how long its parts took: moving the avatars with the
    /// character controller, the rapier step, reading back.
    pub fn step_timed(&mut self) -> [std::time::Duration; 3] {
        let start = std::time::Instant::now();
        let dt = 1.0 / f32::from(TICK_RATE);
        let stride = WorldConfig::default().walk_speed * dt;
        self.crowd.clear();
        for (i, c) in self.characters.iter().enumerate() {
            let walk = walk_direction(steering(i, self.tick));
            self.crowd.add(
                c,
                walk.map_or([0.0, 0.0], |[x, z]| [x * stride, z * stride]),
            );
        }
        let steps = self.crowd.solve(&self.mover);
        for (i, (c, &step)) in self.characters.iter_mut().zip(steps).enumerate() {
            let walk = walk_direction(steering(i, self.tick));
            let moved =
                self.mover
                    .move_character(&mut self.rapier, c, step, dt, &mut self.collisions);
            let out = &mut self.avatars[i];
            out.0 = self.mover.feet_of(c.center);
            out.1 = Vec3::new(moved.x / dt, moved.y / dt, moved.z / dt);
            if let Some([x, z]) = walk {
                out.2 = gsp_engine::components::Rotation::from_yaw(x.atan2(z)).0;
            }
        }
        let moved = start.elapsed();
        self.rapier.step();
        self.mover
            .stop_all(&mut self.rapier, self.characters.iter());
        let stepped = start.elapsed();
        // Read back what moved, as the ECS version writes it back.
        for handle in self.rapier.islands.active_bodies() {
            let rb = &self.rapier.bodies[handle];
            if !rb.is_dynamic() {
                continue;
            }
            // A prop's body holds its index, as an ECS one holds its entity.
            if let Some(p) = self.props.get_mut(rb.user_data as usize) {
                let t = rb.translation();
                let v = rb.linvel();
                p.1 = Vec3::new(t.x, t.y, t.z);
                p.2 = rb.rotation().to_array();
                p.3 = Vec3::new(v.x, v.y, v.z);
            }
        }
        self.tick += 1;
        [moved, stepped - moved, start.elapsed() - stepped]
    }

    /// Rapier bodies.
    pub fn body_count(&self) -> usize {
        self.rapier.bodies.len()
    }
}

impl Default for BareScene {
    fn default() -> Self {
        BareScene::new()
    }
}
