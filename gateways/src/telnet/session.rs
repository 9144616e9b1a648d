//! One telnet connection above the codec, sans-I/O: the MUD options it
//! offers, what the client agreed to and said about itself, and every byte
//! sent to it.
//!
//! [`TelnetSession::start`] offers EOR, GMCP, MSSP, MCCP2 and CHARSET and
//! asks for TTYPE and NAWS; [`TelnetSession::receive`] runs the exchanges
//! that follow (the TTYPE/MTTS cycle, window sizes, GMCP's `Core`
//! messages, the CHARSET request, the start and end of compression) and
//! hands back only what the shell must act on. Output goes through
//! [`TelnetSession::send_text`] (colour depth, UTF-8 or ASCII, wrapping to
//! the window), [`TelnetSession::send_prompt`] (EOR, GA or nothing),
//! [`TelnetSession::send_gmcp`] (only packages the client supports) and
//! comes out of [`TelnetSession::take_output`], compressed once MCCP2 is
//! on.
//!
//! A client that agrees to nothing gets exactly the bytes it got before
//! these options existed, after the refused offers.

use serde_json::Value;

use super::charset::{self, Charset};
use super::gmcp::{self, Supports};
use super::mccp::Compressor;
use super::mssp::{self, MsspInfo};
use super::naws;
use super::prompt::{self, Marker, PromptSettings};
use super::protocol::{cmd, opt, CodecConfig, Side, TelnetCodec, TelnetEvent};
use super::render::{strip_ansi, ColourDepth, Palette};
use super::ttype::{self, Terminal, Ttype};

/// Options the server offers on its side (WILL).
pub const OFFERED: [u8; 5] = [opt::EOR, opt::GMCP, opt::MSSP, opt::MCCP2, opt::CHARSET];
/// Options the server asks the client for (DO).
pub const ASKED: [u8; 2] = [opt::TTYPE, opt::NAWS];

/// Settings of a [`TelnetSession`].
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// Longest input line, in bytes.
    pub max_line_bytes: usize,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            max_line_bytes: 1024,
        }
    }
}

/// What the shell must act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line typed.
    Line(String),
    /// A line over the limit, dropped.
    LineTooLong {
        /// The limit.
        max_bytes: usize,
    },
    /// IAC IP or BRK.
    Interrupt,
    /// The client asked for the MSSP table: answer with
    /// [`TelnetSession::send_mssp`].
    MsspWanted,
}

/// The sans-I/O state of one telnet connection.
#[derive(Debug)]
pub struct TelnetSession {
    codec: TelnetCodec,
    /// Bytes ready for the socket.
    wire: Vec<u8>,
    /// Bytes not yet through the compressor (or straight to `wire`).
    pending: Vec<u8>,
    mccp: Option<Compressor>,
    ttype: Ttype,
    terminal: Terminal,
    charset: Charset,
    supports: Supports,
    gmcp_client: Option<(String, String)>,
    /// The window width, once NAWS is on.
    width: Option<u16>,
    colour_choice: Option<ColourDepth>,
    /// The in-game prompt.
    pub prompt: PromptSettings,
}

impl TelnetSession {
    /// A connection in its initial state; nothing is sent until [`start`](Self::start).
    pub fn new(config: SessionConfig) -> Self {
        TelnetSession {
            codec: TelnetCodec::new(CodecConfig {
                max_line_bytes: config.max_line_bytes,
                local_options: vec![
                    opt::SGA,
                    opt::EOR,
                    opt::GMCP,
                    opt::MSSP,
                    opt::MCCP2,
                    opt::CHARSET,
                ],
                remote_options: vec![opt::TTYPE, opt::NAWS, opt::CHARSET],
                ..CodecConfig::default()
            }),
            wire: Vec::new(),
            pending: Vec::new(),
            mccp: None,
            ttype: Ttype::default(),
            terminal: Terminal::default(),
            charset: Charset::default(),
            supports: Supports::default(),
            gmcp_client: None,
            width: None,
            colour_choice: None,
            prompt: PromptSettings::default(),
        }
    }

    /// Offers the server's options and asks for the client's.
    pub fn start(&mut self) {
        for option in OFFERED {
            self.codec.request_local(option, true);
        }
        for option in ASKED {
            self.codec.request_remote(option, true);
        }
    }

    /// Feeds bytes read from the socket; returns what the shell must act on.
    pub fn receive(&mut self, bytes: &[u8]) -> Vec<Input> {
        let mut inputs = Vec::new();
        for event in self.codec.receive(bytes) {
            match event {
                TelnetEvent::Line(l) => inputs.push(Input::Line(l)),
                TelnetEvent::LineTooLong { max_bytes } => {
                    inputs.push(Input::LineTooLong { max_bytes })
                }
                TelnetEvent::Interrupt => inputs.push(Input::Interrupt),
                TelnetEvent::OptionChanged {
                    option,
                    side,
                    enabled,
                } => self.option_changed(option, side, enabled, &mut inputs),
                TelnetEvent::Subnegotiation { option, data } => self.subnegotiation(option, &data),
            }
        }
        inputs
    }

    fn option_changed(&mut self, option: u8, side: Side, enabled: bool, inputs: &mut Vec<Input>) {
        match (side, option, enabled) {
            (Side::Local, opt::MCCP2, true) => {
                // Everything before the start marker goes out plain.
                self.pump();
                self.wire.append(&mut self.pending);
                self.codec.send_subnegotiation(opt::MCCP2, &[]);
                self.pump();
                self.wire.append(&mut self.pending);
                self.mccp = Some(Compressor::new());
            }
            (Side::Local, opt::MCCP2, false) => self.end_compression(),
            (Side::Local, opt::MSSP, true) => inputs.push(Input::MsspWanted),
            (Side::Local, opt::GMCP, false) => self.supports = Supports::default(),
            (_, opt::CHARSET, true) if self.charset.start() => {
                self.codec
                    .send_subnegotiation(opt::CHARSET, &charset::request());
            }
            (Side::Remote, opt::TTYPE, true) if self.ttype.start() => {
                self.codec.send_subnegotiation(opt::TTYPE, &[ttype::SEND]);
            }
            (Side::Remote, opt::NAWS, true) => {
                self.width.get_or_insert(naws::DEFAULT_WIDTH);
            }
            (Side::Remote, opt::NAWS, false) => self.width = None,
            _ => {}
        }
    }

    fn subnegotiation(&mut self, option: u8, data: &[u8]) {
        match option {
            opt::TTYPE if self.codec.remote_enabled(opt::TTYPE) => {
                if self.ttype.answer(data) {
                    self.codec.send_subnegotiation(opt::TTYPE, &[ttype::SEND]);
                }
                self.terminal = self.ttype.terminal();
            }
            opt::NAWS if self.codec.remote_enabled(opt::NAWS) => {
                if let Some((w, _)) = naws::parse(data) {
                    self.width = Some(naws::effective_width(w));
                }
            }
            opt::GMCP if self.codec.local_enabled(opt::GMCP) => {
                let Some((package, value)) = gmcp::parse(data) else {
                    return;
                };
                match gmcp::handle(&mut self.supports, &package, value.as_ref()) {
                    gmcp::Request::Ping => {
                        self.send_gmcp_raw(&gmcp::encode_json("Core.Ping", ""));
                    }
                    gmcp::Request::Hello { client, version } => {
                        self.gmcp_client = Some((client, version));
                    }
                    gmcp::Request::None => {}
                }
            }
            opt::CHARSET
                if self.codec.local_enabled(opt::CHARSET)
                    || self.codec.remote_enabled(opt::CHARSET) =>
            {
                if let Some(reply) = self.charset.receive(data) {
                    self.codec.send_subnegotiation(opt::CHARSET, &reply);
                }
            }
            _ => {}
        }
    }

    /// Moves the codec's replies behind what is already pending.
    fn pump(&mut self) {
        if self.codec.has_output() {
            let out = self.codec.take_output();
            self.pending.extend_from_slice(&out);
        }
    }

    fn end_compression(&mut self) {
        self.pump();
        if let Some(mut z) = self.mccp.take() {
            z.compress(&self.pending, &mut self.wire);
            self.pending.clear();
            z.finish(&mut self.wire);
        }
    }

    /// Bytes for the socket; drains them. Compressed once MCCP2 is on.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.pump();
        match &mut self.mccp {
            Some(z) if !self.pending.is_empty() => {
                z.compress(&self.pending, &mut self.wire);
                self.pending.clear();
            }
            Some(_) => {}
            None => self.wire.append(&mut self.pending),
        }
        std::mem::take(&mut self.wire)
    }

    /// Whether [`take_output`](Self::take_output) would return anything.
    pub fn has_output(&self) -> bool {
        !self.wire.is_empty() || !self.pending.is_empty() || self.codec.has_output()
    }

    /// Ends compression cleanly if it is on (before the connection closes);
    /// what follows goes out plain.
    pub fn finish(&mut self) {
        self.end_compression();
    }

    /// Whether output is being compressed.
    pub fn compressing(&self) -> bool {
        self.mccp.is_some()
    }

    /// Text for the player: colour codes kept or removed for the colour
    /// depth, ASCII for a client without UTF-8, wrapped to the window once
    /// NAWS is on, newlines and IAC encoded for the wire.
    pub fn send_text(&mut self, text: &str) {
        if text.is_empty() {
            return;
        }
        let mut shaped = std::borrow::Cow::Borrowed(text);
        if self.colour() == ColourDepth::None {
            shaped = strip_ansi(&shaped).into();
        }
        if !self.utf8() {
            shaped = charset::to_ascii(&shaped).into();
        }
        if let Some(width) = self.width {
            shaped = naws::wrap(&shaped, usize::from(width)).into();
        }
        self.pump();
        TelnetCodec::encode_text(&shaped, &mut self.pending);
    }

    /// A prompt: the text, then IAC EOR where EOR was agreed, else IAC GA
    /// unless SGA was.
    pub fn send_prompt(&mut self, text: &str) {
        self.send_text(text);
        match prompt::marker(
            self.codec.local_enabled(opt::EOR),
            self.codec.local_enabled(opt::SGA),
        ) {
            Marker::Eor => self.pending.extend_from_slice(&[cmd::IAC, cmd::EOR]),
            Marker::Ga => self.pending.extend_from_slice(&[cmd::IAC, cmd::GA]),
            Marker::None => {}
        }
    }

    /// Whether in-game prompts are shown (on for EOR clients unless the
    /// player turned them off, off for others unless turned on).
    pub fn prompts_shown(&self) -> bool {
        self.prompt.shown(self.codec.local_enabled(opt::EOR))
    }

    /// Whether a GMCP message of `package` would be sent.
    pub fn gmcp_allows(&self, package: &str) -> bool {
        self.codec.local_enabled(opt::GMCP) && self.supports.allows(package)
    }

    /// Sends a GMCP message if the client has GMCP on and supports the
    /// package; returns whether it was sent.
    pub fn send_gmcp(&mut self, package: &str, data: &Value) -> bool {
        if !self.gmcp_allows(package) {
            return false;
        }
        self.send_gmcp_raw(&gmcp::encode(package, data));
        true
    }

    /// [`send_gmcp`](Self::send_gmcp) with the data already in JSON text.
    pub fn send_gmcp_json(&mut self, package: &str, json: &str) -> bool {
        if !self.gmcp_allows(package) {
            return false;
        }
        self.send_gmcp_raw(&gmcp::encode_json(package, json));
        true
    }

    fn send_gmcp_raw(&mut self, payload: &[u8]) {
        let payload = match payload.strip_suffix(b" ") {
            Some(p) => p,
            None => payload,
        };
        self.codec.send_subnegotiation(opt::GMCP, payload);
        self.pump();
    }

    /// Sends the MSSP table (if MSSP is on).
    pub fn send_mssp(&mut self, info: &MsspInfo) {
        if self.codec.local_enabled(opt::MSSP) {
            let payload = mssp::encode(&mssp::variables(info));
            self.codec.send_subnegotiation(opt::MSSP, &payload);
            self.pump();
        }
    }

    /// Client echo on or off (off around passwords): the server offers to
    /// echo (IAC WILL ECHO) and does not.
    pub fn set_echo(&mut self, on: bool) {
        self.codec.request_local(opt::ECHO, !on);
        self.pump();
    }

    /// The colour depth text is sent in: the player's choice, else what
    /// TTYPE/MTTS said (none for a screen reader), else 16 colours.
    pub fn colour(&self) -> ColourDepth {
        if let Some(c) = self.colour_choice {
            return c;
        }
        if self.terminal.screen_reader {
            return ColourDepth::None;
        }
        self.terminal.colour.unwrap_or(ColourDepth::Ansi16)
    }

    /// The palette for [`colour`](Self::colour).
    pub fn palette(&self) -> Palette {
        Palette::for_depth(self.colour())
    }

    /// Chooses the colour depth (`None`: as the client says).
    pub fn set_colour_choice(&mut self, choice: Option<ColourDepth>) {
        self.colour_choice = choice;
    }

    /// The player's colour choice, if any.
    pub fn colour_choice(&self) -> Option<ColourDepth> {
        self.colour_choice
    }

    /// Whether text goes out in UTF-8: as CHARSET agreed, else as MTTS
    /// said, else yes.
    pub fn utf8(&self) -> bool {
        self.charset.utf8.or(self.terminal.utf8).unwrap_or(true)
    }

    /// The width text is wrapped to, once NAWS is on.
    pub fn width(&self) -> Option<u16> {
        self.width
    }

    /// What the client said about its terminal.
    pub fn terminal(&self) -> Terminal {
        self.terminal
    }

    /// The client's name, from TTYPE or GMCP's `Core.Hello`.
    pub fn client_name(&self) -> Option<&str> {
        self.ttype
            .client
            .as_deref()
            .or(self.gmcp_client.as_ref().map(|(c, _)| c.as_str()))
    }

    /// Whether an option is on for this connection (ours or the client's side).
    pub fn enabled(&self, option: u8) -> bool {
        self.codec.local_enabled(option) || self.codec.remote_enabled(option)
    }

    /// `config ...`: shows or changes the connection's settings; returns the answer.
    pub fn configure(&mut self, args: &str) -> String {
        let (what, rest) = match args.trim().split_once(char::is_whitespace) {
            Some((w, r)) => (w.to_ascii_lowercase(), r.trim()),
            None => (args.trim().to_ascii_lowercase(), ""),
        };
        match what.as_str() {
            "color" | "colour" => match rest {
                "" => format!("Colour: {}.", self.colour().name()),
                "auto" => {
                    self.colour_choice = None;
                    format!("Colour: {} (as your client says).", self.colour().name())
                }
                word => match ColourDepth::parse(word) {
                    Some(depth) => {
                        self.colour_choice = Some(depth);
                        format!("Colour: {}.", depth.name())
                    }
                    None => "Try 'config color off', '16', '256', 'truecolor' or 'auto'.".into(),
                },
            },
            "prompt" => self.prompt.configure(rest),
            "" => {
                let client = self.client_name().unwrap_or("unknown");
                let width = self
                    .width
                    .map_or("not wrapped".to_owned(), |w| format!("{w} columns"));
                let on = |o| if self.enabled(o) { "on" } else { "off" };
                format!(
                    "Client: {client}\nColour: {}\nCharset: {}\nWidth: {width}\nPrompt: {}\nGMCP: {}  MCCP2: {}  EOR: {}\nChange with 'config color off|16|256|truecolor|auto' and 'config prompt on|off|<template>'.",
                    self.colour().name(),
                    if self.utf8() { "UTF-8" } else { "ASCII" },
                    if self.prompts_shown() { "on" } else { "off" },
                    on(opt::GMCP),
                    on(opt::MCCP2),
                    on(opt::EOR),
                )
            }
            _ => "Try 'config', 'config color ...' or 'config prompt ...'.".into(),
        }
    }
}

#[cfg(test)]
mod tests;
