//! The async shell around the billing rules: reads a server's transitions,
//! posts the hours [`plan`] says are due, and hibernates a server whose
//! wallet cannot pay its next hour.
//!
//! [`Biller::settle`] is the one operation. A wake calls it right after
//! recording `Running` (posting the hold), and the billing loop
//! ([`Biller::run`]) calls it for every running server as hours start.
//! Settling twice, or from two places at once, posts each hour once: the
//! keys are the same and the ledger skips duplicates.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{plan, BillingError, Transition};
use crate::auth::now_ms;
use crate::ledger::{Ledger, LedgerError, Millis, Posted};
use crate::servers::agent::Agent;
use crate::servers::{Server, ServerError, ServerState, Servers};

/// What the billing loop and a hibernation for want of credit record as
/// their cause.
pub const BILLING: &str = "billing";

/// How often the billing loop looks for hours that started.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(15);

/// How settling a server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// Every hour started so far is paid; the next starts at `next_charge_at_ms`
    /// (`None`: the server is not running).
    Paid {
        /// When the next hour starts, Unix ms.
        next_charge_at_ms: Option<i64>,
        /// Charges posted by this call (0 when all were paid already).
        posted: usize,
    },
    /// The wallet could not pay the hour starting at `at_ms`: the server was
    /// recorded hibernated then. The caller stops it (or does not start it).
    Hibernated {
        /// The start of the unpaid hour.
        at_ms: i64,
        /// The balance that fell short.
        balance: Millis,
        /// The hour's price.
        price: Millis,
    },
}

/// Why a server could not be settled.
#[derive(Debug, thiserror::Error)]
pub enum BillError {
    /// Reading or moving the server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The ledger failed (not for want of funds: that is [`Settled::Hibernated`]).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The transitions or price cannot be billed.
    #[error(transparent)]
    Rules(#[from] BillingError),
}

/// Posts the charges of servers and hibernates those that cannot pay.
#[derive(Debug, Clone)]
pub struct Biller {
    servers: Servers,
    ledger: Ledger,
}

impl Biller {
    /// Bills the servers in `servers` to the wallets in `ledger`.
    pub fn new(servers: Servers, ledger: Ledger) -> Biller {
        Biller { servers, ledger }
    }

    /// Posts every hour of `server` due by `now_ms` (those posted before are
    /// skipped), recording `who` as their cause. If one is refused for want
    /// of credit, records the server hibernated at that hour's start and
    /// returns [`Settled::Hibernated`].
    pub async fn settle(
        &self,
        server: &Server,
        now_ms: i64,
        who: &str,
    ) -> Result<Settled, BillError> {
        let template = self
            .servers
            .template(server.template_id)
            .await?
            .ok_or(ServerError::NotFound)?;
        self.settle_priced(server, Millis(template.price_per_hour), now_ms, who)
            .await
    }

    /// [`Biller::settle`] for a caller that has the server's template at
    /// hand: `price` is its price per hour. A price of 0 is free: nothing
    /// is posted.
    pub async fn settle_priced(
        &self,
        server: &Server,
        price: Millis,
        now_ms: i64,
        who: &str,
    ) -> Result<Settled, BillError> {
        // A free template (a local `gsp up` world) posts nothing.
        if price.0 == 0 {
            return Ok(Settled::Paid {
                next_charge_at_ms: None,
                posted: 0,
            });
        }
        let transitions: Vec<Transition> = self
            .servers
            .history(server.id)
            .await?
            .into_iter()
            .map(|(state, at_ms, _cause)| Transition { at_ms, state })
            .collect();
        let due = plan(&server.id.to_string(), &transitions, price, now_ms)?;
        let owner = server.owner_id.to_string();
        let mut posted = 0;
        for charge in &due.charges {
            let tx = charge.tx(&owner, who).map_err(BillingError::from)?;
            match self.ledger.post(&tx).await {
                Ok(Posted::New(_)) => posted += 1,
                Ok(Posted::Duplicate(_)) => {}
                Err(LedgerError::InsufficientFunds { balance, .. }) => {
                    self.hibernate_unpaid(server, charge.start_ms).await?;
                    return Ok(Settled::Hibernated {
                        at_ms: charge.start_ms,
                        balance,
                        price,
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(Settled::Paid {
            next_charge_at_ms: due.next_charge_at_ms,
            posted,
        })
    }

    async fn hibernate_unpaid(&self, server: &Server, at_ms: i64) -> Result<(), BillError> {
        match self
            .servers
            .transition(server.id, ServerState::Hibernated, at_ms, BILLING)
            .await
        {
            // Already moved by someone else (a user's hibernate, a delete):
            // the unpaid hour is then not billed either.
            Ok(_) | Err(ServerError::WrongState(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// One pass over every running server: settles each, and stops through
    /// `agent` those hibernated for want of credit. Returns how many were
    /// hibernated. A server that fails to settle is logged and skipped.
    pub async fn bill_running(&self, agent: &dyn Agent, now_ms: i64) -> Result<usize, BillError> {
        let mut hibernated = 0;
        for server in self.servers.running().await? {
            match self.settle(&server, now_ms, BILLING).await {
                Ok(Settled::Paid { .. }) => {}
                Ok(Settled::Hibernated { balance, price, .. }) => {
                    hibernated += 1;
                    tracing::info!(
                        server = server.id,
                        %balance,
                        %price,
                        "hibernating: the balance cannot pay the next hour"
                    );
                    if let Err(e) = agent.stop(server.id).await {
                        tracing::warn!(server = server.id, "stopping for billing failed: {e}");
                    }
                }
                Err(e) => tracing::error!(server = server.id, "billing failed: {e}"),
            }
        }
        Ok(hibernated)
    }

    /// Bills running servers every `every` until `stop` is cancelled.
    pub async fn run(self, agent: Arc<dyn Agent>, every: Duration, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(e) = self.bill_running(agent.as_ref(), now_ms()).await {
                tracing::error!("billing pass failed: {e}");
            }
        }
    }
}
