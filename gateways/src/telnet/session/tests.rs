//! Each option's exchange, byte by byte.

use std::io::Read;

use super::*;
use crate::telnet::protocol::cmd::{DO, DONT, EOR, GA, IAC, SB, SE, WILL, WONT};

fn session() -> TelnetSession {
    let mut s = TelnetSession::new(SessionConfig::default());
    s.start();
    s
}

/// A session past its offers (which are checked elsewhere).
fn started() -> TelnetSession {
    let mut s = session();
    s.take_output();
    s
}

fn sb(option: u8, data: &[u8]) -> Vec<u8> {
    let mut v = vec![IAC, SB, option];
    v.extend_from_slice(data);
    v.extend_from_slice(&[IAC, SE]);
    v
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}

/// The payloads of every `IAC SB option ... IAC SE` in `bytes`.
fn subnegotiations(bytes: &[u8], option: u8) -> Vec<Vec<u8>> {
    let mut codec = TelnetCodec::new(CodecConfig::default());
    codec
        .receive(bytes)
        .into_iter()
        .filter_map(|e| match e {
            TelnetEvent::Subnegotiation { option: o, data } if o == option => Some(data),
            _ => None,
        })
        .collect()
}

fn everything_refused() -> Vec<u8> {
    let mut v = Vec::new();
    for o in OFFERED {
        v.extend_from_slice(&[IAC, DONT, o]);
    }
    for o in ASKED {
        v.extend_from_slice(&[IAC, WONT, o]);
    }
    v
}

const SAMPLE: &str = "\x1b[1;36mThe Plaza\x1b[0m\nA wide square, paved with old cobbles that have seen a thousand market days and more.\nada says, \"héllo ✓\"\n";

#[test]
fn offers_then_a_client_refusing_everything_sees_todays_bytes() {
    let mut s = session();
    let offers = s.take_output();
    for o in OFFERED {
        assert_eq!(count(&offers, &[IAC, WILL, o]), 1, "WILL {o}");
    }
    for o in ASKED {
        assert_eq!(count(&offers, &[IAC, DO, o]), 1, "DO {o}");
    }
    assert_eq!(offers.len(), 3 * (OFFERED.len() + ASKED.len()));

    assert_eq!(s.receive(&everything_refused()), vec![]);
    assert!(!s.has_output(), "refusals of our offers need no answer");
    // Refusing again changes nothing and is not answered (no loop).
    assert_eq!(s.receive(&everything_refused()), vec![]);
    assert!(!s.has_output());

    s.send_text(SAMPLE);
    s.send_prompt("What is your name? ");
    let mut today = Vec::new();
    TelnetCodec::encode_text(SAMPLE, &mut today);
    TelnetCodec::encode_text("What is your name? ", &mut today);
    today.extend_from_slice(&[IAC, GA]);
    assert_eq!(s.take_output(), today);
    assert!(!s.prompts_shown(), "no in-game prompt unless asked");
    assert!(!s.send_gmcp("Room.Info", &serde_json::json!({})));
    assert!(!s.has_output());
}

#[test]
fn a_client_that_never_answers_also_sees_todays_bytes() {
    let mut s = started();
    s.send_text(SAMPLE);
    let mut today = Vec::new();
    TelnetCodec::encode_text(SAMPLE, &mut today);
    assert_eq!(s.take_output(), today);
}

#[test]
fn ttype_runs_the_mtts_cycle() {
    let mut s = started();
    s.receive(&[IAC, WILL, opt::TTYPE]);
    assert_eq!(s.take_output(), sb(opt::TTYPE, &[ttype::SEND]));
    let answer = |name: &str| {
        let mut v = vec![ttype::IS];
        v.extend_from_slice(name.as_bytes());
        sb(opt::TTYPE, &v)
    };
    s.receive(&answer("MUDLET"));
    assert_eq!(s.take_output(), sb(opt::TTYPE, &[ttype::SEND]));
    s.receive(&answer("XTERM-256COLOR"));
    assert_eq!(s.take_output(), sb(opt::TTYPE, &[ttype::SEND]));
    assert_eq!(s.colour(), ColourDepth::Xterm256);
    s.receive(&answer("MTTS 2317"));
    assert!(!s.has_output(), "the cycle ends at MTTS");
    assert_eq!(s.colour(), ColourDepth::TrueColor);
    assert!(s.utf8());
    assert_eq!(s.client_name(), Some("MUDLET"));
    // More answers are not asked for and do not restart the cycle.
    s.receive(&answer("MTTS 2317"));
    s.receive(&[IAC, WILL, opt::TTYPE]);
    assert!(!s.has_output());

    // `config color` overrides, `auto` gives it back.
    assert_eq!(s.configure("color 16"), "Colour: 16.");
    assert_eq!(s.colour(), ColourDepth::Ansi16);
    assert_eq!(s.configure("color off"), "Colour: off.");
    s.send_text(SAMPLE);
    let out = s.take_output();
    assert!(!out.contains(&0x1b), "no colour codes when off");
    assert!(s.configure("color auto").contains("truecolor"));
    assert!(s.configure("color purple").starts_with("Try"));
}

#[test]
fn mtts_screen_reader_and_no_utf8() {
    let mut s = started();
    s.receive(&[IAC, WILL, opt::TTYPE]);
    s.take_output();
    // ANSI + screen reader, no UTF-8.
    s.receive(&sb(opt::TTYPE, b"\x00MTTS 65"));
    assert!(s.terminal().screen_reader);
    assert_eq!(s.colour(), ColourDepth::None);
    assert!(!s.utf8());
    s.send_text(SAMPLE);
    let out = s.take_output();
    assert!(out.is_ascii(), "{}", String::from_utf8_lossy(&out));
    assert!(!out.contains(&0x1b));
    assert!(contains(&out, b"ada says, \"hello v\""));
}

#[test]
fn naws_wraps_and_rewraps_on_resize() {
    let mut s = started();
    let long = "word ".repeat(40);
    s.send_text(&long);
    assert!(!s.take_output().contains(&b'\r'), "not wrapped before NAWS");

    s.receive(&[IAC, WILL, opt::NAWS]);
    assert!(!s.has_output(), "we asked, so WILL needs no answer");
    assert_eq!(s.width(), Some(naws::DEFAULT_WIDTH));
    s.receive(&sb(opt::NAWS, &[0, 30, 0, 24]));
    assert_eq!(s.width(), Some(30));
    s.send_text(&long);
    let at_30 = String::from_utf8(s.take_output()).unwrap();
    assert!(at_30.split("\r\n").all(|l| l.len() <= 30), "{at_30:?}");
    assert!(at_30.split("\r\n").count() > 5);

    // A width with 255 in it arrives IAC-escaped.
    s.receive(&sb(opt::NAWS, &[0, 255, 255, 0, 24]));
    assert_eq!(s.width(), Some(255));
    s.receive(&sb(opt::NAWS, &[0, 50, 0, 24]));
    s.send_text(&long);
    let at_50 = String::from_utf8(s.take_output()).unwrap();
    assert!(at_50.split("\r\n").all(|l| l.len() <= 50));
    assert!(
        at_50.split("\r\n").any(|l| l.len() > 30),
        "re-wrapped wider"
    );
    // Junk sizes are ignored; a NAWS without agreement too.
    s.receive(&sb(opt::NAWS, &[1, 2, 3]));
    assert_eq!(s.width(), Some(50));
    s.receive(&[IAC, WONT, opt::NAWS]);
    assert_eq!(s.width(), None);
    s.take_output();
    s.receive(&sb(opt::NAWS, &[0, 30, 0, 24]));
    assert_eq!(s.width(), None);
}

#[test]
fn gmcp_core_and_only_supported_packages() {
    let mut s = started();
    let gmcp = |text: &str| sb(opt::GMCP, text.as_bytes());
    // Before GMCP is agreed, GMCP messages are ignored.
    s.receive(&gmcp("Core.Ping"));
    assert!(!s.has_output());
    s.receive(&[IAC, DO, opt::GMCP]);
    assert!(!s.has_output(), "we offered, DO needs no answer");
    s.receive(&gmcp(
        r#"Core.Hello {"client":"Mudlet","version":"4.17.2"}"#,
    ));
    s.receive(&gmcp(r#"Core.Supports.Set ["Char 1", "Room 1"]"#));
    assert!(!s.has_output());
    assert_eq!(s.client_name(), Some("Mudlet"));

    s.receive(&gmcp("Core.Ping"));
    assert_eq!(s.take_output(), gmcp("Core.Ping"));

    let data = serde_json::json!({"num": 1});
    assert!(s.send_gmcp("Room.Info", &data));
    assert_eq!(s.take_output(), gmcp(r#"Room.Info {"num":1}"#));
    assert!(!s.send_gmcp("Comm.Channel.Text", &data), "not supported");
    assert!(!s.has_output());
    s.receive(&gmcp(r#"Core.Supports.Add ["Comm.Channel 1"]"#));
    assert!(s.send_gmcp_json("Comm.Channel.Text", r#"{"a":"ÿ"}"#));
    let out = s.take_output();
    assert_eq!(subnegotiations(&out, opt::GMCP).len(), 1);
    s.receive(&gmcp(r#"Core.Supports.Remove ["Room"]"#));
    assert!(!s.send_gmcp("Room.Info", &data));
    // Malformed messages are ignored.
    s.receive(&gmcp("Core.Supports.Set [oops"));
    s.receive(&sb(opt::GMCP, &[0xff, 0xff, 0xc3]));
    assert!(s.gmcp_allows("Char.Name"));
    // The client turns GMCP off: nothing more is sent.
    s.receive(&[IAC, DONT, opt::GMCP]);
    s.take_output();
    assert!(!s.send_gmcp("Char.Name", &data));
}

#[test]
fn mssp_on_request() {
    let mut s = started();
    assert_eq!(s.receive(&[IAC, DO, opt::MSSP]), vec![Input::MsspWanted]);
    let info = MsspInfo {
        name: "gsp".into(),
        players: 2,
        started_unix: 1,
        hostname: "localhost".into(),
        port: 4000,
        tls_port: None,
    };
    s.send_mssp(&info);
    let tables = subnegotiations(&s.take_output(), opt::MSSP);
    assert_eq!(tables.len(), 1);
    let vars = mssp::decode(&tables[0]);
    assert!(vars.contains(&("NAME".into(), "gsp".into())));
    assert!(vars.contains(&("PLAYERS".into(), "2".into())));
    // A client that refused MSSP gets none.
    let mut s = started();
    s.receive(&[IAC, DONT, opt::MSSP]);
    s.send_mssp(&info);
    assert!(!s.has_output());
}

/// Everything after the MCCP2 start marker, inflated.
fn inflate_after_start(wire: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let marker = [IAC, SB, opt::MCCP2, IAC, SE];
    let at = wire
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("MCCP2 start marker");
    let plain = wire[..at].to_vec();
    let mut inflated = Vec::new();
    flate2::read::ZlibDecoder::new(&wire[at + marker.len()..])
        .read_to_end(&mut inflated)
        .expect("a complete zlib stream");
    (plain, inflated)
}

#[test]
fn mccp2_output_inflates_back_to_the_plain_stream() {
    // The same conversation to a compressing and a plain session.
    let script = |s: &mut TelnetSession| {
        s.receive(&[IAC, DO, opt::GMCP]);
        s.receive(&sb(opt::GMCP, br#"Core.Supports.Set ["Room 1"]"#));
        s.send_text(SAMPLE);
        s.send_gmcp("Room.Info", &serde_json::json!({"num": 2}));
        s.send_prompt("> ");
        s.receive(&sb(opt::GMCP, b"Core.Ping"));
        s.send_text(&"x".repeat(5000));
    };
    let mut plain = started();
    script(&mut plain);
    let expected = plain.take_output();

    let mut z = started();
    z.receive(&[IAC, DO, opt::MCCP2]);
    assert!(z.compressing());
    let mut wire = z.take_output();
    script(&mut z);
    wire.extend(z.take_output());
    z.finish();
    wire.extend(z.take_output());
    assert!(!z.compressing());
    let (before, inflated) = inflate_after_start(&wire);
    assert!(before.is_empty(), "the marker is the first thing after DO");
    assert_eq!(inflated, expected);
    assert!(wire.len() < expected.len() / 2, "5000 x compress well");

    // After compression ends, output is plain again.
    z.send_text("after\n");
    assert_eq!(z.take_output(), b"after\r\n".to_vec());
}

#[test]
fn mccp2_ended_by_the_client_finishes_the_stream() {
    let mut z = started();
    z.receive(&[IAC, DO, opt::MCCP2]);
    z.send_text("one\n");
    let mut wire = z.take_output();
    z.receive(&[IAC, DONT, opt::MCCP2]);
    assert!(!z.compressing());
    z.send_text("two\n");
    wire.extend(z.take_output());
    let marker = [IAC, SB, opt::MCCP2, IAC, SE];
    let at = wire.windows(5).position(|w| w == marker).unwrap();
    let mut d = flate2::Decompress::new(true);
    let mut inflated = Vec::with_capacity(1024);
    let status = d
        .decompress_vec(
            &wire[at + 5..],
            &mut inflated,
            flate2::FlushDecompress::Finish,
        )
        .unwrap();
    assert_eq!(status, flate2::Status::StreamEnd);
    // The acknowledgement is the stream's last word.
    assert_eq!(
        inflated,
        [&b"one\r\n"[..], &[IAC, WONT, opt::MCCP2]].concat()
    );
    let rest = &wire[at + 5 + d.total_in() as usize..];
    assert_eq!(rest, b"two\r\n", "plain after the stream's end");
}

#[test]
fn mccp2_never_for_a_client_that_refused() {
    let mut s = started();
    s.receive(&[IAC, DONT, opt::MCCP2]);
    s.send_text("hello\n");
    assert_eq!(s.take_output(), b"hello\r\n".to_vec());
    assert!(!s.compressing());
    // Asking later after refusing: a DO is a fresh agreement (RFC 1143).
    s.receive(&[IAC, DO, opt::MCCP2]);
    let out = s.take_output();
    assert_eq!(&out[..3], &[IAC, WILL, opt::MCCP2]);
    assert!(s.compressing());
}

#[test]
fn prompts_are_marked_with_eor_ga_or_nothing() {
    let mut s = started();
    s.receive(&[IAC, DO, opt::EOR]);
    assert!(s.prompts_shown(), "EOR clients get prompts");
    s.send_prompt("> ");
    assert_eq!(s.take_output(), vec![b'>', b' ', IAC, EOR]);

    let mut s = started();
    s.receive(&[IAC, DO, opt::SGA]);
    assert_eq!(s.take_output(), vec![IAC, WILL, opt::SGA]);
    s.send_prompt("> ");
    assert_eq!(s.take_output(), b"> ".to_vec(), "SGA: no GA");
    assert!(!s.prompts_shown());
    s.configure("prompt on");
    assert!(s.prompts_shown());

    let mut s = started();
    s.send_prompt("> ");
    assert_eq!(s.take_output(), vec![b'>', b' ', IAC, GA]);
}

#[test]
fn charset_utf8_agreed_or_ascii_fallback() {
    let mut s = started();
    s.receive(&[IAC, DO, opt::CHARSET]);
    assert_eq!(s.take_output(), sb(opt::CHARSET, &charset::request()));
    s.receive(&sb(opt::CHARSET, b"\x02UTF-8"));
    assert!(s.utf8());
    s.send_text("é\n");
    assert_eq!(s.take_output(), "é\r\n".as_bytes().to_vec());

    let mut s = started();
    s.receive(&[IAC, DO, opt::CHARSET]);
    s.take_output();
    s.receive(&sb(opt::CHARSET, b"\x03"));
    assert!(!s.utf8());
    s.send_text("héllo “x”\n");
    assert_eq!(s.take_output(), b"hello \"x\"\r\n".to_vec());

    // The client offers CHARSET itself: one request, not two.
    let mut s = started();
    s.receive(&[IAC, WILL, opt::CHARSET, IAC, DO, opt::CHARSET]);
    let out = s.take_output();
    assert_eq!(count(&out, &[IAC, SB, opt::CHARSET]), 1);
    assert!(contains(&out, &[IAC, DO, opt::CHARSET]));
}

#[test]
fn a_client_agreeing_to_everything_quiesces() {
    // A client codec that wants every option, pumped against the session.
    let mut s = session();
    let mut client = TelnetCodec::new(CodecConfig {
        local_options: vec![opt::TTYPE, opt::NAWS, opt::CHARSET],
        remote_options: OFFERED.to_vec(),
        ..CodecConfig::default()
    });
    let mut rounds = 0;
    let mut compressed = false;
    loop {
        let to_client = s.take_output();
        let to_server = client.take_output();
        if to_client.is_empty() && to_server.is_empty() {
            break;
        }
        rounds += 1;
        assert!(rounds < 10, "negotiation loop");
        if !compressed {
            // The plain codec reads up to the start of compression only.
            let marker = [IAC, SB, opt::MCCP2, IAC, SE];
            let end = match to_client.windows(5).position(|w| w == marker) {
                Some(at) => {
                    compressed = true;
                    at + 5
                }
                None => to_client.len(),
            };
            client.receive(&to_client[..end]);
        }
        s.receive(&to_server);
    }
    for o in OFFERED {
        assert!(s.enabled(o), "{o} agreed");
    }
    for o in ASKED {
        assert!(s.enabled(o), "{o} agreed");
    }
    assert!(s.compressing() && s.prompts_shown());
    // A storm of repeats is not answered.
    let mut storm = Vec::new();
    for _ in 0..1000 {
        for o in OFFERED {
            storm.extend_from_slice(&[IAC, DO, o]);
        }
        for o in ASKED {
            storm.extend_from_slice(&[IAC, WILL, o]);
        }
    }
    assert_eq!(s.receive(&storm), vec![]);
    assert!(!s.has_output());
}

#[test]
fn config_shows_the_connection() {
    let mut s = started();
    let shown = s.configure("");
    assert!(shown.contains("Colour: 16"), "{shown}");
    assert!(shown.contains("Width: not wrapped"), "{shown}");
    assert!(s.configure("frobnicate").starts_with("Try"));
    assert_eq!(s.configure("prompt off"), "Prompt off.");
}

#[test]
fn fuzzed_input_never_panics_and_output_stays_bounded() {
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    // Bytes that matter to the options, and pieces of real exchanges.
    let pieces: Vec<Vec<u8>> = vec![
        vec![IAC],
        vec![IAC, SB],
        vec![IAC, SE],
        vec![IAC, DO, opt::MCCP2],
        vec![IAC, DONT, opt::MCCP2],
        vec![IAC, WILL, opt::TTYPE],
        vec![IAC, WILL, opt::NAWS],
        vec![IAC, DO, opt::GMCP],
        vec![IAC, DO, opt::CHARSET],
        vec![IAC, DO, opt::MSSP],
        sb(opt::TTYPE, b"\x00MTTS 9999999999"),
        sb(opt::NAWS, &[255, 255, 255, 255]),
        sb(opt::GMCP, b"Core.Supports.Set [\"Room 1\"]"),
        sb(opt::GMCP, b"Core.Ping"),
        sb(opt::CHARSET, b"\x01;UTF-8"),
        b"look\r\n".to_vec(),
    ];
    let mut s = session();
    for round in 0..300 {
        let mut input = Vec::new();
        for _ in 0..(rng.next() % 40) {
            let r = rng.next();
            if r.is_multiple_of(3) {
                input.push((r >> 8) as u8);
            } else {
                input.extend_from_slice(&pieces[(r >> 8) as usize % pieces.len()]);
            }
        }
        for input in s.receive(&input) {
            if input == Input::MsspWanted {
                s.send_mssp(&MsspInfo {
                    name: "x".into(),
                    players: 0,
                    started_unix: 0,
                    hostname: "h".into(),
                    port: 1,
                    tls_port: None,
                });
            }
        }
        s.send_text(SAMPLE);
        if round % 7 == 0 {
            s.send_prompt("> ");
            s.send_gmcp("Room.Info", &serde_json::json!({"num": round}));
        }
        let out = s.take_output();
        // Replies are proportional to the input; the text is bounded by what was sent.
        assert!(
            out.len() <= 8 * input.len() + 4096,
            "{} bytes out for {} in",
            out.len(),
            input.len()
        );
        if let Some(w) = s.width() {
            assert!((naws::MIN_WIDTH..=naws::MAX_WIDTH).contains(&w));
        }
    }
    s.finish();
    s.take_output();
}
