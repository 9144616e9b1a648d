//! Connect a world's crossbeam channels to a [`Bus`].
//!
//! The engine's tick thread must never wait on the bus, so the world only
//! sees two bounded crossbeam channels (its [`BusLink`]). [`bridge`] makes
//! them and runs two forwarders:
//!
//! - **out**: a thread named `gsp-bus-out` reads the world's outbound channel
//!   and calls [`Bus::publish`] (which never blocks). It ends when the world
//!   drops every outbound sender, or when the guard is dropped.
//! - **in**: a task on the given runtime reads a bus subscription and
//!   `try_send`s into the world's inbound channel. When the world does not
//!   drain it and it is full, messages are dropped with a rate-limited
//!   warning. It ends when the world drops the inbound receiver, when the
//!   bus goes away, or when the guard is dropped.
//!
//! The subscription is taken before `bridge` returns, so nothing published
//! after it is missed. A world hears its own messages once, through the bus
//! loopback.

use std::time::{Duration, Instant};

use gsp_engine::{BusLink, BusMessage};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::{Bus, BusError, DropWarner};

/// The bound of both crossbeam channels of a [`BusLink`] made by [`bridge`].
pub const BRIDGE_CAPACITY: usize = 4096;

/// Keeps a bridge running; dropping it stops both forwarders.
#[derive(Debug)]
pub struct BridgeGuard {
    world: String,
    stop_out: Option<crossbeam_channel::Sender<()>>,
    stop_in: Option<oneshot::Sender<()>>,
    inbound_task: AbortHandle,
}

impl BridgeGuard {
    /// The world this bridge serves.
    pub fn world(&self) -> &str {
        &self.world
    }
}

impl Drop for BridgeGuard {
    fn drop(&mut self) {
        // Dropping the senders wakes both forwarders; each exits on its own.
        self.stop_out.take();
        self.stop_in.take();
        self.inbound_task.abort();
        tracing::debug!(world = %self.world, "bus bridge stopped");
    }
}

/// Make the [`BusLink`] for `world` and forward it to and from `bus`. The
/// inbound forwarder runs on `runtime`; the outbound one on its own thread.
///
/// Fails only if the OS refuses to start a thread.
pub fn bridge(
    bus: &Bus,
    world: &str,
    runtime: &tokio::runtime::Handle,
) -> Result<(BusLink, BridgeGuard), BusError> {
    let (out_tx, out_rx) = crossbeam_channel::bounded::<BusMessage>(BRIDGE_CAPACITY);
    let (in_tx, in_rx) = crossbeam_channel::bounded::<BusMessage>(BRIDGE_CAPACITY);
    let (stop_out, stop_out_rx) = crossbeam_channel::bounded::<()>(0);
    let (stop_in, stop_in_rx) = oneshot::channel::<()>();

    // Out: world -> bus.
    let publisher = bus.clone();
    let out_world = world.to_string();
    std::thread::Builder::new()
        .name("gsp-bus-out".to_string())
        .spawn(move || forward_out(&publisher, &out_rx, &stop_out_rx, &out_world))
        .map_err(|source| BusError::Spawn {
            world: world.to_string(),
            source,
        })?;

    // In: bus -> world. Subscribe now so nothing is missed.
    let mut subscription = bus.subscribe();
    let in_world = world.to_string();
    let inbound = runtime.spawn(async move {
        let mut stop = stop_in_rx;
        let mut full = DropWarner::new(Duration::from_secs(10));
        loop {
            tokio::select! {
                _ = &mut stop => break,
                msg = subscription.recv() => {
                    let Some(msg) = msg else { break };
                    match in_tx.try_send(msg) {
                        Ok(()) => {}
                        Err(crossbeam_channel::TrySendError::Full(_)) => {
                            if let Some(n) = full.dropped(Instant::now()) {
                                tracing::warn!(
                                    world = %in_world,
                                    dropped = n,
                                    "world is not reading the bus; dropped {n} messages for it"
                                );
                            }
                        }
                        Err(crossbeam_channel::TrySendError::Disconnected(_)) => break,
                    }
                }
            }
        }
        tracing::debug!(world = %in_world, "bus bridge inbound forwarder ended");
    });

    let link = BusLink {
        world: world.to_string(),
        outbound: out_tx,
        inbound: in_rx,
    };
    let guard = BridgeGuard {
        world: world.to_string(),
        stop_out: Some(stop_out),
        stop_in: Some(stop_in),
        inbound_task: inbound.abort_handle(),
    };
    Ok((link, guard))
}

/// The outbound forwarder's loop: publish until the world or the guard is gone.
fn forward_out(
    bus: &Bus,
    outbound: &crossbeam_channel::Receiver<BusMessage>,
    stop: &crossbeam_channel::Receiver<()>,
    world: &str,
) {
    loop {
        crossbeam_channel::select! {
            recv(outbound) -> msg => match msg {
                Ok(msg) => bus.publish(msg),
                Err(_) => break,
            },
            recv(stop) -> _ => break,
        }
    }
    tracing::debug!(world, "bus bridge outbound forwarder ended");
}
