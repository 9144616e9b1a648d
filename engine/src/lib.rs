//! The GSP engine: one authoritative world, stepped at a fixed tick.
//!
//! It runs inside the world server process, `gsp world` (also the default
//! world `gsp up` starts): the composition root builds a [`GameWorld`],
//! installs physics (`gsp-physics`) and mods (`gsp-scripting`) into it, hands
//! its [`WorldHandle`] to the gateways (`gsp-gateways`) and runs it with a
//! [`WorldRuntime`]. The engine itself does no I/O but through channels.
//!
//! A world is a bevy_ecs [`World`](bevy_ecs::world::World) holding avatars,
//! positions and rooms, advanced by a schedule whose stages run in a fixed
//! order every tick ([`TickStage`]): ingest, scripts, simulate, rules,
//! replicate, emit. [`WorldRuntime`] runs it on its own thread; the
//! [`TickClock`] accumulates wall time into fixed ticks and skips, rather than
//! replays, time it cannot catch up. Under load the runtime slows simulated
//! time instead ([`dilation`]).
//!
//! Nothing outside reaches into the world. Gateways hold a cloneable
//! [`WorldHandle`]: [`WorldHandle::join`] gives a [`Session`] with a queue of
//! [`Outbound`] messages counted in bytes ([`outbound`]), and a
//! [`SessionSender`] for typed commands (queued for the next tick) and
//! movement inputs (newest wins). A session whose own socket does not drain
//! its queue is dropped in the emit stage; it never makes the tick wait, and
//! what others say cannot get it dropped.
//!
//! Space is divided into rooms ([`map`]): a graphical player walking into the
//! tavern's box *is* in the tavern, and the text players there read that it
//! arrived. Text commands and their rendering live in [`text`], shared by
//! every gateway.
//!
//! # Layout
//!
//! - [`world`]: [`GameWorld`], the ECS world with its schedule and the channels into it.
//! - [`runtime`]: [`WorldRuntime`], a world ticking on its own thread.
//! - [`clock`]: the fixed-tick clock, sans-I/O.
//! - [`dilation`]: time dilation under load, sans-I/O.
//! - [`systems`]: the stages of one tick (ingest, scripts, simulate, rules, replicate, emit)
//!   and the systems of each.
//! - [`handle`]: [`WorldHandle`], how gateways join players and send them in.
//! - [`outbound`]: the queue from the world to one session, counted in bytes.
//! - [`session`]: what flows between a gateway and the world (ids, inbound and outbound
//!   messages, text events).
//! - [`components`]: the components and resources of a world.
//! - [`character`]: account ids, saved characters and attributes, as plain data.
//! - [`map`]: rooms as regions of space joined by exits, and the static geometry.
//! - [`math`]: the little vector maths the engine needs.
//! - [`text`]: text commands and their plain-text rendering, shared by every gateway.
//! - [`events`]: what happened this tick, for mods.
//! - [`replication`]: what each graphical player is sent, under its byte budget.
//! - [`look`]: the map and entity names and looks graphical players are sent to draw the world.
//! - [`persist`]: what the world saves and restores, and the channel saves go through.
//! - [`accounts`]: the account interface gateways call (implemented by `gsp-persistence`).
//! - [`bus`] and [`presence`]: messages between worlds (chat, who is online where).
//! - [`stats`]: what the world measures about itself (`/status`, `/metrics`).
//!
//! ```
//! use gsp_engine::{GameWorld, GatewayKind, Outbound, TextEvent, WorldConfig, WorldMap};
//!
//! let mut world = GameWorld::new(WorldConfig::default(), WorldMap::default_world());
//! let handle = world.handle();
//! let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
//! let join = rt.spawn(async move { handle.join("ada", GatewayKind::Telnet).await });
//! while !join.is_finished() {
//!     world.step();
//!     rt.block_on(tokio::task::yield_now());
//! }
//! let mut ada = rt.block_on(join).unwrap().unwrap();
//! ada.sender.command("say hello").unwrap();
//! world.step();
//! let mut heard = Vec::new();
//! while let Ok(m) = ada.receiver.try_recv() {
//!     heard.push(m);
//! }
//! assert!(heard.iter().any(|m| matches!(m,
//!     Outbound::Text(TextEvent::Said { text, by_you: true, .. }) if text == "hello")));
//! ```

pub mod accounts;
pub mod bus;
pub mod character;
pub mod clock;
pub mod components;
pub mod dilation;
pub mod events;
pub mod handle;
pub mod look;
pub mod map;
pub mod math;
pub mod outbound;
pub mod persist;
pub mod presence;
pub mod replication;
pub mod runtime;
pub mod session;
pub mod stats;
pub mod systems;
pub mod text;
pub mod world;

pub use accounts::{AccountError, AccountService, Login};
pub use bus::{BusLink, BusMessage};
pub use character::{AccountId, AttributeMap, CharacterState};
pub use clock::{TickClock, TickPlan};
pub use components::{Body, BodyKind, ReplicationConfig, Sensor, Shape, WorldConfig};
pub use dilation::TimeDilation;
pub use events::{WorldEvent, WorldEvents};
pub use handle::{JoinError, JoinRequest, SendError, Session, SessionSender, WorldHandle};
pub use map::{Direction, RoomId, WorldMap};
pub use math::Vec3;
pub use outbound::{OutboundLimits, OutboundReceiver, OutboundSender};
pub use persist::{EntityRecord, Persist, PersistSink, SavedWorld, WorldSave};
pub use runtime::WorldRuntime;
pub use session::{
    CloseReason, GatewayKind, MoveInput, Outbound, RefusalReason, RoomView, SessionId, TextEvent,
    WhoEntry, WorldWho,
};
pub use stats::{BusReport, ModReport, SaveReport, StatusSnapshot, WorldStats};
pub use systems::TickStage;
pub use world::GameWorld;
