//! The client's half of replication: decode each snapshot against the
//! baseline it names, keep the views, and say what arrived.
//!
//! [`Replica::receive`] takes a snapshot's header and payload in any order
//! and any number of times. Each new one is decoded against its baseline
//! (which the client acknowledged, so it holds it), stored, and recorded in
//! the [`AckWindow`] whose [`wire`](AckWindow::wire) form the client sends
//! back with its inputs. [`Replica::latest`] is the newest view.

use super::ack::{is_newer, AckWindow};
use super::codec::{apply, decode, Changes, SnapshotError, View};
use super::quant::Quantizer;

/// A snapshot's header fields, as they travel in the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SnapshotHeader {
    /// This snapshot's sequence number (never 0).
    pub sequence: u32,
    /// The sequence of the view it is relative to; 0 means the empty view.
    pub baseline: u32,
    /// The server tick it describes.
    pub tick: u32,
    /// The newest input sequence the server had applied at that tick.
    pub last_input: u32,
}

/// What [`Replica::receive`] made of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    /// The newest snapshot so far: [`Replica::latest`] is its view.
    Newest,
    /// Decoded and stored, but older than one already held.
    Older,
    /// Already held; ignored.
    Duplicate,
}

/// How many views a client keeps; more than any server ring, so every
/// baseline a server may choose is still here.
pub const CLIENT_RING: usize = 64;

/// The client's views of the world.
#[derive(Debug)]
pub struct Replica {
    q: Quantizer,
    ring: Vec<View>,
    newest: u32,
    acks: AckWindow,
    changes: Changes,
    empty: View,
}

impl Replica {
    /// A replica that has seen nothing, reading with the server's quantizer.
    pub fn new(q: Quantizer) -> Self {
        Replica {
            q,
            ring: (0..CLIENT_RING).map(|_| View::default()).collect(),
            newest: 0,
            acks: AckWindow::new(),
            changes: Changes::default(),
            empty: View::default(),
        }
    }

    /// The quantizer.
    pub fn quantizer(&self) -> &Quantizer {
        &self.q
    }

    /// Decodes and stores a snapshot.
    pub fn receive(
        &mut self,
        header: &SnapshotHeader,
        payload: &[u8],
    ) -> Result<Receipt, SnapshotError> {
        let seq = header.sequence;
        if seq == 0 {
            return Err(SnapshotError::MissingBaseline(0));
        }
        if self.acks.contains(seq) {
            return Ok(Receipt::Duplicate);
        }
        let target = seq as usize % CLIENT_RING;
        let mut out = std::mem::take(&mut self.ring[target]);
        let result = (|| {
            let base = if header.baseline == 0 {
                &self.empty
            } else {
                let b = &self.ring[header.baseline as usize % CLIENT_RING];
                if b.sequence != header.baseline || header.baseline == seq {
                    return Err(SnapshotError::MissingBaseline(header.baseline));
                }
                b
            };
            decode(&self.q, base, header.tick, payload, &mut self.changes)?;
            apply(base, seq, header.tick, &self.changes, &mut out);
            Ok(())
        })();
        if let Err(e) = result {
            // Keep whatever the slot held before.
            self.ring[target] = out;
            return Err(e);
        }
        self.ring[target] = out;
        self.acks.record(seq);
        if self.newest == 0 || is_newer(seq, self.newest) {
            self.newest = seq;
            Ok(Receipt::Newest)
        } else {
            Ok(Receipt::Older)
        }
    }

    /// The newest view (empty before the first snapshot).
    pub fn latest(&self) -> &View {
        if self.newest == 0 {
            return &self.empty;
        }
        &self.ring[self.newest as usize % CLIENT_RING]
    }

    /// The view of snapshot `sequence`, if still held.
    pub fn view(&self, sequence: u32) -> Option<&View> {
        let v = &self.ring[sequence as usize % CLIENT_RING];
        (sequence != 0 && v.sequence == sequence).then_some(v)
    }

    /// What to acknowledge: (newest, bits of the 64 before it).
    pub fn acks(&self) -> (u32, u64) {
        self.acks.wire()
    }
}
