//! The UDP side of the proxy (QUIC): one relay session per client address.
//!
//! A client's first datagram opens a session; while the world wakes, its
//! datagrams are queued ([`Held`], bounded: QUIC retransmits what is
//! dropped). Once the world is up, the session gets its own socket
//! connected to the world's QUIC port, the queue is flushed in order, and
//! from then on datagrams are relayed both ways. A session idle for
//! [`SESSION_IDLE`] is closed; one whose world went away (ICMP refused on
//! its socket) is closed and tells the gate the world sleeps. A client that
//! only sends server-browser queries (A2S, Satisfactory's) is not counted
//! as a player, and while the world sleeps its queries are answered here.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::{ClientGuard, WakeError, WakeGate};

/// A session with no datagram from its client for this long is closed.
pub const SESSION_IDLE: Duration = Duration::from_secs(60);

/// Datagrams queued per held client at most.
pub const HELD_DATAGRAMS: usize = 64;

/// Bytes queued per held client at most.
pub const HELD_BYTES: usize = 256 * 1024;

/// The largest datagram relayed.
const MAX_DATAGRAM: usize = 65_535;

/// A held client's datagrams, oldest first, within the bounds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Held {
    datagrams: Vec<Vec<u8>>,
    bytes: usize,
}

impl Held {
    /// Queues `d`; false (dropped) when the queue is full.
    pub fn push(&mut self, d: &[u8]) -> bool {
        if self.datagrams.len() >= HELD_DATAGRAMS || self.bytes + d.len() > HELD_BYTES {
            return false;
        }
        self.bytes += d.len();
        self.datagrams.push(d.to_vec());
        true
    }

    /// Everything queued, oldest first.
    pub fn drain(self) -> Vec<Vec<u8>> {
        self.datagrams
    }
}

/// A session is counted as a client (a player keeping the world awake)
/// from its first datagram that is not a server-browser query.
enum Session {
    Held(Held, Option<ClientGuard>),
    Open {
        counted: Option<ClientGuard>,
        socket: Arc<UdpSocket>,
        last: Instant,
        reader: tokio::task::JoinHandle<()>,
    },
}

/// How one UDP listener of the proxy behaves.
#[derive(Debug, Clone)]
pub struct UdpOptions {
    /// The world's listener this one fronts (`quic`).
    pub listener: String,
    /// The game queries it answers by itself while the world is not up
    /// (a query never wakes it; only other traffic does).
    pub asleep: Option<Asleep>,
}

/// The server-browser queries a sleeping game's UDP listener answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asleep {
    /// Steam's A2S_INFO (Valheim's query port), with the server's name.
    A2s {
        /// The name the browser lists, marked asleep.
        name: String,
        /// Its slots.
        max_players: u8,
    },
    /// Satisfactory's Lightweight Query, with the server's name.
    Satisfactory {
        /// The server's name.
        name: String,
    },
}

/// Whether `d` is a server-browser query of the game `asleep` describes
/// (any A2S request; a Lightweight Query message): such a client is not a
/// player.
pub fn is_query(asleep: &Asleep, d: &[u8]) -> bool {
    match asleep {
        Asleep::A2s { .. } => d.starts_with(&crate::games::a2s::HEADER),
        Asleep::Satisfactory { .. } => crate::games::satisfactory::is_query(d),
    }
}

/// What a sleeping listener answers to datagram `d`, if it is a query it
/// answers (an A2S client is given `challenge` first, as real servers do).
pub fn asleep_answer(asleep: &Asleep, d: &[u8], challenge: [u8; 4]) -> Option<Vec<u8>> {
    use crate::games::{a2s, satisfactory};
    match asleep {
        Asleep::A2s { name, max_players } => {
            let request = a2s::parse_info_request(d)?;
            if request.challenge != Some(challenge) {
                return Some(a2s::challenge(challenge));
            }
            let info = a2s::Info {
                protocol: 17,
                name: name.clone(),
                map: String::new(),
                folder: String::new(),
                game: String::new(),
                app_id: 0,
                players: 0,
                max_players: *max_players,
                bots: 0,
                server_type: b'd',
                environment: b'l',
                visibility: 0,
                vac: 0,
                version: String::new(),
            };
            Some(a2s::encode_info(&info.asleep()))
        }
        Asleep::Satisfactory { name } => {
            let cookie = satisfactory::parse_poll(d)?;
            Some(satisfactory::encode_state(&satisfactory::ServerState {
                cookie,
                state: satisfactory::GameState::Idle,
                net_cl: 0,
                flags: 0,
                sub_states: Vec::new(),
                name: format!("{name} (asleep: join to wake)"),
            }))
        }
    }
}

type Opened = (SocketAddr, Result<Arc<UdpSocket>, String>);

/// Relays datagrams on `public` until `shutdown`, to the world behind `gate`.
pub async fn serve(
    public: UdpSocket,
    gate: Arc<WakeGate>,
    options: UdpOptions,
    shutdown: CancellationToken,
) {
    let public = Arc::new(public);
    let mut sessions: HashMap<SocketAddr, Session> = HashMap::new();
    let (opened_tx, mut opened) = mpsc::unbounded_channel::<Opened>();
    let (gone_tx, mut gone) = mpsc::unbounded_channel::<SocketAddr>();
    let mut reap = tokio::time::interval(SESSION_IDLE / 4);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let challenge = {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x5eed, |d| d.subsec_nanos() ^ d.as_secs() as u32);
        nanos.to_le_bytes()
    };
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            received = public.recv_from(&mut buf) => {
                let (n, from) = match received {
                    Ok(r) => r,
                    // ICMP errors for earlier replies surface here on some
                    // systems; they concern one client only.
                    Err(_) => continue,
                };
                let datagram = &buf[..n];
                let query = options.asleep.as_ref().is_some_and(|a| is_query(a, datagram));
                match sessions.get_mut(&from) {
                    Some(Session::Open { socket, last, counted, .. }) => {
                        *last = Instant::now();
                        if counted.is_none() && !query {
                            *counted = Some(gate.enter());
                        }
                        if socket.send(datagram).await.is_err() {
                            close(&mut sessions, from);
                            gate.slept();
                        }
                    }
                    Some(Session::Held(held, counted)) => {
                        if counted.is_none() && !query {
                            *counted = Some(gate.enter());
                        }
                        held.push(datagram);
                    }
                    None => {
                        // A server browser's query to a sleeping world is
                        // answered here, and wakes nothing.
                        if gate.awake().is_none() {
                            let answer = options
                                .asleep
                                .as_ref()
                                .and_then(|a| asleep_answer(a, datagram, challenge));
                            if let Some(reply) = answer {
                                let _ = public.send_to(&reply, from).await;
                                continue;
                            }
                        }
                        let mut held = Held::default();
                        held.push(datagram);
                        let counted = (!query).then(|| gate.enter());
                        sessions.insert(from, Session::Held(held, counted));
                        let gate = gate.clone();
                        let listener = options.listener.clone();
                        let opened_tx = opened_tx.clone();
                        tokio::spawn(async move {
                            let socket = connect(&gate, &listener).await;
                            let _ = opened_tx.send((from, socket));
                        });
                    }
                }
            }
            Some((client, socket)) = opened.recv() => {
                let Some(Session::Held(held, counted)) = sessions.remove(&client) else { continue };
                match socket {
                    Ok(socket) => {
                        for d in held.drain() {
                            let _ = socket.send(&d).await;
                        }
                        let reader = tokio::spawn(relay_back(
                            socket.clone(), public.clone(), client, gone_tx.clone(),
                        ));
                        sessions.insert(client, Session::Open {
                            counted, socket, last: Instant::now(), reader,
                        });
                    }
                    Err(e) => tracing::warn!(%client, "proxy dropped a QUIC client: {e}"),
                }
            }
            Some(client) = gone.recv() => {
                if matches!(sessions.get(&client), Some(Session::Open { .. })) {
                    close(&mut sessions, client);
                    gate.slept();
                }
            }
            _ = reap.tick() => {
                let now = Instant::now();
                let idle: Vec<SocketAddr> = sessions
                    .iter()
                    .filter(|(_, s)| matches!(s, Session::Open { last, .. } if now - *last > SESSION_IDLE))
                    .map(|(a, _)| *a)
                    .collect();
                for a in idle {
                    close(&mut sessions, a);
                }
            }
        }
    }
    for (_, s) in sessions {
        if let Session::Open { reader, .. } = s {
            reader.abort();
        }
    }
}

fn close(sessions: &mut HashMap<SocketAddr, Session>, client: SocketAddr) {
    if let Some(Session::Open { reader, .. }) = sessions.remove(&client) {
        reader.abort();
    }
}

/// Waits for the world, then a socket connected to its `listener`.
async fn connect(gate: &Arc<WakeGate>, listener: &str) -> Result<Arc<UdpSocket>, String> {
    let up = gate.admit().await.map_err(|e| e.to_string())?;
    let addr = *up
        .get(listener)
        .ok_or_else(|| WakeError::NoListener(listener.to_owned()).to_string())?;
    use std::net::{Ipv4Addr, Ipv6Addr};
    let local: SocketAddr = match (addr.is_ipv4(), addr.ip().is_loopback()) {
        (true, true) => (Ipv4Addr::LOCALHOST, 0).into(),
        (true, false) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        (false, true) => (Ipv6Addr::LOCALHOST, 0).into(),
        (false, false) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
    socket.connect(addr).await.map_err(|e| e.to_string())?;
    Ok(Arc::new(socket))
}

/// Relays the world's datagrams back to `client` until the session ends.
async fn relay_back(
    socket: Arc<UdpSocket>,
    public: Arc<UdpSocket>,
    client: SocketAddr,
    gone: mpsc::UnboundedSender<SocketAddr>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        match socket.recv(&mut buf).await {
            Ok(n) => {
                let _ = public.send_to(&buf[..n], client).await;
            }
            Err(_) => {
                // Refused: the world's port is closed.
                let _ = gone.send(client);
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::games::{a2s, satisfactory};

    #[test]
    fn a_sleeping_listener_answers_queries_and_nothing_else() {
        let c = [1, 2, 3, 4];
        let valheim = Asleep::A2s {
            name: "Viking home".into(),
            max_players: 10,
        };
        // The challenge first, then the info, marked asleep.
        let first = asleep_answer(&valheim, &a2s::info_request(None), c).unwrap();
        assert_eq!(a2s::parse_challenge(&first), Some(c));
        let wrong = asleep_answer(&valheim, &a2s::info_request(Some([9; 4])), c).unwrap();
        assert_eq!(a2s::parse_challenge(&wrong), Some(c));
        let info = asleep_answer(&valheim, &a2s::info_request(Some(c)), c).unwrap();
        let info = a2s::parse_info(&info).unwrap();
        assert_eq!(info.name, "Viking home (asleep: join to wake)");
        assert_eq!((info.players, info.max_players), (0, 10));
        // Game traffic is not a query: it goes on to wake the world.
        assert_eq!(asleep_answer(&valheim, b"\x01join", c), None);

        let sf = Asleep::Satisfactory {
            name: "Factory".into(),
        };
        let state = asleep_answer(&sf, &satisfactory::poll(77), c).unwrap();
        let state = satisfactory::parse_state(&state).unwrap();
        assert_eq!(state.cookie, 77);
        assert_eq!(state.name, "Factory (asleep: join to wake)");
        assert_eq!(asleep_answer(&sf, b"\x01join", c), None);
        assert_eq!(asleep_answer(&sf, &a2s::info_request(None), c), None);
        // Queries are told from game traffic, which counts as a player.
        assert!(is_query(&valheim, &a2s::info_request(None)));
        assert!(!is_query(&valheim, b"\x01join"));
        assert!(is_query(&sf, &satisfactory::poll(1)));
        assert!(!is_query(&sf, &a2s::info_request(None)));
    }

    #[test]
    fn held_datagrams_are_bounded_and_kept_in_order() {
        let mut held = Held::default();
        for i in 0..HELD_DATAGRAMS {
            assert!(held.push(&[i as u8; 10]));
        }
        assert!(!held.push(&[0; 1]), "the count is bounded");
        let out = held.drain();
        assert_eq!(out.len(), HELD_DATAGRAMS);
        assert_eq!(out[3], vec![3u8; 10]);

        let mut held = Held::default();
        assert!(held.push(&vec![1; HELD_BYTES - 1]));
        assert!(!held.push(&[1, 2]), "the bytes are bounded");
        assert!(held.push(&[1]));
    }
}
