//! The GSP platform: the control plane that hosts worlds.
//!
//! This crate will serve the web API and dashboard (accounts and auth, a
//! credits ledger with hourly billing, servers), run node agents that start
//! worlds as Docker containers or child processes, and the sidecar proxy that
//! wakes a sleeping world on its first connection. It never links the engine:
//! it drives worlds as processes, through their command line and HTTP API.
