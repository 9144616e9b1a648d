//! Minecraft Java Edition's handshake, Server List Ping and Login Start,
//! as far as a proxy in front of a sleeping server needs them, without I/O.
//!
//! Every packet is `VarInt length, VarInt id, fields`. A client opens with
//! a Handshake (id 0) naming the protocol version and what it wants next:
//! `1` status (the server list asks for the MOTD, players and version with
//! a Status Request, id 0, then pings with a Ping, id 1, carrying a long
//! the server echoes), `2` login (a Login Start, id 0, with the player's
//! name) or `3` transfer. The proxy answers status itself while the server
//! sleeps, and a login is what wakes it.
//!
//! [`Decoder`] cuts a byte stream into [`Frame`]s with a size limit; the
//! `parse_*` functions read the packets a client sends and the `encode_*`
//! ones write the server's answers; [`client_status`] and
//! [`parse_status_response`] are the other side, which the agent uses to
//! count a running server's players.

use serde::{Deserialize, Serialize};

/// The largest packet accepted from a client before login (a handshake,
/// a status request, a ping, a login start are all small).
pub const MAX_CLIENT_PACKET: usize = 4 * 1024;

/// The largest status response read from a server (its JSON may carry a
/// favicon).
pub const MAX_STATUS_RESPONSE: usize = 256 * 1024;

/// Why bytes are not the packets they should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlpError {
    /// A VarInt longer than five bytes.
    #[error("a VarInt is too long")]
    VarInt,
    /// A packet longer than allowed.
    #[error("a packet of {0} bytes is over the limit")]
    TooLong(usize),
    /// A packet ends before its fields do.
    #[error("a packet ends too early")]
    Short,
    /// A string that is not UTF-8 or is over its limit.
    #[error("a bad string")]
    BadString,
    /// A packet other than the one expected.
    #[error("unexpected packet {0:#04x}")]
    Unexpected(i32),
    /// The status JSON could not be read.
    #[error("a bad status response: {0}")]
    BadStatus(String),
}

/// One packet: its id and the bytes of its fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The packet id.
    pub id: i32,
    /// Its fields.
    pub body: Vec<u8>,
}

/// Cuts a stream of bytes into [`Frame`]s.
#[derive(Debug, Clone)]
pub struct Decoder {
    buf: Vec<u8>,
    limit: usize,
}

impl Decoder {
    /// A decoder refusing packets longer than `limit` bytes.
    pub fn new(limit: usize) -> Decoder {
        Decoder {
            buf: Vec::new(),
            limit,
        }
    }

    /// Adds bytes read from the stream.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The bytes fed and not yet taken as frames (to pass on to the real
    /// server once it is up).
    pub fn pending(&self) -> &[u8] {
        &self.buf
    }

    /// The next whole frame, `None` until more bytes arrive.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, SlpError> {
        let Some((len, used)) = read_varint(&self.buf)? else {
            return Ok(None);
        };
        let len = usize::try_from(len).map_err(|_| SlpError::Short)?;
        if len > self.limit {
            return Err(SlpError::TooLong(len));
        }
        if self.buf.len() < used + len {
            return Ok(None);
        }
        let packet: Vec<u8> = self.buf.drain(..used + len).skip(used).collect();
        let mut r = Reader(&packet);
        let id = r.varint()?;
        Ok(Some(Frame {
            id,
            body: r.0.to_vec(),
        }))
    }
}

/// Reads a VarInt at the start of `bytes`: its value and length, `None`
/// when more bytes are needed.
pub fn read_varint(bytes: &[u8]) -> Result<Option<(i32, usize)>, SlpError> {
    let mut value: u32 = 0;
    for (i, b) in bytes.iter().enumerate() {
        if i == 5 {
            return Err(SlpError::VarInt);
        }
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value as i32, i + 1)));
        }
    }
    if bytes.len() >= 5 {
        return Err(SlpError::VarInt);
    }
    Ok(None)
}

/// Appends `v` as a VarInt.
pub fn write_varint(out: &mut Vec<u8>, v: i32) {
    let mut v = v as u32;
    loop {
        if v & !0x7f == 0 {
            out.push(v as u8);
            return;
        }
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    write_varint(out, s.len() as i32);
    out.extend_from_slice(s.as_bytes());
}

/// A whole packet: length, id, body.
pub fn frame(id: i32, body: &[u8]) -> Vec<u8> {
    let mut inner = Vec::with_capacity(body.len() + 5);
    write_varint(&mut inner, id);
    inner.extend_from_slice(body);
    let mut out = Vec::with_capacity(inner.len() + 5);
    write_varint(&mut out, inner.len() as i32);
    out.extend_from_slice(&inner);
    out
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<i32, SlpError> {
        let (v, used) = read_varint(self.0)?.ok_or(SlpError::Short)?;
        self.0 = &self.0[used..];
        Ok(v)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], SlpError> {
        if self.0.len() < n {
            return Err(SlpError::Short);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn string(&mut self, max_chars: usize) -> Result<String, SlpError> {
        let len = usize::try_from(self.varint()?).map_err(|_| SlpError::BadString)?;
        if len > max_chars * 4 {
            return Err(SlpError::BadString);
        }
        let s = std::str::from_utf8(self.take(len)?).map_err(|_| SlpError::BadString)?;
        if s.chars().count() > max_chars {
            return Err(SlpError::BadString);
        }
        Ok(s.to_owned())
    }
}

/// What a client wants after its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// The server list: status and ping.
    Status,
    /// To play.
    Login,
    /// To play, sent on by another server.
    Transfer,
}

/// A client's Handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    /// Its protocol version (767 is 1.21).
    pub protocol: i32,
    /// The address it typed.
    pub address: String,
    /// The port it typed.
    pub port: u16,
    /// What it wants next.
    pub intent: Intent,
}

/// Reads a Handshake (packet 0 of a new connection).
pub fn parse_handshake(f: &Frame) -> Result<Handshake, SlpError> {
    if f.id != 0 {
        return Err(SlpError::Unexpected(f.id));
    }
    let mut r = Reader(&f.body);
    let protocol = r.varint()?;
    let address = r.string(255)?;
    let port = r.take(2)?;
    let port = u16::from_be_bytes([port[0], port[1]]);
    let intent = match r.varint()? {
        1 => Intent::Status,
        2 => Intent::Login,
        3 => Intent::Transfer,
        other => return Err(SlpError::Unexpected(other)),
    };
    Ok(Handshake {
        protocol,
        address,
        port,
        intent,
    })
}

/// Reads a Login Start: the player's name (the UUID that follows in newer
/// versions is not needed).
pub fn parse_login_start(f: &Frame) -> Result<String, SlpError> {
    if f.id != 0 {
        return Err(SlpError::Unexpected(f.id));
    }
    Reader(&f.body).string(16)
}

/// Reads a Ping's payload (packet 1 in the status state).
pub fn parse_ping(f: &Frame) -> Result<i64, SlpError> {
    if f.id != 1 {
        return Err(SlpError::Unexpected(f.id));
    }
    let b = Reader(&f.body).take(8)?;
    Ok(i64::from_be_bytes(
        b.try_into().map_err(|_| SlpError::Short)?,
    ))
}

/// A server's status, as the server list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// The version it runs.
    pub version: Version,
    /// Its players.
    pub players: Players,
    /// Its MOTD, as a text component.
    pub description: serde_json::Value,
}

/// A status's version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// For people: `1.21.1`.
    pub name: String,
    /// Its protocol number.
    pub protocol: i32,
}

/// A status's player counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Players {
    /// Slots.
    pub max: u32,
    /// Playing now.
    pub online: u32,
}

/// The Status Response a sleeping server's proxy sends: its `motd` marked
/// as asleep, no players, and the client's own protocol (so the list does
/// not call it incompatible).
pub fn sleeping_status(motd: &str, protocol: i32, max_players: u32) -> Status {
    Status {
        version: Version {
            name: "asleep".into(),
            protocol,
        },
        players: Players {
            max: max_players,
            online: 0,
        },
        description: serde_json::json!({
            "text": format!("{motd}\n"),
            "extra": [{"text": "Asleep: join to wake it up", "color": "gray"}],
        }),
    }
}

/// A Status Response (packet 0) carrying `status`.
pub fn encode_status(status: &Status) -> Vec<u8> {
    let json = serde_json::to_string(status).unwrap_or_else(|_| "{}".into());
    let mut body = Vec::with_capacity(json.len() + 3);
    write_string(&mut body, &json);
    frame(0, &body)
}

/// A Pong (packet 1) echoing `payload`.
pub fn encode_pong(payload: i64) -> Vec<u8> {
    frame(1, &payload.to_be_bytes())
}

/// A Disconnect during login (packet 0) with `message` as plain text.
pub fn encode_login_disconnect(message: &str) -> Vec<u8> {
    let json = serde_json::json!({ "text": message }).to_string();
    let mut body = Vec::new();
    write_string(&mut body, &json);
    frame(0, &body)
}

/// What a client sends to ask a server for its status: a Handshake with
/// intent status, then a Status Request.
pub fn client_status(address: &str, port: u16, protocol: i32) -> Vec<u8> {
    let mut hs = Vec::new();
    write_varint(&mut hs, protocol);
    write_string(&mut hs, address);
    hs.extend_from_slice(&port.to_be_bytes());
    write_varint(&mut hs, 1);
    let mut out = frame(0, &hs);
    out.extend(frame(0, &[]));
    out
}

/// What a client sends to log in as `name`: a Handshake with intent login,
/// then a Login Start (with a zero UUID).
pub fn client_login(address: &str, port: u16, protocol: i32, name: &str) -> Vec<u8> {
    let mut hs = Vec::new();
    write_varint(&mut hs, protocol);
    write_string(&mut hs, address);
    hs.extend_from_slice(&port.to_be_bytes());
    write_varint(&mut hs, 2);
    let mut out = frame(0, &hs);
    let mut login = Vec::new();
    write_string(&mut login, name);
    login.extend_from_slice(&[0u8; 16]);
    out.extend(frame(0, &login));
    out
}

/// Reads a Status Response (packet 0) from a server.
pub fn parse_status_response(f: &Frame) -> Result<Status, SlpError> {
    if f.id != 0 {
        return Err(SlpError::Unexpected(f.id));
    }
    let json = Reader(&f.body).string(MAX_STATUS_RESPONSE)?;
    serde_json::from_str(&json).map_err(|e| SlpError::BadStatus(e.to_string()))
}

/// Reads the text of a login Disconnect (packet 0 in the login state).
pub fn parse_login_disconnect(f: &Frame) -> Result<String, SlpError> {
    if f.id != 0 {
        return Err(SlpError::Unexpected(f.id));
    }
    let json = Reader(&f.body).string(262_144)?;
    let v: serde_json::Value =
        serde_json::from_str(&json).map_err(|e| SlpError::BadStatus(e.to_string()))?;
    Ok(v["text"].as_str().unwrap_or_default().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_are_bounded() {
        for v in [
            0,
            1,
            127,
            128,
            255,
            25565,
            2_097_151,
            i32::MAX,
            -1,
            i32::MIN,
        ] {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            assert_eq!(read_varint(&out), Ok(Some((v, out.len()))), "{v}");
            assert!(read_varint(&out[..out.len() - 1]).unwrap().is_none());
        }
        // Known encodings from the protocol's documentation.
        let mut out = Vec::new();
        write_varint(&mut out, 25565);
        assert_eq!(out, [0xdd, 0xc7, 0x01]);
        write_varint(&mut out, -1);
        assert_eq!(&out[3..], [0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Err(SlpError::VarInt)
        );
    }

    #[test]
    fn a_status_exchange_from_the_client_side_bytes() {
        let mut d = Decoder::new(MAX_CLIENT_PACKET);
        let bytes = client_status("play.example.com", 25565, 767);
        // Byte by byte: frames come out only when whole.
        let mut frames = Vec::new();
        for b in &bytes {
            d.feed(&[*b]);
            while let Some(f) = d.next_frame().unwrap() {
                frames.push(f);
            }
        }
        assert_eq!(frames.len(), 2);
        let hs = parse_handshake(&frames[0]).unwrap();
        assert_eq!(
            hs,
            Handshake {
                protocol: 767,
                address: "play.example.com".into(),
                port: 25565,
                intent: Intent::Status
            }
        );
        assert_eq!(
            frames[1],
            Frame {
                id: 0,
                body: vec![]
            }
        );
        // The answer, read back as a client would.
        let status = sleeping_status("A Minecraft Server", 767, 20);
        let mut d = Decoder::new(MAX_STATUS_RESPONSE);
        d.feed(&encode_status(&status));
        let back = parse_status_response(&d.next_frame().unwrap().unwrap()).unwrap();
        assert_eq!(back, status);
        assert_eq!(back.players.online, 0);
        assert!(back.description.to_string().contains("Asleep"));
        // Ping, pong.
        d.feed(&frame(1, &0x1234_5678_9abc_def0_i64.to_be_bytes()));
        let ping = d.next_frame().unwrap().unwrap();
        assert_eq!(parse_ping(&ping), Ok(0x1234_5678_9abc_def0));
        assert_eq!(encode_pong(7)[..2], [9, 1]);
    }

    #[test]
    fn a_login_start_names_the_player() {
        let mut d = Decoder::new(MAX_CLIENT_PACKET);
        d.feed(&client_login("localhost", 25565, 767, "Steve"));
        let hs = parse_handshake(&d.next_frame().unwrap().unwrap()).unwrap();
        assert_eq!(hs.intent, Intent::Login);
        let login = d.next_frame().unwrap().unwrap();
        assert_eq!(parse_login_start(&login).as_deref(), Ok("Steve"));
        assert!(d.pending().is_empty());
        let kick = encode_login_disconnect("The server could not wake: no credits");
        let mut d = Decoder::new(MAX_CLIENT_PACKET);
        d.feed(&kick);
        let f = d.next_frame().unwrap().unwrap();
        assert_eq!(
            parse_login_disconnect(&f).unwrap(),
            "The server could not wake: no credits"
        );
    }

    #[test]
    fn hostile_bytes_are_errors_not_panics() {
        // A huge announced length.
        let mut d = Decoder::new(MAX_CLIENT_PACKET);
        let mut b = Vec::new();
        write_varint(&mut b, 1 << 30);
        d.feed(&b);
        assert_eq!(d.next_frame(), Err(SlpError::TooLong(1 << 30)));
        // A negative length.
        let mut d = Decoder::new(MAX_CLIENT_PACKET);
        d.feed(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        assert!(d.next_frame().is_err());
        // A string longer than its packet, a bad intent, a name too long.
        let mut body = Vec::new();
        write_varint(&mut body, 767);
        write_varint(&mut body, 200);
        body.extend_from_slice(b"short");
        assert_eq!(
            parse_handshake(&Frame { id: 0, body }),
            Err(SlpError::Short)
        );
        let mut body = Vec::new();
        write_varint(&mut body, 767);
        write_string(&mut body, "x");
        body.extend_from_slice(&[0, 1]);
        write_varint(&mut body, 9);
        assert_eq!(
            parse_handshake(&Frame { id: 0, body }),
            Err(SlpError::Unexpected(9))
        );
        let mut body = Vec::new();
        write_string(&mut body, "a_name_far_too_long_for_minecraft");
        assert_eq!(
            parse_login_start(&Frame { id: 0, body }),
            Err(SlpError::BadString)
        );
        // Random garbage never panics.
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let n = rng.usize(0..64);
            let junk: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            let mut d = Decoder::new(MAX_CLIENT_PACKET);
            d.feed(&junk);
            while let Ok(Some(f)) = d.next_frame() {
                let _ = parse_handshake(&f);
                let _ = parse_login_start(&f);
                let _ = parse_ping(&f);
                let _ = parse_status_response(&f);
            }
        }
    }
}
