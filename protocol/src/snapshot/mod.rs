//! Snapshots: the world near a player, at the bandwidth limit.
//!
//! This is the sans-I/O core of replication, after Quake 3's delta snapshots
//! and Glenn Fiedler's "Snapshot Compression" and "State Synchronization":
//!
//! * [`quant`]: positions on a 1/512 m grid inside the world bounds,
//!   rotations as smallest-three quaternions, optional velocities;
//! * [`codec`]: a view (what a client knows) and the bit-packed payload that
//!   turns a baseline view into the next one: removes, creates and updates,
//!   ids as gaps in a sorted list, updates as residuals of a prediction both
//!   ends make, an unchanged entity costing nothing;
//! * [`sender`]: the server's side for one client: a ring of baselines,
//!   acknowledgements, priority accumulators and a byte budget;
//! * [`replica`]: the client's side: decode against the named baseline, keep
//!   views, acknowledge;
//! * [`ack`]: the acknowledgement window both sides share;
//! * [`bits`]: the bit writer and reader underneath.
//!
//! The payload travels in a flatbuffers envelope
//! ([`ServerDatagram::Snapshot`](crate::ServerDatagram::Snapshot)) that
//! holds the sequence numbers and the tick.
//!
//! ```
//! use gsp_protocol::snapshot::*;
//!
//! let q = Quantizer::default();
//! let mut sender = Sender::new(q, SenderConfig::default(), 72);
//! let mut replica = Replica::new(q);
//! let crate_at = |x: f32| Relevant {
//!     id: 7,
//!     kind: 1,
//!     generation: 0,
//!     state: QState { position: q.position([x, 0.0, 3.0]), rotation: q.rotation(IDENTITY), velocity: None },
//!     priority: 1.0,
//! };
//! for (tick, x) in [(1, 0.0), (2, 0.2), (3, 0.4)] {
//!     let (stats, payload) = sender.build(tick, &[crate_at(x)]);
//!     let header = SnapshotHeader { sequence: stats.sequence, baseline: stats.baseline, tick, last_input: 0 };
//!     replica.receive(&header, payload).unwrap();
//!     let (ack, bits) = replica.acks();
//!     sender.acknowledge(ack, bits);
//! }
//! let seen = replica.latest().get(7).unwrap();
//! assert_eq!(seen.state, crate_at(0.4).state);
//! ```

pub mod ack;
pub mod bits;
pub mod codec;
pub mod quant;
pub mod replica;
pub mod sender;

pub use ack::AckWindow;
pub use codec::{Changes, QState, SnapshotError, View, ViewEntity};
pub use quant::{QPosition, QRotation, QVelocity, Quantization, Quantizer, IDENTITY};
pub use replica::{Receipt, Replica, SnapshotHeader};
pub use sender::{RecordCache, Relevant, Sender, SenderConfig, SnapshotStats};
