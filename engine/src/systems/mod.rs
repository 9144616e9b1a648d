//! The systems of one tick, grouped into the stages of DESIGN.md and run in
//! this order: [`TickStage::Ingest`], [`TickStage::Scripts`],
//! [`TickStage::Simulate`], [`TickStage::Rules`], [`TickStage::Replicate`],
//! [`TickStage::Emit`]. Other crates (physics, scripting) add their systems to
//! these sets.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;

pub mod bus;
pub mod emit;
pub mod ingest;
pub mod replicate;
pub mod rules;
pub mod save;
pub mod simulate;

/// The stages of a tick, in order.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TickStage {
    /// Drain the inbound queue: joins, leaves, inputs, typed commands.
    Ingest,
    /// Timers and queued events delivered to mods.
    Scripts,
    /// Movement intents, physics, transforms.
    Simulate,
    /// Room membership, commands, chat routing.
    Rules,
    /// What each session should see.
    Replicate,
    /// Hand each session its messages; drop those that cannot keep up.
    Emit,
}

/// The schedule of one tick with the engine's own systems.
pub fn tick_schedule() -> Schedule {
    let mut schedule = Schedule::default();
    // One world, one thread: the tick must not fan out onto a thread pool that
    // the gateways' runtime also needs.
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.configure_sets(
        (
            TickStage::Ingest,
            TickStage::Scripts,
            TickStage::Simulate,
            TickStage::Rules,
            TickStage::Replicate,
            TickStage::Emit,
        )
            .chain(),
    );
    schedule.add_systems(
        (ingest::ingest, ingest::apply_inputs, bus::receive)
            .chain()
            .in_set(TickStage::Ingest),
    );
    schedule.add_systems(
        simulate::move_avatars
            .run_if(not(resource_exists::<simulate::ExternalMovement>))
            .in_set(TickStage::Simulate),
    );
    schedule.add_systems(
        (rules::run_commands, rules::update_rooms)
            .chain()
            .in_set(TickStage::Rules),
    );
    schedule.add_systems(
        (replicate::replicate, crate::look::send_looks)
            .chain()
            .in_set(TickStage::Replicate),
    );
    schedule.add_systems(
        (bus::publish_presence, emit::emit, save::save_world)
            .chain()
            .in_set(TickStage::Emit),
    );
    schedule
}
