//! The async shell of the QUIC gateway.
//!
//! Per connection: accept the client's bidirectional stream, read one
//! [`ClientMessage::Hello`] within the handshake timeout, log the player in
//! (see below), join the world, and answer [`ServerMessage::Welcome`] (or a
//! [`ServerMessage::Refusal`] and a close). Then three loops run until one ends: stream frames in (commands),
//! datagrams in (inputs with snapshot acknowledgements, pings), and world
//! messages out (events on the stream, snapshots as datagrams). Any
//! malformed or oversized input closes the connection with a [`CloseCode`];
//! nothing else is affected.
//!
//! # Logging in
//!
//! With an [`AccountService`] in [`QuicConfig::accounts`], the hello's
//! credentials decide who joins:
//!
//! * a `token` resumes the account it was issued for
//!   ([`AccountService::connect_token`]);
//! * a `password` logs in to the account `name` ([`AccountService::connect`]),
//!   or creates it when `create` is set ([`AccountService::create`]); the
//!   welcome then carries a fresh resume token
//!   ([`AccountService::issue_token`]);
//! * neither joins the guest `name` if [`QuicConfig::allow_guests`] and no
//!   account has that name, and is refused with
//!   [`RefusalCode::AccountRequired`] otherwise.
//!
//! Failures are refusals with the account error's own words
//! ([`RefusalCode::BadCredentials`], [`RefusalCode::Throttled`]...). All the
//! service calls of one handshake together get
//! [`QuicConfig::handshake_timeout`]. Without an account service every
//! player is a guest, and a hello with credentials is refused with
//! [`RefusalCode::Unavailable`] rather than silently playing unsaved.
//!
//! When the same account logs in again elsewhere, the world closes this
//! session ([`CloseReason::TakenOver`]): the client reads an info event
//! saying so, and the connection closes with [`CloseCode::TakenOver`].

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gsp_engine::{
    AccountError, AccountService, CloseReason, GatewayKind, JoinError, JoinRequest, Login,
    Outbound, OutboundReceiver, RefusalReason, SendError, TextEvent, WorldHandle,
};
use gsp_protocol::framing::{encode_frame, FrameDecoder};
use gsp_protocol::{
    limits, ClientDatagram, ClientMessage, CloseCode, EventKind, RefusalCode, Secret,
    ServerDatagram, ServerMessage, ALPN, PROTOCOL_VERSION,
};
use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Connection, RecvStream, SendStream, VarInt};
use tokio_util::sync::CancellationToken;

use super::cert::ServerIdentity;

/// Settings of the QUIC gateway.
#[derive(Clone)]
pub struct QuicConfig {
    /// Time from connection to a complete hello, and again for the account
    /// service's answers.
    pub handshake_timeout: Duration,
    /// A connection silent this long is closed (QUIC idle timeout).
    pub idle_timeout: Duration,
    /// The account service; `None` makes every player a guest.
    pub accounts: Option<Arc<dyn AccountService>>,
    /// With accounts: whether a hello without credentials may play as a
    /// guest (under a name no account has). Bots rely on it.
    pub allow_guests: bool,
}

impl Default for QuicConfig {
    fn default() -> Self {
        QuicConfig {
            handshake_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            accounts: None,
            allow_guests: true,
        }
    }
}

impl std::fmt::Debug for QuicConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicConfig")
            .field("handshake_timeout", &self.handshake_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("accounts", &self.accounts.is_some())
            .field("allow_guests", &self.allow_guests)
            .finish()
    }
}

/// What can go wrong building the endpoint.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    /// TLS configuration.
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    /// QUIC crypto configuration.
    #[error("QUIC crypto: {0}")]
    Crypto(#[from] quinn::crypto::rustls::NoInitialCipherSuite),
    /// Binding the socket.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// A server endpoint bound to `addr` with `identity`, speaking ALPN [`ALPN`].
pub fn endpoint(
    addr: SocketAddr,
    identity: &ServerIdentity,
    config: &QuicConfig,
) -> Result<quinn::Endpoint, EndpointError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(QuicServerConfig::try_from(tls)?));
    let mut transport = quinn::TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(VarInt::from_u32(1))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .max_idle_timeout(Some(
            quinn::IdleTimeout::try_from(config.idle_timeout).unwrap_or(VarInt::MAX.into()),
        ))
        .datagram_receive_buffer_size(Some(64 * 1024))
        .datagram_send_buffer_size(256 * 1024);
    server.transport_config(Arc::new(transport));
    quinn::Endpoint::server(server, addr).map_err(|source| EndpointError::Bind { addr, source })
}

/// Accepts connections on `endpoint` until `shutdown` is cancelled, then
/// closes them all.
pub async fn serve(
    endpoint: quinn::Endpoint,
    world: WorldHandle,
    config: QuicConfig,
    shutdown: CancellationToken,
) {
    loop {
        let incoming = tokio::select! {
            _ = shutdown.cancelled() => break,
            incoming = endpoint.accept() => match incoming {
                Some(i) => i,
                None => break,
            },
        };
        let world = world.clone();
        let config = config.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let peer = incoming.remote_address();
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    tracing::debug!(%peer, error = %e, "QUIC handshake failed");
                    return;
                }
            };
            let code = handle(&conn, peer, world, &config, shutdown).await;
            tracing::debug!(%peer, ?code, "QUIC connection closed");
            conn.close(VarInt::from_u32(code.code()), code.describe().as_bytes());
        });
    }
    endpoint.close(
        VarInt::from_u32(CloseCode::ShuttingDown.code()),
        CloseCode::ShuttingDown.describe().as_bytes(),
    );
}

/// Runs one connection to its end and says why it ended.
async fn handle(
    conn: &Connection,
    peer: SocketAddr,
    world: WorldHandle,
    config: &QuicConfig,
    shutdown: CancellationToken,
) -> CloseCode {
    let handshake = tokio::time::timeout(config.handshake_timeout, async {
        let (send, mut recv) = conn.accept_bi().await.map_err(|_| CloseCode::Normal)?;
        let mut decoder = FrameDecoder::new(limits::MAX_FRAME_BYTES);
        let hello = read_message(&mut recv, &mut decoder).await?;
        Ok::<_, CloseCode>((send, recv, decoder, hello))
    })
    .await;
    let (mut send, recv, decoder, hello) = match handshake {
        Err(_) => return CloseCode::HandshakeTimeout,
        Ok(Err(code)) => return code,
        Ok(Ok(parts)) => parts,
    };
    let hello = match hello {
        Some(ClientMessage::Hello {
            protocol_version,
            name,
            password,
            token,
            create,
        }) => {
            if protocol_version != PROTOCOL_VERSION {
                let reason = format!(
                    "this server speaks protocol version {PROTOCOL_VERSION}, not {protocol_version}"
                );
                refuse(&mut send, RefusalCode::VersionMismatch, &reason).await;
                return CloseCode::Refused;
            }
            Hello {
                name,
                password,
                token,
                create,
            }
        }
        Some(_) => return CloseCode::ProtocolViolation,
        None => return CloseCode::Normal,
    };
    let peer_ip = peer.ip().to_canonical();
    let admitted = tokio::time::timeout(config.handshake_timeout, admit(config, hello, peer_ip));
    let Admission { request, token } = match admitted.await {
        Ok(Ok(admission)) => admission,
        Ok(Err((code, reason))) => {
            tracing::debug!(%peer, ?code, %reason, "QUIC login refused");
            refuse(&mut send, code, &reason).await;
            return CloseCode::Refused;
        }
        Err(_) => {
            tracing::warn!(%peer, "the account service did not answer within the handshake timeout");
            let reason = "the account service did not answer in time; try again later";
            refuse(&mut send, RefusalCode::Unavailable, reason).await;
            return CloseCode::Refused;
        }
    };
    let name = request.name.clone();
    let session = match world.join_as(request).await {
        Ok(s) => s,
        Err(e) => {
            let (code, reason) = match e {
                JoinError::Refused(r) => (refusal_code(r), r.to_string()),
                JoinError::Busy => (RefusalCode::ServerFull, e.to_string()),
                JoinError::Stopped => (RefusalCode::ShuttingDown, e.to_string()),
            };
            refuse(&mut send, code, &reason).await;
            return CloseCode::Refused;
        }
    };
    let welcome = ServerMessage::Welcome {
        session_id: session.id.0,
        entity_id: u64::from(session.entity),
        tick_rate: session.tick_rate,
        protocol_version: PROTOCOL_VERSION,
        quantization: session.quantization,
        walk_speed: session.walk_speed,
        token,
    };
    if write_message(&mut send, &welcome).await.is_err() {
        return CloseCode::Normal;
    }
    tracing::info!(session = %session.id, %name, "QUIC player joined");
    let gsp_engine::Session {
        sender, receiver, ..
    } = session;
    // Replies the inbound loops want on the stream (rate-limit notices) go
    // through the writer, which owns the send half.
    let (notices_tx, notices_rx) = tokio::sync::mpsc::channel::<String>(16);
    tokio::select! {
        _ = shutdown.cancelled() => CloseCode::ShuttingDown,
        code = read_commands(recv, decoder, sender.clone(), notices_tx) => code,
        code = read_datagrams(conn, sender) => code,
        code = write_outbound(conn, send, receiver, notices_rx) => code,
    }
}

/// The hello's identity and credentials.
struct Hello {
    name: String,
    password: Option<Secret>,
    token: Option<Secret>,
    create: bool,
}

/// Who joins, and the resume token for the welcome.
struct Admission {
    request: JoinRequest,
    token: Option<Secret>,
}

/// A refusal: its code and its words.
type Refusal = (RefusalCode, String);

/// Decides who the hello joins as, asking the account service if there is
/// one (see the module docs).
async fn admit(config: &QuicConfig, hello: Hello, peer: IpAddr) -> Result<Admission, Refusal> {
    let Hello {
        name,
        password,
        token,
        create,
    } = hello;
    let guest = |name: &str| Admission {
        request: JoinRequest::guest(name, GatewayKind::Quic),
        token: None,
    };
    let Some(accounts) = config.accounts.as_deref() else {
        if password.is_some() || token.is_some() || create {
            return Err((
                RefusalCode::Unavailable,
                "this world has no accounts; connect as a guest".into(),
            ));
        }
        return Ok(guest(&name));
    };
    let joined = |login: Login, token: Option<Secret>| Admission {
        request: JoinRequest::account(&login, GatewayKind::Quic),
        token,
    };
    if let Some(token) = token {
        let login = accounts
            .connect_token(token.expose(), peer)
            .await
            .map_err(account_refusal)?;
        return Ok(joined(login, None));
    }
    if let Some(password) = password {
        let login = if create {
            accounts.create(&name, password.expose(), peer).await
        } else {
            accounts.connect(&name, password.expose(), peer).await
        }
        .map_err(account_refusal)?;
        let token = match accounts.issue_token(login.account).await {
            Ok(t) => Some(Secret::from(t)),
            Err(e) => {
                // The login stands; the client just has no token this time.
                tracing::warn!(account = %login.account, error = %e, "could not issue a resume token");
                None
            }
        };
        return Ok(joined(login, token));
    }
    if create {
        return Err((
            RefusalCode::WeakPassword,
            "a new account needs a password".into(),
        ));
    }
    if !config.allow_guests {
        return Err((
            RefusalCode::AccountRequired,
            "this world has no guests; log in or create an account".into(),
        ));
    }
    if accounts.exists(&name).await.map_err(account_refusal)? {
        return Err((
            RefusalCode::AccountRequired,
            format!("{name} is an account's name; log in with its password"),
        ));
    }
    Ok(guest(&name))
}

/// An account error as a refusal, in the error's own words (except the
/// store's internals, which go to the log).
fn account_refusal(e: AccountError) -> Refusal {
    let code = match &e {
        AccountError::BadName => RefusalCode::BadName,
        AccountError::NameTaken => RefusalCode::NameTaken,
        AccountError::WeakPassword(why) => return (RefusalCode::WeakPassword, why.clone()),
        AccountError::BadCredentials => RefusalCode::BadCredentials,
        AccountError::Throttled { .. } => RefusalCode::Throttled,
        AccountError::Unavailable(detail) => {
            tracing::warn!(%detail, "account service unavailable");
            return (
                RefusalCode::Unavailable,
                "the account service is unavailable; try again later".into(),
            );
        }
    };
    (code, e.to_string())
}

fn refusal_code(reason: RefusalReason) -> RefusalCode {
    match reason {
        RefusalReason::BadName => RefusalCode::BadName,
        RefusalReason::NameTaken => RefusalCode::NameTaken,
        RefusalReason::ServerFull => RefusalCode::ServerFull,
        RefusalReason::ShuttingDown => RefusalCode::ShuttingDown,
    }
}

async fn refuse(send: &mut SendStream, code: RefusalCode, reason: &str) {
    let refusal = ServerMessage::Refusal {
        code,
        reason: reason.to_owned(),
    };
    if write_message(send, &refusal).await.is_ok() {
        let _ = send.finish();
        // Give the refusal a moment to reach the client before the close.
        let _ = tokio::time::timeout(Duration::from_millis(500), send.stopped()).await;
    }
}

async fn write_message(send: &mut SendStream, message: &ServerMessage) -> Result<(), ()> {
    let mut frame = Vec::new();
    encode_frame(&message.encode(), &mut frame);
    send.write_all(&frame).await.map_err(|_| ())
}

/// Reads the next whole client message. `Ok(None)` when the stream ended
/// cleanly between frames.
async fn read_message(
    recv: &mut RecvStream,
    decoder: &mut FrameDecoder,
) -> Result<Option<ClientMessage>, CloseCode> {
    let mut buf = [0u8; 4096];
    loop {
        match decoder.next_frame() {
            Err(_) => return Err(CloseCode::TooLarge),
            Ok(Some(frame)) => {
                return ClientMessage::decode(&frame).map(Some).map_err(|e| {
                    tracing::debug!(error = %e, "malformed stream frame");
                    if e.is_too_large() {
                        CloseCode::TooLarge
                    } else {
                        CloseCode::Malformed
                    }
                });
            }
            Ok(None) => {}
        }
        match recv.read(&mut buf).await {
            Ok(Some(n)) => decoder.extend(&buf[..n]),
            Ok(None) if decoder.buffered() == 0 => return Ok(None),
            Ok(None) => return Err(CloseCode::Malformed),
            Err(_) => return Err(CloseCode::Normal),
        }
    }
}

async fn read_commands(
    mut recv: RecvStream,
    mut decoder: FrameDecoder,
    sender: gsp_engine::SessionSender,
    notices: tokio::sync::mpsc::Sender<String>,
) -> CloseCode {
    loop {
        match read_message(&mut recv, &mut decoder).await {
            Err(code) => return code,
            Ok(None) => return CloseCode::Normal,
            Ok(Some(ClientMessage::Hello { .. })) => return CloseCode::ProtocolViolation,
            Ok(Some(ClientMessage::Command { text })) => match sender.command(text) {
                Ok(()) => {}
                Err(SendError::Stopped) => return CloseCode::ShuttingDown,
                Err(e) => {
                    let _ = notices.try_send(e.to_string());
                }
            },
        }
    }
}

async fn read_datagrams(conn: &Connection, sender: gsp_engine::SessionSender) -> CloseCode {
    loop {
        let datagram = match conn.read_datagram().await {
            Ok(d) => d,
            Err(_) => return CloseCode::Normal,
        };
        match ClientDatagram::decode(&datagram) {
            Ok(ClientDatagram::Input {
                sequence,
                moves,
                ack,
                ack_bits,
            }) => {
                sender.inputs(sequence, moves.as_slice());
                if ack != 0 {
                    sender.acknowledge(ack, ack_bits);
                }
            }
            Ok(ClientDatagram::Ack { ack, ack_bits }) => {
                if ack != 0 {
                    sender.acknowledge(ack, ack_bits);
                }
            }
            Ok(ClientDatagram::Ping { nonce }) => {
                let pong = ServerDatagram::Pong { nonce }.encode();
                // Dropped if the send buffer is full; pings are best effort.
                let _ = conn.send_datagram(Bytes::from(pong));
            }
            Err(e) => {
                tracing::debug!(error = %e, "malformed datagram");
                return if e.is_too_large() {
                    CloseCode::TooLarge
                } else {
                    CloseCode::Malformed
                };
            }
        }
    }
}

/// The most messages one write carries.
const BATCH: usize = 256;

/// Moves the world's messages to the connection: every message waiting is
/// taken at once, snapshots go out as datagrams, and the text events are
/// framed into one buffer and written in one go.
async fn write_outbound(
    conn: &Connection,
    mut send: SendStream,
    mut receiver: OutboundReceiver,
    mut notices: tokio::sync::mpsc::Receiver<String>,
) -> CloseCode {
    let mut batch = Vec::with_capacity(BATCH);
    let mut frames = Vec::new();
    loop {
        batch.clear();
        let taken = tokio::select! {
            n = receiver.recv_batch(&mut batch, BATCH) => n,
            Some(notice) = notices.recv() => {
                let event = ServerMessage::Event { kind: EventKind::Error, text: notice, actor: None, room: None };
                if write_message(&mut send, &event).await.is_err() {
                    return CloseCode::Normal;
                }
                continue;
            }
        };
        if taken == 0 {
            return CloseCode::TooSlow;
        }
        frames.clear();
        let mut close = None;
        for message in batch.drain(..) {
            match message {
                Outbound::Snapshot(datagram) => {
                    // Unreliable by design: a snapshot the path cannot carry
                    // now is superseded by the next, relative to an
                    // acknowledged one.
                    let _ = conn.send_datagram(Bytes::from(datagram));
                }
                Outbound::Text(event) => {
                    encode_frame(&event_message(&event).encode(), &mut frames);
                }
                Outbound::Frame(message) => encode_frame(&message, &mut frames),
                Outbound::Closed(reason) => {
                    close = Some(reason);
                    break;
                }
                Outbound::Joined { .. }
                | Outbound::Refused(_)
                | Outbound::Gmcp { .. }
                | Outbound::Setting { .. } => {}
            }
        }
        if !frames.is_empty() && send.write_all(&frames).await.is_err() {
            return CloseCode::Normal;
        }
        match close {
            None => {}
            Some(CloseReason::Quit) => {
                let _ = send.finish();
                return CloseCode::Normal;
            }
            Some(CloseReason::ShuttingDown) => return CloseCode::ShuttingDown,
            Some(CloseReason::TakenOver) => {
                let notice = ServerMessage::Event {
                    kind: EventKind::Info,
                    text: TAKEN_OVER_NOTICE.into(),
                    actor: None,
                    room: None,
                };
                if write_message(&mut send, &notice).await.is_ok() && send.finish().is_ok() {
                    // Give the notice a moment to arrive before the close.
                    let _ = tokio::time::timeout(Duration::from_millis(500), send.stopped()).await;
                }
                return CloseCode::TakenOver;
            }
        }
    }
}

/// What a session taken over by a login elsewhere reads last.
pub const TAKEN_OVER_NOTICE: &str = "Someone else has logged in as you. Goodbye.";

/// A world event as a wire event.
pub fn event_message(event: &TextEvent) -> ServerMessage {
    let (kind, actor, room) = match event {
        TextEvent::Room(v) => (EventKind::Room, None, Some(v.key.clone())),
        TextEvent::Arrived { name, room, .. } => {
            (EventKind::Arrive, Some(name.clone()), Some(room.clone()))
        }
        TextEvent::Departed { name, room, .. } => {
            (EventKind::Depart, Some(name.clone()), Some(room.clone()))
        }
        TextEvent::Said { speaker, room, .. } => {
            (EventKind::Say, Some(speaker.clone()), Some(room.clone()))
        }
        TextEvent::Who { .. } | TextEvent::WhoAll(_) => (EventKind::Who, None, None),
        TextEvent::Chat { from, .. } => (EventKind::Info, Some(from.clone()), None),
        TextEvent::Told { from, .. } => (EventKind::Info, Some(from.clone()), None),
        TextEvent::Emote { name, room, .. } => {
            (EventKind::Info, Some(name.clone()), Some(room.clone()))
        }
        TextEvent::Info(_) => (EventKind::Info, None, None),
        TextEvent::Error(_) => (EventKind::Error, None, None),
    };
    ServerMessage::Event {
        kind,
        text: gsp_engine::text::render_plain(event),
        actor,
        room,
    }
}
