//! Satisfactory's Lightweight Query API (UDP, on the game port 7777),
//! without I/O: the Poll Server State a server browser sends and the
//! Server State Response. Every field is little-endian; every message
//! ends with the terminator byte 1.
//!
//! ```text
//! envelope: magic:u16 = 0xF6D5, type:u8, version:u8 = 1, payload, 0x01
//! poll (type 0):     cookie:u64
//! state (type 1):    cookie:u64 state:u8 net_cl:u32 flags:u64
//!                    n:u8 (id:u8 version:u16)*n name_len:u16 name
//! ```
//!
//! The response has no player count (that needs the game's HTTPS API and
//! a token): players of a Satisfactory server are counted at the proxy.

/// The first two bytes of every message (0xF6D5, little-endian).
pub const MAGIC: [u8; 2] = [0xd5, 0xf6];

/// The protocol version spoken.
pub const VERSION: u8 = 1;

const POLL: u8 = 0;
const STATE: u8 = 1;
const TERMINATOR: u8 = 1;

/// The server's state, as the query reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GameState {
    /// Not running (what a sleeping server's proxy answers).
    Offline,
    /// Running, no game loaded.
    Idle,
    /// Loading or creating a game.
    Loading,
    /// A game is running.
    Playing,
}

impl GameState {
    fn byte(self) -> u8 {
        match self {
            GameState::Offline => 0,
            GameState::Idle => 1,
            GameState::Loading => 2,
            GameState::Playing => 3,
        }
    }

    fn of(b: u8) -> Option<GameState> {
        Some(match b {
            0 => GameState::Offline,
            1 => GameState::Idle,
            2 => GameState::Loading,
            3 => GameState::Playing,
            _ => return None,
        })
    }
}

/// A Server State Response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerState {
    /// The poll's cookie, echoed.
    pub cookie: u64,
    /// Its state.
    pub state: GameState,
    /// The game's changelist number.
    pub net_cl: u32,
    /// Flags (bit 0: modded).
    pub flags: u64,
    /// Sub-state ids and their versions (they change when the game does).
    pub sub_states: Vec<(u8, u16)>,
    /// The server's name.
    pub name: String,
}

/// Whether `d` is a Poll Server State, and its cookie.
pub fn parse_poll(d: &[u8]) -> Option<u64> {
    let body = envelope(d, POLL)?;
    Some(u64::from_le_bytes(body.try_into().ok()?))
}

/// A Poll Server State with `cookie`.
pub fn poll(cookie: u64) -> Vec<u8> {
    let mut out = vec![MAGIC[0], MAGIC[1], POLL, VERSION];
    out.extend_from_slice(&cookie.to_le_bytes());
    out.push(TERMINATOR);
    out
}

/// Whether `d` looks like a Lightweight Query message at all (it starts
/// with the magic): the proxy tells queries from game traffic by this.
pub fn is_query(d: &[u8]) -> bool {
    d.starts_with(&MAGIC)
}

fn envelope(d: &[u8], kind: u8) -> Option<&[u8]> {
    let rest = d.strip_prefix(&MAGIC)?;
    let (&t, rest) = rest.split_first()?;
    let (&v, rest) = rest.split_first()?;
    let (&end, body) = rest.split_last()?;
    (t == kind && v == VERSION && end == TERMINATOR).then_some(body)
}

/// A Server State Response.
pub fn encode_state(s: &ServerState) -> Vec<u8> {
    let mut out = vec![MAGIC[0], MAGIC[1], STATE, VERSION];
    out.extend_from_slice(&s.cookie.to_le_bytes());
    out.push(s.state.byte());
    out.extend_from_slice(&s.net_cl.to_le_bytes());
    out.extend_from_slice(&s.flags.to_le_bytes());
    let subs = &s.sub_states[..s.sub_states.len().min(255)];
    out.push(subs.len() as u8);
    for (id, version) in subs {
        out.push(*id);
        out.extend_from_slice(&version.to_le_bytes());
    }
    let name = s.name.as_bytes();
    let name = &name[..name.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&(name.len() as u16).to_le_bytes());
    out.extend_from_slice(name);
    out.push(TERMINATOR);
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from_le_bytes(self.take(2)?.try_into().ok()?))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// Reads a Server State Response; `None` if `d` is not one.
pub fn parse_state(d: &[u8]) -> Option<ServerState> {
    let mut r = Reader(envelope(d, STATE)?);
    let cookie = r.u64()?;
    let state = GameState::of(r.u8()?)?;
    let net_cl = r.u32()?;
    let flags = r.u64()?;
    let n = r.u8()?;
    let mut sub_states = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        sub_states.push((r.u8()?, r.u16()?));
    }
    let len = r.u16()?;
    let name = String::from_utf8_lossy(r.take(usize::from(len))?).into_owned();
    r.0.is_empty().then_some(ServerState {
        cookie,
        state,
        net_cl,
        flags,
        sub_states,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poll_has_the_documented_bytes() {
        let p = poll(0x0102_0304_0506_0708);
        assert_eq!(
            p,
            [0xd5, 0xf6, 0, 1, 8, 7, 6, 5, 4, 3, 2, 1, 1],
            "magic 0xF6D5 LE, type 0, version 1, cookie LE, terminator"
        );
        assert_eq!(parse_poll(&p), Some(0x0102_0304_0506_0708));
        assert!(is_query(&p));
        // No terminator, another version, another type, game traffic.
        assert_eq!(parse_poll(&p[..12]), None);
        let mut v2 = p.clone();
        v2[3] = 2;
        assert_eq!(parse_poll(&v2), None);
        assert_eq!(parse_poll(&encode_state(&sample())), None);
        assert!(!is_query(b"\x00\x01game bytes"));
    }

    fn sample() -> ServerState {
        ServerState {
            cookie: 42,
            state: GameState::Playing,
            net_cl: 366_202,
            flags: 0,
            sub_states: vec![(0, 17), (1, 1), (3, 5), (2, 1)],
            name: "Satisfactory Server".into(),
        }
    }

    #[test]
    fn a_state_round_trips_and_junk_is_refused() {
        let s = sample();
        let bytes = encode_state(&s);
        assert_eq!(parse_state(&bytes), Some(s));
        for n in 0..bytes.len() {
            assert_eq!(parse_state(&bytes[..n]), None, "{n}");
        }
        let mut rng = fastrand::Rng::with_seed(5);
        for _ in 0..2000 {
            let n = rng.usize(0..60);
            let mut junk: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            if rng.bool() {
                junk.splice(0..0, [0xd5, 0xf6, 1, 1]);
            }
            let _ = parse_state(&junk);
            let _ = parse_poll(&junk);
        }
    }
}
