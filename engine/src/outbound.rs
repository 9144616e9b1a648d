//! The queue from the world to one session's gateway, measured in bytes.
//!
//! The world never waits for a gateway, and a gateway never makes the world
//! wait: messages go into an unbounded queue, and both ends keep count of the
//! bytes in it ([`Outbound::weight`]). The gateway takes whatever is waiting
//! at once ([`OutboundReceiver::recv_batch`]) and writes it in one go, so the
//! queue holds only what its own socket has not yet taken. The world looks
//! at that count once a tick (the emit stage): a session whose queue stays
//! above [`OutboundLimits::soft_bytes`] for [`OutboundLimits::grace`], or
//! goes past [`OutboundLimits::hard_bytes`], is dropped as too slow. What
//! other players say cannot get a session dropped: a burst of lines is a few
//! kilobytes, which a connection that reads drains within a tick or two.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
pub use tokio::sync::mpsc::error::TryRecvError;

use crate::session::Outbound;

/// When a session counts as not draining its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboundLimits {
    /// Bytes a session's queue may hold for a while (a burst, a slow link).
    pub soft_bytes: usize,
    /// How long the queue may stay above `soft_bytes` before the session is
    /// dropped.
    pub grace: Duration,
    /// Bytes past which the session is dropped at once.
    pub hard_bytes: usize,
}

impl Default for OutboundLimits {
    fn default() -> Self {
        OutboundLimits {
            // Eight seconds of snapshots at the default 256 kbit/s.
            soft_bytes: 256 * 1024,
            grace: Duration::from_secs(5),
            hard_bytes: 4 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Default)]
struct Pending {
    bytes: AtomicUsize,
}

/// A new queue: the world's end and the gateway's.
pub fn channel() -> (OutboundSender, OutboundReceiver) {
    let (tx, rx) = mpsc::unbounded_channel();
    let pending = Arc::new(Pending::default());
    (
        OutboundSender {
            tx,
            pending: pending.clone(),
        },
        OutboundReceiver { rx, pending },
    )
}

/// The world's end of a session's queue.
#[derive(Debug, Clone)]
pub struct OutboundSender {
    tx: mpsc::UnboundedSender<Outbound>,
    pending: Arc<Pending>,
}

/// The gateway has let go of its end: the session is gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the session's gateway has gone")]
pub struct Gone;

impl OutboundSender {
    /// Queues `message`.
    pub fn send(&self, message: Outbound) -> Result<(), Gone> {
        let weight = message.weight();
        self.pending.bytes.fetch_add(weight, Ordering::Relaxed);
        self.tx.send(message).map_err(|_| {
            self.pending.bytes.fetch_sub(weight, Ordering::Relaxed);
            Gone
        })
    }

    /// Bytes queued and not yet taken by the gateway.
    pub fn pending_bytes(&self) -> usize {
        self.pending.bytes.load(Ordering::Relaxed)
    }

    /// Whether the gateway has let go of its end.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// The gateway's end of a session's queue. When the world ends the session,
/// what is queued can still be read, and then [`recv`](Self::recv) gives
/// `None`.
#[derive(Debug)]
pub struct OutboundReceiver {
    rx: mpsc::UnboundedReceiver<Outbound>,
    pending: Arc<Pending>,
}

impl OutboundReceiver {
    fn taken(&self, message: &Outbound) {
        self.pending
            .bytes
            .fetch_sub(message.weight(), Ordering::Relaxed);
    }

    /// The next message; `None` once the world has ended the session and
    /// everything queued has been read.
    pub async fn recv(&mut self) -> Option<Outbound> {
        let message = self.rx.recv().await?;
        self.taken(&message);
        Some(message)
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Result<Outbound, TryRecvError> {
        let message = self.rx.try_recv()?;
        self.taken(&message);
        Ok(message)
    }

    /// Waits for a message, then takes it and every other one waiting (at
    /// most `limit` in all) into `out`: what one write to the socket should
    /// carry. Returns how many; 0 once the session has ended.
    pub async fn recv_batch(&mut self, out: &mut Vec<Outbound>, limit: usize) -> usize {
        let start = out.len();
        let n = self.rx.recv_many(out, limit.max(1)).await;
        for message in &out[start..] {
            self.taken(message);
        }
        n
    }

    /// Bytes queued and not yet taken.
    pub fn pending_bytes(&self) -> usize {
        self.pending.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::TextEvent;

    fn line(text: &str) -> Outbound {
        Outbound::Text(TextEvent::Info(text.into()))
    }

    #[test]
    fn both_ends_count_the_bytes_in_between() {
        let (tx, mut rx) = channel();
        tx.send(line("hello")).unwrap();
        tx.send(Outbound::Snapshot(vec![0; 1000])).unwrap();
        let queued = tx.pending_bytes();
        assert!(queued >= 1005, "{queued}");
        assert_eq!(rx.pending_bytes(), queued);
        assert!(matches!(rx.try_recv(), Ok(Outbound::Text(_))));
        assert!(tx.pending_bytes() >= 1000 && tx.pending_bytes() < queued);
        assert!(matches!(rx.try_recv(), Ok(Outbound::Snapshot(_))));
        assert_eq!(tx.pending_bytes(), 0);
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn a_batch_takes_everything_waiting() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let (tx, mut rx) = channel();
        for i in 0..10 {
            tx.send(line(&format!("line {i}"))).unwrap();
        }
        let mut out = Vec::new();
        assert_eq!(rt.block_on(rx.recv_batch(&mut out, 64)), 10);
        assert_eq!(tx.pending_bytes(), 0);
        drop(tx);
        assert_eq!(rt.block_on(rx.recv_batch(&mut out, 64)), 0);
    }

    #[test]
    fn a_gone_gateway_is_noticed_and_not_counted() {
        let (tx, rx) = channel();
        drop(rx);
        assert!(tx.is_closed());
        assert_eq!(tx.send(line("anyone?")), Err(Gone));
        assert_eq!(tx.pending_bytes(), 0);
    }
}
