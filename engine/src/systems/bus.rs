//! The world's side of the bus: chat from other worlds (and our own, echoed
//! back) reaches every player here; presence goes out on every join and
//! leave and every few seconds, and comes in for `who all`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bevy_ecs::prelude::*;
use crossbeam_channel::TrySendError;

use crate::bus::{BusLink, BusMessage};
use crate::components::Sessions;
use crate::presence::PresenceBook;
use crate::session::{Outbound, TextEvent};

/// Presence is repeated this often even when nothing changed.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(5);

/// Bus messages one tick takes in; the rest wait for the next tick.
pub const MAX_BUS_MESSAGES_PER_TICK: usize = 1000;

/// A world's bus connection and what it has heard.
#[derive(Resource, Debug)]
pub struct BusState {
    link: BusLink,
    /// The other worlds and their players.
    pub presence: PresenceBook,
    last_roster: Option<(usize, u64)>,
    last_presence: Option<Instant>,
    warned_full: bool,
}

impl BusState {
    /// The state of a world connected through `link`.
    pub fn new(link: BusLink) -> Self {
        BusState {
            link,
            presence: PresenceBook::default(),
            last_roster: None,
            last_presence: None,
            warned_full: false,
        }
    }

    /// This world's name on the bus.
    pub fn world(&self) -> &str {
        &self.link.world
    }

    /// Publishes `message`; false if the bus cannot take it now.
    pub fn publish(&mut self, message: BusMessage) -> bool {
        match self.link.outbound.try_send(message) {
            Ok(()) => {
                self.warned_full = false;
                true
            }
            Err(TrySendError::Full(_)) => {
                if !std::mem::replace(&mut self.warned_full, true) {
                    tracing::warn!("the bus is not keeping up; dropping messages to other worlds");
                }
                false
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// Takes in what the bus brought: chat for everyone here, presence for the book.
pub fn receive(mut bus: Option<ResMut<BusState>>, mut sessions: ResMut<Sessions>) {
    let Some(bus) = bus.as_deref_mut() else {
        return;
    };
    let now = Instant::now();
    for _ in 0..MAX_BUS_MESSAGES_PER_TICK {
        let Ok(message) = bus.link.inbound.try_recv() else {
            break;
        };
        match &message {
            BusMessage::Chat {
                world,
                channel,
                from,
                text,
            } => {
                sessions.send_channel(
                    channel,
                    Outbound::Text(TextEvent::Chat {
                        channel: channel.clone(),
                        world: world.clone(),
                        here: *world == bus.link.world,
                        from: from.clone(),
                        text: text.clone(),
                    }),
                );
            }
            BusMessage::Presence { world, .. } | BusMessage::Gone { world } => {
                if *world != bus.link.world {
                    bus.presence.observe(&message, now);
                }
            }
        }
    }
}

/// Publishes who is online here when it changed, and every [`PRESENCE_EVERY`].
pub fn publish_presence(mut bus: Option<ResMut<BusState>>, sessions: Res<Sessions>) {
    let Some(bus) = bus.as_deref_mut() else {
        return;
    };
    let now = Instant::now();
    let due = bus
        .last_presence
        .is_none_or(|at| now.duration_since(at) >= PRESENCE_EVERY);
    // Not `is_changed`: the emit stage writes `Sessions` every tick.
    let roster = sessions.roster();
    if !due && bus.last_roster == Some(roster) {
        return;
    }
    let message = BusMessage::Presence {
        world: bus.link.world.clone(),
        players: sessions.names_sorted(),
        sent_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64),
    };
    if bus.publish(message) {
        bus.last_roster = Some(roster);
        bus.last_presence = Some(now);
    }
}

/// Tells the other worlds this one is going.
pub fn say_goodbye(world: &mut World) {
    if let Some(mut bus) = world.get_resource_mut::<BusState>() {
        let name = bus.link.world.clone();
        bus.publish(BusMessage::Gone { world: name });
    }
}
