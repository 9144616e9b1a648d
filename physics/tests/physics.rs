//! Physics in a world stepped by hand: sessions join through the world's
//! handle and walk with inputs, as gateways would, without sockets.

use bevy_ecs::prelude::*;
use gsp_engine::components::{
    Avatar, CurrentRoom, Position, Replicated, Rotation, Velocity, KIND_PROP,
};
use gsp_engine::{
    Body, GameWorld, GatewayKind, MoveInput, Outbound, Sensor, Session, Shape, TextEvent,
    TickStage, Vec3, WorldConfig, WorldEvent, WorldEvents, WorldMap,
};
use gsp_physics::Physics;

struct Harness {
    world: GameWorld,
    sequence: u32,
}

impl Harness {
    fn new() -> Harness {
        let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
        gsp_physics::install(&mut world);
        Harness { world, sequence: 0 }
    }

    fn join(&mut self, name: &str, kind: GatewayKind) -> (Session, Entity) {
        let session = self.world.join_stepping(name, kind).expect("join");
        let entity = self.avatar(name);
        (session, entity)
    }

    fn avatar(&mut self, name: &str) -> Entity {
        let ecs = self.world.world_mut();
        let mut q = ecs.query::<(Entity, &Avatar)>();
        q.iter(ecs)
            .find(|(_, a)| a.name == name)
            .map(|(e, _)| e)
            .expect("an avatar of that name")
    }

    fn position(&self, entity: Entity) -> Vec3 {
        self.world.world().get::<Position>(entity).unwrap().0
    }

    fn room(&self, entity: Entity) -> Option<String> {
        let room = self.world.world().get::<CurrentRoom>(entity)?.0?;
        Some(
            self.world
                .world()
                .resource::<WorldMap>()
                .room(room)
                .key
                .clone(),
        )
    }

    /// Writes `entity`'s position from outside physics, as a mod would.
    fn teleport(&mut self, entity: Entity, to: Vec3) {
        self.world
            .world_mut()
            .get_mut::<Position>(entity)
            .unwrap()
            .0 = to;
    }

    /// One tick with `session` walking `[x, z]`.
    fn walk(&mut self, session: &Session, x: f32, z: f32) {
        self.sequence += 1;
        session.sender.input(MoveInput {
            sequence: self.sequence,
            move_x: x,
            move_z: z,
        });
        self.world.step();
    }

    fn steps(&mut self, n: usize) {
        for _ in 0..n {
            self.world.step();
        }
    }

    fn spawn_prop(&mut self, at: Vec3, shape: Shape) -> Entity {
        self.world
            .world_mut()
            .spawn((
                Position(at),
                Rotation::default(),
                Velocity::default(),
                Replicated::new(KIND_PROP),
                Body::dynamic(shape),
            ))
            .id()
    }

    fn listen(&mut self) {
        self.world
            .world_mut()
            .resource_mut::<WorldEvents>()
            .listening = true;
    }

    fn triggers(&mut self) -> Vec<(String, Entity, bool)> {
        let mut events = self.world.world_mut().resource_mut::<WorldEvents>();
        std::mem::take(&mut events.queue)
            .into_iter()
            .filter_map(|e| match e {
                WorldEvent::Trigger {
                    name,
                    other,
                    entered,
                    ..
                } => Some((name, other, entered)),
                _ => None,
            })
            .collect()
    }

    fn body_count(&self) -> usize {
        self.world.world().resource::<Physics>().body_count()
    }
}

const RADIUS: f32 = 0.35;

fn texts(session: &mut Session) -> Vec<TextEvent> {
    let mut out = Vec::new();
    while let Ok(m) = session.receiver.try_recv() {
        if let Outbound::Text(t) = m {
            out.push(t);
        }
    }
    out
}

#[test]
fn flat_walking_moves_exactly_what_clients_predict() {
    let mut h = Harness::new();
    let (s, me) = h.join("pat", GatewayKind::Quic);
    h.steps(2);
    let step = 6.0 / 30.0;
    let mut at = h.position(me);
    assert_eq!(at, Vec3::ZERO, "joined at the plaza's anchor, on the floor");
    for (x, z) in [(1.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (-0.3, 0.4)] {
        h.walk(&s, x, z);
        let now = h.position(me);
        let [dx, dz] = gsp_protocol::movement::walk_direction([x, z]).unwrap();
        let expected = at + Vec3::new(dx, 0.0, dz) * step;
        assert!(
            (now.x - expected.x).abs() < 1e-4 && (now.z - expected.z).abs() < 1e-4,
            "{at:?} + {x},{z} -> {now:?}, expected {expected:?}"
        );
        assert_eq!(now.y, 0.0, "level ground keeps the height exactly");
        let v = h.world.world().get::<Velocity>(me).unwrap().0;
        assert!(
            (v.x - dx * 6.0).abs() < 1e-2 && (v.z - dz * 6.0).abs() < 1e-2,
            "{v:?}"
        );
        at = now;
    }
    // No input: no movement, no velocity.
    h.steps(3);
    assert_eq!(h.position(me), at);
    assert_eq!(h.world.world().get::<Velocity>(me).unwrap().0, Vec3::ZERO);
}

#[test]
fn walls_stop_avatars_and_doorways_let_them_through() {
    let mut h = Harness::new();
    let (s, me) = h.join("wally", GatewayKind::Quic);
    // West into the town wall (its inner face at x = -10).
    h.teleport(me, Vec3::new(-6.0, 0.0, 0.0));
    for _ in 0..60 {
        h.walk(&s, -1.0, 0.0);
    }
    let p = h.position(me);
    assert!(
        (p.x - (-10.0 + RADIUS)).abs() < 0.05,
        "stopped at the wall: {p:?}"
    );
    assert_eq!(h.room(me).as_deref(), Some("plaza"));
    // North at x = -5 into the tavern's front wall (its face at z = 9.75)...
    h.teleport(me, Vec3::new(-5.0, 0.0, 5.0));
    for _ in 0..60 {
        h.walk(&s, 0.0, 1.0);
    }
    let p = h.position(me);
    assert!((p.z - (9.75 - RADIUS)).abs() < 0.05, "{p:?}");
    assert_eq!(h.room(me).as_deref(), Some("plaza"));
    // ...and at x = 0 through its door.
    h.teleport(me, Vec3::new(0.0, 0.0, 5.0));
    for _ in 0..40 {
        h.walk(&s, 0.0, 1.0);
    }
    let p = h.position(me);
    assert!(p.z > 11.0 && p.y == 0.0, "{p:?}");
    assert_eq!(h.room(me).as_deref(), Some("tavern"));
}

#[test]
fn avatars_cannot_walk_through_each_other() {
    let mut h = Harness::new();
    let (a, ann) = h.join("ann", GatewayKind::Quic);
    let (b, bob) = h.join("bob", GatewayKind::Quic);
    h.teleport(ann, Vec3::new(0.0, 0.0, -3.0));
    h.teleport(bob, Vec3::new(0.0, 0.0, 3.0));
    h.steps(1);
    let mut closest = f32::MAX;
    for _ in 0..60 {
        // Head on: both walk towards the other.
        a.sender.input(MoveInput {
            sequence: h.sequence + 1,
            move_x: 0.0,
            move_z: 1.0,
        });
        h.walk(&b, 0.0, -1.0);
        let (pa, pb) = (h.position(ann), h.position(bob));
        let d = ((pa.x - pb.x).powi(2) + (pa.z - pb.z).powi(2)).sqrt();
        closest = closest.min(d);
    }
    // Each is checked against where the other stood at the start of the
    // tick, so walking into each other in the same tick they can overlap by
    // up to one tick's walk (0.2 m), and no further.
    assert!(
        closest > 2.0 * RADIUS - 0.2 - 0.01,
        "they overlapped: {closest}"
    );
    assert!(closest < 2.0 * RADIUS + 0.3, "they met: {closest}");
    assert!(
        h.position(bob).z > h.position(ann).z,
        "nobody passed through"
    );
}

#[test]
fn gravity_brings_an_avatar_down_to_the_floor_and_it_stays() {
    let mut h = Harness::new();
    let (_s, me) = h.join("fay", GatewayKind::Quic);
    h.teleport(me, Vec3::new(3.0, 5.0, 3.0));
    h.steps(1);
    assert!(
        h.position(me).y > 4.9,
        "teleported up: {:?}",
        h.position(me)
    );
    h.steps(3);
    assert!(h.position(me).y < 4.95, "falling: {:?}", h.position(me));
    assert!(h.world.world().get::<Velocity>(me).unwrap().0.y < -0.5);
    h.steps(60);
    let landed = h.position(me);
    assert_eq!(landed.y, 0.0, "{landed:?}");
    assert!((landed.x - 3.0).abs() < 1e-4 && (landed.z - 3.0).abs() < 1e-4);
    h.steps(30);
    assert_eq!(h.position(me), landed, "stays on the floor");
    assert_eq!(h.room(me).as_deref(), Some("plaza"));
}

#[test]
fn walking_up_the_market_ramp_onto_the_platform() {
    let mut h = Harness::new();
    let (s, me) = h.join("rae", GatewayKind::Quic);
    h.teleport(me, Vec3::new(13.0, 0.0, 5.0));
    let mut heights = Vec::new();
    for _ in 0..60 {
        h.walk(&s, 1.0, 0.0);
        heights.push(h.position(me).y);
    }
    let p = h.position(me);
    // The ramp rises from x = 16 to the 1.5 m platform at x = 22.
    assert!(p.x > 23.0, "{p:?}");
    assert!((p.y - 1.5).abs() < 0.02, "on the platform: {p:?}");
    assert!(
        heights.windows(2).all(|w| w[1] >= w[0] - 0.02),
        "climbing, never falling: {heights:?}"
    );
    assert_eq!(h.room(me).as_deref(), Some("market"));
}

#[test]
fn the_stairs_lead_down_to_the_cellar_and_back_up() {
    let mut h = Harness::new();
    let (s, me) = h.join("stu", GatewayKind::Quic);
    // The landing at the top of the stairs, in the tavern's north-east corner.
    h.teleport(me, Vec3::new(8.5, 0.0, 29.2));
    h.steps(1);
    assert_eq!(h.room(me).as_deref(), Some("tavern"));
    let mut lowest = 0.0f32;
    for _ in 0..100 {
        h.walk(&s, 0.0, -1.0);
        lowest = lowest.min(h.position(me).y);
    }
    let p = h.position(me);
    assert_eq!(p.y, -10.0, "on the cellar floor: {p:?}");
    assert!(p.z < 14.0, "past the bottom step: {p:?}");
    assert_eq!(lowest, -10.0);
    assert_eq!(h.room(me).as_deref(), Some("cellar"));
    // Back up: the controller steps up each 0.25 m riser.
    h.teleport(me, Vec3::new(8.5, -10.0, 12.0));
    for _ in 0..100 {
        h.walk(&s, 0.0, 1.0);
    }
    let p = h.position(me);
    assert_eq!(p.y, 0.0, "back on the tavern floor: {p:?}");
    assert!(p.z > 28.0, "{p:?}");
    assert_eq!(h.room(me).as_deref(), Some("tavern"));
}

#[test]
fn walking_avatars_push_crates_and_balls() {
    let mut h = Harness::new();
    let (s, me) = h.join("pip", GatewayKind::Quic);
    h.teleport(me, Vec3::new(-5.0, 0.0, -5.0));
    let crate_ = h.spawn_prop(
        Vec3::new(-5.0, 0.4, -3.0),
        Shape::Cuboid {
            half: Vec3::new(0.4, 0.4, 0.4),
        },
    );
    let ball = h.spawn_prop(Vec3::new(5.0, 0.3, -3.0), Shape::Ball { radius: 0.3 });
    h.steps(20);
    let crate_start = h.position(crate_);
    let ball_start = h.position(ball);
    assert!((crate_start.y - 0.4).abs() < 0.02, "{crate_start:?}");
    for _ in 0..45 {
        h.walk(&s, 0.0, 1.0);
    }
    let crate_end = h.position(crate_);
    assert!(
        crate_end.z > crate_start.z + 1.0,
        "pushed north: {crate_start:?} -> {crate_end:?}"
    );
    assert!(
        h.position(me).z < crate_end.z,
        "the avatar stayed behind it"
    );
    // The ball, from the side.
    h.teleport(me, Vec3::new(3.0, 0.0, -3.0));
    for _ in 0..20 {
        h.walk(&s, 1.0, 0.0);
    }
    let ball_end = h.position(ball);
    assert!(
        ball_end.x > ball_start.x + 0.5,
        "pushed east: {ball_start:?} -> {ball_end:?}"
    );
}

/// Counts, in the rules stage, props whose `Position` is marked changed.
#[derive(Resource, Default)]
struct MarkedChanged(usize);

fn count_marked(mut n: ResMut<MarkedChanged>, q: Query<(), (With<Body>, Changed<Position>)>) {
    n.0 += q.iter().count();
}

#[test]
fn outside_writes_reach_rapier_and_physics_writes_are_not_mistaken_for_them() {
    let mut h = Harness::new();
    h.world.world_mut().init_resource::<MarkedChanged>();
    h.world
        .schedule_mut()
        .add_systems(count_marked.in_set(TickStage::Rules));
    let bodies_before = h.body_count();
    let ball = h.spawn_prop(Vec3::new(0.0, 3.0, 5.0), Shape::Ball { radius: 0.25 });
    h.steps(1);
    assert_eq!(h.body_count(), bodies_before + 1);
    h.world.world_mut().resource_mut::<MarkedChanged>().0 = 0;
    // It falls: physics writes its position every tick, unmarked.
    h.steps(60);
    let rest = h.position(ball);
    assert!((rest.y - 0.25).abs() < 0.02, "{rest:?}");
    assert_eq!(h.world.world().resource::<MarkedChanged>().0, 0);
    // A mod moves it.
    h.teleport(ball, Vec3::new(4.0, 2.0, -4.0));
    h.steps(1);
    let p = h.position(ball);
    assert!(
        (p.x - 4.0).abs() < 0.05 && (p.z + 4.0).abs() < 0.05 && p.y > 1.8,
        "teleported: {p:?}"
    );
    h.steps(60);
    let p = h.position(ball);
    assert!(
        (p.y - 0.25).abs() < 0.02 && (p.x - 4.0).abs() < 0.1,
        "{p:?}"
    );
    // A mod throws it upwards.
    h.world.world_mut().get_mut::<Velocity>(ball).unwrap().0 = Vec3::new(0.0, 5.0, 0.0);
    h.steps(5);
    assert!(h.position(ball).y > 0.8, "{:?}", h.position(ball));
    // A mod despawns it: its body goes too.
    h.world.world_mut().despawn(ball);
    h.steps(1);
    assert_eq!(h.body_count(), bodies_before);
}

#[test]
fn sensors_raise_trigger_events_for_balls_and_avatars() {
    let mut h = Harness::new();
    h.listen();
    let (s, me) = h.join("tia", GatewayKind::Quic);
    h.teleport(me, Vec3::new(0.0, 0.0, 0.0));
    // A gate across the walk north, and a hoop in the air the ball drops through.
    let gate = h
        .world
        .world_mut()
        .spawn((
            Position(Vec3::new(0.0, 1.0, 3.0)),
            Sensor {
                name: "gate".into(),
                shape: Shape::Cuboid {
                    half: Vec3::new(1.0, 1.0, 0.25),
                },
            },
        ))
        .id();
    h.world.world_mut().spawn((
        Position(Vec3::new(5.0, 3.0, 5.0)),
        Sensor {
            name: "hoop".into(),
            shape: Shape::Cuboid {
                half: Vec3::new(0.5, 0.25, 0.5),
            },
        },
    ));
    let ball = h.spawn_prop(Vec3::new(5.0, 6.0, 5.0), Shape::Ball { radius: 0.2 });
    h.steps(2);
    h.triggers();
    // The avatar walks through the gate.
    for _ in 0..30 {
        h.walk(&s, 0.0, 1.0);
    }
    let seen = h.triggers();
    let mine: Vec<_> = seen.iter().filter(|t| t.1 == me).cloned().collect();
    assert_eq!(
        mine,
        vec![
            ("gate".to_string(), me, true),
            ("gate".to_string(), me, false)
        ],
        "{seen:?}"
    );
    let balls: Vec<_> = seen.iter().filter(|t| t.1 == ball).cloned().collect();
    assert_eq!(
        balls,
        vec![
            ("hoop".to_string(), ball, true),
            ("hoop".to_string(), ball, false)
        ],
        "{seen:?}"
    );
    // A ball despawned while inside a sensor leaves it.
    let inside = h.spawn_prop(Vec3::new(0.0, 1.0, 3.0), Shape::Ball { radius: 0.2 });
    h.steps(1);
    assert_eq!(h.triggers(), vec![("gate".to_string(), inside, true)]);
    h.world.world_mut().despawn(inside);
    h.steps(1);
    assert_eq!(h.triggers(), vec![("gate".to_string(), inside, false)]);
    // Removing the sensor removes its collider.
    let physics = h.world.world().resource::<Physics>();
    assert!(physics.sensor_of(gate).is_some());
    let colliders = physics.collider_count();
    h.world.world_mut().despawn(gate);
    h.steps(1);
    assert_eq!(
        h.world.world().resource::<Physics>().collider_count(),
        colliders - 1
    );
}

#[test]
fn go_puts_text_players_at_the_room_anchor_and_they_stay() {
    let mut h = Harness::new();
    let (mut tess, t) = h.join("tess", GatewayKind::Telnet);
    let (tom_s, tom) = h.join("tom", GatewayKind::Telnet);
    let anchor = Vec3::new(-4.0, 0.0, 18.0);
    tess.sender.command("north").unwrap();
    h.steps(1);
    assert_eq!(h.position(t), anchor);
    assert_eq!(h.room(t).as_deref(), Some("tavern"));
    h.steps(60);
    assert_eq!(h.position(t), anchor, "standing, not falling");
    // A second player arriving finds the spot taken and stands next to it.
    tom_s.sender.command("north").unwrap();
    h.steps(3);
    let p = h.position(tom);
    let apart = ((p.x - anchor.x).powi(2) + (p.z - anchor.z).powi(2)).sqrt();
    assert!((2.0 * RADIUS..2.0).contains(&apart), "{p:?}");
    assert_eq!(p.y, 0.0);
    assert_eq!(h.room(tom).as_deref(), Some("tavern"));
    // Down to the cellar floor, 10 m below, and it holds.
    tess.sender.command("down").unwrap();
    h.steps(30);
    assert_eq!(h.position(t), Vec3::new(0.0, -10.0, 20.0));
    assert_eq!(h.room(t).as_deref(), Some("cellar"));
    let heard = texts(&mut tess);
    assert!(
        heard
            .iter()
            .any(|e| matches!(e, TextEvent::Room(v) if v.key == "cellar")),
        "{heard:?}"
    );
}

#[test]
fn players_joining_together_do_not_stand_inside_each_other() {
    let mut h = Harness::new();
    let names = ["aa", "bb", "cc", "dd", "ee", "ff", "gg"];
    let joined: Vec<(Session, Entity)> =
        names.iter().map(|n| h.join(n, GatewayKind::Quic)).collect();
    let avatars: Vec<Entity> = joined.iter().map(|j| j.1).collect();
    h.steps(2);
    let at: Vec<Vec3> = avatars.iter().map(|&e| h.position(e)).collect();
    assert_eq!(at[0], Vec3::ZERO, "the first stands on the anchor");
    for (i, a) in at.iter().enumerate() {
        assert_eq!(a.y, 0.0);
        for b in &at[i + 1..] {
            let d = ((a.x - b.x).powi(2) + (a.z - b.z).powi(2)).sqrt();
            assert!(d >= 2.0 * RADIUS - 1e-3, "{at:?}");
        }
    }
    for &e in &avatars {
        assert_eq!(h.room(e).as_deref(), Some("plaza"));
    }
}

#[test]
fn walking_through_the_tavern_door_is_seen_by_text_players_there() {
    let mut h = Harness::new();
    let (mut tess, _) = h.join("tess", GatewayKind::Telnet);
    tess.sender.command("north").unwrap();
    h.steps(1);
    texts(&mut tess);
    let (quinn, q) = h.join("quinn", GatewayKind::Quic);
    h.teleport(q, Vec3::new(0.0, 0.0, 0.0));
    for _ in 0..60 {
        h.walk(&quinn, 0.0, 1.0);
    }
    let heard = texts(&mut tess);
    assert!(
        heard.iter().any(|e| matches!(e,
            TextEvent::Arrived { name, from: Some(gsp_engine::Direction::South), .. }
                if name == "quinn")),
        "{heard:?}"
    );
    assert_eq!(h.room(q).as_deref(), Some("tavern"));
    // And leaving, avatar and body both go.
    let bodies = h.body_count();
    drop(quinn);
    h.steps(2);
    assert_eq!(h.body_count(), bodies - 1);
}

/// The smallest distance between two of `at` that overlap in height.
fn closest_pair(at: &[Vec3]) -> f32 {
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

#[test]
fn a_crowd_of_200_joins_apart_walks_away_and_nobody_passes_through() {
    let mut h = Harness::new();
    let crowd: Vec<(Session, Entity)> = (0..200)
        .map(|i| h.join(&format!("p{i}"), GatewayKind::Quic))
        .collect();
    h.steps(2);
    let start: Vec<Vec3> = crowd.iter().map(|&(_, e)| h.position(e)).collect();
    assert!(
        closest_pair(&start) >= 2.0 * RADIUS - 1e-3,
        "joins overlap: {}",
        closest_pair(&start)
    );
    for &(_, e) in &crowd {
        assert_eq!(h.room(e).as_deref(), Some("plaza"));
    }
    // Everyone walks straight away from the spawn point for 20 ticks (4 m).
    let away: Vec<[f32; 2]> = start
        .iter()
        .map(|p| {
            let len = (p.x * p.x + p.z * p.z).sqrt();
            if len < 1e-3 {
                [0.0, 1.0]
            } else {
                [p.x / len, p.z / len]
            }
        })
        .collect();
    let mut before = start.clone();
    let mut closest = f32::MAX;
    for _ in 0..20 {
        h.sequence += 1;
        for ((s, _), [x, z]) in crowd.iter().zip(&away) {
            s.sender.input(MoveInput {
                sequence: h.sequence,
                move_x: *x,
                move_z: *z,
            });
        }
        h.world.step();
        let now: Vec<Vec3> = crowd.iter().map(|&(_, e)| h.position(e)).collect();
        closest = closest.min(closest_pair(&now));
        // Nobody went through anybody: the line between any two points the
        // same way it did a tick ago.
        for i in 0..now.len() {
            for j in i + 1..now.len() {
                let was = (before[i].x - before[j].x, before[i].z - before[j].z);
                let is = (now[i].x - now[j].x, now[i].z - now[j].z);
                assert!(
                    was.0 * is.0 + was.1 * is.1 > 0.0,
                    "{i} and {j} passed through each other"
                );
            }
        }
        before = now;
    }
    // Avatars are kept apart where each expects to go: when a wall stops
    // one in the tick that another reaches it, they overlap by up to one
    // tick's walk (0.2 m) for that tick, and no further.
    assert!(
        closest > 2.0 * RADIUS - 0.2 - 0.01,
        "two avatars overlapped: {closest}"
    );
    for (i, (p0, p1)) in start.iter().zip(&before).enumerate() {
        let d = ((p1.x - p0.x).powi(2) + (p1.z - p0.z).powi(2)).sqrt();
        assert!(d > 2.0, "avatar {i} could not walk away: {d} m from {p0:?}");
    }
}

#[test]
fn a_walker_stops_at_a_bystander_and_does_not_shove_it() {
    let mut h = Harness::new();
    let (_a, ann) = h.join("ann", GatewayKind::Quic);
    let (b, bob) = h.join("bob", GatewayKind::Quic);
    h.teleport(ann, Vec3::new(0.0, 0.0, 3.0));
    h.teleport(bob, Vec3::new(0.0, 0.0, -3.0));
    h.steps(2);
    let stands = h.position(ann);
    for _ in 0..60 {
        h.walk(&b, 0.0, 1.0);
    }
    let (pa, pb) = (h.position(ann), h.position(bob));
    assert_eq!(pa, stands, "the bystander was not moved");
    let d = pa.z - pb.z;
    assert!(d > 2.0 * RADIUS - 0.01 && d < 2.0 * RADIUS + 0.05, "{d}");
}

#[test]
fn avatars_put_on_top_of_each_other_are_parted() {
    let mut h = Harness::new();
    let (_a, ann) = h.join("ann", GatewayKind::Quic);
    let (_b, bob) = h.join("bob", GatewayKind::Quic);
    h.steps(2);
    // A mod puts both on the same spot in the same tick.
    h.teleport(ann, Vec3::new(3.0, 0.0, 3.0));
    h.teleport(bob, Vec3::new(3.0, 0.0, 3.0));
    h.steps(30);
    let (pa, pb) = (h.position(ann), h.position(bob));
    let d = ((pa.x - pb.x).powi(2) + (pa.z - pb.z).powi(2)).sqrt();
    assert!(d >= 2.0 * RADIUS - 0.01, "still inside each other: {d}");
}
