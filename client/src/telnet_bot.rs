//! A telnet bot of the swarm: logs in (as a guest where the world admits
//! guests, else with an account of its own), then until the deadline
//! walks from room to room (or, in crowd mode, stays in the start room) and
//! talks at a set rate, counting the lines it reads. Each line it says ends
//! in a stamp (`#` and the microseconds since the swarm's start), so the
//! bots that hear it measure how long speech took to reach them.
//!
//! The bot speaks just enough telnet to be a well-behaved client: it reads
//! and drops the server's option negotiation (answering nothing, which the
//! server takes as "no") and ANSI colour, and writes plain lines.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What one telnet bot does.
#[derive(Debug, Clone)]
pub struct TelnetPlan {
    /// The world's telnet address.
    pub server: SocketAddr,
    /// The bot's name.
    pub name: String,
    /// Says a line this often; `None`: never.
    pub talk_every: Option<Duration>,
    /// Stays in the start room instead of taking exits.
    pub crowd: bool,
    /// When to stop.
    pub deadline: Instant,
    /// Seeds its choices.
    pub seed: u64,
    /// The swarm's start, which speech stamps count from.
    pub epoch: Instant,
    /// From when the swarm is steady (every bot started and logged in):
    /// lines read from then on are also counted in
    /// [`TelnetResult::steady_lines`], and only their latencies are kept.
    pub steady_from: Instant,
}

/// What one telnet bot measured.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct TelnetResult {
    /// It got past the login into a room.
    pub connected: bool,
    /// It could not connect or log in, or its connection ended early.
    pub failed: bool,
    /// Why, if it failed.
    pub error: Option<String>,
    /// Lines read after the login.
    pub lines: u64,
    /// Bytes read after the login.
    pub bytes: u64,
    /// Lines it said.
    pub said: u64,
    /// Exits it took.
    pub moves: u64,
    /// Seconds between the login and the end.
    pub active_secs: f64,
    /// Lines read from [`TelnetPlan::steady_from`] on.
    pub steady_lines: u64,
    /// For each stamped line heard from [`TelnetPlan::steady_from`] on:
    /// microseconds from the speaker's write to this bot's read.
    pub latencies_us: Vec<u32>,
}

const EXITS: &[&str] = &["north", "south", "east", "west", "up", "down"];
const CHATTER: &[&str] = &[
    "hello there",
    "anyone seen the blacksmith?",
    "nice weather today",
    "to the tavern!",
    "wares for sale, cheap",
];

/// How long the login may take.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(20);

/// Runs one bot to its deadline.
pub async fn run_telnet_bot(plan: TelnetPlan) -> TelnetResult {
    let mut result = TelnetResult::default();
    let name = plan.name.clone();
    if let Err(e) = play(plan, &mut result).await {
        result.failed = true;
        result.error = Some(format!("{name} (telnet): {e}"));
    }
    result
}

async fn play(plan: TelnetPlan, result: &mut TelnetResult) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(plan.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x7E1);
    let login_by = (Instant::now() + LOGIN_TIMEOUT).min(plan.deadline);
    let mut stream = tokio::time::timeout_at(login_by.into(), TcpStream::connect(plan.server))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("connect: {e}"))?;
    let _ = stream.set_nodelay(true);
    let mut text = String::new();
    let mut buf = vec![0u8; 16 * 1024];
    // The name prompt; the help line above it says whether accounts are on.
    read_until(&mut stream, &mut buf, &mut text, "name", login_by).await?;
    // The name prompt's help line says whether the world has accounts and
    // admits guests: a guest if it may, else an account of its own
    // (created on the first run, logged in to on the next).
    let password = format!("swarm-{}-password", plan.name);
    let accounts = text.contains("create <name> <password>");
    let line = if text.contains("guest <name>") {
        format!("guest {}\r\n", plan.name)
    } else if accounts {
        format!("create {} {password}\r\n", plan.name)
    } else {
        format!("{}\r\n", plan.name)
    };
    write(&mut stream, &line).await?;
    text.clear();
    let entered = "Players here:";
    read_until_any(
        &mut stream,
        &mut buf,
        &mut text,
        &[entered, "taken"],
        login_by,
    )
    .await?;
    if !text.contains(entered) {
        text.clear();
        write(
            &mut stream,
            &format!("connect {} {password}\r\n", plan.name),
        )
        .await?;
        read_until_any(&mut stream, &mut buf, &mut text, &[entered], login_by).await?;
    }
    result.connected = true;
    let active_from = Instant::now();
    let mut next_talk = plan
        .talk_every
        .map(|every| Instant::now() + every.mul_f64(rng.f64()));
    let mut next_move = Instant::now() + Duration::from_millis(rng.u64(2000..6000));
    let end = tokio::time::sleep_until(plan.deadline.into());
    tokio::pin!(end);
    let mut partial: Vec<u8> = Vec::new();
    let outcome = loop {
        let wake = next_talk.map_or(next_move, |t| t.min(next_move));
        tokio::select! {
            _ = &mut end => break Ok(()),
            read = stream.read(&mut buf) => match read {
                Ok(0) => break Err("the server closed the connection".to_owned()),
                Ok(n) => {
                    result.bytes += n as u64;
                    let now = micros_since(plan.epoch);
                    let steady = Instant::now() >= plan.steady_from;
                    let mut rest = &buf[..n];
                    while let Some(end) = rest.iter().position(|&b| b == b'\n') {
                        result.lines += 1;
                        result.steady_lines += u64::from(steady);
                        let line = if partial.is_empty() {
                            &rest[..end]
                        } else {
                            partial.extend_from_slice(&rest[..end]);
                            &partial[..]
                        };
                        if let Some(stamp) = speech_stamp(line).filter(|_| steady) {
                            result.latencies_us.push(now.saturating_sub(stamp) as u32);
                        }
                        partial.clear();
                        rest = &rest[end + 1..];
                    }
                    // A line's start waits for its end; a line that never
                    // ends is not kept whole.
                    if partial.len() + rest.len() <= MAX_LINE {
                        partial.extend_from_slice(rest);
                    } else {
                        partial.clear();
                    }
                }
                Err(e) => break Err(format!("read: {e}")),
            },
            _ = tokio::time::sleep_until(wake.into()) => {
                let now = Instant::now();
                if let (Some(at), Some(every)) = (next_talk, plan.talk_every) {
                    if now >= at {
                        let said = CHATTER[rng.usize(..CHATTER.len())];
                        let stamp = micros_since(plan.epoch);
                        let line = format!("say {said} #{stamp}\r\n");
                        if let Err(e) = write(&mut stream, &line).await {
                            break Err(e);
                        }
                        result.said += 1;
                        next_talk = Some(at + every);
                    }
                }
                if now >= next_move {
                    next_move = now + Duration::from_millis(rng.u64(2000..6000));
                    // In a crowd a text player stays put: only its talk goes out.
                    if !plan.crowd {
                        result.moves += 1;
                        let line = format!("go {}\r\n", EXITS[rng.usize(..EXITS.len())]);
                        if let Err(e) = write(&mut stream, &line).await {
                            break Err(e);
                        }
                    }
                }
            }
        }
    };
    result.active_secs = active_from.elapsed().as_secs_f64();
    let _ = stream.write_all(b"quit\r\n").await;
    outcome
}

/// The longest line a bot keeps in pieces to look for a stamp, bytes.
const MAX_LINE: usize = 4096;

/// Microseconds since `epoch`.
fn micros_since(epoch: Instant) -> u64 {
    epoch.elapsed().as_micros() as u64
}

/// The speech stamp in a line heard: the digits after the last `#`, if
/// that `#` starts a run of digits.
fn speech_stamp(line: &[u8]) -> Option<u64> {
    let at = line.iter().rposition(|&b| b == b'#')?;
    let digits = &line[at + 1..];
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || len > 19 {
        return None;
    }
    std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
}

async fn write(stream: &mut TcpStream, line: &str) -> Result<(), String> {
    stream
        .write_all(line.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))
}

/// Reads into `text` (telnet commands and ANSI escapes removed) until it
/// contains `needle`.
async fn read_until(
    stream: &mut TcpStream,
    buf: &mut [u8],
    text: &mut String,
    needle: &str,
    by: Instant,
) -> Result<(), String> {
    read_until_any(stream, buf, text, &[needle], by).await
}

/// [`read_until`] any of `needles`.
async fn read_until_any(
    stream: &mut TcpStream,
    buf: &mut [u8],
    text: &mut String,
    needles: &[&str],
    by: Instant,
) -> Result<(), String> {
    while !needles.iter().any(|n| text.contains(n)) {
        let n = tokio::time::timeout_at(by.into(), stream.read(buf))
            .await
            .map_err(|_| format!("timed out waiting for {needles:?}; got {text:?}"))?
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err(format!(
                "closed while waiting for {needles:?}; got {text:?}"
            ));
        }
        text.push_str(&plain(&buf[..n]));
    }
    Ok(())
}

/// Telnet bytes as text: IAC sequences and ANSI escapes dropped.
fn plain(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            255 => {
                let cmd = bytes.get(i + 1).copied().unwrap_or(0);
                i += match cmd {
                    251..=254 => 3,
                    // Subnegotiation: skip to IAC SE.
                    250 => bytes[i..]
                        .windows(2)
                        .position(|w| w == [255, 240])
                        .map_or(bytes.len() - i, |p| p + 2),
                    _ => 2,
                };
            }
            0x1b => {
                i += 1;
                while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speech_stamps_are_read_from_the_end_of_a_line() {
        assert_eq!(
            speech_stamp(b"\x1b[33mBob says, \"to #1 the tavern! #123456\"\x1b[0m\r"),
            Some(123456)
        );
        assert_eq!(speech_stamp(b"Bob says, \"hello\""), None);
        assert_eq!(speech_stamp(b"room #"), None);
        assert_eq!(speech_stamp(b"#99999999999999999999999"), None);
    }

    #[test]
    fn negotiation_and_colour_are_not_text() {
        let bytes = b"\xff\xfb\x01\x1b[1;36mThe Plaza\x1b[0m\r\n\xff\xfa\xc9core\xff\xf0name: ";
        assert_eq!(plain(bytes), "The Plaza\r\nname: ");
    }
}
