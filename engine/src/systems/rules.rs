//! Rules: typed commands, room membership and chat routing.
//!
//! Room membership follows position: after commands have run, every avatar
//! whose position lies in another room than last tick leaves the old room
//! (its occupants read "ada leaves north.") and enters the new one (its
//! occupants read "ada arrives from the south.", and the mover reads the new
//! room). This is the same for a telnet player who typed `go north` and a
//! graphical player who walked across the line.

use std::collections::HashMap;

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

/// Runs the commands typed since the last tick, in order.
pub fn run_commands(
    (mut pending, mut removals): (ResMut<PendingCommands>, ResMut<PendingRemovals>),
    mut sessions: ResMut<Sessions>,
    mut events: ResMut<WorldEvents>,
    map: Res<WorldMap>,
    mod_commands: Res<ModCommands>,
    mut bus: Option<ResMut<BusState>>,
    mut avatars: AvatarQuery,
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
        match text::parse(&line) {
            Command::Nothing => {}
            Command::Look => {
                if let Some(room) = room {
                    let view = room_view(&map, room, &name, &avatars);
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
                for listener in occupants(&avatars, room) {
                    sessions.send(
                        listener.0,
                        Outbound::Text(TextEvent::Said {
                            speaker: name.clone(),
                            room: room_key.clone(),
                            text: said.clone(),
                            by_you: listener.0 == session,
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
                        settle_rooms(&map, &mut sessions, &mut events, &mut avatars);
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
                let mut entries: Vec<WhoEntry> = sessions
                    .by_id
                    .values()
                    .map(|e| WhoEntry {
                        name: e.name.clone(),
                        kind: e.kind,
                        room: avatars
                            .get(e.entity)
                            .ok()
                            .and_then(|(_, _, _, r)| r.0)
                            .map(|r| map.room(r).title.clone())
                            .unwrap_or_default(),
                    })
                    .collect();
                entries.sort_by_key(|a| a.name.to_lowercase());
                sessions.send(session, Outbound::Text(TextEvent::Who(entries)));
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
                    None => sessions.send_all(Outbound::Text(TextEvent::Chat {
                        channel: channel.to_owned(),
                        world: "this world".into(),
                        here: true,
                        from: name.clone(),
                        text: said.to_owned(),
                    })),
                }
            }
            Command::Channels => {
                sessions.send(
                    session,
                    Outbound::Text(TextEvent::Info(text::channels_text())),
                );
            }
            Command::Help => {
                let mut help = text::HELP.to_owned();
                if !mod_commands.by_name.is_empty() {
                    help.push_str("\nFrom the world's mods:");
                    for (name, command) in &mod_commands.by_name {
                        help.push_str(&format!("\n  {:<21} {}", name, command.help));
                    }
                }
                sessions.send(session, Outbound::Text(TextEvent::Info(help)));
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

/// Moves avatars between rooms by position and tells everyone concerned.
pub fn update_rooms(
    map: Res<WorldMap>,
    mut sessions: ResMut<Sessions>,
    mut events: ResMut<WorldEvents>,
    mut avatars: AvatarQuery,
) {
    settle_rooms(&map, &mut sessions, &mut events, &mut avatars);
}

fn settle_rooms(
    map: &WorldMap,
    sessions: &mut Sessions,
    events: &mut WorldEvents,
    avatars: &mut AvatarQuery,
) {
    let mut moves: Vec<(SessionId, String, Option<RoomId>, RoomId)> = Vec::new();
    for (entity, avatar, position, mut current) in avatars.iter_mut() {
        let now = map.room_at(position.0);
        if now != current.0 {
            // `now` is None between rooms (falling down a shaft, or if a room
            // vanished): stay where we were rather than announce nonsense.
            if let Some(now) = now {
                if let Some(from) = current.0 {
                    events.push(WorldEvent::LeaveRoom {
                        entity,
                        room: from,
                        to: Some(now),
                    });
                }
                events.push(WorldEvent::EnterRoom {
                    entity,
                    room: now,
                    from: current.0,
                });
                moves.push((avatar.session, avatar.name.clone(), current.0, now));
                current.0 = Some(now);
            }
        }
    }
    if moves.is_empty() {
        return;
    }
    let mut by_room: HashMap<RoomId, Vec<SessionId>> = HashMap::new();
    for (_, avatar, _, current) in avatars.iter() {
        if let Some(room) = current.0 {
            by_room.entry(room).or_default().push(avatar.session);
        }
    }
    for (mover, name, from, to) in moves {
        if let Some(from) = from {
            let leaving_by = map.room(from).exit_to(to).map(|e| e.direction);
            for &listener in by_room.get(&from).into_iter().flatten() {
                sessions.send(
                    listener,
                    Outbound::Text(TextEvent::Departed {
                        name: name.clone(),
                        room: map.room(from).key.clone(),
                        to: leaving_by,
                        quit: false,
                    }),
                );
            }
        }
        let arriving_from = from.and_then(|f| map.room(to).exit_to(f).map(|e| e.direction));
        for &listener in by_room.get(&to).into_iter().flatten() {
            if listener != mover {
                sessions.send(
                    listener,
                    Outbound::Text(TextEvent::Arrived {
                        name: name.clone(),
                        room: map.room(to).key.clone(),
                        from: arriving_from,
                        joined: from.is_none(),
                    }),
                );
            }
        }
        let view = room_view(map, to, &name, avatars);
        sessions.send(mover, Outbound::Text(TextEvent::Room(view)));
    }
}

/// Sessions and names of the avatars in `room`.
fn occupants(avatars: &AvatarQuery, room: RoomId) -> Vec<(SessionId, String)> {
    avatars
        .iter()
        .filter(|(_, _, _, r)| r.0 == Some(room))
        .map(|(_, a, _, _)| (a.session, a.name.clone()))
        .collect()
}

fn room_view(map: &WorldMap, room: RoomId, viewer: &str, avatars: &AvatarQuery) -> RoomView {
    let r = map.room(room);
    let mut others: Vec<String> = occupants(avatars, room)
        .into_iter()
        .map(|(_, n)| n)
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
    }
}
