//! Game templates and the servers customers make from them.
//!
//! A template says how to run a game (a Docker image or a command line),
//! its ports, resources, price per hour and idle timeout, and how its
//! game is known ready, counted and stopped ([`gsp_agent_api::Game`]); [`shipped`] are
//! the ones GSP ships. A server is one
//! customer's instance of a template, in one of four states — running,
//! hibernated, crashed, deleted — with every change recorded with its time and
//! cause, which is what billing charges from. Orchestration (starting and
//! stopping the real thing) goes through an
//! [`orchestrator::Orchestrator`], called by [`crate::hosting`].

pub mod orchestrator;
mod shipped;
mod store;

pub use shipped::shipped;
pub use store::{LastExit, NewTemplate, Port, Server, ServerError, ServerState, Servers, Template};
