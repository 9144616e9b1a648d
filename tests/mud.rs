//! A MUD client that agrees to everything (as Mudlet would), against the
//! real binary: TTYPE/MTTS, NAWS, CHARSET, GMCP, MSSP, MCCP2 and EOR.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

use common::{Telnet, World};
use gsp_gateways::telnet::protocol::cmd::{DO, DONT, EOR, GA, IAC, SB, SE, WILL, WONT};
use gsp_gateways::telnet::protocol::{opt, CodecConfig, Side, TelnetCodec, TelnetEvent};
use gsp_gateways::telnet::{gmcp, mssp};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the server may offer and this client takes.
const TAKEN: [u8; 5] = [opt::EOR, opt::GMCP, opt::MSSP, opt::MCCP2, opt::CHARSET];

/// A scripted MUD client over any byte stream (TCP or TLS).
pub struct MudClient<S> {
    stream: S,
    codec: TelnetCodec,
    inflater: Option<flate2::Decompress>,
    /// The byte stream after decompression.
    pub plain: Vec<u8>,
    /// Bytes received while compression was on (before inflating).
    pub compressed_bytes: usize,
    /// Whether a compressed stream ended cleanly.
    pub stream_ended: bool,
    /// Every GMCP message received.
    pub gmcp: Vec<(String, Option<Value>)>,
    /// Every byte this client sent.
    pub sent: Vec<u8>,
    /// The MSSP table, once received.
    pub mssp: Vec<(String, String)>,
    ttype_answers: std::collections::VecDeque<&'static str>,
    /// The text (telnet commands and ANSI codes removed).
    text: Vec<u8>,
    /// How much of `text` `expect` has consumed.
    consumed: usize,
    tap: Tap,
}

fn sb(option: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![IAC, SB, option];
    gsp_gateways::telnet::protocol::escape_iac(data, &mut v);
    v.extend_from_slice(&[IAC, SE]);
    v
}

impl MudClient<TcpStream> {
    pub async fn connect(addr: SocketAddr) -> Self {
        MudClient::over(TcpStream::connect(addr).await.expect("connect"))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> MudClient<S> {
    pub fn over(stream: S) -> Self {
        MudClient {
            stream,
            codec: TelnetCodec::new(CodecConfig {
                local_options: vec![opt::TTYPE, opt::NAWS, opt::CHARSET],
                remote_options: TAKEN.to_vec(),
                max_subnegotiation_bytes: 64 * 1024,
                ..CodecConfig::default()
            }),
            inflater: None,
            plain: Vec::new(),
            compressed_bytes: 0,
            stream_ended: false,
            gmcp: Vec::new(),
            sent: Vec::new(),
            mssp: Vec::new(),
            ttype_answers: ["MUDLET", "XTERM-256COLOR", "MTTS 2317"].into(),
            text: Vec::new(),
            consumed: 0,
            tap: Tap::Data,
        }
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.sent.extend_from_slice(bytes);
        self.stream.write_all(bytes).await.expect("write");
    }

    pub async fn send(&mut self, line: &str) {
        self.send_raw(format!("{line}\r\n").as_bytes()).await;
    }

    fn plain_byte(&mut self, b: u8) {
        self.plain.push(b);
        self.tap = match (self.tap, b) {
            (Tap::Data, IAC) => Tap::Iac,
            (Tap::Data, 0x1b) => Tap::Escape,
            (Tap::Data, b'\r' | 0) => Tap::Data,
            (Tap::Data, b) => {
                self.text.push(b);
                Tap::Data
            }
            (Tap::Iac, SB) => Tap::Sub,
            (Tap::Iac, WILL..=DONT) => Tap::Negotiation,
            (Tap::Iac, IAC) => {
                self.text.push(IAC);
                Tap::Data
            }
            (Tap::Iac | Tap::Negotiation, _) => Tap::Data,
            (Tap::Sub, IAC) => Tap::SubIac,
            (Tap::Sub, _) => Tap::Sub,
            (Tap::SubIac, SE) => Tap::Data,
            (Tap::SubIac, _) => Tap::Sub,
            (Tap::Escape, b) if b.is_ascii_alphabetic() => Tap::Data,
            (Tap::Escape, _) => Tap::Escape,
        };
        for event in self.codec.receive(&[b]) {
            self.event(event);
        }
    }

    fn event(&mut self, event: TelnetEvent) {
        match event {
            TelnetEvent::OptionChanged {
                option: opt::GMCP,
                side: Side::Remote,
                enabled: true,
            } => {
                let hello = br#"Core.Hello {"client":"Mudlet","version":"4.17.2"}"#;
                let supports = br#"Core.Supports.Set ["Char 1", "Room 1", "Comm.Channel 1"]"#;
                self.codec.send_subnegotiation(opt::GMCP, hello);
                self.codec.send_subnegotiation(opt::GMCP, supports);
            }
            TelnetEvent::OptionChanged {
                option: opt::NAWS,
                side: Side::Local,
                enabled: true,
            } => self.codec.send_subnegotiation(opt::NAWS, &[0, 100, 0, 40]),
            TelnetEvent::Subnegotiation { option, data } => match option {
                opt::TTYPE if data == [1] => {
                    let name = self.ttype_answers.pop_front().unwrap_or("MTTS 2317");
                    let mut is = vec![0];
                    is.extend_from_slice(name.as_bytes());
                    self.codec.send_subnegotiation(opt::TTYPE, &is);
                }
                opt::GMCP => {
                    let (package, value) = gmcp::parse(&data).expect("well-formed GMCP");
                    self.gmcp.push((package, value));
                }
                opt::MSSP => self.mssp = mssp::decode(&data),
                opt::CHARSET if data.first() == Some(&1) => {
                    self.codec.send_subnegotiation(opt::CHARSET, b"\x02UTF-8");
                }
                opt::MCCP2 => {
                    assert!(self.inflater.is_none(), "compression started twice");
                    self.inflater = Some(flate2::Decompress::new(true));
                }
                _ => {}
            },
            _ => {}
        }
    }

    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            if let Some(mut z) = self.inflater.take() {
                let before = z.total_in();
                let mut out = Vec::with_capacity(64 * 1024);
                let status = z
                    .decompress_vec(bytes, &mut out, flate2::FlushDecompress::Sync)
                    .expect("a valid zlib stream");
                let used = (z.total_in() - before) as usize;
                self.compressed_bytes += used;
                bytes = &bytes[used..];
                for b in out {
                    self.plain_byte(b);
                }
                if status == flate2::Status::StreamEnd {
                    self.stream_ended = true;
                } else {
                    self.inflater = Some(z);
                    if used == 0 {
                        break;
                    }
                }
            } else {
                let b = bytes[0];
                bytes = &bytes[1..];
                self.plain_byte(b);
            }
        }
    }

    /// Reads once; false at EOF.
    async fn read_some(&mut self, wait: Duration) -> Option<bool> {
        let mut buf = [0u8; 8192];
        let n = match tokio::time::timeout(wait, self.stream.read(&mut buf)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(false),
            Ok(Ok(n)) => n,
        };
        self.feed(&buf[..n]);
        let replies = self.codec.take_output();
        if !replies.is_empty() {
            self.send_raw(&replies).await;
        }
        Some(true)
    }

    pub async fn expect(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let pending = String::from_utf8_lossy(&self.text[self.consumed..]).into_owned();
            if let Some(i) = pending.find(needle) {
                let end = i + needle.len();
                self.consumed += end;
                return pending[..end].to_owned();
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_some(left).await {
                Some(true) => {}
                Some(false) => panic!("closed waiting for {needle:?}; got {pending:?}"),
                None => panic!("timed out waiting for {needle:?}; got {pending:?}"),
            }
        }
    }

    /// Waits for a GMCP message of `package` matching `test`; returns its data.
    pub async fn expect_gmcp(&mut self, package: &str, test: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(i) = self
                .gmcp
                .iter()
                .position(|(p, v)| p == package && v.as_ref().is_some_and(&test))
            {
                return self.gmcp.remove(i).1.unwrap();
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if self.read_some(left).await != Some(true) {
                panic!("no {package} as wanted; got {:?}", self.gmcp);
            }
        }
    }

    /// Reads until the server closes the connection.
    pub async fn until_closed(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_some(left).await {
                Some(true) => {}
                Some(false) => return,
                None => panic!("still open"),
            }
        }
    }
}

/// Where the text tap is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tap {
    Data,
    Iac,
    Negotiation,
    Sub,
    SubIac,
    Escape,
}

fn option_name(o: u8) -> String {
    match o {
        opt::ECHO => "ECHO".into(),
        opt::SGA => "SGA".into(),
        opt::TTYPE => "TTYPE".into(),
        opt::EOR => "EOR".into(),
        opt::NAWS => "NAWS".into(),
        opt::CHARSET => "CHARSET".into(),
        opt::MSSP => "MSSP".into(),
        opt::MCCP2 => "MCCP2".into(),
        opt::GMCP => "GMCP".into(),
        other => other.to_string(),
    }
}

/// The telnet commands in a byte stream, readably (text left out), for the
/// transcript the test prints.
fn describe(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != IAC {
            i += 1;
            continue;
        }
        let verb = bytes.get(i + 1).copied().unwrap_or(0);
        match verb {
            WILL | WONT | DO | DONT => {
                let name = ["WILL", "WONT", "DO", "DONT"][usize::from(verb - WILL)];
                let o = bytes.get(i + 2).copied().unwrap_or(0);
                out.push(format!("{name} {}", option_name(o)));
                i += 3;
            }
            SB => {
                let end = bytes[i..]
                    .windows(2)
                    .position(|w| w == [IAC, SE])
                    .map_or(bytes.len(), |p| i + p);
                let o = bytes.get(i + 2).copied().unwrap_or(0);
                let data = &bytes[(i + 3).min(end)..end];
                let shown = match o {
                    opt::GMCP => String::from_utf8_lossy(data).chars().take(90).collect(),
                    opt::MSSP => format!("{} variables", mssp::decode(data).len()),
                    _ => format!("{:?}", String::from_utf8_lossy(data)),
                };
                out.push(format!("SB {} {shown}", option_name(o)));
                i = end + 2;
            }
            GA => {
                out.push("GA".into());
                i += 2;
            }
            EOR => {
                out.push("EOR".into());
                i += 2;
            }
            _ => i += 2,
        }
    }
    out
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// A mod whose `vitals` command sends GMCP `Char.Vitals`.
fn vitals_mod() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("vitals");
    std::fs::create_dir(&m).unwrap();
    std::fs::write(
        m.join("mod.toml"),
        "name = \"vitals\"\nversion = \"0.1\"\npermissions = [\"commands\"]\n",
    )
    .unwrap();
    let mut init = std::fs::File::create(m.join("init.lua")).unwrap();
    writeln!(
        init,
        "gsp.command('vitals', 'vitals  your vitals, as GMCP', function(ctx, args)\n\
           gsp.gmcp(ctx.player, 'Char.Vitals', {{hp = 7, maxhp = 10}})\n\
           ctx:reply('vitals sent')\n\
         end)"
    )
    .unwrap();
    dir
}

/// Logs in as `name` (creating the character) and waits for the room.
pub async fn mud_login<S: AsyncRead + AsyncWrite + Unpin>(c: &mut MudClient<S>, name: &str) {
    c.expect("name").await;
    c.send(&format!("create {name} {}", common::PASSWORD)).await;
    c.expect("Players here:").await;
}

#[tokio::test]
async fn a_client_agreeing_to_everything_gets_the_mud_standard() {
    let mods = vitals_mod();
    let world = World::start(&[
        "--mods",
        mods.path().to_str().unwrap(),
        "--world-name",
        "testville",
        "--mssp-host",
        "mud.example.org",
    ]);
    let mut ada = MudClient::connect(world.telnet).await;
    mud_login(&mut ada, "ada").await;

    // Compression started before the login finished, and everything since
    // came through the zlib stream.
    assert!(ada.inflater.is_some(), "MCCP2 is on");
    assert!(ada.compressed_bytes > 0);

    // GMCP on entering the world: who we are, the channels, the room.
    let name = ada.expect_gmcp("Char.Name", |_| true).await;
    assert_eq!(name["name"], "ada");
    let channels = ada.expect_gmcp("Comm.Channel.List", |_| true).await;
    assert!(channels
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["name"] == "public"));
    let plaza = ada
        .expect_gmcp("Room.Info", |v| v["name"] == "The Plaza")
        .await;
    assert_eq!(plaza["area"], "testville");
    let num = plaza["num"].as_u64().unwrap();
    let north = plaza["exits"]["n"].as_u64().expect("an exit north");
    assert!(plaza["exits"]["e"].is_u64() && plaza["exits"]["s"].is_u64());
    assert!(plaza["coords"]["x"].is_i64());
    let players = ada.expect_gmcp("Room.Players", |_| true).await;
    assert_eq!(players[0]["name"], "ada");

    // Walking north: Room.Info for the room the exit named.
    ada.send("n").await;
    let pony = ada
        .expect_gmcp("Room.Info", |v| v["name"] == "The Prancing Pony")
        .await;
    assert_eq!(pony["num"].as_u64(), Some(north));
    assert_eq!(pony["exits"]["s"].as_u64(), Some(num), "and back south");
    ada.send("s").await;
    ada.expect_gmcp("Room.Info", |v| v["name"] == "The Plaza")
        .await;

    // Chat as Comm.Channel.Text, from another player.
    let mut bob = Telnet::login(world.telnet, "bob").await;
    ada.expect_gmcp("Room.AddPlayer", |v| v["name"] == "bob")
        .await;
    bob.send("chat hello everyone").await;
    let text = ada
        .expect_gmcp("Comm.Channel.Text", |v| v["channel"] == "public")
        .await;
    assert_eq!(text["talker"], "bob");
    assert!(
        text["text"].as_str().unwrap().contains("hello everyone"),
        "{text}"
    );
    bob.send("say hi ada").await;
    let said = ada
        .expect_gmcp("Comm.Channel.Text", |v| v["channel"] == "say")
        .await;
    assert!(said["text"].as_str().unwrap().contains("hi ada"));

    // A mod's GMCP.
    ada.send("vitals").await;
    ada.expect("vitals sent").await;
    let vitals = ada.expect_gmcp("Char.Vitals", |_| true).await;
    assert_eq!(vitals, serde_json::json!({"hp": 7, "maxhp": 10}));

    // Core.Ping is answered.
    let ping = sb(opt::GMCP, b"Core.Ping");
    ada.send_raw(&ping).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !ada.gmcp.iter().any(|(p, _)| p == "Core.Ping") {
        assert!(tokio::time::Instant::now() < deadline, "no Core.Ping");
        ada.read_some(Duration::from_secs(1)).await;
    }

    // MSSP filled from the world.
    let get = |k: &str| {
        ada.mssp
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no MSSP {k} in {:?}", ada.mssp))
    };
    assert_eq!(get("NAME"), "testville");
    assert_eq!(get("HOSTNAME"), "mud.example.org");
    assert_eq!(get("PORT"), world.telnet.port().to_string());
    assert_eq!(get("GMCP"), "1");
    assert_eq!(get("MCCP"), "1");
    assert!(get("UPTIME").parse::<u64>().unwrap() > 1_700_000_000);

    // Prompts after each burst, marked with EOR (never GA: EOR was agreed).
    ada.send("look").await;
    ada.expect("online > ").await;
    let marked = count(&ada.plain, &[b"online > ".as_slice(), &[IAC, EOR]].concat());
    assert!(marked >= 3, "{marked} prompts marked with EOR");
    assert_eq!(marked, count(&ada.plain, b"online > "), "every one");
    let ga_marked = count(&ada.plain, &[b"online > ".as_slice(), &[IAC, GA]].concat());
    assert_eq!(ga_marked, 0, "no GA where EOR was agreed");

    // NAWS: lines are wrapped to the 100 columns reported.
    bob.send(&format!("say {}", "word ".repeat(60))).await;
    let long = ada.expect("word\"").await;
    let said = &long[long.rfind("bob says").unwrap()..];
    assert!(said.lines().count() >= 3, "{said:?}");
    assert!(
        said.lines().all(|l| l.chars().count() <= 100),
        "wrapped at 100: {said:?}"
    );

    // 256 colours from TTYPE, truecolor from MTTS.
    ada.send("config").await;
    let config = ada.expect("Change with").await;
    assert!(config.contains("Client: MUDLET"), "{config}");
    assert!(config.contains("Colour: truecolor"), "{config}");
    assert!(config.contains("Width: 100 columns"), "{config}");
    assert!(String::from_utf8_lossy(&ada.plain).contains("\x1b[1;38;2;"));

    // Quitting ends the compressed stream cleanly.
    ada.send("quit").await;
    ada.until_closed().await;
    assert!(ada.stream_ended, "the zlib stream was finished");

    // The exchange, for people (run with --nocapture to read it).
    println!("server -> client (after inflating):");
    for line in describe(&ada.plain) {
        println!("  S: {line}");
    }
    println!("client -> server:");
    for line in describe(&ada.sent) {
        println!("  C: {line}");
    }
}

#[tokio::test]
async fn a_client_refusing_everything_sees_what_it_always_saw() {
    let world = World::start(&[]);
    let mut t = Telnet::connect(world.telnet).await;
    // Refuse every offer the way a plain client would.
    let mut refusals = Vec::new();
    for o in TAKEN {
        refusals.extend_from_slice(&[IAC, DONT, o]);
    }
    for o in [opt::TTYPE, opt::NAWS] {
        refusals.extend_from_slice(&[IAC, WONT, o]);
    }
    t.send_raw(&refusals).await;
    t.expect("name").await;
    t.send(&format!("create carol {}", common::PASSWORD)).await;
    let room = t.expect("Players here: carol (you).").await;
    assert!(room.contains("The Plaza"));
    t.send(&format!("say {}", "word ".repeat(40))).await;
    t.expect("You say").await;
    t.expect("word\"").await;
    t.send("look").await;
    t.expect("Players here:").await;
    let raw = &t.raw;
    assert_eq!(count(raw, &[IAC, SB]), 0, "no subnegotiation at all");
    assert_eq!(count(raw, &[IAC, EOR]), 0, "no EOR");
    assert!(
        !String::from_utf8_lossy(raw).contains("online >"),
        "no prompt"
    );
    assert!(
        String::from_utf8_lossy(raw).contains("\x1b[1;36mThe Plaza\x1b[0m"),
        "16 colours as always"
    );
    // Long lines are not wrapped for a client that did not give its width.
    assert!(String::from_utf8_lossy(raw).contains(&"word ".repeat(39)));
    // The offers, each once.
    for o in TAKEN {
        assert_eq!(count(raw, &[IAC, WILL, o]), 1);
    }
    for o in [opt::TTYPE, opt::NAWS] {
        assert_eq!(count(raw, &[IAC, DO, o]), 1);
    }
}

/// Trusts exactly the certificate whose SHA-256 the world printed.
#[derive(Debug)]
struct Pinned {
    fingerprint: String,
    provider: std::sync::Arc<rustls::crypto::CryptoProvider>,
}

impl rustls::client::danger::ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        if gsp_gateways::quic::cert::fingerprint(end_entity) == self.fingerprint {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("not the world's certificate".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

async fn tls_connect(
    addr: SocketAddr,
    fingerprint: &str,
) -> tokio_rustls::client::TlsStream<TcpStream> {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(std::sync::Arc::new(Pinned {
            fingerprint: fingerprint.to_owned(),
            provider,
        }))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector.connect(name, tcp).await.expect("TLS handshake")
}

#[tokio::test]
async fn telnet_over_tls_logs_in_and_plays() {
    let world = World::start(&["--telnet-tls", "127.0.0.1:0"]);
    let addr = world.telnet_tls.expect("a listening telnet-tls= line");
    let stream = tls_connect(addr, &world.fingerprint).await;
    let mut ada = MudClient::over(stream);
    mud_login(&mut ada, "ada").await;
    assert!(ada.compressed_bytes > 0, "MCCP2 inside TLS too");
    let mut bob = Telnet::login(world.telnet, "bob").await;
    ada.expect("bob enters the world.").await;
    ada.send("say hello over TLS").await;
    ada.expect("You say, \"hello over TLS\"").await;
    bob.expect("ada says, \"hello over TLS\"").await;
    bob.send("say heard you").await;
    ada.expect("bob says, \"heard you\"").await;
    ada.send("n").await;
    ada.expect("The Prancing Pony").await;
    let ssl = ada
        .mssp
        .iter()
        .find(|(k, _)| k == "SSL")
        .map(|(_, v)| v.clone());
    assert_eq!(
        ssl,
        Some(addr.port().to_string()),
        "MSSP names the TLS port"
    );
    ada.send("quit").await;
    ada.until_closed().await;
    assert!(ada.stream_ended);

    // A plain telnet client on the TLS port gets nothing it can read, and
    // the world goes on.
    let mut plain = Telnet::connect(addr).await;
    plain.send("hello").await;
    let _ = plain.expect_closed(Duration::from_secs(15)).await;
    bob.send("say still here").await;
    bob.expect("You say, \"still here\"").await;
}
