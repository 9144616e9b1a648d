//! Sans-I/O telnet protocol core for the MUD gateway (RFC 854, RFC 855, RFC 1143).
//!
//! # What this module does
//!
//! [`TelnetCodec`] turns the raw bytes read from a telnet socket into
//! [`TelnetEvent`]s (complete input lines, interrupts, option changes and
//! subnegotiations) and collects the bytes the protocol itself must send back
//! (negotiation replies, the answer to "Are You There"). It also offers the
//! encoding helpers for the outbound direction: [`TelnetCodec::encode_text`]
//! (newline translation and IAC escaping), [`escape_iac`],
//! [`TelnetCodec::send_subnegotiation`] and [`TelnetCodec::send_go_ahead`].
//!
//! The input side is a byte-at-a-time state machine, so a telnet command, a
//! UTF-8 character or a CR LF pair may be split across reads at any byte
//! boundary and still decode identically. Every buffer it keeps is bounded by
//! [`CodecConfig`] limits, so a hostile client cannot make it grow memory.
//!
//! # Option negotiation: the Q method
//!
//! Each option has two independent sides (ours, announced with WILL/WONT, and
//! the peer's, requested with DO/DONT), and RFC 1143 tracks each side with one
//! of four states, NO, YES, WANTNO and WANTYES, plus a one-bit queue
//! ("opposite") that remembers a request made while a negotiation is still in
//! flight. A reply is sent only when a received command actually changes that
//! state, so a peer repeating itself or re-confirming an option that is
//! already off gets no answer, which is what makes negotiation loops
//! impossible.
//!
//! # Why sans-I/O
//!
//! The codec never touches a socket, a clock or an async runtime: the caller
//! feeds it bytes with [`TelnetCodec::receive`] and drains
//! [`TelnetCodec::take_output`] into whatever transport it uses. This keeps
//! the protocol logic deterministic and testable byte by byte (split reads,
//! fuzzed input) and lets the same code serve a tokio gateway, a blocking test
//! harness or a replay tool.

use std::fmt;

/// Telnet command bytes (RFC 854, plus EOR from RFC 885).
pub mod cmd {
    /// Interpret As Command: introduces every telnet command.
    pub const IAC: u8 = 255;
    /// Demand that the peer stop using an option.
    pub const DONT: u8 = 254;
    /// Ask the peer to start using an option.
    pub const DO: u8 = 253;
    /// Refuse (or stop) using an option on the sender's side.
    pub const WONT: u8 = 252;
    /// Offer (or confirm) using an option on the sender's side.
    pub const WILL: u8 = 251;
    /// Subnegotiation begin.
    pub const SB: u8 = 250;
    /// Go Ahead.
    pub const GA: u8 = 249;
    /// Erase Line.
    pub const EL: u8 = 248;
    /// Erase Character.
    pub const EC: u8 = 247;
    /// Are You There.
    pub const AYT: u8 = 246;
    /// Abort Output.
    pub const AO: u8 = 245;
    /// Interrupt Process.
    pub const IP: u8 = 244;
    /// Break.
    pub const BRK: u8 = 243;
    /// Data Mark (Synch).
    pub const DM: u8 = 242;
    /// No Operation.
    pub const NOP: u8 = 241;
    /// Subnegotiation end.
    pub const SE: u8 = 240;
    /// End Of Record (RFC 885).
    pub const EOR: u8 = 239;
}

/// Telnet option codes commonly used by MUD clients.
pub mod opt {
    /// Echo (RFC 857).
    pub const ECHO: u8 = 1;
    /// Suppress Go Ahead (RFC 858).
    pub const SGA: u8 = 3;
    /// Terminal Type (RFC 1091).
    pub const TTYPE: u8 = 24;
    /// End Of Record (RFC 885).
    pub const EOR: u8 = 25;
    /// Negotiate About Window Size (RFC 1073).
    pub const NAWS: u8 = 31;
    /// Linemode (RFC 1184).
    pub const LINEMODE: u8 = 34;
    /// Charset (RFC 2066).
    pub const CHARSET: u8 = 42;
    /// MUD Server Data Protocol.
    pub const MSDP: u8 = 69;
    /// MUD Server Status Protocol.
    pub const MSSP: u8 = 70;
    /// MUD Client Compression Protocol v2.
    pub const MCCP2: u8 = 86;
    /// Generic MUD Communication Protocol.
    pub const GMCP: u8 = 201;
}

/// Limits and option policy for a [`TelnetCodec`].
#[derive(Debug, Clone)]
pub struct CodecConfig {
    /// Maximum size of one input line in bytes (terminator excluded).
    pub max_line_bytes: usize,
    /// Maximum payload of one subnegotiation in bytes (after unescaping).
    pub max_subnegotiation_bytes: usize,
    /// Options we are willing to enable on our side (a peer DO is answered with WILL).
    pub local_options: Vec<u8>,
    /// Options we accept the peer enabling (a peer WILL is answered with DO).
    pub remote_options: Vec<u8>,
}

impl Default for CodecConfig {
    fn default() -> Self {
        CodecConfig {
            max_line_bytes: 1024,
            max_subnegotiation_bytes: 8192,
            local_options: Vec::new(),
            remote_options: Vec::new(),
        }
    }
}

/// Which end of the connection an option applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Our side (negotiated with WILL/WONT from us, DO/DONT from the peer).
    Local,
    /// The peer's side (negotiated with DO/DONT from us, WILL/WONT from the peer).
    Remote,
}

/// Something the peer's input completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TelnetEvent {
    /// One complete input line, without its terminator, UTF-8 decoded lossily.
    Line(String),
    /// The current line went over the limit; it is discarded up to its terminator.
    LineTooLong {
        /// The configured limit that was exceeded.
        max_bytes: usize,
    },
    /// The peer sent IAC IP or IAC BRK.
    Interrupt,
    /// A negotiation settled in a state different from the last settled one.
    OptionChanged {
        /// The option code.
        option: u8,
        /// Whose side of the option changed.
        side: Side,
        /// The new state.
        enabled: bool,
    },
    /// A complete `IAC SB option ... IAC SE`, with `IAC IAC` unescaped.
    Subnegotiation {
        /// The option code.
        option: u8,
        /// The payload between the option byte and `IAC SE`.
        data: Vec<u8>,
    },
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Side::Local => f.write_str("local"),
            Side::Remote => f.write_str("remote"),
        }
    }
}

/// RFC 1143 state of one side of one option.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum QState {
    #[default]
    No,
    Yes,
    WantNo,
    WantYes,
}

/// Q-method state plus the last state reported through [`TelnetEvent::OptionChanged`].
#[derive(Debug, Clone, Copy, Default)]
struct OptionState {
    state: QState,
    /// The RFC 1143 queue bit: `true` means OPPOSITE, `false` means EMPTY.
    opposite: bool,
    /// Last settled state reported to the caller.
    reported: bool,
}

/// Where the input state machine is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParseState {
    /// Ordinary data.
    Data,
    /// Saw IAC in data.
    Iac,
    /// Saw IAC WILL/WONT/DO/DONT; the next byte is the option.
    Negotiate(u8),
    /// Saw IAC SB; the next byte is the option.
    SubOption,
    /// Inside a subnegotiation payload.
    SubData,
    /// Saw IAC inside a subnegotiation payload.
    SubIac,
}

const BS: u8 = 0x08;
const TAB: u8 = 0x09;
const LF: u8 = 0x0a;
const CR: u8 = 0x0d;
const NUL: u8 = 0x00;
const DEL: u8 = 0x7f;

/// The sans-I/O telnet codec of one connection.
#[derive(Debug, Clone)]
pub struct TelnetCodec {
    config: CodecConfig,
    state: ParseState,
    /// Bytes of the line being typed; never longer than `max_line_bytes`.
    line: Vec<u8>,
    /// The current line went over the limit and is being discarded.
    discarding: bool,
    /// The previous data byte was a CR that ended a line; a following LF or NUL is swallowed.
    after_cr: bool,
    sub_option: u8,
    /// Subnegotiation payload; never longer than `max_subnegotiation_bytes`.
    sub_data: Vec<u8>,
    sub_overflow: bool,
    output: Vec<u8>,
    local: [OptionState; 256],
    remote: [OptionState; 256],
}

impl TelnetCodec {
    /// A codec in the initial state: every option off on both sides.
    pub fn new(config: CodecConfig) -> Self {
        TelnetCodec {
            config,
            state: ParseState::Data,
            line: Vec::new(),
            discarding: false,
            after_cr: false,
            sub_option: 0,
            sub_data: Vec::new(),
            sub_overflow: false,
            output: Vec::new(),
            local: [OptionState::default(); 256],
            remote: [OptionState::default(); 256],
        }
    }

    /// The configuration this codec was built with.
    pub fn config(&self) -> &CodecConfig {
        &self.config
    }

    /// Feed bytes read from the socket; returns the events they complete. Never panics on any input.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<TelnetEvent> {
        let mut events = Vec::new();
        for &b in bytes {
            self.step(b, &mut events);
        }
        events
    }

    /// Bytes the codec wants sent to the peer (negotiation replies, AYT answer); drains the buffer.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    /// Whether [`take_output`](Self::take_output) would return anything.
    pub fn has_output(&self) -> bool {
        !self.output.is_empty()
    }

    /// Number of bytes of the line currently being typed (always at most `max_line_bytes`).
    pub fn pending_line_len(&self) -> usize {
        self.line.len()
    }

    /// Ask to enable/disable an option on our side (WILL/WONT), per RFC 1143.
    ///
    /// Requests that are redundant (already in, or already heading to, the wanted
    /// state) send nothing. A request made while a negotiation is in flight is
    /// queued and sent when the peer answers. The outcome arrives later as
    /// [`TelnetEvent::OptionChanged`] from [`receive`](Self::receive).
    pub fn request_local(&mut self, option: u8, enable: bool) {
        self.request(Side::Local, option, enable);
    }

    /// Ask the peer to enable/disable an option on its side (DO/DONT), per RFC 1143.
    ///
    /// Same rules as [`request_local`](Self::request_local).
    pub fn request_remote(&mut self, option: u8, enable: bool) {
        self.request(Side::Remote, option, enable);
    }

    /// Whether the option is in effect on our side (Q state YES).
    pub fn local_enabled(&self, option: u8) -> bool {
        self.local[usize::from(option)].state == QState::Yes
    }

    /// Whether the option is in effect on the peer's side (Q state YES).
    pub fn remote_enabled(&self, option: u8) -> bool {
        self.remote[usize::from(option)].state == QState::Yes
    }

    /// Append text for the wire: every "\n" becomes "\r\n" (a "\r\n" already present stays "\r\n"),
    /// a lone "\r" becomes "\r\0", byte 255 is doubled (IAC IAC).
    pub fn encode_text(text: &str, out: &mut Vec<u8>) {
        let bytes = text.as_bytes();
        out.reserve(bytes.len() + bytes.len() / 16 + 2);
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                CR => {
                    if bytes.get(i + 1) == Some(&LF) {
                        out.extend_from_slice(b"\r\n");
                        i += 1;
                    } else {
                        out.extend_from_slice(b"\r\0");
                    }
                }
                LF => out.extend_from_slice(b"\r\n"),
                cmd::IAC => out.extend_from_slice(&[cmd::IAC, cmd::IAC]),
                b => out.push(b),
            }
            i += 1;
        }
    }

    /// Send a raw subnegotiation `IAC SB opt <data, IAC doubled> IAC SE` into the output buffer.
    pub fn send_subnegotiation(&mut self, option: u8, data: &[u8]) {
        self.output.extend_from_slice(&[cmd::IAC, cmd::SB, option]);
        escape_iac(data, &mut self.output);
        self.output.extend_from_slice(&[cmd::IAC, cmd::SE]);
    }

    /// Append IAC GA (used after prompts) unless SGA is enabled locally.
    pub fn send_go_ahead(&mut self) {
        if !self.local_enabled(opt::SGA) {
            self.output.extend_from_slice(&[cmd::IAC, cmd::GA]);
        }
    }

    // ----- input state machine -------------------------------------------------

    fn step(&mut self, b: u8, events: &mut Vec<TelnetEvent>) {
        match self.state {
            ParseState::Data => {
                if b == cmd::IAC {
                    self.state = ParseState::Iac;
                } else {
                    self.data_byte(b, events);
                }
            }
            ParseState::Iac => {
                self.state = ParseState::Data;
                self.command(b, events);
            }
            ParseState::Negotiate(verb) => {
                self.state = ParseState::Data;
                self.negotiate(verb, b, events);
            }
            ParseState::SubOption => {
                self.sub_option = b;
                self.sub_data.clear();
                self.sub_overflow = false;
                self.state = ParseState::SubData;
            }
            ParseState::SubData => {
                if b == cmd::IAC {
                    self.state = ParseState::SubIac;
                } else {
                    self.sub_push(b);
                }
            }
            ParseState::SubIac => match b {
                cmd::IAC => {
                    self.sub_push(cmd::IAC);
                    self.state = ParseState::SubData;
                }
                cmd::SE => {
                    self.state = ParseState::Data;
                    self.finish_subnegotiation(events);
                }
                other => {
                    // Liberal: a missing IAC SE; end the subnegotiation here and
                    // run the command that interrupted it.
                    self.state = ParseState::Data;
                    self.finish_subnegotiation(events);
                    self.command(other, events);
                }
            },
        }
    }

    /// The byte that followed an IAC in data (state already reset to `Data`).
    fn command(&mut self, b: u8, events: &mut Vec<TelnetEvent>) {
        match b {
            cmd::IAC => self.data_byte(cmd::IAC, events),
            cmd::WILL | cmd::WONT | cmd::DO | cmd::DONT => self.state = ParseState::Negotiate(b),
            cmd::SB => self.state = ParseState::SubOption,
            cmd::IP | cmd::BRK => events.push(TelnetEvent::Interrupt),
            cmd::AYT => self.output.extend_from_slice(b"\r\n[Yes]\r\n"),
            cmd::EC => self.erase_char(),
            cmd::EL => self.line.clear(),
            // NOP, DM, GA, AO, EOR, a stray SE and unknown commands.
            _ => {}
        }
    }

    fn data_byte(&mut self, b: u8, events: &mut Vec<TelnetEvent>) {
        if std::mem::take(&mut self.after_cr) && (b == LF || b == NUL) {
            // Second half of CR LF / CR NUL: the line already ended at the CR.
            return;
        }
        match b {
            CR => {
                self.end_line(events);
                self.after_cr = true;
            }
            LF => self.end_line(events),
            BS | DEL => self.erase_char(),
            TAB => self.push_line_byte(b, events),
            0x00..=0x1f => {}
            _ => self.push_line_byte(b, events),
        }
    }

    fn push_line_byte(&mut self, b: u8, events: &mut Vec<TelnetEvent>) {
        if self.discarding {
            return;
        }
        if self.line.len() >= self.config.max_line_bytes {
            self.line.clear();
            self.discarding = true;
            events.push(TelnetEvent::LineTooLong {
                max_bytes: self.config.max_line_bytes,
            });
            return;
        }
        self.line.push(b);
    }

    fn end_line(&mut self, events: &mut Vec<TelnetEvent>) {
        if self.discarding {
            self.discarding = false;
        } else {
            events.push(TelnetEvent::Line(
                String::from_utf8_lossy(&self.line).into_owned(),
            ));
        }
        self.line.clear();
    }

    /// Remove the last UTF-8 character of the pending line (or one byte if it is not valid UTF-8).
    /// Does nothing while an over-long line is being discarded.
    fn erase_char(&mut self) {
        let len = self.line.len();
        if len == 0 || self.discarding {
            return;
        }
        let is_cont = |b: u8| b & 0xc0 == 0x80;
        let mut start = len - 1;
        while start > 0 && is_cont(self.line[start]) && len - start < 4 {
            start -= 1;
        }
        let lead = self.line[start];
        let expected = match lead {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1,
        };
        let cut = if start < len - 1 && expected >= len - start {
            start
        } else {
            len - 1
        };
        self.line.truncate(cut);
    }

    fn sub_push(&mut self, b: u8) {
        if self.sub_data.len() < self.config.max_subnegotiation_bytes {
            self.sub_data.push(b);
        } else {
            self.sub_overflow = true;
        }
    }

    fn finish_subnegotiation(&mut self, events: &mut Vec<TelnetEvent>) {
        if self.sub_overflow {
            self.sub_data.clear();
            self.sub_overflow = false;
        } else {
            events.push(TelnetEvent::Subnegotiation {
                option: self.sub_option,
                data: std::mem::take(&mut self.sub_data),
            });
        }
    }

    // ----- RFC 1143 option negotiation ------------------------------------------

    fn slot(&mut self, side: Side, option: u8) -> &mut OptionState {
        match side {
            Side::Local => &mut self.local[usize::from(option)],
            Side::Remote => &mut self.remote[usize::from(option)],
        }
    }

    fn supported(&self, side: Side, option: u8) -> bool {
        match side {
            Side::Local => self.config.local_options.contains(&option),
            Side::Remote => self.config.remote_options.contains(&option),
        }
    }

    /// Queue `IAC <verb> option`, choosing the verb for `side` and polarity.
    fn send_negotiation(&mut self, side: Side, option: u8, enable: bool) {
        let verb = match (side, enable) {
            (Side::Local, true) => cmd::WILL,
            (Side::Local, false) => cmd::WONT,
            (Side::Remote, true) => cmd::DO,
            (Side::Remote, false) => cmd::DONT,
        };
        self.output.extend_from_slice(&[cmd::IAC, verb, option]);
    }

    fn negotiate(&mut self, verb: u8, option: u8, events: &mut Vec<TelnetEvent>) {
        let (side, affirmative) = match verb {
            cmd::DO => (Side::Local, true),
            cmd::DONT => (Side::Local, false),
            cmd::WILL => (Side::Remote, true),
            _ => (Side::Remote, false),
        };
        if affirmative {
            self.receive_affirmative(side, option);
        } else {
            self.receive_negative(side, option);
        }
        self.settle(side, option, events);
    }

    /// Peer sent DO (for `Local`) or WILL (for `Remote`).
    fn receive_affirmative(&mut self, side: Side, option: u8) {
        let supported = self.supported(side, option);
        let s = *self.slot(side, option);
        match (s.state, s.opposite) {
            (QState::No, _) => {
                if supported {
                    self.slot(side, option).state = QState::Yes;
                    self.send_negotiation(side, option, true);
                } else {
                    self.send_negotiation(side, option, false);
                }
            }
            (QState::Yes, _) => {}
            // Error in RFC 1143 terms (our disable answered by enable); accept it.
            (QState::WantNo, false) => self.slot(side, option).state = QState::No,
            (QState::WantNo, true) => {
                let slot = self.slot(side, option);
                slot.state = QState::Yes;
                slot.opposite = false;
            }
            (QState::WantYes, false) => self.slot(side, option).state = QState::Yes,
            (QState::WantYes, true) => {
                let slot = self.slot(side, option);
                slot.state = QState::WantNo;
                slot.opposite = false;
                self.send_negotiation(side, option, false);
            }
        }
    }

    /// Peer sent DONT (for `Local`) or WONT (for `Remote`).
    fn receive_negative(&mut self, side: Side, option: u8) {
        let s = *self.slot(side, option);
        match (s.state, s.opposite) {
            (QState::No, _) => {}
            (QState::Yes, _) => {
                self.slot(side, option).state = QState::No;
                self.send_negotiation(side, option, false);
            }
            (QState::WantNo, false) | (QState::WantYes, _) => {
                let slot = self.slot(side, option);
                slot.state = QState::No;
                slot.opposite = false;
            }
            (QState::WantNo, true) => {
                let slot = self.slot(side, option);
                slot.state = QState::WantYes;
                slot.opposite = false;
                self.send_negotiation(side, option, true);
            }
        }
    }

    fn request(&mut self, side: Side, option: u8, enable: bool) {
        let slot = self.slot(side, option);
        let send = match (slot.state, slot.opposite, enable) {
            (QState::No, _, true) => {
                slot.state = QState::WantYes;
                true
            }
            (QState::Yes, _, false) => {
                slot.state = QState::WantNo;
                true
            }
            (QState::WantNo, false, true) | (QState::WantYes, false, false) => {
                slot.opposite = true;
                false
            }
            (QState::WantNo, true, false) | (QState::WantYes, true, true) => {
                slot.opposite = false;
                false
            }
            // Already in (or already heading to) the requested state.
            _ => false,
        };
        if send {
            self.send_negotiation(side, option, enable);
        }
    }

    /// Report a settled state (YES or NO) that differs from the last one reported.
    fn settle(&mut self, side: Side, option: u8, events: &mut Vec<TelnetEvent>) {
        let slot = self.slot(side, option);
        let enabled = match slot.state {
            QState::Yes => true,
            QState::No => false,
            QState::WantNo | QState::WantYes => return,
        };
        if enabled != slot.reported {
            slot.reported = enabled;
            events.push(TelnetEvent::OptionChanged {
                option,
                side,
                enabled,
            });
        }
    }
}

/// Append `bytes` to `out` with every 0xFF doubled (IAC IAC), for raw binary data.
pub fn escape_iac(bytes: &[u8], out: &mut Vec<u8>) {
    out.reserve(bytes.len());
    for &b in bytes {
        if b == cmd::IAC {
            out.extend_from_slice(&[cmd::IAC, cmd::IAC]);
        } else {
            out.push(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cmd::*;
    use super::*;

    fn config() -> CodecConfig {
        CodecConfig {
            local_options: vec![opt::ECHO, opt::SGA, opt::GMCP],
            remote_options: vec![opt::NAWS, opt::TTYPE],
            ..CodecConfig::default()
        }
    }

    fn codec() -> TelnetCodec {
        TelnetCodec::new(config())
    }

    fn line(s: &str) -> TelnetEvent {
        TelnetEvent::Line(s.to_string())
    }

    fn changed(option: u8, side: Side, enabled: bool) -> TelnetEvent {
        TelnetEvent::OptionChanged {
            option,
            side,
            enabled,
        }
    }

    /// Feed `input` as the given chunks to a fresh codec; return (events, output).
    fn run_chunks(chunks: &[&[u8]]) -> (Vec<TelnetEvent>, Vec<u8>) {
        let mut c = codec();
        let mut events = Vec::new();
        let mut out = Vec::new();
        for chunk in chunks {
            events.extend(c.receive(chunk));
            out.extend(c.take_output());
        }
        (events, out)
    }

    fn sample_stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(&[IAC, DO, opt::ECHO]); // supported -> WILL
        s.extend_from_slice(&[IAC, WILL, opt::NAWS]); // supported -> DO
        s.extend_from_slice(&[IAC, DO, 99]); // unsupported -> WONT
        s.extend_from_slice(&[IAC, WILL, 98]); // unsupported -> DONT
        s.extend_from_slice(&[IAC, SB, opt::NAWS, 0, 80, IAC, IAC, 24, IAC, SE]);
        s.extend_from_slice(b"hello\r\n");
        s.extend_from_slice("w\u{f6}rld\r\0".as_bytes());
        s.extend_from_slice(b"bare\nlf\r");
        s.extend_from_slice(&[IAC, NOP]);
        s.extend_from_slice(b"\n"); // CR, IAC NOP, LF is still one line end
        s.push(b'\r'); // bare CR then "x": an empty line
        s.extend_from_slice(&[b'x', IAC, IAC, b'y', b'\n']);
        s.extend_from_slice(&[IAC, AYT, IAC, IP]);
        s.extend_from_slice("ab\u{2713}\x08c\x7fd\r\n".as_bytes());
        s.extend_from_slice(&[IAC, DONT, opt::ECHO]);
        s
    }

    #[test]
    fn constants_have_rfc_values() {
        let cmds = [
            IAC, DONT, DO, WONT, WILL, SB, GA, EL, EC, AYT, AO, IP, BRK, DM, NOP, SE, EOR,
        ];
        let expected: Vec<u8> = (239..=255).rev().collect();
        assert_eq!(cmds.to_vec(), expected);
        let opts = [
            opt::ECHO,
            opt::SGA,
            opt::TTYPE,
            opt::EOR,
            opt::NAWS,
            opt::LINEMODE,
            opt::CHARSET,
            opt::MSDP,
            opt::MSSP,
            opt::MCCP2,
            opt::GMCP,
        ];
        assert_eq!(opts, [1, 3, 24, 25, 31, 34, 42, 69, 70, 86, 201]);
        let d = CodecConfig::default();
        assert_eq!(d.max_line_bytes, 1024);
        assert_eq!(d.max_subnegotiation_bytes, 8192);
        assert!(d.local_options.is_empty() && d.remote_options.is_empty());
        assert_eq!(Side::Local.to_string(), "local");
        assert_eq!(Side::Remote.to_string(), "remote");
        assert_eq!(codec().config().remote_options, vec![opt::NAWS, opt::TTYPE]);
    }

    #[test]
    fn sample_stream_decodes_as_expected() {
        let (events, out) = run_chunks(&[&sample_stream()]);
        assert_eq!(
            events,
            vec![
                changed(opt::ECHO, Side::Local, true),
                changed(opt::NAWS, Side::Remote, true),
                TelnetEvent::Subnegotiation {
                    option: opt::NAWS,
                    data: vec![0, 80, 255, 24]
                },
                line("hello"),
                line("w\u{f6}rld"),
                line("bare"),
                line("lf"),
                line(""),
                line("x\u{fffd}y"),
                TelnetEvent::Interrupt,
                line("abd"),
                changed(opt::ECHO, Side::Local, false),
            ]
        );
        let mut expected = vec![
            IAC,
            WILL,
            opt::ECHO,
            IAC,
            DO,
            opt::NAWS,
            IAC,
            WONT,
            99,
            IAC,
            DONT,
            98,
        ];
        expected.extend_from_slice(b"\r\n[Yes]\r\n");
        expected.extend_from_slice(&[IAC, WONT, opt::ECHO]);
        assert_eq!(out, expected);
    }

    #[test]
    fn split_input_at_any_boundary_is_identical() {
        let stream = sample_stream();
        let whole = run_chunks(&[&stream]);
        let singles: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(run_chunks(&singles), whole);
        for split in 0..=stream.len() {
            let (a, b) = stream.split_at(split);
            assert_eq!(run_chunks(&[a, b]), whole, "split at {split}");
        }
    }

    #[test]
    fn iac_iac_is_literal_ff_in_line() {
        let mut c = codec();
        let events = c.receive(&[b'a', IAC, IAC, b'b', b'\n']);
        assert_eq!(events, vec![line("a\u{fffd}b")]);
        assert!(!c.has_output());
    }

    #[test]
    fn line_terminators() {
        let mut c = codec();
        let events = c.receive(b"a\r\nb\r\0c\nd\re\n\n\r\n");
        assert_eq!(
            events,
            vec![
                line("a"),
                line("b"),
                line("c"),
                line("d"),
                line("e"),
                line(""),
                line("")
            ]
        );
    }

    #[test]
    fn cr_lf_in_separate_calls_is_one_line() {
        let mut c = codec();
        assert_eq!(c.receive(b"look\r"), vec![line("look")]);
        assert_eq!(c.receive(b"\n"), vec![]);
        assert_eq!(c.receive(b"\r"), vec![line("")]);
        assert_eq!(c.receive(b"\0"), vec![]);
        assert_eq!(c.receive(b"next\n"), vec![line("next")]);
    }

    #[test]
    fn editing_and_control_bytes() {
        let mut c = codec();
        // Backspace and DEL remove whole UTF-8 characters.
        assert_eq!(
            c.receive("h\u{e9}\u{2713}\u{1f600}\x08\x08\x7fi\n".as_bytes()),
            vec![line("hi")]
        );
        // IAC EC erases a character, IAC EL the whole pending line.
        assert_eq!(c.receive(&[b'a', b'b', IAC, EC, b'\n']), vec![line("a")]);
        assert_eq!(
            c.receive(&[b'x', b'y', IAC, EL, b'o', b'k', b'\n']),
            vec![line("ok")]
        );
        // Backspace on an empty line does nothing.
        assert_eq!(c.receive(b"\x08\x7f\n"), vec![line("")]);
        // Other C0 bytes are dropped, TAB is kept.
        assert_eq!(
            c.receive(b"a\x01\x07\x1b[Ab\tc\x0c\n"),
            vec![line("a[Ab\tc")]
        );
        // A stray continuation byte is erased alone, not with its neighbour.
        assert_eq!(c.receive(&[b'a', 0x80, BS, b'\n']), vec![line("a")]);
    }

    #[test]
    fn utf8_passes_through() {
        let mut c = codec();
        let text = "h\u{e9}llo w\u{f6}rld \u{2713}";
        let mut input = text.as_bytes().to_vec();
        input.extend_from_slice(b"\r\n");
        assert_eq!(c.receive(&input), vec![line(text)]);
    }

    #[test]
    fn long_line_reported_once_then_recovers() {
        let mut c = TelnetCodec::new(CodecConfig {
            max_line_bytes: 8,
            ..CodecConfig::default()
        });
        assert_eq!(c.receive(b"12345678\n"), vec![line("12345678")]);
        let events = c.receive(b"123456789abcdef");
        assert_eq!(events, vec![TelnetEvent::LineTooLong { max_bytes: 8 }]);
        assert_eq!(c.receive(b"more junk"), vec![]);
        assert_eq!(c.receive(b"\r"), vec![]);
        assert_eq!(c.receive(b"\nfine\r\n"), vec![line("fine")]);
    }

    #[test]
    fn megabyte_without_newline_stays_bounded() {
        let mut c = codec();
        let max = c.config().max_line_bytes;
        let chunk = [b'a'; 4096];
        let mut too_long = 0;
        for _ in 0..256 {
            for e in c.receive(&chunk) {
                assert_eq!(e, TelnetEvent::LineTooLong { max_bytes: max });
                too_long += 1;
            }
            assert!(c.pending_line_len() <= max);
            assert!(c.line.capacity() <= 2 * max);
        }
        assert_eq!(too_long, 1);
        assert_eq!(c.receive(b"\nok\n"), vec![line("ok")]);
    }

    #[test]
    fn unsupported_options_refused_politely() {
        let mut c = codec();
        assert_eq!(c.receive(&[IAC, DO, opt::MSSP]), vec![]);
        assert_eq!(c.take_output(), vec![IAC, WONT, opt::MSSP]);
        assert_eq!(c.receive(&[IAC, WILL, opt::MSDP]), vec![]);
        assert_eq!(c.take_output(), vec![IAC, DONT, opt::MSDP]);
        // Disabling something already off: no reply at all.
        c.receive(&[IAC, DONT, opt::MSSP, IAC, WONT, opt::MSDP]);
        c.receive(&[IAC, DONT, opt::ECHO, IAC, WONT, opt::NAWS]);
        assert!(!c.has_output());
        assert!(!c.local_enabled(opt::MSSP) && !c.remote_enabled(opt::MSDP));
    }

    #[test]
    fn supported_options_accepted_once() {
        let mut c = codec();
        assert_eq!(
            c.receive(&[IAC, DO, opt::ECHO]),
            vec![changed(opt::ECHO, Side::Local, true)]
        );
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::ECHO]);
        assert!(c.local_enabled(opt::ECHO));
        // Repeated DO for an enabled option: no reply, no event.
        assert_eq!(c.receive(&[IAC, DO, opt::ECHO]), vec![]);
        assert!(!c.has_output());
        assert_eq!(
            c.receive(&[IAC, WILL, opt::TTYPE]),
            vec![changed(opt::TTYPE, Side::Remote, true)]
        );
        assert_eq!(c.take_output(), vec![IAC, DO, opt::TTYPE]);
        assert!(c.remote_enabled(opt::TTYPE));
        // Peer disables: we acknowledge once.
        assert_eq!(
            c.receive(&[IAC, WONT, opt::TTYPE, IAC, WONT, opt::TTYPE]),
            vec![changed(opt::TTYPE, Side::Remote, false)]
        );
        assert_eq!(c.take_output(), vec![IAC, DONT, opt::TTYPE]);
    }

    #[test]
    fn requests_complete_on_answer() {
        let mut c = codec();
        c.request_local(opt::GMCP, true);
        c.request_local(opt::GMCP, true); // already negotiating: nothing more
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::GMCP]);
        assert!(!c.local_enabled(opt::GMCP));
        assert_eq!(
            c.receive(&[IAC, DO, opt::GMCP]),
            vec![changed(opt::GMCP, Side::Local, true)]
        );
        assert!(c.local_enabled(opt::GMCP) && !c.has_output());

        c.request_remote(opt::NAWS, true);
        assert_eq!(c.take_output(), vec![IAC, DO, opt::NAWS]);
        assert_eq!(
            c.receive(&[IAC, WILL, opt::NAWS]),
            vec![changed(opt::NAWS, Side::Remote, true)]
        );
        assert!(c.remote_enabled(opt::NAWS) && !c.has_output());

        // Refused request: settles back to off with no event and no reply.
        c.request_remote(opt::LINEMODE, true);
        assert_eq!(c.take_output(), vec![IAC, DO, opt::LINEMODE]);
        assert_eq!(c.receive(&[IAC, WONT, opt::LINEMODE]), vec![]);
        assert!(!c.has_output() && !c.remote_enabled(opt::LINEMODE));

        // Disabling.
        c.request_local(opt::GMCP, false);
        assert_eq!(c.take_output(), vec![IAC, WONT, opt::GMCP]);
        assert!(!c.local_enabled(opt::GMCP));
        assert_eq!(
            c.receive(&[IAC, DONT, opt::GMCP]),
            vec![changed(opt::GMCP, Side::Local, false)]
        );
        assert!(!c.has_output());
    }

    #[test]
    fn queued_opposite_request() {
        let mut c = codec();
        c.request_local(opt::ECHO, true);
        c.request_local(opt::ECHO, false); // queued
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::ECHO]);
        // The answer to WILL arrives: the queued disable goes out, no event yet.
        assert_eq!(c.receive(&[IAC, DO, opt::ECHO]), vec![]);
        assert_eq!(c.take_output(), vec![IAC, WONT, opt::ECHO]);
        assert_eq!(c.receive(&[IAC, DONT, opt::ECHO]), vec![]);
        assert!(!c.has_output() && !c.local_enabled(opt::ECHO));

        // Enable, then while disabling ask to enable again.
        c.receive(&[IAC, DO, opt::SGA]);
        c.take_output();
        c.request_local(opt::SGA, false);
        c.request_local(opt::SGA, true); // queued
        assert_eq!(c.take_output(), vec![IAC, WONT, opt::SGA]);
        assert_eq!(c.receive(&[IAC, DONT, opt::SGA]), vec![]);
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::SGA]);
        assert_eq!(c.receive(&[IAC, DO, opt::SGA]), vec![]);
        assert!(c.local_enabled(opt::SGA) && !c.has_output());
    }

    #[test]
    fn echo_negotiated_around_a_password_prompt() {
        // The gateway's own config: ECHO is not an option it offers by
        // itself, only one it asks for around password prompts.
        let mut c = TelnetCodec::new(CodecConfig::default());
        let local = |on| changed(opt::ECHO, Side::Local, on);

        // A client that agrees: WILL, DO, then WONT, DONT.
        c.request_local(opt::ECHO, true);
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::ECHO]);
        assert_eq!(c.receive(&[IAC, DO, opt::ECHO]), vec![local(true)]);
        assert!(c.local_enabled(opt::ECHO) && !c.has_output());
        c.request_local(opt::ECHO, false);
        assert_eq!(c.take_output(), vec![IAC, WONT, opt::ECHO]);
        assert_eq!(c.receive(&[IAC, DONT, opt::ECHO]), vec![local(false)]);
        assert!(!c.local_enabled(opt::ECHO) && !c.has_output());

        // A client that refuses keeps echoing; there is nothing to undo.
        c.request_local(opt::ECHO, true);
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::ECHO]);
        assert_eq!(c.receive(&[IAC, DONT, opt::ECHO]), vec![]);
        c.request_local(opt::ECHO, false);
        assert!(!c.has_output() && !c.local_enabled(opt::ECHO));

        // A client that has not answered yet: the WONT waits for its answer
        // (RFC 1143's queue) and goes out as soon as the DO arrives.
        c.request_local(opt::ECHO, true);
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::ECHO]);
        c.request_local(opt::ECHO, false);
        assert!(!c.has_output());
        assert_eq!(c.receive(&[IAC, DO, opt::ECHO]), vec![]);
        assert_eq!(c.take_output(), vec![IAC, WONT, opt::ECHO]);
        assert_eq!(c.receive(&[IAC, DONT, opt::ECHO]), vec![]);
        assert!(!c.local_enabled(opt::ECHO) && !c.has_output());

        // Outside a password prompt a client's DO ECHO is refused.
        assert_eq!(c.receive(&[IAC, DO, opt::ECHO]), vec![]);
        assert_eq!(c.take_output(), vec![IAC, WONT, opt::ECHO]);
        assert!(!c.local_enabled(opt::ECHO));
    }

    #[test]
    fn refusal_loop_and_do_storm_are_bounded() {
        let mut c = codec();
        // A peer that answers every WONT with DO again: one WONT per DO, never more.
        for _ in 0..100 {
            c.receive(&[IAC, DO, opt::MCCP2]);
            assert_eq!(c.take_output(), vec![IAC, WONT, opt::MCCP2]);
        }
        // A storm of 10,000 DOs in one read: at most one 3-byte reply per DO.
        let storm: Vec<u8> = [IAC, DO, opt::MCCP2].repeat(10_000);
        assert_eq!(c.receive(&storm), vec![]);
        let out = c.take_output();
        assert_eq!(out.len(), 3 * 10_000);
        assert!(!c.has_output());
        // A storm of DOs for an enabled option produces nothing at all.
        c.receive(&[IAC, DO, opt::ECHO]);
        c.take_output();
        c.receive(&[IAC, DO, opt::ECHO].repeat(10_000));
        assert!(!c.has_output());
    }

    #[test]
    fn two_codecs_negotiating_quiesce() {
        // Server supports ECHO locally, client supports nothing: pump until idle.
        let mut server = codec();
        let mut client = TelnetCodec::new(CodecConfig::default());
        server.request_local(opt::ECHO, true);
        server.request_remote(opt::NAWS, true);
        client.request_local(opt::NAWS, true);
        client.request_remote(opt::SGA, true);
        let mut rounds = 0;
        while server.has_output() || client.has_output() {
            rounds += 1;
            assert!(rounds < 10, "negotiation loop");
            let to_client = server.take_output();
            let to_server = client.take_output();
            client.receive(&to_client);
            server.receive(&to_server);
        }
        // Client refused DO ECHO (it has no local options); NAWS both wanted.
        assert!(!server.local_enabled(opt::ECHO));
        assert!(server.remote_enabled(opt::NAWS));
        assert!(client.local_enabled(opt::NAWS));
        assert!(server.local_enabled(opt::SGA) && client.remote_enabled(opt::SGA));
    }

    #[test]
    fn ayt_commands_and_interrupts() {
        let mut c = codec();
        assert_eq!(c.receive(&[IAC, AYT]), vec![]);
        assert_eq!(c.take_output(), b"\r\n[Yes]\r\n".to_vec());
        let ignored = [
            IAC, NOP, IAC, DM, IAC, GA, IAC, AO, IAC, EOR, IAC, SE, IAC, 7,
        ];
        assert_eq!(c.receive(&ignored), vec![]);
        assert!(!c.has_output());
        assert_eq!(
            c.receive(&[b'a', IAC, IP, IAC, BRK, b'b', b'\n']),
            vec![TelnetEvent::Interrupt, TelnetEvent::Interrupt, line("ab")]
        );
    }

    #[test]
    fn subnegotiation_parsing() {
        let mut c = codec();
        assert_eq!(
            c.receive(&[
                IAC,
                SB,
                opt::GMCP,
                b'h',
                IAC,
                IAC,
                b'i',
                IAC,
                SE,
                b'x',
                b'\n'
            ]),
            vec![
                TelnetEvent::Subnegotiation {
                    option: opt::GMCP,
                    data: vec![b'h', 255, b'i']
                },
                line("x")
            ]
        );
        // Empty payload.
        assert_eq!(
            c.receive(&[IAC, SB, opt::TTYPE, IAC, SE]),
            vec![TelnetEvent::Subnegotiation {
                option: opt::TTYPE,
                data: vec![]
            }]
        );
        // Missing IAC SE: another command ends the subnegotiation and is processed.
        assert_eq!(
            c.receive(&[IAC, SB, opt::TTYPE, 0, b'v', IAC, DO, opt::ECHO]),
            vec![
                TelnetEvent::Subnegotiation {
                    option: opt::TTYPE,
                    data: vec![0, b'v']
                },
                changed(opt::ECHO, Side::Local, true)
            ]
        );
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::ECHO]);
        assert_eq!(
            c.receive(&[IAC, SB, 1, 2, IAC, IP]),
            vec![
                TelnetEvent::Subnegotiation {
                    option: 1,
                    data: vec![2]
                },
                TelnetEvent::Interrupt
            ]
        );
    }

    #[test]
    fn oversized_subnegotiation_dropped_then_resumes() {
        let mut c = TelnetCodec::new(CodecConfig {
            max_subnegotiation_bytes: 4,
            ..config()
        });
        let mut input = vec![IAC, SB, opt::GMCP];
        input.extend_from_slice(&[b'z'; 1000]);
        input.extend_from_slice(&[IAC, IAC, IAC, SE]);
        input.extend_from_slice(b"after\r\n");
        input.extend_from_slice(&[IAC, SB, opt::GMCP, 1, 2, 3, IAC, IAC, IAC, SE]);
        assert_eq!(
            c.receive(&input),
            vec![
                line("after"),
                TelnetEvent::Subnegotiation {
                    option: opt::GMCP,
                    data: vec![1, 2, 3, 255]
                }
            ]
        );
        assert!(c.sub_data.capacity() <= 16);
    }

    #[test]
    fn encode_text_translates_newlines() {
        let mut out = Vec::new();
        TelnetCodec::encode_text("a\r\nb\nc\rd \u{e9}\u{2713}\r", &mut out);
        let mut expected = b"a\r\nb\r\nc\r\0d ".to_vec();
        expected.extend_from_slice("\u{e9}\u{2713}".as_bytes());
        expected.extend_from_slice(b"\r\0");
        assert_eq!(out, expected);
        assert!(!out.contains(&IAC));
        // Appends rather than replaces.
        TelnetCodec::encode_text("\n\n", &mut out);
        assert!(out.ends_with(b"\r\0\r\n\r\n"));
    }

    #[test]
    fn escape_iac_doubles_ff() {
        let mut out = vec![7];
        escape_iac(&[1, 255, 2, 255, 255], &mut out);
        assert_eq!(out, vec![7, 1, 255, 255, 2, 255, 255, 255, 255]);
    }

    #[test]
    fn send_subnegotiation_and_go_ahead() {
        let mut c = codec();
        c.send_subnegotiation(opt::GMCP, &[b'a', 255, b'b']);
        assert_eq!(
            c.take_output(),
            vec![IAC, SB, opt::GMCP, b'a', IAC, IAC, b'b', IAC, SE]
        );
        c.send_go_ahead();
        assert_eq!(c.take_output(), vec![IAC, GA]);
        c.receive(&[IAC, DO, opt::SGA]);
        assert_eq!(c.take_output(), vec![IAC, WILL, opt::SGA]);
        c.send_go_ahead();
        assert!(!c.has_output());
    }

    #[test]
    fn fuzz_random_input() {
        struct XorShift(u64);
        impl XorShift {
            fn next(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
        }
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let max_line = 64;
        let max_sub = 32;
        let mut c = TelnetCodec::new(CodecConfig {
            max_line_bytes: max_line,
            max_subnegotiation_bytes: max_sub,
            local_options: vec![opt::ECHO, opt::SGA],
            remote_options: vec![opt::NAWS],
        });
        let special = [255, 250, 240, 13, 10, 0, 251, 252, 253, 254, 8, 127];
        for _ in 0..200 {
            let len = (rng.next() % 2000) as usize;
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    let r = rng.next();
                    // Half the bytes are protocol-significant or option codes.
                    match r % 4 {
                        0 => special[((r >> 8) % special.len() as u64) as usize],
                        1 => [1, 3, 31, 24, 99][((r >> 8) % 5) as usize],
                        _ => (r >> 16) as u8,
                    }
                })
                .collect();
            let events = c.receive(&buf);
            assert!(c.pending_line_len() <= max_line);
            assert!(c.sub_data.len() <= max_sub);
            for e in &events {
                match e {
                    TelnetEvent::Line(s) => assert!(s.len() <= 3 * max_line),
                    TelnetEvent::Subnegotiation { data, .. } => assert!(data.len() <= max_sub),
                    _ => {}
                }
            }
            let out = c.take_output();
            // AYT (2 bytes in, 9 out) is the worst case.
            assert!(
                out.len() <= 5 * buf.len() + 9,
                "{} bytes out for {len} in",
                out.len()
            );
            c.request_local(opt::ECHO, rng.next() & 1 == 0);
            c.request_remote(opt::NAWS, rng.next() & 1 == 0);
            c.send_go_ahead();
            assert!(c.take_output().len() <= 8);
        }
    }
}
