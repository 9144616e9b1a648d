//! Steam's server query A2S_INFO (Valheim, and every Source-style game),
//! without I/O: the request a server browser sends, the challenge a
//! server may answer first, and the info reply with the player count.
//!
//! ```text
//! client: FF FF FF FF 'T' "Source Engine Query\0" [challenge: 4 bytes]
//! server: FF FF FF FF 'A' challenge          (when the request had none)
//! server: FF FF FF FF 'I' protocol name\0 map\0 folder\0 game\0 appid:u16le
//!         players max bots type env visibility vac version\0 [extra]
//! ```

/// Every single-packet query starts with this.
pub const HEADER: [u8; 4] = [0xff; 4];

/// The A2S_INFO request's payload.
pub const INFO_PAYLOAD: &[u8] = b"Source Engine Query\0";

/// Why a datagram is not the A2S message it should be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum A2sError {
    /// Not a single-packet query, or not the kind expected.
    #[error("not an A2S_INFO message")]
    NotInfo,
    /// It ends before its fields do.
    #[error("an A2S message ends too early")]
    Short,
}

/// An A2S_INFO request, with the challenge it carries (if any).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoRequest {
    /// The challenge the server gave, echoed.
    pub challenge: Option<[u8; 4]>,
}

/// Whether `d` is an A2S_INFO request, and with what challenge.
pub fn parse_info_request(d: &[u8]) -> Option<InfoRequest> {
    let rest = d.strip_prefix(&HEADER)?.strip_prefix(b"T")?;
    let rest = rest.strip_prefix(INFO_PAYLOAD)?;
    match rest.len() {
        0 => Some(InfoRequest { challenge: None }),
        4 => Some(InfoRequest {
            challenge: Some([rest[0], rest[1], rest[2], rest[3]]),
        }),
        _ => None,
    }
}

/// An A2S_INFO request, with `challenge` when the server asked for one.
pub fn info_request(challenge: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = HEADER.to_vec();
    out.push(b'T');
    out.extend_from_slice(INFO_PAYLOAD);
    if let Some(c) = challenge {
        out.extend_from_slice(&c);
    }
    out
}

/// A challenge (S2C_CHALLENGE) the client must echo.
pub fn challenge(c: [u8; 4]) -> Vec<u8> {
    let mut out = HEADER.to_vec();
    out.push(b'A');
    out.extend_from_slice(&c);
    out
}

/// The challenge in a server's answer, if it is one.
pub fn parse_challenge(d: &[u8]) -> Option<[u8; 4]> {
    let rest = d.strip_prefix(&HEADER)?.strip_prefix(b"A")?;
    rest.try_into().ok()
}

/// What an A2S_INFO reply says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// The protocol version (17).
    pub protocol: u8,
    /// The server's name.
    pub name: String,
    /// Its map.
    pub map: String,
    /// The game's folder.
    pub folder: String,
    /// The game.
    pub game: String,
    /// The Steam app id (low 16 bits).
    pub app_id: u16,
    /// Players now.
    pub players: u8,
    /// Slots.
    pub max_players: u8,
    /// Bots.
    pub bots: u8,
    /// `d` dedicated, `l` listen, `p` proxy.
    pub server_type: u8,
    /// `l` Linux, `w` Windows, `m` macOS.
    pub environment: u8,
    /// 1 when a password is needed.
    pub visibility: u8,
    /// 1 when VAC-secured.
    pub vac: u8,
    /// The game's version.
    pub version: String,
}

impl Info {
    /// This server as seen while it sleeps: `name` marked asleep, no
    /// players.
    pub fn asleep(mut self) -> Info {
        if !self.name.ends_with(" (asleep: join to wake)") {
            self.name.push_str(" (asleep: join to wake)");
        }
        self.players = 0;
        self.bots = 0;
        self
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend(s.bytes().filter(|b| *b != 0));
    out.push(0);
}

/// An A2S_INFO reply.
pub fn encode_info(i: &Info) -> Vec<u8> {
    let mut out = HEADER.to_vec();
    out.push(b'I');
    out.push(i.protocol);
    put_str(&mut out, &i.name);
    put_str(&mut out, &i.map);
    put_str(&mut out, &i.folder);
    put_str(&mut out, &i.game);
    out.extend_from_slice(&i.app_id.to_le_bytes());
    out.extend_from_slice(&[
        i.players,
        i.max_players,
        i.bots,
        i.server_type,
        i.environment,
        i.visibility,
        i.vac,
    ]);
    put_str(&mut out, &i.version);
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, A2sError> {
        let (b, rest) = self.0.split_first().ok_or(A2sError::Short)?;
        self.0 = rest;
        Ok(*b)
    }

    fn string(&mut self) -> Result<String, A2sError> {
        let end = self.0.iter().position(|b| *b == 0).ok_or(A2sError::Short)?;
        let s = String::from_utf8_lossy(&self.0[..end]).into_owned();
        self.0 = &self.0[end + 1..];
        Ok(s)
    }
}

/// Reads an A2S_INFO reply (extra data after the version is ignored).
pub fn parse_info(d: &[u8]) -> Result<Info, A2sError> {
    let rest = d
        .strip_prefix(&HEADER)
        .and_then(|r| r.strip_prefix(b"I"))
        .ok_or(A2sError::NotInfo)?;
    let mut r = Reader(rest);
    let protocol = r.byte()?;
    let name = r.string()?;
    let map = r.string()?;
    let folder = r.string()?;
    let game = r.string()?;
    let app_id = u16::from_le_bytes([r.byte()?, r.byte()?]);
    Ok(Info {
        protocol,
        name,
        map,
        folder,
        game,
        app_id,
        players: r.byte()?,
        max_players: r.byte()?,
        bots: r.byte()?,
        server_type: r.byte()?,
        environment: r.byte()?,
        visibility: r.byte()?,
        vac: r.byte()?,
        version: r.string()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valheim() -> Info {
        Info {
            protocol: 17,
            name: "Viking home".into(),
            map: "Viking home".into(),
            folder: "valheim".into(),
            game: "Valheim".into(),
            app_id: 0,
            players: 3,
            max_players: 10,
            bots: 0,
            server_type: b'd',
            environment: b'l',
            visibility: 1,
            vac: 0,
            version: "0.218.21".into(),
        }
    }

    #[test]
    fn requests_with_and_without_a_challenge() {
        let plain = info_request(None);
        // The documented bytes.
        assert_eq!(plain, b"\xff\xff\xff\xffTSource Engine Query\x00".to_vec());
        assert_eq!(
            parse_info_request(&plain),
            Some(InfoRequest { challenge: None })
        );
        let with = info_request(Some([1, 2, 3, 4]));
        assert_eq!(
            parse_info_request(&with),
            Some(InfoRequest {
                challenge: Some([1, 2, 3, 4])
            })
        );
        assert_eq!(
            parse_challenge(&challenge([9, 8, 7, 6])),
            Some([9, 8, 7, 6])
        );
        for other in [
            &b"\xff\xff\xff\xffUplayers"[..],
            b"\xff\xff\xffTSource Engine Query\x00",
            b"\xff\xff\xff\xffTSource Engine Query\x00\x01",
            b"",
        ] {
            assert_eq!(parse_info_request(other), None, "{other:?}");
        }
    }

    #[test]
    fn info_round_trips_and_asleep_hides_players() {
        let info = valheim();
        assert_eq!(parse_info(&encode_info(&info)), Ok(info.clone()));
        let asleep = info.asleep();
        assert_eq!(asleep.players, 0);
        assert_eq!(asleep.name, "Viking home (asleep: join to wake)");
        assert_eq!(asleep.clone().asleep(), asleep, "marked once");
        // Trailing extra data (port, steam id...) is fine.
        let mut bytes = encode_info(&valheim());
        bytes.extend_from_slice(&[0x80, 0x9a, 0x09]);
        assert_eq!(parse_info(&bytes).unwrap().players, 3);
    }

    #[test]
    fn truncated_or_foreign_replies_are_errors() {
        let bytes = encode_info(&valheim());
        for n in 0..bytes.len() - 1 {
            assert!(parse_info(&bytes[..n]).is_err(), "{n}");
        }
        assert_eq!(parse_info(b"\xff\xff\xff\xffAabcd"), Err(A2sError::NotInfo));
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..2000 {
            let n = rng.usize(0..80);
            let mut junk: Vec<u8> = (0..n).map(|_| rng.u8(..)).collect();
            if rng.bool() {
                junk.splice(0..0, *b"\xff\xff\xff\xffI");
            }
            let _ = parse_info(&junk);
            let _ = parse_info_request(&junk);
            let _ = parse_challenge(&junk);
        }
    }
}
