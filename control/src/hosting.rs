//! The server lifecycle: the one place where a server changes state.
//!
//! Creating, waking, hibernating, deleting, backing up and restoring a
//! server each take three steps that must agree: the state change recorded
//! in [`Servers`] (with its time and cause, which billing charges from),
//! the charge posted by the [`Biller`], and the [`Orchestrator`] call that
//! makes it real on a node. [`Hosting`] does all three, in a crash-safe
//! order: the state is recorded first, the charge next, the node acts
//! last. A failed node call leaves a recorded state that the next attempt
//! (or the node's own report) settles.
//!
//! Every caller goes through here: the JSON API and the dashboard (for a
//! [`Caller`], who may touch only their own servers unless an admin), the
//! agents' routes (a proxy's client waking a server, idle hibernation, a
//! node that restarted), the billing pass, and `gsp up`.
//!
//! | change | recorded | charged | on the node |
//! | --- | --- | --- | --- |
//! | [`create`](Hosting::create) | running | the first hour, or refused and hibernated | start |
//! | [`wake`](Hosting::wake) | running | the hold (free inside a paid hour) | start |
//! | [`hibernate`](Hosting::hibernate) | hibernated | nothing more | stop |
//! | [`delete`](Hosting::delete) | deleted | nothing more | remove, with its data |
//! | [`wake_for_client`](Hosting::wake_for_client) | running (`proxy`) | the hold | start |
//! | [`hibernate_idle`](Hosting::hibernate_idle) | hibernated (`idle`) | | stop, in the background |
//! | [`record_stopped`](Hosting::record_stopped) | hibernated | | (it stopped already) |
//! | [`record_exit`](Hosting::record_exit) | crashed (`crashed: …`) or hibernated (`exited: …`) at the exit, or still running while its node restarts it | nothing more | (it exited already) |
//! | [`bill_running`](Hosting::bill_running) | hibernated (`billing`) at the unpaid hour | every hour due | stop |
//! | [`restore`](Hosting::restore) | hibernated, if it ran | | stop, then the backup's data |

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::auth::{now_ms, Caller};
use crate::backup::{BackupError, BackupInfo, BackupStore};
pub use crate::billing::Settled;
use crate::billing::{BillError, Biller};
use crate::ledger::{Account, Ledger, LedgerError, Millis};
use crate::servers::orchestrator::{Orchestrator, OrchestratorError, Stats};
use crate::servers::{LastExit, Server, ServerError, ServerState, Servers, Template};
use gsp_agent_api::{ExitOutcome, Exited};

/// What a hibernation for idleness records as its cause.
pub const IDLE: &str = "idle";

/// What a wake by a proxy's client records as its cause.
pub const PROXY: &str = "proxy";

/// What a registration records for servers that stopped with their node.
pub const NODE_RESTARTED: &str = "node restarted";

/// What the billing pass and a hibernation for want of credit record as
/// their cause.
pub const BILLING: &str = "billing";

/// The most output lines an exit keeps.
pub const EXIT_LINES: usize = 30;

/// The most characters an exit keeps of each line.
pub const EXIT_LINE_CHARS: usize = 500;

/// How often the billing loop looks for hours that started.
pub const BILLING_INTERVAL: Duration = Duration::from_secs(15);

/// Why a lifecycle operation failed. The messages are fit for users; the
/// HTTP faces turn each kind into its status.
#[derive(Debug, thiserror::Error)]
pub enum HostingError {
    /// No such server, or not the caller's.
    #[error("no such server")]
    NotFound,
    /// The template asked for does not exist.
    #[error("there is no template {0}")]
    NoTemplate(i64),
    /// The wallet cannot pay the hour the change would start.
    #[error("not enough credits: the first hour costs {price} and the balance is {balance}")]
    Insufficient {
        /// The balance.
        balance: Millis,
        /// The hour's price.
        price: Millis,
    },
    /// No orchestrator is set up: servers cannot start or stop.
    #[error("no node agent is connected")]
    NoOrchestrator,
    /// Only a server's owner may do this.
    #[error("only the server's owner can use its console")]
    OwnerOnly,
    /// The server crashed: players do not wake it, its owner starts it.
    #[error("the server has crashed ({0}); its owner can start it again")]
    Crashed(String),
    /// No backup store is set up.
    #[error("no backup store is configured")]
    NoBackupStore,
    /// Reading or moving the server failed (a wrong state, a bad name...).
    #[error(transparent)]
    Server(#[from] ServerError),
    /// Billing failed.
    #[error(transparent)]
    Bill(#[from] BillError),
    /// The ledger failed.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    /// The node failed, or none has room.
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    /// The backup store failed, or has no such backup.
    #[error(transparent)]
    Backup(#[from] BackupError),
}

/// The server lifecycle over one database, an orchestrator and a backup
/// store. Cheap to clone.
#[derive(Clone)]
pub struct Hosting {
    servers: Servers,
    ledger: Ledger,
    biller: Biller,
    orchestrator: Option<Arc<dyn Orchestrator>>,
    backups: Option<BackupStore>,
}

impl std::fmt::Debug for Hosting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hosting")
            .field("orchestrator", &self.orchestrator.is_some())
            .field("backups", &self.backups.is_some())
            .finish_non_exhaustive()
    }
}

impl Hosting {
    /// The lifecycle of the servers in `servers`, billed to `ledger`; with no
    /// orchestrator (changes answer [`HostingError::NoOrchestrator`]) and no
    /// backup store yet.
    pub fn new(servers: Servers, ledger: Ledger) -> Hosting {
        Hosting {
            biller: Biller::new(servers.clone(), ledger.clone()),
            servers,
            ledger,
            orchestrator: None,
            backups: None,
        }
    }

    /// With the orchestrator that starts and stops servers.
    pub fn with_orchestrator(mut self, orchestrator: Arc<dyn Orchestrator>) -> Hosting {
        self.orchestrator = Some(orchestrator);
        self
    }

    /// With a backup store.
    pub fn with_backups(mut self, store: BackupStore) -> Hosting {
        self.backups = Some(store);
        self
    }

    /// Whether servers can start and stop (an orchestrator is set up).
    pub fn can_orchestrate(&self) -> bool {
        self.orchestrator.is_some()
    }

    /// The orchestrator, or [`HostingError::NoOrchestrator`].
    pub fn orchestrator(&self) -> Result<&Arc<dyn Orchestrator>, HostingError> {
        self.orchestrator
            .as_ref()
            .ok_or(HostingError::NoOrchestrator)
    }

    /// The backup store, when one is set up.
    pub fn backup_store(&self) -> Option<&BackupStore> {
        self.backups.as_ref()
    }

    fn store(&self) -> Result<&BackupStore, HostingError> {
        self.backups.as_ref().ok_or(HostingError::NoBackupStore)
    }

    /// Server `id`, if `caller` may see it (their own; an admin: any).
    pub async fn visible(&self, caller: Caller, id: i64) -> Result<Server, HostingError> {
        self.servers
            .get(caller.user_id, caller.role, id)
            .await?
            .ok_or(HostingError::NotFound)
    }

    async fn template_of(&self, server: &Server) -> Result<Template, HostingError> {
        Ok(self
            .servers
            .template(server.template_id)
            .await?
            .ok_or(ServerError::NotFound)?)
    }

    /// Makes a server of template `template_id` for `caller` and starts it:
    /// refused before anything is made when the wallet cannot pay the first
    /// hour or no node has room; then recorded running, the first hour
    /// charged, started.
    pub async fn create(
        &self,
        caller: Caller,
        template_id: i64,
        name: &str,
    ) -> Result<Server, HostingError> {
        let orchestrator = self.orchestrator()?.clone();
        let template = self
            .servers
            .template(template_id)
            .await?
            .ok_or(HostingError::NoTemplate(template_id))?;
        // Refused up front when the first hour is out of reach, so a wallet
        // that cannot pay leaves no server behind. The hold below is the real
        // check (the balance can change in between).
        let balance = self
            .ledger
            .balance(&Account::wallet(&caller.user_id.to_string()).map_err(LedgerError::from)?)
            .await?;
        if balance.0 < template.price_per_hour {
            return Err(HostingError::Insufficient {
                balance,
                price: Millis(template.price_per_hour),
            });
        }
        // Nor is a server made (and charged) that no node can take.
        orchestrator.has_room(&template).await?;
        let server = self
            .servers
            .create(caller.user_id, template_id, name)
            .await?;
        self.hold_then_start(orchestrator.as_ref(), server, &template, &caller.who())
            .await
    }

    /// Posts the hold for a server just recorded running (see
    /// [`crate::billing`]), then starts it. When the wallet cannot pay, the
    /// server is recorded hibernated instead and nothing starts.
    async fn hold_then_start(
        &self,
        orchestrator: &dyn Orchestrator,
        server: Server,
        template: &Template,
        who: &str,
    ) -> Result<Server, HostingError> {
        let price = Millis(template.price_per_hour);
        match self.settle_priced(&server, price, now_ms(), who).await? {
            Settled::Paid { .. } => {
                orchestrator.start(&server, template).await?;
                Ok(server)
            }
            Settled::Hibernated { balance, price, .. } => {
                Err(HostingError::Insufficient { balance, price })
            }
        }
    }

    /// Moves a server `caller` may see to `to` (`cause`: the caller), then
    /// has the node act, with the hold on a wake.
    async fn change(
        &self,
        caller: Caller,
        id: i64,
        to: ServerState,
    ) -> Result<Server, HostingError> {
        let orchestrator = self.orchestrator()?.clone();
        let server = self.visible(caller, id).await?;
        let moved = self
            .servers
            .transition(server.id, to, now_ms(), &caller.who())
            .await?;
        match to {
            ServerState::Running => {
                let template = self.template_of(&moved).await?;
                return self
                    .hold_then_start(orchestrator.as_ref(), moved, &template, &caller.who())
                    .await;
            }
            ServerState::Hibernated | ServerState::Crashed => orchestrator.stop(moved.id).await?,
            ServerState::Deleted => orchestrator.remove(moved.id).await?,
        }
        Ok(moved)
    }

    /// Starts a hibernated server again (charging the hour that starts,
    /// unless one already paid covers now).
    pub async fn wake(&self, caller: Caller, id: i64) -> Result<Server, HostingError> {
        self.change(caller, id, ServerState::Running).await
    }

    /// Stops a running server, keeping its data; billing stops with it.
    pub async fn hibernate(&self, caller: Caller, id: i64) -> Result<Server, HostingError> {
        self.change(caller, id, ServerState::Hibernated).await
    }

    /// Deletes a server with its data.
    pub async fn delete(&self, caller: Caller, id: i64) -> Result<Server, HostingError> {
        self.change(caller, id, ServerState::Deleted).await
    }

    /// A client reached server `id`'s wake proxy while it slept: records it
    /// running (cause [`PROXY`]), posts the hold and starts it. A server
    /// still recorded running (it crashed, or its node restarted) is
    /// started again with no new hold.
    pub async fn wake_for_client(&self, id: i64) -> Result<Server, HostingError> {
        let orchestrator = self.orchestrator()?.clone();
        let running = self
            .servers
            .running()
            .await?
            .into_iter()
            .find(|s| s.id == id);
        match running {
            Some(server) => {
                let template = self.template_of(&server).await?;
                orchestrator.start(&server, &template).await?;
                Ok(server)
            }
            None => {
                if let Some(server) = self.servers.get_any(id).await? {
                    if server.state == ServerState::Crashed {
                        let status = server.last_exit.map(|e| e.status).unwrap_or_default();
                        return Err(HostingError::Crashed(status));
                    }
                }
                let moved = self
                    .servers
                    .transition(id, ServerState::Running, now_ms(), PROXY)
                    .await?;
                let template = self.template_of(&moved).await?;
                self.hold_then_start(orchestrator.as_ref(), moved, &template, PROXY)
                    .await
            }
        }
    }

    /// Records running server `id` hibernated for idleness (cause
    /// [`IDLE`]) and stops it in the background. `false` when it was not
    /// running any more (someone else moved it first).
    pub async fn hibernate_idle(&self, id: i64) -> Result<bool, HostingError> {
        let orchestrator = self.orchestrator()?.clone();
        match self
            .servers
            .transition(id, ServerState::Hibernated, now_ms(), IDLE)
            .await
        {
            Ok(_) => {}
            Err(ServerError::WrongState(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        }
        tokio::spawn(async move {
            if let Err(e) = orchestrator.stop(id).await {
                tracing::error!(server = id, "stopping an idle server failed: {e}");
            }
        });
        Ok(true)
    }

    /// Records those of `ids` still recorded running as hibernated (cause
    /// `cause`): their node stopped them already (it restarted, or `gsp up`
    /// is shutting down), and billing stops with them. Returns how many
    /// moved.
    pub async fn record_stopped(&self, ids: &[i64], cause: &str) -> Result<usize, HostingError> {
        let now = now_ms();
        let mut stopped = 0;
        for server in self.servers.running().await? {
            if !ids.contains(&server.id) {
                continue;
            }
            match self
                .servers
                .transition(server.id, ServerState::Hibernated, now, cause)
                .await
            {
                Ok(_) => stopped += 1,
                Err(ServerError::WrongState(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(stopped)
    }

    /// Server `id`'s world exited on its own, as its node reports it (see
    /// [`Exited`]): the exit is kept for its page, and the state follows
    /// the node. A world its node gave up on is recorded
    /// [`ServerState::Crashed`], one that exited cleanly
    /// [`ServerState::Hibernated`]; both **at the moment it exited**
    /// (never before the last recorded change, nor in the future), so no
    /// hour that starts after the exit is charged. A world being restarted
    /// stays running. A server not recorded running is left as it is.
    /// Returns the server's state after.
    pub async fn record_exit(&self, id: i64, exited: &Exited) -> Result<ServerState, HostingError> {
        let server = self
            .servers
            .get_any(id)
            .await?
            .ok_or(HostingError::NotFound)?;
        let (outcome, to, cause) = match exited.outcome {
            ExitOutcome::Restarting { .. } => ("restarting", None, String::new()),
            ExitOutcome::Crashed => (
                "crashed",
                Some(ServerState::Crashed),
                format!("crashed: {}", exited.status),
            ),
            ExitOutcome::Stopped => (
                "stopped",
                Some(ServerState::Hibernated),
                format!("exited: {}", exited.status),
            ),
        };
        let last_lines: Vec<String> = exited
            .last_lines
            .iter()
            .rev()
            .take(EXIT_LINES)
            .rev()
            .map(|l| l.chars().take(EXIT_LINE_CHARS).collect())
            .collect();
        let status: String = exited.status.chars().take(EXIT_LINE_CHARS).collect();
        let now = now_ms();
        let at = exited
            .at_ms
            .min(now)
            .max(self.servers.last_change(id).await?);
        self.servers
            .record_exit(
                id,
                &LastExit {
                    at_ms: at,
                    status,
                    outcome: outcome.into(),
                    last_lines,
                },
            )
            .await?;
        let Some(to) = to else {
            return Ok(server.state);
        };
        if server.state != ServerState::Running {
            return Ok(server.state);
        }
        match self.servers.transition(id, to, at, &cause).await {
            Ok(_) => Ok(to),
            Err(ServerError::WrongState(now)) => {
                tracing::debug!(server = id, state = now, "an exit after the server moved");
                Ok(server.state)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Posts every hour of `server` due by `now_ms` (those posted before are
    /// skipped), recording `who` as their cause. If one is refused for want
    /// of credit, records the server hibernated at that hour's start (cause
    /// [`BILLING`]) and returns [`Settled::Hibernated`]; the caller stops it.
    pub async fn settle(
        &self,
        server: &Server,
        now_ms: i64,
        who: &str,
    ) -> Result<Settled, HostingError> {
        let template = self.template_of(server).await?;
        self.settle_priced(server, Millis(template.price_per_hour), now_ms, who)
            .await
    }

    async fn settle_priced(
        &self,
        server: &Server,
        price: Millis,
        now_ms: i64,
        who: &str,
    ) -> Result<Settled, HostingError> {
        let settled = self
            .biller
            .settle_priced(server, price, now_ms, who)
            .await?;
        if let Settled::Hibernated { at_ms, .. } = settled {
            match self
                .servers
                .transition(server.id, ServerState::Hibernated, at_ms, BILLING)
                .await
            {
                // Already moved by someone else (a user's hibernate, a
                // delete): the unpaid hour is then not billed either.
                Ok(_) | Err(ServerError::WrongState(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(settled)
    }

    /// One billing pass over every running server: settles each, and stops
    /// those hibernated for want of credit. Returns how many were
    /// hibernated. A server that fails to settle is logged and skipped.
    pub async fn bill_running(&self, now_ms: i64) -> Result<usize, HostingError> {
        let orchestrator = self.orchestrator()?.clone();
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
                    if let Err(e) = orchestrator.stop(server.id).await {
                        tracing::warn!(server = server.id, "stopping for billing failed: {e}");
                    }
                }
                Err(e) => tracing::error!(server = server.id, "billing failed: {e}"),
            }
        }
        Ok(hibernated)
    }

    /// Runs [`Hosting::bill_running`] every `every` until `stop` is
    /// cancelled.
    pub async fn run_billing(self, every: Duration, stop: CancellationToken) {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = ticks.tick() => {}
            }
            if let Err(e) = self.bill_running(now_ms()).await {
                tracing::error!("billing pass failed: {e}");
            }
        }
    }

    /// The last `lines` lines of the log of a server `caller` may see.
    pub async fn logs(
        &self,
        caller: Caller,
        id: i64,
        lines: usize,
    ) -> Result<Vec<String>, HostingError> {
        let server = self.visible(caller, id).await?;
        Ok(self.orchestrator()?.logs(server.id, lines).await?)
    }

    /// Writes `line` to the console of `caller`'s own running server (an
    /// admin who is not its owner is refused), echoed in its log.
    pub async fn console(&self, caller: Caller, id: i64, line: &str) -> Result<(), HostingError> {
        let server = self.visible(caller, id).await?;
        if server.owner_id != caller.user_id {
            return Err(HostingError::OwnerOnly);
        }
        gsp_agent_api::ConsoleLine::check(line).map_err(ServerError::Invalid)?;
        if server.state != ServerState::Running {
            return Err(ServerError::WrongState(server.state.as_str()).into());
        }
        tracing::info!(server = id, who = %caller.who(), "console line sent");
        Ok(self.orchestrator()?.console(server.id, line).await?)
    }

    /// The current stats of a server `caller` may see.
    pub async fn stats(&self, caller: Caller, id: i64) -> Result<Stats, HostingError> {
        let server = self.visible(caller, id).await?;
        Ok(self.orchestrator()?.stats(server.id).await?)
    }

    /// Takes a backup of a server `caller` may see into the backup store.
    pub async fn back_up(&self, caller: Caller, id: i64) -> Result<BackupInfo, HostingError> {
        let server = self.visible(caller, id).await?;
        let store = self.store()?;
        let archive = self.orchestrator()?.backup(server.id).await?;
        let info = store.put(server.id, archive).await?;
        tracing::info!(server = server.id, backup = %info.name, size = info.size, "backup taken");
        Ok(info)
    }

    /// The backups of a server `caller` may see, newest first.
    pub async fn backups(&self, caller: Caller, id: i64) -> Result<Vec<BackupInfo>, HostingError> {
        let server = self.visible(caller, id).await?;
        Ok(self.store()?.list(server.id).await?)
    }

    /// Restores a server `caller` may see to the backup named `backup`:
    /// stops it if it runs (recording it hibernated) and puts the backup in
    /// place of its data. Answers the server, hibernated; the next player
    /// or a wake starts it on the restored data.
    pub async fn restore(
        &self,
        caller: Caller,
        id: i64,
        backup: &str,
    ) -> Result<Server, HostingError> {
        let server = self.visible(caller, id).await?;
        let archive = self.store()?.get(server.id, backup).await?;
        let orchestrator = self.orchestrator()?.clone();
        let server = if server.state == ServerState::Running {
            match self
                .servers
                .transition(server.id, ServerState::Hibernated, now_ms(), &caller.who())
                .await
            {
                Ok(moved) => {
                    orchestrator.stop(moved.id).await?;
                    moved
                }
                Err(ServerError::WrongState(_)) => server,
                Err(e) => return Err(e.into()),
            }
        } else {
            server
        };
        orchestrator.restore(server.id, archive).await?;
        tracing::info!(server = server.id, %backup, "backup restored");
        Ok(server)
    }
}
