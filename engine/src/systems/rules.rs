//! Rules: typed commands, room membership and chat routing.
//!
//! Room membership follows position: after commands have run, every avatar
//! whose position lies in another room than last tick leaves the old room
//! (its occupants read "ada leaves north.") and enters the new one (its
//! occupants read "ada arrives from the south.", and the mover reads the new
//! room). This is the same for a telnet player who typed `go north` and a
//! graphical player who walked across the line.
//!
//! Who is where is kept in [`Occupants`], so that speech, arrivals and
//! departures cost the size of the room, and `go` settles only the one who
//! went. Speech is rate-limited per speaker ([`SpeechLimit`]): a flood is
//! dropped where it is typed, and only its speaker hears of it.

use bevy_ecs::prelude::*;

use crate::bus::BusMessage;
use crate::components::*;
use crate::events::{WorldEvent, WorldEvents};
use crate::map::{RoomId, WorldMap};
use crate::session::{CloseReason, Outbound, RoomView, SessionId, TextEvent, WhoEntry, WorldWho};
use crate::systems::bus::BusState;
use crate::systems::ingest::PendingRemovals;
use crate::text::{self, Command};

type AvatarQuery<'w, 's> = Query<
    'w,
    's,
    (
        Entity,
        &'static Avatar,
        &'static mut Position,
        &'static mut CurrentRoom,
    ),
>;

/// What a speaker over the limit reads.
pub const TOO_FAST: &str = "You are speaking too fast; that was not said. Wait a moment.";

/// Runs the commands typed since the last tick, in order.
#[allow(clippy::too_many_arguments)]
pub fn run_commands(
    (mut pending, mut removals): (ResMut<PendingCommands>, ResMut<PendingRemovals>),
    (mut occupants, time): (ResMut<Occupants>, Res<TickTime>),
    mut sessions: ResMut<Sessions>,
    mut events: ResMut<WorldEvents>,
    map: Res<WorldMap>,
    (mod_commands, config, topics): (Res<ModCommands>, Res<WorldConfig>, Res<HelpTopics>),
    mut bus: Option<ResMut<BusState>>,
    mut avatars: AvatarQuery,
    (mut attributes, mut commands): (Query<&mut Attributes>, Commands),
) {
    for (session, line) in std::mem::take(&mut pending.0) {
        let Some(entity) = sessions.by_id.get(&session).map(|e| e.entity) else {
            continue;
        };
        let Ok((_, avatar, _, current)) = avatars.get(entity) else {
            continue;
        };
        let name = avatar.name.clone();
        let room = current.0;
        let command = text::parse(&line);
        if let Some(entry) = sessions.by_id.get_mut(&session) {
            entry.active_tick = time.tick;
        }
        if matches!(
            command,
            Command::Say(_) | Command::Chat(_) | Command::Tell { .. } | Command::Emote(_)
        ) {
            let Some(entry) = sessions.by_id.get_mut(&session) else {
                continue;
            };
            match entry.speech.take(time.tick, time.rate, config.speech) {
                Speech::Said => {}
                Speech::TooFast => {
                    sessions.send(session, Outbound::Text(TextEvent::Error(TOO_FAST.into())));
                    continue;
                }
                Speech::Dropped => continue,
            }
        }
        match command {
            Command::Nothing => {}
            Command::Look => {
                if let Some(room) = room {
                    let view = room_view(&map, room, &name, &occupants, &avatars);
                    sessions.send(session, Outbound::Text(TextEvent::Room(view)));
                }
            }
            Command::Say(said) => {
                let Some(room) = room else { continue };
                let room_key = map.room(room).key.clone();
                events.push(WorldEvent::Say {
                    entity,
                    room,
                    text: said.clone(),
                });
                for &listener in occupants.of(room) {
                    let Ok((_, a, _, _)) = avatars.get(listener) else {
                        continue;
                    };
                    sessions.send(
                        a.session,
                        Outbound::Text(TextEvent::Said {
                            speaker: name.clone(),
                            room: room_key.clone(),
                            text: said.clone(),
                            by_you: a.session == session,
                        }),
                    );
                }
            }
            Command::Go(direction) => {
                let exit = room.and_then(|r| map.room(r).exit(direction).copied());
                match exit {
                    Some(exit) => {
                        if let Ok((_, _, mut position, _)) = avatars.get_mut(entity) {
                            position.0 = map.room(exit.to).spawn_point();
                        }
                        // Settle at once, so that a command typed after this
                        // one in the same tick happens in the new room.
                        let mut rooms = Rooms {
                            map: &map,
                            sessions: &mut sessions,
                            events: &mut events,
                            occupants: &mut occupants,
                        };
                        rooms.settle(&mut avatars, Some(entity));
                    }
                    None => sessions.send(
                        session,
                        Outbound::Text(TextEvent::Error(format!(
                            "You cannot go {direction} from here."
                        ))),
                    ),
                }
            }
            Command::Who => {
                let players = who(&map, room, &occupants, &sessions, &avatars, &time);
                let online = sessions.by_id.len();
                sessions.send(session, Outbound::Text(TextEvent::Who { players, online }));
            }
            Command::WhoAll => {
                let here = sessions.names_sorted();
                let mut worlds = vec![WorldWho {
                    world: bus
                        .as_deref()
                        .map_or("this world", |b| b.world())
                        .to_owned(),
                    here: true,
                    players: here,
                }];
                if let Some(bus) = bus.as_deref() {
                    let now = std::time::Instant::now();
                    worlds.extend(bus.presence.online(now).map(|(w, p)| WorldWho {
                        world: w.to_owned(),
                        here: false,
                        players: p.to_vec(),
                    }));
                }
                sessions.send(session, Outbound::Text(TextEvent::WhoAll(worlds)));
            }
            Command::Chat(args) => {
                let (channel, said) = crate::bus::chat_channel(&args);
                match bus.as_deref_mut() {
                    Some(bus) => {
                        let message = BusMessage::Chat {
                            world: bus.world().to_owned(),
                            channel: channel.to_owned(),
                            from: name.clone(),
                            text: said.to_owned(),
                        };
                        // Everyone here hears it when the bus echoes it back.
                        if !bus.publish(message) {
                            sessions.send(
                                session,
                                Outbound::Text(TextEvent::Error(
                                    "Chat is unavailable right now; try again shortly.".into(),
                                )),
                            );
                        }
                    }
                    None => sessions.send_channel(
                        channel,
                        Outbound::Text(TextEvent::Chat {
                            channel: channel.to_owned(),
                            world: "this world".into(),
                            here: true,
                            from: name.clone(),
                            text: said.to_owned(),
                        }),
                    ),
                }
            }
            Command::Channels(action) => {
                let Some(entry) = sessions.by_id.get_mut(&session) else {
                    continue;
                };
                let changes = !matches!(action, text::ChannelAction::List);
                let reply = channel_action(entry, action);
                if changes {
                    let left = serde_json::json!(entry.left_channels);
                    keep(
                        &mut attributes,
                        &mut commands,
                        entity,
                        CHANNELS_ATTRIBUTE,
                        left,
                    );
                }
                sessions.send(session, Outbound::Text(reply));
            }
            Command::Help(topic) => {
                let reply = help(topic.as_deref(), &mod_commands, &topics);
                sessions.send(session, Outbound::Text(reply));
            }
            Command::Tell { to, text: told } => {
                let target = sessions
                    .by_id
                    .iter()
                    .find(|(_, e)| e.name.eq_ignore_ascii_case(&to))
                    .map(|(id, e)| (*id, e.name.clone()));
                match target {
                    None => sessions.send(
                        session,
                        Outbound::Text(TextEvent::Error(format!(
                            "Nobody called {to} is in this world."
                        ))),
                    ),
                    Some((id, _)) if id == session => sessions.send(
                        session,
                        Outbound::Text(TextEvent::Error("Talking to yourself?".into())),
                    ),
                    Some((id, their_name)) => {
                        for (reader, by_you) in [(id, false), (session, true)] {
                            sessions.send(
                                reader,
                                Outbound::Text(TextEvent::Told {
                                    from: name.clone(),
                                    to: their_name.clone(),
                                    text: told.clone(),
                                    by_you,
                                }),
                            );
                        }
                    }
                }
            }
            Command::Emote(act) => {
                let Some(room) = room else { continue };
                let event = TextEvent::Emote {
                    name: name.clone(),
                    room: map.room(room).key.clone(),
                    text: act,
                };
                for &listener in occupants.of(room) {
                    if let Ok((_, a, _, _)) = avatars.get(listener) {
                        sessions.send(a.session, Outbound::Text(event.clone()));
                    }
                }
            }
            Command::Config { key, value } => {
                let replies = configure(&key, &value);
                if let Some(Outbound::Setting { value, .. }) = replies.first() {
                    let value = serde_json::Value::String(value.clone());
                    keep(
                        &mut attributes,
                        &mut commands,
                        entity,
                        COLOR_ATTRIBUTE,
                        value,
                    );
                }
                for reply in replies {
                    sessions.send(session, reply);
                }
            }
            Command::Other { verb, args } => {
                if mod_commands.by_name.contains_key(&verb) {
                    events.push(WorldEvent::Command {
                        session,
                        entity,
                        name: verb,
                        args,
                    });
                } else {
                    sessions.send(
                        session,
                        Outbound::Text(TextEvent::Error(text::unknown_command(&verb))),
                    );
                }
            }
            Command::Quit => {
                sessions.send(session, Outbound::Text(TextEvent::Info("Goodbye.".into())));
                sessions.send(session, Outbound::Closed(CloseReason::Quit));
                removals.0.push(session);
            }
            Command::Invalid(why) => {
                sessions.send(session, Outbound::Text(TextEvent::Error(why)));
            }
        }
    }
}

/// `who`: the players in `room` (sorted), then those in other rooms, at
/// most [`text::WHO_LIMIT`] in all: the cost of a room, not of the world.
fn who(
    map: &WorldMap,
    room: Option<RoomId>,
    occupants: &Occupants,
    sessions: &Sessions,
    avatars: &AvatarQuery,
    time: &TickTime,
) -> Vec<WhoEntry> {
    let entry = |room: RoomId, e: Entity| {
        let (_, a, _, _) = avatars.get(e).ok()?;
        let s = sessions.by_id.get(&a.session)?;
        Some(WhoEntry {
            name: a.name.clone(),
            kind: s.kind,
            room: map.room(room).title.clone(),
            idle_secs: time.tick.saturating_sub(s.active_tick) / u64::from(time.rate.max(1)),
        })
    };
    let mut here: Vec<WhoEntry> = room
        .map(|r| {
            occupants
                .of(r)
                .iter()
                .filter_map(|&e| entry(r, e))
                .collect()
        })
        .unwrap_or_default();
    here.sort_by_key(|a| a.name.to_lowercase());
    here.truncate(text::WHO_LIMIT);
    for (other, list) in occupants.rooms() {
        if here.len() >= text::WHO_LIMIT {
            break;
        }
        if Some(other) == room {
            continue;
        }
        let room_start = here.len();
        let room_take = text::WHO_LIMIT - here.len();
        here.extend(list.iter().take(room_take).filter_map(|&e| entry(other, e)));
        here[room_start..].sort_by_key(|a| a.name.to_lowercase());
    }
    here
}

/// Sets attribute `key` of `entity`, kept with its character.
fn keep(
    attributes: &mut Query<&mut Attributes>,
    commands: &mut Commands,
    entity: Entity,
    key: &str,
    value: serde_json::Value,
) {
    match attributes.get_mut(entity) {
        Ok(mut a) => {
            a.0.insert(key.into(), value);
        }
        Err(_) => {
            let mut a = crate::character::AttributeMap::new();
            a.insert(key.into(), value);
            commands.entity(entity).insert(Attributes(a));
        }
    }
}

/// `channels`, `channels join <c>`, `channels leave <c>`.
fn channel_action(entry: &mut SessionEntry, action: text::ChannelAction) -> TextEvent {
    use text::ChannelAction;
    let known = |c: &str| crate::bus::CHANNELS.iter().any(|(n, _)| *n == c);
    match action {
        ChannelAction::List => TextEvent::Info(text::channels_text(&entry.left_channels)),
        ChannelAction::Join(c) | ChannelAction::Leave(c) if !known(&c) => {
            TextEvent::Error(format!("There is no channel '{c}'. 'channels' lists them."))
        }
        ChannelAction::Join(c) => {
            entry.left_channels.retain(|l| *l != c);
            TextEvent::Info(format!("You hear [{c}] again."))
        }
        ChannelAction::Leave(c) => {
            if !entry.left_channels.contains(&c) {
                entry.left_channels.push(c.clone());
            }
            TextEvent::Info(format!(
                "You no longer hear [{c}]; 'channels join {c}' to hear it again."
            ))
        }
    }
}

/// `help` and `help <topic>`: built-in topics, then mods' topics, then a
/// mod command's own line.
fn help(topic: Option<&str>, mod_commands: &ModCommands, topics: &HelpTopics) -> TextEvent {
    let Some(topic) = topic else {
        let mut help = text::HELP.to_owned();
        if !mod_commands.by_name.is_empty() {
            help.push_str("\nFrom the world's mods:");
            for (name, command) in &mod_commands.by_name {
                help.push_str(&format!("\n  {:<21} {}", name, command.help));
            }
        }
        return TextEvent::Info(help);
    };
    let list = || text::topics_line(topics.by_name.keys().map(String::as_str));
    if topic == "topics" {
        return TextEvent::Info(list());
    }
    if let Some(t) = text::topic(topic) {
        return TextEvent::Info(t.to_owned());
    }
    if let Some(t) = topics.by_name.get(topic) {
        return TextEvent::Info(t.text.clone());
    }
    if let Some(c) = mod_commands.by_name.get(topic) {
        return TextEvent::Info(c.help.clone());
    }
    TextEvent::Error(format!("There is no help on '{topic}'. {}", list()))
}

/// `config <key> <value>`: the setting to keep first (if any), then the answer.
fn configure(key: &str, value: &str) -> Vec<Outbound> {
    const DEPTHS: [&str; 5] = ["off", "16", "256", "truecolor", "auto"];
    match key {
        "color" | "colour" => {
            let value = value.to_lowercase();
            if DEPTHS.contains(&value.as_str()) {
                vec![
                    Outbound::Setting {
                        key: "color".into(),
                        value: value.clone(),
                    },
                    Outbound::Text(TextEvent::Info(format!(
                        "Colour: {value}, kept with your character."
                    ))),
                ]
            } else {
                vec![Outbound::Text(TextEvent::Error(
                    "Try 'config color off', '16', '256', 'truecolor' or 'auto'.".into(),
                ))]
            }
        }
        _ => vec![Outbound::Text(TextEvent::Error(format!(
            "There is no setting '{key}'. Try 'config color ...' or 'config prompt ...'."
        )))],
    }
}

/// Moves avatars between rooms by position and tells everyone concerned.
pub fn update_rooms(
    map: Res<WorldMap>,
    mut sessions: ResMut<Sessions>,
    mut events: ResMut<WorldEvents>,
    mut occupants: ResMut<Occupants>,
    mut avatars: AvatarQuery,
) {
    let mut rooms = Rooms {
        map: &map,
        sessions: &mut sessions,
        events: &mut events,
        occupants: &mut occupants,
    };
    rooms.settle(&mut avatars, None);
}

/// What settling room membership reads and writes.
struct Rooms<'a> {
    map: &'a WorldMap,
    sessions: &'a mut Sessions,
    events: &'a mut WorldEvents,
    occupants: &'a mut Occupants,
}

/// One avatar's move between rooms: (entity, session, name, from, to).
type RoomMove = (Entity, SessionId, String, Option<RoomId>, RoomId);

impl Rooms<'_> {
    /// Moves avatars into the room their position is in (only `only`, if
    /// given; else everyone), updating [`Occupants`] and telling the rooms
    /// concerned.
    fn settle(&mut self, avatars: &mut AvatarQuery, only: Option<Entity>) {
        let mut moves: Vec<RoomMove> = Vec::new();
        match only {
            Some(entity) => {
                if let Ok((entity, avatar, position, mut current)) = avatars.get_mut(entity) {
                    moves.extend(self.changed(entity, avatar, position.0, &mut current));
                }
            }
            None => {
                for (entity, avatar, position, mut current) in avatars.iter_mut() {
                    moves.extend(self.changed(entity, avatar, position.0, &mut current));
                }
            }
        }
        if moves.is_empty() {
            return;
        }
        // Everyone's membership first, so that messages go to the rooms as
        // they are after every move of this settle.
        for (entity, _, _, from, to) in &moves {
            if let Some(from) = from {
                self.occupants.leave(*from, *entity);
            }
            self.occupants.enter(*to, *entity);
        }
        let map = self.map;
        for (entity, mover, name, from, to) in moves {
            if let Some(from) = from {
                let leaving_by = map.room(from).exit_to(to).map(|e| e.direction);
                let departed = TextEvent::Departed {
                    name: name.clone(),
                    room: map.room(from).key.clone(),
                    to: leaving_by,
                    quit: false,
                };
                self.tell_room(avatars, from, None, &departed);
            }
            let arriving_from = from.and_then(|f| map.room(to).exit_to(f).map(|e| e.direction));
            let arrived = TextEvent::Arrived {
                name: name.clone(),
                room: map.room(to).key.clone(),
                from: arriving_from,
                joined: from.is_none(),
            };
            self.tell_room(avatars, to, Some(entity), &arrived);
            let view = room_view(map, to, &name, self.occupants, avatars);
            self.sessions
                .send(mover, Outbound::Text(TextEvent::Room(view)));
        }
    }

    /// Whether `entity` is now in another room than `current`: if so it is
    /// recorded (with its enter and leave events), and returned.
    fn changed(
        &mut self,
        entity: Entity,
        avatar: &Avatar,
        position: crate::math::Vec3,
        current: &mut CurrentRoom,
    ) -> Option<RoomMove> {
        let now = self.map.room_at(position)?;
        // `None` between rooms (falling down a shaft, or if a room vanished):
        // stay where we were rather than announce nonsense.
        if current.0 == Some(now) {
            return None;
        }
        if let Some(from) = current.0 {
            self.events.push(WorldEvent::LeaveRoom {
                entity,
                room: from,
                to: Some(now),
            });
        }
        self.events.push(WorldEvent::EnterRoom {
            entity,
            room: now,
            from: current.0,
        });
        let from = current.0.replace(now);
        Some((entity, avatar.session, avatar.name.clone(), from, now))
    }

    /// Sends `event` to everyone in `room` but `except`.
    fn tell_room(
        &mut self,
        avatars: &AvatarQuery,
        room: RoomId,
        except: Option<Entity>,
        event: &TextEvent,
    ) {
        for &listener in self.occupants.of(room) {
            if Some(listener) == except {
                continue;
            }
            if let Ok((_, a, _, _)) = avatars.get(listener) {
                self.sessions.send(a.session, Outbound::Text(event.clone()));
            }
        }
    }
}

fn room_view(
    map: &WorldMap,
    room: RoomId,
    viewer: &str,
    occupants: &Occupants,
    avatars: &AvatarQuery,
) -> RoomView {
    let r = map.room(room);
    let mut others: Vec<String> = occupants
        .of(room)
        .iter()
        .filter_map(|&e| avatars.get(e).ok())
        .map(|(_, a, _, _)| a.name.clone())
        .filter(|n| n != viewer)
        .collect();
    others.sort_by_key(|n| n.to_lowercase());
    let mut players = vec![viewer.to_owned()];
    players.extend(others);
    RoomView {
        key: r.key.clone(),
        title: r.title.clone(),
        description: r.description.clone(),
        exits: r.exits.iter().map(|e| e.direction).collect(),
        players,
        number: u32::from(room.0) + 1,
        exit_rooms: r.exits.iter().map(|e| u32::from(e.to.0) + 1).collect(),
        center: [
            (r.bounds.min.x + r.bounds.max.x) / 2.0,
            (r.bounds.min.y + r.bounds.max.y) / 2.0,
            (r.bounds.min.z + r.bounds.max.z) / 2.0,
        ],
    }
}
