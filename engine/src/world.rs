//! [`GameWorld`]: the ECS world, its schedule, and the channels into it.
//!
//! A `GameWorld` is stepped by hand ([`GameWorld::step`]), which is what tests
//! and benchmarks do; [`WorldRuntime`](crate::WorldRuntime) steps it on its
//! own thread at the fixed tick.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;

use bevy_ecs::prelude::*;

use crate::components::*;
use crate::handle::WorldHandle;
use crate::map::WorldMap;
use crate::persist::{PersistSink, SavedWorld};
use crate::replication::Replication;
use crate::session::{CloseReason, Outbound};
use crate::stats::WorldStats;
use crate::systems::emit::StatsHandle;
use crate::systems::ingest::{Inbox, PendingRemovals, ShuttingDown};
use crate::systems::save::SaveState;
use crate::systems::tick_schedule;

/// Messages the inbound queue holds across all sessions.
pub const INBOUND_CAPACITY: usize = 65_536;

/// One world: the ECS `World`, the tick schedule and the shared statistics.
pub struct GameWorld {
    world: World,
    schedule: Schedule,
    stats: Arc<WorldStats>,
    handle: WorldHandle,
    /// Entities that are things in the world (they have a position), as
    /// opposed to the ECS's own bookkeeping entities.
    placed: QueryState<(), With<Position>>,
}

impl GameWorld {
    /// A world with `config` and `map`, and the handle gateways use to reach it.
    ///
    /// # Panics
    ///
    /// If `config` fails [`WorldConfig::validate`]; check it first when it
    /// comes from a user.
    pub fn new(config: WorldConfig, map: WorldMap) -> GameWorld {
        if let Err(e) = config.validate() {
            panic!("invalid world settings: {e}");
        }
        let (inbound_tx, inbound_rx) = crossbeam_channel::bounded(INBOUND_CAPACITY);
        let (leaves_tx, leaves_rx) = crossbeam_channel::unbounded();
        let stats = Arc::new(WorldStats::new(config.tick_rate));
        let handle = WorldHandle {
            inbound: inbound_tx,
            leaves: leaves_tx,
            next_session: Arc::new(AtomicU64::new(1)),
            stats: stats.clone(),
            tick_rate: config.tick_rate,
        };
        let replication = Replication::new(config.replication.clone(), config.tick_rate)
            .expect("the replication settings are valid (checked by WorldConfig::validate)");
        let mut world = World::new();
        world.insert_resource(replication);
        world.insert_resource(TickTime {
            tick: 0,
            dt: 1.0 / f32::from(config.tick_rate),
            rate: config.tick_rate,
        });
        world.insert_resource(config);
        world.insert_resource(map);
        world.insert_resource(Sessions::default());
        world.insert_resource(Occupants::default());
        world.insert_resource(PendingCommands::default());
        world.insert_resource(crate::events::WorldEvents::default());
        world.insert_resource(ModCommands::default());
        world.insert_resource(HelpTopics::default());
        world.insert_resource(PendingRemovals::default());
        world.insert_resource(ShuttingDown::default());
        world.insert_resource(StatsHandle(stats.clone()));
        world.insert_resource(Inbox {
            inbound: inbound_rx,
            leaves: leaves_rx,
        });
        let placed = world.query_filtered::<(), With<Position>>();
        GameWorld {
            world,
            placed,
            schedule: tick_schedule(),
            stats,
            handle,
        }
    }

    /// A handle for gateways.
    pub fn handle(&self) -> WorldHandle {
        self.handle.clone()
    }

    /// The shared statistics.
    pub fn stats(&self) -> &Arc<WorldStats> {
        &self.stats
    }

    /// Runs one tick and records its duration.
    pub fn step(&mut self) {
        let start = Instant::now();
        self.schedule.run(&mut self.world);
        self.world.resource_mut::<TickTime>().tick += 1;
        self.world.clear_trackers();
        let duration = start.elapsed();
        let (telnet, quic) = self.world.resource::<Sessions>().counts();
        let entities = self.placed.iter(&self.world).count() as u64;
        self.stats
            .record_population(telnet as u64, quic as u64, entities);
        self.stats.record_tick(start, duration);
    }

    /// Joins `name` through the handle as a gateway would, stepping the
    /// world until the answer arrives (at most 10 ticks): how tests and
    /// benchmarks that step a world by hand let players in, with no async
    /// runtime.
    pub fn join_stepping(
        &mut self,
        name: &str,
        kind: crate::session::GatewayKind,
    ) -> Result<crate::handle::Session, crate::handle::JoinError> {
        self.join_as_stepping(crate::handle::JoinRequest::guest(name, kind))
    }

    /// [`GameWorld::join_stepping`] with a whole [`JoinRequest`](crate::JoinRequest)
    /// (an account, a saved character).
    pub fn join_as_stepping(
        &mut self,
        request: crate::handle::JoinRequest,
    ) -> Result<crate::handle::Session, crate::handle::JoinError> {
        use std::future::Future;
        use std::task::{Context, Poll, Waker};
        let handle = self.handle();
        let mut join = std::pin::pin!(handle.join_as(request));
        let mut cx = Context::from_waker(Waker::noop());
        for _ in 0..10 {
            if let Poll::Ready(answer) = join.as_mut().poll(&mut cx) {
                return answer;
            }
            self.step();
        }
        match join.as_mut().poll(&mut cx) {
            Poll::Ready(answer) => answer,
            Poll::Pending => panic!("the world did not answer a join within 10 ticks"),
        }
    }

    /// Tells every player `text` (an information line), with the next tick's
    /// messages.
    pub fn announce(&mut self, text: &str) {
        self.world
            .resource_mut::<Sessions>()
            .send_all(Outbound::Text(crate::session::TextEvent::Info(
                text.to_owned(),
            )));
    }

    /// Entities placed in the world (avatars and, later, props).
    pub fn entity_count(&mut self) -> usize {
        self.placed.iter(&self.world).count()
    }

    /// Ticks completed.
    pub fn tick(&self) -> u64 {
        self.world.resource::<TickTime>().tick
    }

    /// The ECS world, for inspection.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// The ECS world, for systems added by other crates' setup code.
    pub fn world_mut(&mut self) -> &mut World {
        &mut self.world
    }

    /// The tick schedule, for other crates to add systems to its stages.
    pub fn schedule_mut(&mut self) -> &mut Schedule {
        &mut self.schedule
    }

    /// Saves this world through `sink`: every `interval_ticks` ticks (0:
    /// only at shutdown and when asked), and characters when their players
    /// leave. See [`systems::save`](crate::systems::save).
    pub fn enable_saves(&mut self, sink: PersistSink, interval_ticks: u64) {
        self.world
            .insert_resource(SaveState::new(sink, interval_ticks));
        self.world
            .insert_resource(crate::systems::ingest::RecentlyLeft::default());
    }

    /// Spawns the persistent entities of the last save and keeps its mod
    /// storage for the mods; call before the first tick, after
    /// [`GameWorld::enable_saves`].
    pub fn restore(&mut self, saved: &SavedWorld) {
        crate::systems::save::restore(&mut self.world, saved);
    }

    /// Connects this world to the bus: chat across worlds and presence.
    pub fn connect_bus(&mut self, link: crate::bus::BusLink) {
        self.world
            .insert_resource(crate::systems::bus::BusState::new(link));
    }

    /// Gathers a save now and offers it to the writer (`wait`: until there
    /// is room). Returns whether the writer took it.
    pub fn save_now(&mut self, wait: bool) -> bool {
        crate::systems::save::save_now(&mut self.world, wait)
    }

    /// Refuses new joins, saves the world and every character a last time
    /// (waiting for the writer to take them), tells every session the world
    /// is closing, and removes them.
    pub fn shut_down(&mut self) {
        self.world.resource_mut::<ShuttingDown>().0 = true;
        self.save_now(true);
        crate::systems::bus::say_goodbye(&mut self.world);
        let mut sessions = std::mem::take(&mut self.world.resource_mut::<Sessions>().by_id);
        for (_, entry) in sessions.drain() {
            for message in entry.outbox {
                let _ = entry.tx.send(message);
            }
            let _ = entry.tx.send(Outbound::Closed(CloseReason::ShuttingDown));
            self.world.despawn(entry.entity);
        }
    }
}
