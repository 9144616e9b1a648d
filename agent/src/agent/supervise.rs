//! The supervisor of one start of a server's world: waits for the world
//! to exit, and when it exits on its own (nobody stopped it), logs it at
//! warn, tells the platform, and restarts it or gives up as the
//! [`Restarts`](crate::restart::Restarts) policy says.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use gsp_agent_api::{ExitOutcome, Exited};

use super::{lock, Agent, Slot};
use crate::restart::Verdict;
use crate::runtime::{Exit, RuntimeError};

/// Output lines sent with an exit report.
const EXIT_LINES: usize = 30;

impl Agent {
    /// Watches start `generation` of server `id` until it is stopped on
    /// purpose, exits cleanly, or crashes for good.
    pub(super) async fn supervise(self: Arc<Self>, id: i64, slot: Arc<Slot>, generation: u64) {
        let Some(mut exit) = self.runtime.exited(id).await else {
            return;
        };
        loop {
            if !slot.wants(generation) {
                // Stopped on purpose, or started anew (another supervisor
                // watches that one).
                return;
            }
            let lines = self.runtime.logs(id, EXIT_LINES).await.unwrap_or_default();
            if exit.success {
                tracing::warn!(server = id, status = %exit.status, "the world exited on its own; it stays stopped");
                slot.unwant(Some(generation));
                slot.gate.stopped();
                *lock(&slot.idle_since) = None;
                self.report(id, &exit, ExitOutcome::Stopped, lines).await;
                return;
            }
            let verdict = lock(&slot.restarts).failed(Instant::now());
            match verdict {
                Verdict::GiveUp { failures } => {
                    tracing::warn!(
                        server = id,
                        status = %exit.status,
                        failures,
                        "the world failed again; not restarting it: crashed"
                    );
                    slot.unwant(Some(generation));
                    slot.gate.crashed(&exit.status);
                    *lock(&slot.idle_since) = None;
                    self.report(id, &exit, ExitOutcome::Crashed, lines).await;
                    return;
                }
                Verdict::Restart { attempt, after } => {
                    tracing::warn!(
                        server = id,
                        status = %exit.status,
                        attempt,
                        ?after,
                        "the world failed; restarting it"
                    );
                    slot.gate.restarting();
                    let after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                    self.report(
                        id,
                        &exit,
                        ExitOutcome::Restarting { attempt, after_ms },
                        lines,
                    )
                    .await;
                    tokio::time::sleep(after).await;
                    match self.restart(id, &slot, generation).await {
                        Some(Ok(())) => match self.runtime.exited(id).await {
                            Some(next) => exit = next,
                            None => return,
                        },
                        Some(Err(e)) => {
                            tracing::warn!(server = id, "restarting the world failed: {e}");
                            exit = Exit {
                                success: false,
                                status: match e {
                                    RuntimeError::Failed(_) => {
                                        "it exited again before it was ready".into()
                                    }
                                    e => e.to_string(),
                                },
                                at: SystemTime::now(),
                            };
                        }
                        None => return,
                    }
                }
            }
        }
    }

    /// Starts start `generation`'s world again; `None` when it is not
    /// wanted any more.
    async fn restart(
        &self,
        id: i64,
        slot: &Slot,
        generation: u64,
    ) -> Option<Result<(), RuntimeError>> {
        let _op = slot.op.lock().await;
        if !slot.wants(generation) {
            return None;
        }
        let launch = self.launch(id, &lock(&slot.spec).clone());
        Some(self.runtime.start(&launch).await.map(|started| {
            slot.players.store(0, Ordering::Relaxed);
            *lock(&slot.idle_since) = Some(Instant::now());
            slot.gate.woke(started.listeners);
            tracing::info!(server = id, "the world is back");
        }))
    }

    /// Tells the platform (in order: a restart's report before the
    /// crash that may follow it).
    async fn report(&self, id: i64, exit: &Exit, outcome: ExitOutcome, last_lines: Vec<String>) {
        let body = Exited {
            at_ms: exit.at_ms(),
            status: exit.status.clone(),
            outcome,
            last_lines,
        };
        if let Err(e) = self.platform.exited(id, &body).await {
            tracing::warn!(server = id, "reporting an exit to the platform failed: {e}");
        }
    }
}
