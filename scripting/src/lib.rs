//! Luau mods for GSP worlds, run by mlua inside the engine's *scripts* stage.
//!
//! Mods are what modders write and what the default world is made of: this
//! crate will load them from `mods/`, run each in a sandbox with instruction
//! and memory limits, deliver hooks (joins, commands, timers, room events) and
//! expose the world API, and hot-reload them. A failing mod is disabled with
//! its error shown; it never takes the tick down.
//!
//! The engine already runs an empty `Scripts` stage in every tick
//! (`gsp_engine::TickStage::Scripts`) where these systems will go.
