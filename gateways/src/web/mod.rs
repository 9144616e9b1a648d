//! The browser gateway: a page to play from, and a WebSocket endpoint
//! speaking the mudstandards.org subprotocols.
//!
//! `GET /` serves the page (HTML and JavaScript embedded in the binary);
//! `GET /ws` upgrades to a WebSocket with `gmcp.mudstandards.org` or
//! `terminal.mudstandards.org` (the client's offer, the world's preference
//! first; no offer means terminal). Each WebSocket player is a telnet
//! session run over an in-memory stream with the [`bridge::Bridge`] as its
//! client, so the login, the commands, the colours and the GMCP data are
//! the telnet player's, and both kinds of players share rooms.
//!
//! # Layout
//!
//! - [`bridge`]: the sans-I/O translation between telnet bytes and frames.
//! - this module: the routes and the async shell of one WebSocket.

pub mod bridge;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gsp_engine::WorldHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::timeout;
use tokio_util::sync::CancellationToken;

use crate::telnet::TelnetConfig;
use bridge::{Bridge, Frame, Mode, PROTOCOLS};

/// The page.
pub const PAGE: &str = include_str!("page.html");

/// The largest WebSocket message (and frame) a browser may send.
pub const MAX_MESSAGE_BYTES: usize = 16 * 1024;

/// The largest GMCP message passed to the browser.
const MAX_GMCP_BYTES: usize = 64 * 1024;

#[derive(Clone)]
struct Web {
    world: WorldHandle,
    config: TelnetConfig,
    local: SocketAddr,
    permits: Arc<Semaphore>,
    shutdown: CancellationToken,
}

/// Serves the page and the WebSocket on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    world: WorldHandle,
    config: TelnetConfig,
    shutdown: CancellationToken,
) {
    let local = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "web listener has no address");
            return;
        }
    };
    let state = Web {
        world,
        permits: Arc::new(Semaphore::new(config.max_connections)),
        config,
        local,
        shutdown: shutdown.clone(),
    };
    let router = Router::new()
        .route("/", get(page))
        .route("/ws", get(upgrade))
        .with_state(state);
    let result = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { shutdown.cancelled().await })
    .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "web server failed");
    }
}

async fn page() -> impl IntoResponse {
    (
        [
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:",
            ),
        ],
        Html(PAGE),
    )
}

async fn upgrade(
    State(web): State<Web>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    ws: WebSocketUpgrade,
) -> Response {
    let offered = ws.requested_protocols().next().is_some();
    let ws = ws
        .protocols(PROTOCOLS)
        .max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES);
    let protocol = ws
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .map(str::to_owned);
    if offered && protocol.is_none() {
        return (
            StatusCode::BAD_REQUEST,
            "offer terminal.mudstandards.org or gmcp.mudstandards.org\n",
        )
            .into_response();
    }
    let Some(mode) = Mode::of(protocol.as_deref()) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let Ok(permit) = web.permits.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "The world is full of connections; try again later.\n",
        )
            .into_response();
    };
    ws.on_upgrade(move |socket| async move {
        let _permit = permit;
        run(socket, mode, peer, web).await;
    })
}

/// Why a WebSocket ended.
#[derive(Debug, thiserror::Error)]
enum WsError {
    #[error("websocket: {0}")]
    Socket(#[from] axum::Error),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("the browser stopped reading")]
    WriteTimeout,
    #[error("a frame was not UTF-8")]
    NotUtf8,
}

async fn run(mut socket: WebSocket, mode: Mode, peer: SocketAddr, web: Web) {
    tracing::debug!(%peer, ?mode, "web player connected");
    let (server_side, bridge_side) = tokio::io::duplex(64 * 1024);
    let session = tokio::spawn(crate::telnet::server::serve_stream(
        server_side,
        peer,
        web.local,
        web.world.clone(),
        web.config.clone(),
        web.shutdown.clone(),
    ));
    let mut bridge = Bridge::new(mode, MAX_GMCP_BYTES);
    let ended = shuttle(&mut socket, bridge_side, &mut bridge, &web.config).await;
    match &ended {
        Ok(()) => tracing::debug!(%peer, "web player left"),
        Err(e) => tracing::debug!(%peer, error = %e, "web connection ended"),
    }
    let reason = match ended {
        Err(WsError::NotUtf8) => Some((1007, "frames must be UTF-8")),
        _ => None,
    };
    if let Some((code, why)) = reason {
        let _ = timeout(
            web.config.write_timeout,
            socket.send(Message::Close(Some(axum::extract::ws::CloseFrame {
                code,
                reason: why.into(),
            }))),
        )
        .await;
    } else {
        let _ = timeout(web.config.write_timeout, socket.send(Message::Close(None))).await;
    }
    // The stream's end is the session's end: it sees EOF and leaves the world.
    let _ = session.await;
}

/// Frames in, bytes out and back, until either side ends.
async fn shuttle(
    socket: &mut WebSocket,
    stream: tokio::io::DuplexStream,
    bridge: &mut Bridge,
    config: &TelnetConfig,
) -> Result<(), WsError> {
    let (mut from_session, mut to_session) = tokio::io::split(stream);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        tokio::select! {
            message = socket.recv() => {
                match message {
                    None | Some(Ok(Message::Close(_))) => return Ok(()),
                    Some(Err(e)) => return Err(e.into()),
                    Some(Ok(Message::Text(text))) => bridge.text_frame(text.as_str()),
                    Some(Ok(Message::Binary(bytes))) => {
                        let text = std::str::from_utf8(&bytes).map_err(|_| WsError::NotUtf8)?;
                        bridge.input(text);
                    }
                    Some(Ok(_)) => {} // pings are answered by the library
                }
            }
            read = from_session.read(&mut buf) => {
                let n = read?;
                if n == 0 {
                    return Ok(());
                }
                for frame in bridge.from_server(&buf[..n]) {
                    let message = match frame {
                        Frame::Text(bytes) => Message::Binary(bytes.into()),
                        Frame::Gmcp(text) => Message::Text(text.into()),
                    };
                    match timeout(config.write_timeout, socket.send(message)).await {
                        Ok(sent) => sent?,
                        Err(_) => return Err(WsError::WriteTimeout),
                    }
                }
            }
        }
        let out = bridge.take_to_server();
        if !out.is_empty() {
            to_session.write_all(&out).await?;
        }
    }
}
