//! The browser's side of a telnet session, sans-I/O.
//!
//! A WebSocket player is a text player like any other: the gateway runs the
//! telnet [`Connection`](crate::telnet::server) for them over an in-memory
//! byte stream, and this [`Bridge`] is the telnet client at the other end.
//! It refuses every option except GMCP (and only when the browser chose
//! `gmcp.mudstandards.org`), turns the server's bytes into WebSocket frames
//! of the mudstandards.org subprotocols, and the browser's frames into
//! input lines and GMCP subnegotiations.
//!
//! Frames, after <https://mudstandards.org/websocket/>:
//! - `terminal.mudstandards.org`: BINARY frames carry the UTF-8 text with
//!   its ANSI colour codes, both ways (TEXT frames from the browser are read
//!   the same way).
//! - `gmcp.mudstandards.org`: the same BINARY frames, and TEXT frames
//!   carrying one GMCP message each, `Package.Name json`. Besides the
//!   world's packages the bridge sends `Client.Echo {"on":false}` while a
//!   password is asked for (telnet's WILL ECHO) and `{"on":true}` after.

use crate::telnet::protocol::cmd::{DO, DONT, IAC, SB, SE, WILL, WONT};
use crate::telnet::protocol::{escape_iac, opt};

/// The subprotocol carrying text only.
pub const TERMINAL: &str = "terminal.mudstandards.org";
/// The subprotocol carrying text and GMCP.
pub const GMCP: &str = "gmcp.mudstandards.org";

/// The subprotocols the world speaks, in the order it prefers them.
pub const PROTOCOLS: [&str; 2] = [GMCP, TERMINAL];

/// GMCP messages from the browser kept while GMCP is being agreed.
const MAX_QUEUED_GMCP: usize = 32;

/// Which subprotocol a connection speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `terminal.mudstandards.org`.
    Terminal,
    /// `gmcp.mudstandards.org`.
    Gmcp,
}

impl Mode {
    /// The mode of a negotiated subprotocol name (none means terminal).
    pub fn of(protocol: Option<&str>) -> Option<Mode> {
        match protocol {
            None | Some(TERMINAL) => Some(Mode::Terminal),
            Some(GMCP) => Some(Mode::Gmcp),
            Some(_) => None,
        }
    }
}

/// One frame for the browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A BINARY frame: text with ANSI codes (UTF-8, possibly split inside a
    /// character at a frame's end).
    Text(Vec<u8>),
    /// A TEXT frame: one GMCP message, `Package.Name json`.
    Gmcp(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Data,
    Iac,
    Negotiation(u8),
    SubOption,
    Sub,
    SubIac,
}

/// The bridge between one browser and its telnet session.
#[derive(Debug)]
pub struct Bridge {
    mode: Mode,
    state: State,
    sub_option: u8,
    sub: Vec<u8>,
    gmcp_on: bool,
    echo_off: bool,
    queued: Vec<String>,
    to_server: Vec<u8>,
    max_sub_bytes: usize,
}

impl Bridge {
    /// A bridge speaking `mode`; subnegotiations over `max_sub_bytes` are dropped.
    pub fn new(mode: Mode, max_sub_bytes: usize) -> Self {
        Bridge {
            mode,
            state: State::Data,
            sub_option: 0,
            sub: Vec::new(),
            gmcp_on: false,
            echo_off: false,
            queued: Vec::new(),
            to_server: Vec::new(),
            max_sub_bytes,
        }
    }

    /// Bytes for the telnet session (answers and the browser's input).
    pub fn take_to_server(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.to_server)
    }

    /// A line (or several) the player typed.
    pub fn input(&mut self, text: &str) {
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            escape_iac(line.as_bytes(), &mut self.to_server);
            self.to_server.extend_from_slice(b"\r\n");
        }
    }

    /// A TEXT frame from the browser: GMCP in GMCP mode, else typed text.
    pub fn text_frame(&mut self, text: &str) {
        match self.mode {
            Mode::Terminal => self.input(text),
            Mode::Gmcp if self.gmcp_on => self.send_gmcp(text),
            Mode::Gmcp => {
                if self.queued.len() < MAX_QUEUED_GMCP {
                    self.queued.push(text.to_owned());
                }
            }
        }
    }

    fn send_gmcp(&mut self, message: &str) {
        self.to_server.extend_from_slice(&[IAC, SB, opt::GMCP]);
        escape_iac(message.as_bytes(), &mut self.to_server);
        self.to_server.extend_from_slice(&[IAC, SE]);
    }

    /// Bytes from the telnet session, as frames for the browser (in order).
    pub fn from_server(&mut self, bytes: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        let mut text = Vec::new();
        for &b in bytes {
            self.state = match (self.state, b) {
                (State::Data, IAC) => State::Iac,
                (State::Data, b'\r' | 0) => State::Data,
                (State::Data, b) => {
                    text.push(b);
                    State::Data
                }
                (State::Iac, IAC) => {
                    text.push(IAC);
                    State::Data
                }
                (State::Iac, SB) => State::SubOption,
                (State::Iac, verb @ WILL..=DONT) => State::Negotiation(verb),
                (State::Iac, _) => State::Data, // GA, EOR, NOP and the like
                (State::Negotiation(verb), option) => {
                    if let Some(frame) = self.negotiate(verb, option) {
                        if !text.is_empty() {
                            frames.push(Frame::Text(std::mem::take(&mut text)));
                        }
                        frames.push(frame);
                    }
                    State::Data
                }
                (State::SubOption, option) => {
                    self.sub_option = option;
                    self.sub.clear();
                    State::Sub
                }
                (State::Sub, IAC) => State::SubIac,
                (State::Sub, b) => {
                    self.sub_byte(b);
                    State::Sub
                }
                (State::SubIac, IAC) => {
                    self.sub_byte(IAC);
                    State::Sub
                }
                (State::SubIac, SE) => {
                    let data = std::mem::take(&mut self.sub);
                    if self.sub_option == opt::GMCP && self.gmcp_on {
                        if !text.is_empty() {
                            frames.push(Frame::Text(std::mem::take(&mut text)));
                        }
                        frames.push(Frame::Gmcp(String::from_utf8_lossy(&data).into_owned()));
                    }
                    State::Data
                }
                (State::SubIac, _) => State::Data,
            };
        }
        if !text.is_empty() {
            frames.push(Frame::Text(text));
        }
        frames
    }

    fn sub_byte(&mut self, b: u8) {
        if self.sub.len() < self.max_sub_bytes {
            self.sub.push(b);
        } else {
            self.sub_option = 0; // too long: dropped at its IAC SE
        }
    }

    /// Answers one negotiation; a frame for the browser when echo changes.
    fn negotiate(&mut self, verb: u8, option: u8) -> Option<Frame> {
        match (verb, option) {
            (WILL, opt::GMCP) if self.mode == Mode::Gmcp => {
                if !self.gmcp_on {
                    self.gmcp_on = true;
                    self.to_server.extend_from_slice(&[IAC, DO, opt::GMCP]);
                    for message in std::mem::take(&mut self.queued) {
                        self.send_gmcp(&message);
                    }
                }
                None
            }
            (WILL, opt::ECHO) => {
                // Agreed, so the server's Q method settles: it does not echo,
                // and the page hides what is typed.
                self.to_server.extend_from_slice(&[IAC, DO, opt::ECHO]);
                self.set_echo_off(true)
            }
            (WONT, opt::ECHO) => {
                self.to_server.extend_from_slice(&[IAC, DONT, opt::ECHO]);
                self.set_echo_off(false)
            }
            (WILL, option) => {
                self.to_server.extend_from_slice(&[IAC, DONT, option]);
                None
            }
            (DO, option) => {
                self.to_server.extend_from_slice(&[IAC, WONT, option]);
                None
            }
            (WONT, opt::GMCP) if self.gmcp_on => {
                self.gmcp_on = false;
                self.to_server.extend_from_slice(&[IAC, DONT, opt::GMCP]);
                None
            }
            _ => None,
        }
    }

    fn set_echo_off(&mut self, off: bool) -> Option<Frame> {
        if self.echo_off == off {
            return None;
        }
        self.echo_off = off;
        (self.mode == Mode::Gmcp).then(|| Frame::Gmcp(format!("Client.Echo {{\"on\":{}}}", !off)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmcp_is_agreed_and_the_rest_refused() {
        let mut b = Bridge::new(Mode::Gmcp, 1024);
        b.text_frame(r#"Core.Supports.Set ["Room 1"]"#);
        assert!(b.take_to_server().is_empty(), "queued until GMCP is on");
        let frames = b.from_server(&[
            IAC,
            WILL,
            opt::MCCP2,
            IAC,
            DO,
            opt::TTYPE,
            IAC,
            WILL,
            opt::GMCP,
            b'h',
            b'i',
            b'\r',
            b'\n',
        ]);
        assert_eq!(frames, vec![Frame::Text(b"hi\n".to_vec())]);
        let mut want = vec![
            IAC,
            DONT,
            opt::MCCP2,
            IAC,
            WONT,
            opt::TTYPE,
            IAC,
            DO,
            opt::GMCP,
            IAC,
            SB,
            opt::GMCP,
        ];
        want.extend_from_slice(br#"Core.Supports.Set ["Room 1"]"#);
        want.extend_from_slice(&[IAC, SE]);
        assert_eq!(b.take_to_server(), want);
        // A second WILL GMCP is not answered again (no loop).
        b.from_server(&[IAC, WILL, opt::GMCP]);
        assert!(b.take_to_server().is_empty());
    }

    #[test]
    fn gmcp_subnegotiations_become_text_frames_in_order() {
        let mut b = Bridge::new(Mode::Gmcp, 1024);
        b.from_server(&[IAC, WILL, opt::GMCP]);
        let mut bytes = b"\x1b[1mPlaza\x1b[0m\n".to_vec();
        bytes.extend_from_slice(&[IAC, SB, opt::GMCP]);
        bytes.extend_from_slice(br#"Room.Info {"name":"Plaza"}"#);
        bytes.extend_from_slice(&[IAC, SE, IAC, 249 /* GA */, b'>', b' ']);
        let frames = b.from_server(&bytes);
        assert_eq!(
            frames,
            vec![
                Frame::Text(b"\x1b[1mPlaza\x1b[0m\n".to_vec()),
                Frame::Gmcp(r#"Room.Info {"name":"Plaza"}"#.into()),
                Frame::Text(b"> ".to_vec()),
            ]
        );
    }

    #[test]
    fn terminal_mode_refuses_gmcp_and_sends_no_oob() {
        let mut b = Bridge::new(Mode::Terminal, 1024);
        let mut bytes = vec![IAC, WILL, opt::GMCP, IAC, WILL, opt::ECHO];
        bytes.extend_from_slice(&[IAC, SB, opt::GMCP, b'X', IAC, SE, b'o', b'k']);
        assert_eq!(b.from_server(&bytes), vec![Frame::Text(b"ok".to_vec())]);
        assert_eq!(
            b.take_to_server(),
            vec![IAC, DONT, opt::GMCP, IAC, DO, opt::ECHO]
        );
        b.text_frame("look");
        assert_eq!(b.take_to_server(), b"look\r\n");
    }

    #[test]
    fn echo_changes_reach_the_page_and_input_is_escaped_per_line() {
        let mut b = Bridge::new(Mode::Gmcp, 1024);
        assert_eq!(
            b.from_server(&[IAC, WILL, opt::ECHO, IAC, WILL, opt::ECHO]),
            vec![Frame::Gmcp(r#"Client.Echo {"on":false}"#.into())]
        );
        assert_eq!(
            b.from_server(&[IAC, WONT, opt::ECHO]),
            vec![Frame::Gmcp(r#"Client.Echo {"on":true}"#.into())]
        );
        b.take_to_server();
        b.input("say a\r\nlook");
        assert_eq!(b.take_to_server(), b"say a\r\nlook\r\n");
    }

    #[test]
    fn split_and_oversized_subnegotiations_are_safe() {
        let mut b = Bridge::new(Mode::Gmcp, 8);
        b.from_server(&[IAC, WILL, opt::GMCP]);
        assert!(b
            .from_server(&[IAC, SB, opt::GMCP, b'A', b'.', b'B'])
            .is_empty());
        assert_eq!(b.from_server(&[IAC, SE]), vec![Frame::Gmcp("A.B".into())]);
        let mut long = vec![IAC, SB, opt::GMCP];
        long.extend_from_slice(&[b'x'; 100]);
        long.extend_from_slice(&[IAC, SE, b'!']);
        assert_eq!(b.from_server(&long), vec![Frame::Text(b"!".to_vec())]);
        for seed in 0..200u32 {
            let bytes: Vec<u8> = (0..64)
                .map(|i| (seed.wrapping_mul(2654435761).wrapping_add(i * 40503) >> 7) as u8)
                .collect();
            let out: usize = b
                .from_server(&bytes)
                .iter()
                .map(|f| match f {
                    Frame::Text(t) => t.len(),
                    Frame::Gmcp(g) => g.len().min(8) + 30,
                })
                .sum();
            assert!(out <= bytes.len() * 40);
        }
    }
}
