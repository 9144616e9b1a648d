//! `gsp standin`: a tiny game server that speaks one real game protocol,
//! for trying templates, the wake proxy and player counting without the
//! game itself (the tests run these as the servers of their templates,
//! as processes and in `FROM scratch` images).
//!
//! - `minecraft`: Minecraft Java's Server List Ping (status and ping) and
//!   login: a Login Start is answered with a Disconnect that greets the
//!   player by name, and while the connection lasts the player counts.
//! - `a2s`: Steam's A2S_INFO on UDP (with the challenge step), and any
//!   other datagram echoed back; a client counts for 10 s after it last
//!   sent.
//! - `satisfactory`: Satisfactory's Lightweight Query on UDP, and echoes.
//!
//! Every stand-in prints `ready` when its socket is bound, logs what it
//! serves, and answers its console: a line on stdin is echoed as
//! `console: LINE`; `stop` (or end of input, or SIGTERM) makes it exit 0.
//! `--crash-after SECONDS` makes it exit 1 after that long.

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::{Args, ValueEnum};
use gsp_proxy::games::{a2s, satisfactory, slp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};

/// Which game a stand-in speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Game {
    /// Minecraft Java (TCP): status, ping, login.
    Minecraft,
    /// Steam A2S_INFO (UDP).
    A2s,
    /// Satisfactory's Lightweight Query (UDP).
    Satisfactory,
}

/// The stand-in's flags.
#[derive(Debug, Args)]
pub struct StandinArgs {
    /// The protocol it speaks.
    game: Game,
    /// Where it listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// The name (MOTD) it reports.
    #[arg(long, default_value = "A stand-in server")]
    name: String,
    /// Player slots.
    #[arg(long, default_value_t = 20)]
    max_players: u32,
    /// Exit with code 1 after this many seconds.
    #[arg(long, value_name = "SECONDS")]
    crash_after: Option<f64>,
}

/// Runs a stand-in until it is told to stop.
pub fn run(args: StandinArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

fn say(line: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

async fn serve(args: StandinArgs) -> anyhow::Result<ExitCode> {
    let players = Arc::new(AtomicU32::new(0));
    let server = match args.game {
        Game::Minecraft => {
            let listener = TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            say(format_args!(
                "ready: minecraft on {}",
                listener.local_addr()?
            ));
            tokio::spawn(minecraft(
                listener,
                args.name.clone(),
                args.max_players,
                players,
            ))
        }
        Game::A2s | Game::Satisfactory => {
            let socket = UdpSocket::bind(args.listen)
                .await
                .with_context(|| format!("binding {}", args.listen))?;
            say(format_args!(
                "ready: {:?} on {}",
                args.game,
                socket.local_addr()?
            ));
            tokio::spawn(udp(socket, args.game, args.name.clone(), args.max_players))
        }
    };
    let crash_after = args
        .crash_after
        .map(Duration::try_from_secs_f64)
        .transpose()
        .context("--crash-after is a number of seconds")?;
    let crash = async {
        match crash_after {
            Some(after) => tokio::time::sleep(after).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(crash);
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("watching SIGTERM")?;
    // The console, read on a thread of its own (standard input blocks).
    let (lines_tx, mut console) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let code = loop {
        tokio::select! {
            _ = &mut crash => {
                say("fatal: the stand-in crashes as asked");
                break ExitCode::FAILURE;
            }
            _ = term.recv() => {
                say("stopping: SIGTERM");
                break ExitCode::SUCCESS;
            }
            line = console.recv() => match line {
                Some(line) => {
                    say(format_args!("console: {line}"));
                    if line.trim() == "stop" {
                        say("stopping: asked on the console");
                        break ExitCode::SUCCESS;
                    }
                }
                // No console (stdin closed): serve until a signal.
                None => {
                    let _ = term.recv().await;
                    say("stopping: SIGTERM");
                    break ExitCode::SUCCESS;
                }
            },
        }
    };
    server.abort();
    Ok(code)
}

async fn minecraft(listener: TcpListener, motd: String, max: u32, players: Arc<AtomicU32>) {
    loop {
        let Ok((stream, from)) = listener.accept().await else {
            continue;
        };
        let motd = motd.clone();
        let players = players.clone();
        tokio::spawn(async move {
            if let Err(e) = minecraft_client(stream, &motd, max, &players).await {
                say(format_args!("client {from}: {e}"));
            }
        });
    }
}

/// A player counted while its connection lasts.
struct Online<'a>(&'a AtomicU32);

impl Drop for Online<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn next_frame(
    stream: &mut TcpStream,
    decoder: &mut slp::Decoder,
) -> anyhow::Result<Option<slp::Frame>> {
    let mut buf = [0u8; 1024];
    loop {
        if let Some(f) = decoder.next_frame()? {
            return Ok(Some(f));
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        decoder.feed(&buf[..n]);
    }
}

async fn minecraft_client(
    mut stream: TcpStream,
    motd: &str,
    max: u32,
    players: &AtomicU32,
) -> anyhow::Result<()> {
    let mut decoder = slp::Decoder::new(slp::MAX_CLIENT_PACKET);
    let Some(first) = next_frame(&mut stream, &mut decoder).await? else {
        return Ok(());
    };
    let hs = slp::parse_handshake(&first)?;
    match hs.intent {
        slp::Intent::Status => {
            while let Some(f) = next_frame(&mut stream, &mut decoder).await? {
                match f.id {
                    0 => {
                        let status = slp::Status {
                            version: slp::Version {
                                name: "stand-in".into(),
                                protocol: hs.protocol,
                            },
                            players: slp::Players {
                                max,
                                online: players.load(Ordering::Relaxed),
                            },
                            description: serde_json::json!({ "text": motd }),
                        };
                        stream.write_all(&slp::encode_status(&status)).await?;
                    }
                    _ => {
                        let payload = slp::parse_ping(&f)?;
                        stream.write_all(&slp::encode_pong(payload)).await?;
                        return Ok(());
                    }
                }
            }
            Ok(())
        }
        slp::Intent::Login | slp::Intent::Transfer => {
            let Some(login) = next_frame(&mut stream, &mut decoder).await? else {
                return Ok(());
            };
            let name = slp::parse_login_start(&login)?;
            players.fetch_add(1, Ordering::Relaxed);
            let _online = Online(players);
            say(format_args!("{name} joined"));
            // A real server would start the session here; the stand-in
            // greets the player and holds the connection until it closes.
            let greeting = format!("Welcome, {name}! This is a stand-in server.");
            stream
                .write_all(&slp::encode_login_disconnect(&greeting))
                .await?;
            let mut rest = [0u8; 256];
            while stream.read(&mut rest).await? > 0 {}
            say(format_args!("{name} left"));
            Ok(())
        }
    }
}

/// How long a UDP client counts as playing after its last datagram.
const UDP_PLAYER: Duration = Duration::from_secs(10);

async fn udp(socket: UdpSocket, game: Game, name: String, max: u32) {
    let mut seen: HashMap<SocketAddr, Instant> = HashMap::new();
    let challenge = fastrand_challenge();
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let d = &buf[..n];
        let now = Instant::now();
        seen.retain(|_, last| now.duration_since(*last) < UDP_PLAYER);
        let reply = match game {
            Game::A2s => match a2s::parse_info_request(d) {
                Some(a2s::InfoRequest { challenge: None }) => a2s::challenge(challenge),
                Some(a2s::InfoRequest { challenge: Some(c) }) if c == challenge => {
                    let online = u8::try_from(seen.len()).unwrap_or(u8::MAX);
                    a2s::encode_info(&a2s::Info {
                        protocol: 17,
                        name: name.clone(),
                        map: "stand-in".into(),
                        folder: "standin".into(),
                        game: "Stand-in".into(),
                        app_id: 0,
                        players: online,
                        max_players: u8::try_from(max).unwrap_or(u8::MAX),
                        bots: 0,
                        server_type: b'd',
                        environment: b'l',
                        visibility: 0,
                        vac: 0,
                        version: "1.0".into(),
                    })
                }
                Some(_) => a2s::challenge(challenge),
                None => {
                    seen.insert(from, now);
                    d.to_vec()
                }
            },
            Game::Satisfactory => match satisfactory::parse_poll(d) {
                Some(cookie) => satisfactory::encode_state(&satisfactory::ServerState {
                    cookie,
                    state: satisfactory::GameState::Playing,
                    net_cl: 1,
                    flags: 0,
                    sub_states: vec![(0, 1)],
                    name: name.clone(),
                }),
                None if satisfactory::is_query(d) => continue,
                None => {
                    seen.insert(from, now);
                    d.to_vec()
                }
            },
            Game::Minecraft => continue,
        };
        let _ = socket.send_to(&reply, from).await;
    }
}

/// A challenge that differs between runs (the time's low bits).
fn fastrand_challenge() -> [u8; 4] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(7, |d| d.subsec_nanos());
    nanos.to_le_bytes()
}
