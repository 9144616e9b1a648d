//! Who is online in which world, from the presence messages on the bus.
//!
//! Each world publishes [`BusMessage::Presence`] on every join and leave and
//! every few seconds, and [`BusMessage::Gone`] when it stops. A world that
//! crashes sends no `Gone`; [`PresenceBook`] therefore forgets a world whose
//! last presence was received more than a TTL ago. Times are the receiver's
//! own clock (`Instant`), passed in by the caller, so clocks of other
//! machines never matter and the book is tested without waiting.
//!
//! The world keeps one in its bus state for `who all`; other tools reading
//! the bus can use it too.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::bus::BusMessage;

/// How long a world's presence counts without being refreshed, by default.
pub const DEFAULT_TTL: Duration = Duration::from_secs(10);

/// One world's last known presence.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    players: Vec<String>,
    sent_ms: u64,
    received: Instant,
}

/// The worlds heard from recently, and who is online in each.
#[derive(Debug, Clone)]
pub struct PresenceBook {
    ttl: Duration,
    worlds: BTreeMap<String, Entry>,
}

impl Default for PresenceBook {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl PresenceBook {
    /// An empty book that forgets a world `ttl` after its last presence.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            worlds: BTreeMap::new(),
        }
    }

    /// The time to live of an entry.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Take in a bus message received at `now`. `Presence` replaces what the
    /// book knew of that world (unless it is older, by `sent_ms`, than a live
    /// entry: messages may arrive out of order across connections); `Gone`
    /// forgets the world; chat is ignored. Returns whether the book changed.
    pub fn observe(&mut self, msg: &BusMessage, now: Instant) -> bool {
        match msg {
            BusMessage::Presence {
                world,
                players,
                sent_ms,
            } => {
                if let Some(old) = self.worlds.get(world) {
                    if self.alive(old, now) && old.sent_ms > *sent_ms {
                        return false;
                    }
                }
                let mut players = players.clone();
                players.sort();
                players.dedup();
                self.worlds.insert(
                    world.clone(),
                    Entry {
                        players,
                        sent_ms: *sent_ms,
                        received: now,
                    },
                );
                true
            }
            BusMessage::Gone { world } => self.worlds.remove(world).is_some(),
            BusMessage::Chat { .. } => false,
        }
    }

    /// Drop the entries that have expired at `now` (reading never shows them
    /// anyway; this only frees their memory).
    pub fn expire(&mut self, now: Instant) {
        let ttl = self.ttl;
        self.worlds
            .retain(|_, e| now.saturating_duration_since(e.received) <= ttl);
    }

    /// The players online in `world` at `now`, sorted, if it is known and live.
    pub fn players(&self, world: &str, now: Instant) -> Option<&[String]> {
        self.worlds
            .get(world)
            .filter(|e| self.alive(e, now))
            .map(|e| e.players.as_slice())
    }

    /// Every live world at `now` with its players, by world name.
    pub fn online(&self, now: Instant) -> impl Iterator<Item = (&str, &[String])> + '_ {
        self.worlds
            .iter()
            .filter(move |(_, e)| self.alive(e, now))
            .map(|(w, e)| (w.as_str(), e.players.as_slice()))
    }

    /// The live worlds where `player` is online at `now` (usually one; more
    /// while a takeover is in flight), by world name.
    pub fn find(&self, player: &str, now: Instant) -> Vec<&str> {
        self.online(now)
            .filter(|(_, players)| players.binary_search_by(|p| p.as_str().cmp(player)).is_ok())
            .map(|(w, _)| w)
            .collect()
    }

    /// How many players are online across live worlds at `now`.
    pub fn total(&self, now: Instant) -> usize {
        self.online(now).map(|(_, p)| p.len()).sum()
    }

    fn alive(&self, entry: &Entry, now: Instant) -> bool {
        now.saturating_duration_since(entry.received) <= self.ttl
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn presence(world: &str, players: &[&str], sent_ms: u64) -> BusMessage {
        BusMessage::Presence {
            world: world.into(),
            players: players.iter().map(|p| p.to_string()).collect(),
            sent_ms,
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn answers_who_is_where() {
        let t = Instant::now();
        let mut book = PresenceBook::default();
        assert!(book.observe(&presence("tavern", &["bob", "ann"], 1), t));
        assert!(book.observe(&presence("harbor", &["cid"], 1), t));
        assert_eq!(
            book.players("tavern", t),
            Some(&["ann".to_string(), "bob".to_string()][..])
        );
        let online: Vec<_> = book.online(t).map(|(w, p)| (w, p.len())).collect();
        assert_eq!(online, vec![("harbor", 1), ("tavern", 2)]);
        assert_eq!(book.find("cid", t), vec!["harbor"]);
        assert!(book.find("dan", t).is_empty());
        assert_eq!(book.total(t), 3);
    }

    #[test]
    fn a_newer_presence_replaces_and_an_older_one_is_ignored() {
        let t = Instant::now();
        let mut book = PresenceBook::default();
        book.observe(&presence("tavern", &["ann"], 100), t);
        assert!(book.observe(&presence("tavern", &["ann", "bob"], 200), t));
        assert!(!book.observe(&presence("tavern", &[], 150), t));
        assert_eq!(book.players("tavern", t).map(<[_]>::len), Some(2));
        assert!(book.observe(&presence("tavern", &[], 300), t));
        assert_eq!(book.players("tavern", t), Some(&[][..]));
    }

    #[test]
    fn entries_expire_after_the_ttl_unless_refreshed() {
        let t = Instant::now();
        let mut book = PresenceBook::new(secs(10));
        book.observe(&presence("tavern", &["ann"], 1), t);
        book.observe(&presence("harbor", &["bob"], 1), t);
        book.observe(&presence("harbor", &["bob"], 2), t + secs(8));
        assert!(book.players("tavern", t + secs(10)).is_some());
        assert!(book.players("tavern", t + secs(11)).is_none());
        assert_eq!(book.find("bob", t + secs(11)), vec!["harbor"]);
        assert!(book.find("ann", t + secs(11)).is_empty());
        assert!(book.players("harbor", t + secs(19)).is_none());
        book.expire(t + secs(11));
        assert_eq!(book.online(t).count(), 1, "expire freed the stale tavern");
    }

    #[test]
    fn an_expired_entry_accepts_an_older_sent_time() {
        // A world restarted on a machine whose clock is behind.
        let t = Instant::now();
        let mut book = PresenceBook::new(secs(10));
        book.observe(&presence("tavern", &["ann"], 5_000), t);
        assert!(book.observe(&presence("tavern", &["bob"], 10), t + secs(11)));
        assert_eq!(book.find("bob", t + secs(11)), vec!["tavern"]);
    }

    #[test]
    fn gone_forgets_at_once_and_chat_is_ignored() {
        let t = Instant::now();
        let mut book = PresenceBook::default();
        book.observe(&presence("tavern", &["ann"], 1), t);
        let chat = BusMessage::Chat {
            world: "tavern".into(),
            channel: "public".into(),
            from: "ann".into(),
            text: "bye".into(),
        };
        assert!(!book.observe(&chat, t));
        assert!(book.observe(
            &BusMessage::Gone {
                world: "tavern".into()
            },
            t
        ));
        assert!(book.players("tavern", t).is_none());
        assert!(!book.observe(
            &BusMessage::Gone {
                world: "nowhere".into()
            },
            t
        ));
    }

    #[test]
    fn unsorted_or_duplicated_players_are_normalised() {
        let t = Instant::now();
        let mut book = PresenceBook::default();
        book.observe(&presence("w", &["zed", "ann", "zed"], 1), t);
        assert_eq!(
            book.players("w", t),
            Some(&["ann".to_string(), "zed".to_string()][..])
        );
        assert_eq!(book.find("zed", t), vec!["w"]);
    }
}
