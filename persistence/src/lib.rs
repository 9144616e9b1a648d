//! Storage and the event bus for GSP worlds.
//!
//! This crate will hold the sqlx stores (SQLite by default under `--data`,
//! PostgreSQL by URL) for accounts, characters and world saves, with one set
//! of embedded migrations, and the event bus between worlds (in-process by
//! default, Redis pub/sub across processes). Saves are serialised on the tick
//! thread and written by a task elsewhere, atomically.

pub mod bus;
