//! The TCP side of the proxy (telnet): accept, hold while the world wakes,
//! then splice bytes both ways.
//!
//! What a client sends while held waits in the socket and reaches the
//! world once it is up. A client of a crashed world is told so (on the
//! telnet port, in words) and closed; no wake is asked for. When the world refuses a connection (it went to
//! sleep since the proxy last looked), the proxy wakes it again.

use std::io::ErrorKind;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::{WakeError, WakeGate, WAKING_LINE};

/// How one TCP listener of the proxy behaves.
#[derive(Debug, Clone)]
pub struct TcpOptions {
    /// The world's listener this one fronts (`telnet`).
    pub listener: String,
    /// Whether clients are text players, told in words that the world is
    /// waking or could not wake.
    pub telnet: bool,
    /// When the listener is a Minecraft server's, its MOTD: while the
    /// server is not up the proxy answers the server list itself and wakes
    /// it only for a login ([`crate::minecraft`]).
    pub minecraft: Option<String>,
}

/// Accepts clients on `listener` until `shutdown`, each spliced to the
/// world behind `gate`.
pub async fn serve(
    listener: TcpListener,
    gate: Arc<WakeGate>,
    options: TcpOptions,
    shutdown: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.cancelled() => return,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((client, from)) => {
                let gate = gate.clone();
                let options = options.clone();
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    if let Err(e) = splice(client, &gate, &options, shutdown).await {
                        tracing::debug!(%from, "proxy connection ended: {e}");
                    }
                });
            }
            Err(e) => {
                // Out of descriptors and the like: back off, keep serving.
                tracing::warn!("proxy accept failed: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
}

async fn splice(
    mut client: TcpStream,
    gate: &Arc<WakeGate>,
    options: &TcpOptions,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let _ = client.set_nodelay(true);
    if let Some(motd) = &options.minecraft {
        if gate.awake().is_none() {
            // Status pings are answered here; only a login is counted (and
            // wakes the server).
            let outcome =
                crate::minecraft::while_asleep(&mut client, gate, &options.listener, motd).await?;
            let crate::minecraft::Outcome::Join { prelude, upstream } = outcome else {
                return Ok(());
            };
            let _counted = gate.enter();
            let mut world = TcpStream::connect(upstream).await?;
            let _ = world.set_nodelay(true);
            world.write_all(&prelude).await?;
            return pipe(client, world, shutdown).await;
        }
    }
    let _counted = gate.enter();
    let mut told = false;
    let mut upstream = None;
    // Twice at most: the second time after the world refused us because it
    // had gone to sleep.
    for _ in 0..2 {
        if let Some(reason) = gate.crash() {
            return refuse(client, options, &WakeError::Crashed(reason)).await;
        }
        let up = match gate.awake() {
            Some(up) => Ok(up),
            None => {
                if options.telnet && !told {
                    client.write_all(WAKING_LINE.as_bytes()).await?;
                    told = true;
                }
                gate.admit().await
            }
        };
        let addr = match up.and_then(|up| {
            up.get(&options.listener)
                .copied()
                .ok_or_else(|| WakeError::NoListener(options.listener.clone()))
        }) {
            Ok(addr) => addr,
            Err(e) => return refuse(client, options, &e).await,
        };
        match TcpStream::connect(addr).await {
            Ok(s) => {
                upstream = Some(s);
                break;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionRefused | ErrorKind::ConnectionReset
                ) =>
            {
                tracing::info!(%addr, "the world refused a client: it sleeps");
                gate.slept();
            }
            Err(e) => return Err(e),
        }
    }
    let Some(upstream) = upstream else {
        let e = WakeError::Refused("the world does not accept connections".into());
        return refuse(client, options, &e).await;
    };
    let _ = upstream.set_nodelay(true);
    pipe(client, upstream, shutdown).await
}

/// Splices `client` and `upstream` until the world's side closes.
async fn pipe(
    mut client: TcpStream,
    mut upstream: TcpStream,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let (mut from_client, mut to_client) = client.split();
    let (mut from_world, mut to_world) = upstream.split();
    // The splice ends when the world closes (a client that keeps its
    // socket open after the world said goodbye does not keep the proxy
    // busy, nor the world awake). A client that closes first half-closes
    // the world's side, which then says goodbye and closes.
    let client_to_world = async {
        let _ = tokio::io::copy(&mut from_client, &mut to_world).await;
        let _ = to_world.shutdown().await;
        std::future::pending::<()>().await
    };
    let world_to_client = async {
        let copied = tokio::io::copy(&mut from_world, &mut to_client).await;
        let _ = to_client.shutdown().await;
        copied.map(|_| ())
    };
    tokio::select! {
        r = world_to_client => r,
        _ = client_to_world => Ok(()),
        _ = shutdown.cancelled() => Ok(()),
    }
}

async fn refuse(mut client: TcpStream, options: &TcpOptions, e: &WakeError) -> std::io::Result<()> {
    tracing::warn!("proxy turned a client away: {e}");
    if options.telnet {
        let text = match e {
            WakeError::Crashed(_) => format!("Sorry: {e}.\r\n"),
            _ => format!("Sorry: {e}. Try again in a moment.\r\n"),
        };
        client.write_all(text.as_bytes()).await?;
    }
    client.shutdown().await
}
