//! The TCP side of the proxy for a Minecraft Java server while it is not
//! up: the async shell around [`games::slp`](crate::games::slp).
//!
//! - A server-list ping (handshake with intent status) is answered by the
//!   proxy itself: the MOTD marked asleep (or crashed), no players, the
//!   client's own protocol; the ping is ponged. It never wakes the server.
//! - A login (handshake with intent login, then Login Start) wakes it: the
//!   proxy asks for the wake and holds the player until the server's
//!   ready signal (no polling), then connects and replays the bytes the
//!   player sent, and splices. If the wake fails, or the server crashed,
//!   the player is kicked with a Disconnect that says why.
//!
//! A client that sends anything else, or too much, is closed.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::games::slp;
use crate::{WakeError, WakeGate};

/// How long a client may take to send its handshake and first packets.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes a client may send before its login is known.
const MAX_PRELUDE: usize = 2 * slp::MAX_CLIENT_PACKET;

/// What happened to a client of a server that was not up.
#[derive(Debug)]
pub enum Outcome {
    /// It pinged and was answered.
    Answered,
    /// It logged in and the server is up: connect it, replaying `prelude`
    /// (every byte it sent so far).
    Join {
        /// The bytes to send the server first.
        prelude: Vec<u8>,
        /// Where the server's listener is.
        upstream: std::net::SocketAddr,
    },
    /// It was told why it cannot join, and closed.
    Kicked,
}

async fn next_frame(
    client: &mut TcpStream,
    decoder: &mut slp::Decoder,
    prelude: &mut Vec<u8>,
) -> std::io::Result<Option<slp::Frame>> {
    let mut buf = [0u8; 1024];
    loop {
        match decoder.next_frame() {
            Ok(Some(f)) => return Ok(Some(f)),
            Ok(None) => {}
            Err(_) => return Ok(None),
        }
        if prelude.len() > MAX_PRELUDE {
            return Ok(None);
        }
        let n = client.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        prelude.extend_from_slice(&buf[..n]);
        decoder.feed(&buf[..n]);
    }
}

/// Serves a client that arrived while the server was not up, on the
/// Minecraft listener `listener`, with `motd` for the server list.
pub async fn while_asleep(
    client: &mut TcpStream,
    gate: &Arc<WakeGate>,
    listener: &str,
    motd: &str,
) -> std::io::Result<Outcome> {
    let mut decoder = slp::Decoder::new(slp::MAX_CLIENT_PACKET);
    let mut prelude = Vec::new();
    let first = tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        next_frame(client, &mut decoder, &mut prelude),
    )
    .await
    .map_err(|_| std::io::ErrorKind::TimedOut)??;
    let Some(hs) = first.and_then(|f| slp::parse_handshake(&f).ok()) else {
        return Ok(Outcome::Kicked);
    };
    match hs.intent {
        slp::Intent::Status => {
            let crashed = gate.crash();
            let text = match &crashed {
                Some(_) => format!("{motd} (crashed)"),
                None => motd.to_owned(),
            };
            let mut status = slp::sleeping_status(&text, hs.protocol, 0);
            if crashed.is_some() {
                status.version.name = "crashed".into();
                status.description = serde_json::json!({
                    "text": format!("{motd}\n"),
                    "extra": [{"text": "Crashed: its owner has to start it again", "color": "red"}],
                });
            }
            loop {
                let frame = tokio::time::timeout(
                    HANDSHAKE_TIMEOUT,
                    next_frame(client, &mut decoder, &mut prelude),
                )
                .await
                .map_err(|_| std::io::ErrorKind::TimedOut)??;
                match frame {
                    Some(f) if f.id == 0 && f.body.is_empty() => {
                        client.write_all(&slp::encode_status(&status)).await?;
                    }
                    Some(f) => {
                        if let Ok(payload) = slp::parse_ping(&f) {
                            client.write_all(&slp::encode_pong(payload)).await?;
                        }
                        return Ok(Outcome::Answered);
                    }
                    None => return Ok(Outcome::Answered),
                }
            }
        }
        slp::Intent::Login | slp::Intent::Transfer => {
            let login = tokio::time::timeout(
                HANDSHAKE_TIMEOUT,
                next_frame(client, &mut decoder, &mut prelude),
            )
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
            let Some(name) = login.and_then(|f| slp::parse_login_start(&f).ok()) else {
                return Ok(Outcome::Kicked);
            };
            tracing::info!(player = %name, "a Minecraft login wakes the server");
            let woke = gate.admit().await.and_then(|up| {
                up.get(listener)
                    .copied()
                    .ok_or_else(|| WakeError::NoListener(listener.to_owned()))
            });
            match woke {
                Ok(upstream) => Ok(Outcome::Join { prelude, upstream }),
                Err(e) => {
                    tracing::warn!(player = %name, "a Minecraft login could not join: {e}");
                    let text = match e {
                        WakeError::Crashed(_) => format!("Sorry: {e}."),
                        _ => format!("Sorry: {e}. Try again in a moment."),
                    };
                    client
                        .write_all(&slp::encode_login_disconnect(&text))
                        .await?;
                    let _ = client.shutdown().await;
                    Ok(Outcome::Kicked)
                }
            }
        }
    }
}
