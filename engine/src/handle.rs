//! [`WorldHandle`]: how gateways reach the world.
//!
//! A gateway calls [`WorldHandle::join`] with the player's name and gets a
//! [`Session`]: the avatar's id, a [`SessionSender`] for commands and inputs,
//! and the receiving end of its queue of [`Outbound`] messages
//! ([`outbound`]). When
//! the last clone of the sender is dropped, the world removes the avatar, so
//! a gateway cannot leak players by forgetting to say goodbye.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crossbeam_channel::{Sender, TrySendError};

use crate::accounts::{AccountId, Login};
use crate::outbound::{self, OutboundReceiver, OutboundSender};
use crate::persist::CharacterState;
use crate::session::{GatewayKind, InputSlot, MoveInput, Outbound, RefusalReason, SessionId};
use crate::stats::WorldStats;

/// A message from a gateway to the world, applied in the next tick's ingest stage.
#[derive(Debug)]
pub(crate) enum Inbound {
    Join(Joining),
    Command { session: SessionId, text: String },
}

/// A join request on its way to the world.
#[derive(Debug)]
pub(crate) struct Joining {
    pub session: SessionId,
    pub name: String,
    pub kind: GatewayKind,
    pub account: Option<AccountId>,
    pub character: Option<CharacterState>,
    pub outbound: OutboundSender,
    pub input: Arc<InputSlot>,
}

/// Why a join did not produce a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JoinError {
    /// The world said no.
    #[error("refused: {0}")]
    Refused(RefusalReason),
    /// The world's inbound queue is full; try again shortly.
    #[error("the world is too busy to accept players right now")]
    Busy,
    /// The world has stopped.
    #[error("the world has stopped")]
    Stopped,
}

/// Why a command was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The session is typing faster than the rate limit.
    #[error("you are typing too fast")]
    RateLimited,
    /// The world's inbound queue is full.
    #[error("the world is too busy")]
    Busy,
    /// The world has stopped.
    #[error("the world has stopped")]
    Stopped,
}

/// Who wants to join, as [`WorldHandle::join_as`] takes it.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinRequest {
    /// The name shown to others.
    pub name: String,
    /// The gateway.
    pub kind: GatewayKind,
    /// The logged-in account; `None` for a guest, whose character is not saved.
    pub account: Option<AccountId>,
    /// The saved character to restore; `None` starts at the start room.
    pub character: Option<CharacterState>,
}

impl JoinRequest {
    /// A guest called `name`.
    pub fn guest(name: &str, kind: GatewayKind) -> Self {
        JoinRequest {
            name: name.to_owned(),
            kind,
            account: None,
            character: None,
        }
    }

    /// The account holder of `login`, restoring the saved character.
    pub fn account(login: &Login, kind: GatewayKind) -> Self {
        JoinRequest {
            name: login.name.clone(),
            kind,
            account: Some(login.account),
            character: login.character.clone(),
        }
    }
}

/// A cloneable handle to a running world.
#[derive(Clone)]
pub struct WorldHandle {
    pub(crate) inbound: Sender<Inbound>,
    pub(crate) leaves: Sender<SessionId>,
    pub(crate) next_session: Arc<AtomicU64>,
    pub(crate) stats: Arc<WorldStats>,
    pub(crate) tick_rate: u16,
}

impl std::fmt::Debug for WorldHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorldHandle")
            .field("tick_rate", &self.tick_rate)
            .finish_non_exhaustive()
    }
}

/// A joined player, as its gateway holds it.
#[derive(Debug)]
pub struct Session {
    /// The session's id.
    pub id: SessionId,
    /// The avatar's wire id in snapshots.
    pub entity: u32,
    /// Ticks per second.
    pub tick_rate: u16,
    /// How snapshots are quantized.
    pub quantization: gsp_protocol::snapshot::Quantization,
    /// Avatar walking speed, m/s.
    pub walk_speed: f32,
    /// Commands and inputs towards the world.
    pub sender: SessionSender,
    /// Messages from the world; `None` once the world has ended the session.
    pub receiver: OutboundReceiver,
}

/// Sends a session's commands and inputs. Cloneable; the session leaves the
/// world when the last clone is dropped.
#[derive(Debug, Clone)]
pub struct SessionSender {
    id: SessionId,
    inbound: Sender<Inbound>,
    input: Arc<InputSlot>,
    limiter: Arc<Mutex<TokenBucket>>,
    _leave: Arc<LeaveOnDrop>,
}

#[derive(Debug)]
struct LeaveOnDrop {
    id: SessionId,
    leaves: Sender<SessionId>,
}

impl Drop for LeaveOnDrop {
    fn drop(&mut self) {
        // The world may already be gone; then there is nobody to tell.
        let _ = self.leaves.send(self.id);
    }
}

/// Commands a session may type per second, sustained.
pub const COMMANDS_PER_SECOND: f64 = 10.0;
/// Commands a session may type in a burst.
pub const COMMAND_BURST: f64 = 20.0;

/// A token bucket: `capacity` tokens, refilled at `rate` per second.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    capacity: f64,
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(capacity: f64, rate: f64, now: Instant) -> Self {
        TokenBucket {
            capacity,
            rate,
            tokens: capacity,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl SessionSender {
    /// The session's id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Queues a typed line for the next tick.
    pub fn command(&self, text: impl Into<String>) -> Result<(), SendError> {
        let allowed = self
            .limiter
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_take(Instant::now());
        if !allowed {
            return Err(SendError::RateLimited);
        }
        match self.inbound.try_send(Inbound::Command {
            session: self.id,
            text: text.into(),
        }) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(SendError::Busy),
            Err(TrySendError::Disconnected(_)) => Err(SendError::Stopped),
        }
    }

    /// Queues the movement inputs of one datagram: `moves[i]` is input
    /// `sequence - i` as `[x, z]`. Inputs already held or applied are
    /// ignored; returns how many were new.
    pub fn inputs(&self, sequence: u32, moves: &[[f32; 2]]) -> usize {
        self.input.offer(sequence, moves)
    }

    /// Queues one movement input.
    pub fn input(&self, input: MoveInput) -> bool {
        self.input
            .offer(input.sequence, &[[input.move_x, input.move_z]])
            > 0
    }

    /// Records which snapshots the client received (newest, and bit `i` for
    /// `newest - 1 - i`).
    pub fn acknowledge(&self, newest: u32, bits: u64) {
        self.input.acknowledge(newest, bits);
    }
}

impl WorldHandle {
    /// Ticks per second.
    pub fn tick_rate(&self) -> u16 {
        self.tick_rate
    }

    /// The world's statistics.
    pub fn stats(&self) -> &Arc<WorldStats> {
        &self.stats
    }

    /// Joins the world as the guest `name` (no account, nothing saved);
    /// resolves after the next tick has accepted or refused the player.
    pub async fn join(&self, name: &str, kind: GatewayKind) -> Result<Session, JoinError> {
        self.join_as(JoinRequest::guest(name, kind)).await
    }

    /// Joins the world as `request` says; resolves after the next tick has
    /// accepted or refused the player.
    ///
    /// A request with an account whose character is already online *takes
    /// it over*: the old session reads that it was replaced and is closed
    /// ([`CloseReason::TakenOver`](crate::CloseReason::TakenOver)), and the
    /// new one continues the avatar where it stands.
    pub async fn join_as(&self, request: JoinRequest) -> Result<Session, JoinError> {
        let JoinRequest {
            name,
            kind,
            account,
            character,
        } = request;
        let id = SessionId(self.next_session.fetch_add(1, Ordering::Relaxed));
        let (tx, mut rx) = outbound::channel();
        let input = Arc::new(InputSlot::default());
        // The guard exists before the world hears of us: if this future is
        // dropped half way, the world still learns that we left.
        let leave = Arc::new(LeaveOnDrop {
            id,
            leaves: self.leaves.clone(),
        });
        match self.inbound.try_send(Inbound::Join(Joining {
            session: id,
            name,
            kind,
            account,
            character,
            outbound: tx,
            input: input.clone(),
        })) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(JoinError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(JoinError::Stopped),
        }
        match rx.recv().await {
            Some(Outbound::Joined {
                entity,
                tick_rate,
                quantization,
                walk_speed,
            }) => Ok(Session {
                id,
                entity,
                tick_rate,
                quantization,
                walk_speed,
                sender: SessionSender {
                    id,
                    inbound: self.inbound.clone(),
                    input,
                    limiter: Arc::new(Mutex::new(TokenBucket::new(
                        COMMAND_BURST,
                        COMMANDS_PER_SECOND,
                        Instant::now(),
                    ))),
                    _leave: leave,
                },
                receiver: rx,
            }),
            Some(Outbound::Refused(reason)) => Err(JoinError::Refused(reason)),
            Some(_) | None => Err(JoinError::Stopped),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn token_bucket_allows_bursts_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(3.0, 2.0, t0);
        assert!((0..3).all(|_| b.try_take(t0)));
        assert!(!b.try_take(t0));
        assert!(b.try_take(t0 + Duration::from_millis(500)));
        assert!(!b.try_take(t0 + Duration::from_millis(500)));
    }
}
