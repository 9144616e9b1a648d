//! The async shell around the billing rules: reads a server's transitions
//! and posts the hours [`plan`] says are due.
//!
//! [`Biller::settle`] is the one operation. A wake calls it right after
//! recording `Running` (posting the hold), and the billing pass
//! ([`Hosting::bill_running`](crate::hosting::Hosting::bill_running)) calls
//! it for every running server as hours start. Settling twice, or from two
//! places at once, posts each hour once: the keys are the same and the
//! ledger skips duplicates. The biller changes no server's state: when a
//! wallet cannot pay, it says so ([`Settled::Hibernated`]) and
//! [`crate::hosting`] records the hibernation.

use super::{plan, BillingError, Transition};
use crate::ledger::{Ledger, LedgerError, Millis, Posted};
use crate::servers::{Server, ServerError, Servers};

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
    /// The wallet could not pay the hour starting at `at_ms`; the hours
    /// before it are paid. The server is hibernated then: the biller only
    /// says so, [`Hosting::settle`](crate::hosting::Hosting::settle)
    /// records it, and the caller stops the server (or does not start it).
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
    /// Reading the server failed.
    #[error(transparent)]
    Server(#[from] ServerError),
    /// The ledger failed (not for want of funds: that is [`Settled::Hibernated`]).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The transitions or price cannot be billed.
    #[error(transparent)]
    Rules(#[from] BillingError),
}

/// Posts the charges of servers.
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
    /// skipped), recording `who` as their cause, and stops at the first one
    /// refused for want of credit ([`Settled::Hibernated`]).
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
}
