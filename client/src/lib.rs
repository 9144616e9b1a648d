//! The GSP client SDK: everything a graphical client or a bot needs to play.
//!
//! It runs in the player's process: `gsp play` (the 3D client) and `gsp bot`
//! (the swarm for tests and load), and in the integration tests, which
//! connect to a world over loopback.
//!
//! [`Client::connect`] opens a QUIC connection (ALPN `gsp/1`), says hello
//! with a name, and waits for the server's welcome. That joins as a guest;
//! [`Client::connect_as`] with [`ConnectOptions`] logs in to an account
//! instead (a password, or the resume token [`Client::token`] handed out by
//! an earlier welcome), or creates one. Then:
//!
//! * [`Client::send_input`] sends a movement input as a datagram, once per
//!   tick; each datagram repeats the previous few inputs, so a lost one loses
//!   nothing, and carries the acknowledgements of the snapshots received;
//! * [`Client::command`] sends a typed line (`say hi`, `go north`) on the
//!   reliable stream;
//! * [`Client::next_event`] yields what the server says (the map right
//!   after the welcome, entity names and looks, room descriptions,
//!   arrivals, speech: feed them to a [`scene::Scene`]) and [`Client::next_datagram`] the snapshots, which
//!   [`Client::apply_snapshot`] decodes into the client's [`Replica`].
//!
//! On top of the replica, [`interpolation`] renders other entities smoothly
//! a little behind the server, and [`prediction`] moves the player's own
//! avatar at once from its inputs, reconciling when the server's word arrives.
//!
//! Servers usually run with a self-signed certificate. The client trusts one
//! only when told to ([`Trust::Insecure`]), or pins it by SHA-256
//! fingerprint ([`Trust::Fingerprint`]); checks against a certificate authority are
//! left to deployments with a real certificate authority.
//!
//! [`bot`] runs a swarm of headless clients (graphical and telnet) for tests
//! and load.
//!
//! # Layout
//!
//! - the crate root: [`Client`], connecting, the handshake, inputs, commands, events.
//! - [`prediction`]: the player's own avatar moved at once, reconciled with the server.
//! - [`interpolation`]: other entities drawn smoothly a little in the past.
//! - [`scene`]: the map, entity names and looks, and the text the world sent.
//! - [`bot`]: the swarm of headless bots and its report.
//! - [`telnet_bot`]: one telnet bot of the swarm.
//! - `tls`: when to trust a server's certificate.

pub mod bot;
pub mod interpolation;
pub mod prediction;
pub mod scene;
pub mod telnet_bot;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gsp_protocol::framing::{encode_frame, FrameDecoder};
use gsp_protocol::snapshot::{Quantizer, Receipt, Replica, SnapshotError, SnapshotHeader};
use gsp_protocol::{
    limits, ClientDatagram, ClientMessage, CloseCode, DecodeError, Moves, RefusalCode,
    ServerDatagram, ServerMessage, MAX_INPUTS_PER_DATAGRAM, PROTOCOL_VERSION,
};
use quinn::crypto::rustls::QuicClientConfig;
use tokio::sync::mpsc;

pub use gsp_protocol::Secret;
pub use tls::{fingerprint_hex, parse_fingerprint, Trust};

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Setting up the local endpoint or TLS.
    #[error("client setup: {0}")]
    Setup(String),
    /// The QUIC connection could not be made.
    #[error("connecting: {0}")]
    Connect(#[from] quinn::ConnectError),
    /// The connection failed or was closed.
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    /// Writing to the stream failed.
    #[error("stream: {0}")]
    Write(#[from] quinn::WriteError),
    /// Sending a datagram failed.
    #[error("datagram: {0}")]
    Datagram(#[from] quinn::SendDatagramError),
    /// The server refused the hello.
    #[error("refused ({code:?}): {reason}")]
    Refused {
        /// Why, for programs.
        code: RefusalCode,
        /// Why, for people.
        reason: String,
    },
    /// The server sent something that is not the protocol.
    #[error("bad message from server: {0}")]
    Protocol(String),
    /// The server took too long.
    #[error("timed out waiting for the server")]
    Timeout,
}

impl From<DecodeError> for ClientError {
    fn from(e: DecodeError) -> Self {
        ClientError::Protocol(e.to_string())
    }
}

/// A client-side QUIC endpoint: one UDP socket, any number of connections.
pub fn client_endpoint(trust: &Trust) -> Result<quinn::Endpoint, ClientError> {
    let tls = tls::client_config(trust).map_err(|e| ClientError::Setup(e.to_string()))?;
    let crypto = QuicClientConfig::try_from(tls).map_err(|e| ClientError::Setup(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport
        .keep_alive_interval(Some(Duration::from_secs(5)))
        .datagram_receive_buffer_size(Some(256 * 1024));
    config.transport_config(Arc::new(transport));
    let bind: SocketAddr = "0.0.0.0:0".parse().expect("valid address");
    let mut endpoint =
        quinn::Endpoint::client(bind).map_err(|e| ClientError::Setup(e.to_string()))?;
    endpoint.set_default_client_config(config);
    Ok(endpoint)
}

/// Inputs each datagram repeats by default (the newest and three before it).
pub const INPUT_REDUNDANCY: usize = 4;

/// Who connects, and how they prove it: what [`Client::connect_as`] puts in
/// its hello.
///
/// ```
/// use gsp_client::ConnectOptions;
///
/// let guest = ConnectOptions::guest("ada");
/// let first_time = ConnectOptions::create("ada", "correct horse");
/// let next_time = ConnectOptions::password("ada", "correct horse");
/// let resumed = ConnectOptions::token("saved-token");
/// assert!(first_time.create && !next_time.create);
/// assert!(guest.password.is_none() && resumed.token.is_some());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectOptions {
    /// The name (ignored by the server when a token is given).
    pub name: String,
    /// The account's password.
    pub password: Option<Secret>,
    /// A resume token from an earlier welcome ([`Client::token`]).
    pub token: Option<Secret>,
    /// Create the account `name` with `password` instead of logging in.
    pub create: bool,
    /// The protocol version announced; [`PROTOCOL_VERSION`] unless testing
    /// how servers treat others.
    pub protocol_version: u16,
}

impl ConnectOptions {
    /// Plays as the guest `name`: nothing is saved.
    pub fn guest(name: &str) -> Self {
        ConnectOptions {
            name: name.to_owned(),
            password: None,
            token: None,
            create: false,
            protocol_version: PROTOCOL_VERSION,
        }
    }

    /// Logs in to the account `name`.
    pub fn password(name: &str, password: &str) -> Self {
        ConnectOptions {
            password: Some(Secret::from(password)),
            ..Self::guest(name)
        }
    }

    /// Creates the account `name` and logs in.
    pub fn create(name: &str, password: &str) -> Self {
        ConnectOptions {
            create: true,
            ..Self::password(name, password)
        }
    }

    /// Logs in with a resume token.
    pub fn token(token: &str) -> Self {
        ConnectOptions {
            token: Some(Secret::from(token)),
            ..Self::guest("")
        }
    }

    fn hello(&self) -> ClientMessage {
        ClientMessage::Hello {
            protocol_version: self.protocol_version,
            name: self.name.clone(),
            password: self.password.clone(),
            token: self.token.clone(),
            create: self.create,
        }
    }
}

/// A connected, welcomed player.
pub struct Client {
    connection: quinn::Connection,
    send: quinn::SendStream,
    events: mpsc::Receiver<Result<ServerMessage, ClientError>>,
    /// The session id the server gave us.
    pub session_id: u64,
    /// Our avatar's wire id in snapshots.
    pub entity_id: u32,
    /// Server ticks per second.
    pub tick_rate: u16,
    /// The avatar's walking speed, m/s.
    pub walk_speed: f32,
    token: Option<Secret>,
    replica: Replica,
    sequence: u32,
    /// The newest inputs, newest first.
    recent: Vec<[f32; 2]>,
    redundancy: usize,
    _endpoint: Option<quinn::Endpoint>,
}

impl Client {
    /// Connects to `server` as the guest `name`, with its own endpoint.
    pub async fn connect(
        server: SocketAddr,
        name: &str,
        trust: &Trust,
    ) -> Result<Client, ClientError> {
        Self::connect_as(server, &ConnectOptions::guest(name), trust).await
    }

    /// Connects to `server` as `options` say (a guest, an account, a new
    /// account), with its own endpoint.
    pub async fn connect_as(
        server: SocketAddr,
        options: &ConnectOptions,
        trust: &Trust,
    ) -> Result<Client, ClientError> {
        let endpoint = client_endpoint(trust)?;
        let mut client = Self::connect_with_options(&endpoint, server, options).await?;
        client._endpoint = Some(endpoint);
        Ok(client)
    }

    /// Connects as the guest `name` through an existing endpoint (many
    /// clients can share one).
    pub async fn connect_with(
        endpoint: &quinn::Endpoint,
        server: SocketAddr,
        name: &str,
    ) -> Result<Client, ClientError> {
        Self::connect_with_options(endpoint, server, &ConnectOptions::guest(name)).await
    }

    /// Connects as the guest `name` announcing `protocol_version` instead of
    /// this crate's own: for testing how servers treat other versions.
    pub async fn connect_as_version(
        endpoint: &quinn::Endpoint,
        server: SocketAddr,
        name: &str,
        protocol_version: u16,
    ) -> Result<Client, ClientError> {
        let options = ConnectOptions {
            protocol_version,
            ..ConnectOptions::guest(name)
        };
        Self::connect_with_options(endpoint, server, &options).await
    }

    /// Connects through an existing endpoint as `options` say: a guest, an
    /// account by password or token, or a new account. A refused login is
    /// [`ClientError::Refused`] with the server's code and reason.
    pub async fn connect_with_options(
        endpoint: &quinn::Endpoint,
        server: SocketAddr,
        options: &ConnectOptions,
    ) -> Result<Client, ClientError> {
        let connection = endpoint.connect(server, "localhost")?.await?;
        let (mut send, mut recv) = connection.open_bi().await?;
        write_frame(&mut send, &options.hello()).await?;
        let mut decoder = FrameDecoder::new(limits::MAX_FRAME_BYTES);
        let first =
            tokio::time::timeout(Duration::from_secs(10), read_frame(&mut recv, &mut decoder))
                .await
                .map_err(|_| ClientError::Timeout)??;
        let (session_id, entity_id, tick_rate, quantization, walk_speed, token) = match first {
            Some(ServerMessage::Welcome {
                session_id,
                entity_id,
                tick_rate,
                quantization,
                walk_speed,
                token,
                ..
            }) => (
                session_id,
                entity_id,
                tick_rate,
                quantization,
                walk_speed,
                token,
            ),
            Some(ServerMessage::Refusal { code, reason }) => {
                return Err(ClientError::Refused { code, reason })
            }
            Some(other) => {
                return Err(ClientError::Protocol(format!(
                    "expected a welcome, got {other:?}"
                )))
            }
            None => return Err(ClientError::Protocol("stream closed before welcome".into())),
        };
        let entity_id = u32::try_from(entity_id)
            .map_err(|_| ClientError::Protocol(format!("entity id {entity_id} out of range")))?;
        let quantizer = Quantizer::new(quantization)
            .map_err(|e| ClientError::Protocol(format!("welcome: {e}")))?;
        let (tx, events) = mpsc::channel(1024);
        tokio::spawn(async move {
            loop {
                let item = read_frame(&mut recv, &mut decoder).await;
                let end = !matches!(item, Ok(Some(_)));
                let item = match item {
                    Ok(Some(m)) => Ok(m),
                    Ok(None) => break,
                    Err(e) => Err(e),
                };
                if tx.send(item).await.is_err() || end {
                    break;
                }
            }
        });
        Ok(Client {
            connection,
            send,
            events,
            session_id,
            entity_id,
            tick_rate,
            walk_speed,
            token,
            replica: Replica::new(quantizer),
            sequence: 0,
            recent: Vec::with_capacity(MAX_INPUTS_PER_DATAGRAM),
            redundancy: INPUT_REDUNDANCY,
            _endpoint: None,
        })
    }

    /// The resume token the server's welcome carried (after a password
    /// login or an account creation): keep it and log in next time with
    /// [`ConnectOptions::token`] instead of the password.
    pub fn token(&self) -> Option<&str> {
        self.token.as_ref().map(Secret::expose)
    }

    /// How many inputs each input datagram carries (1 to 8; 4 by default).
    pub fn set_input_redundancy(&mut self, inputs: usize) {
        self.redundancy = inputs.clamp(1, MAX_INPUTS_PER_DATAGRAM);
        self.recent.truncate(self.redundancy);
    }

    /// The quantizer the server's snapshots use.
    pub fn quantizer(&self) -> &Quantizer {
        self.replica.quantizer()
    }

    /// The snapshots received, decoded: [`Replica::latest`] is the newest view.
    pub fn replica(&self) -> &Replica {
        &self.replica
    }

    /// Decodes a snapshot into the replica. Its acknowledgement goes out
    /// with the next input (or [`Client::send_acks`]).
    pub fn apply_snapshot(
        &mut self,
        header: &SnapshotHeader,
        payload: &[u8],
    ) -> Result<Receipt, SnapshotError> {
        self.replica.receive(header, payload)
    }

    /// Sends the snapshot acknowledgements alone (for a client sending no input).
    pub fn send_acks(&self) -> Result<(), ClientError> {
        let (ack, ack_bits) = self.replica.acks();
        let d = ClientDatagram::Ack { ack, ack_bits };
        Ok(self.connection.send_datagram(Bytes::from(d.encode()))?)
    }

    /// Sends a typed line on the reliable stream.
    pub async fn command(&mut self, text: &str) -> Result<(), ClientError> {
        write_frame(
            &mut self.send,
            &ClientMessage::Command {
                text: text.to_owned(),
            },
        )
        .await
    }

    /// Sends the next movement input (one per server tick), with the last
    /// few before it and the snapshot acknowledgements. Returns its sequence
    /// number, for the predictor.
    pub fn send_input(&mut self, move_x: f32, move_z: f32) -> Result<u32, ClientError> {
        self.sequence = self.sequence.wrapping_add(1);
        if self.recent.len() == self.redundancy {
            self.recent.pop();
        }
        self.recent.insert(0, [move_x, move_z]);
        let (ack, ack_bits) = self.replica.acks();
        let d = ClientDatagram::Input {
            sequence: self.sequence,
            moves: Moves::new(&self.recent),
            ack,
            ack_bits,
        };
        self.connection.send_datagram(Bytes::from(d.encode()))?;
        Ok(self.sequence)
    }

    /// Sends a ping; the server answers with a pong carrying `nonce`.
    pub fn ping(&self, nonce: u64) -> Result<(), ClientError> {
        let d = ClientDatagram::Ping { nonce };
        Ok(self.connection.send_datagram(Bytes::from(d.encode()))?)
    }

    /// Sends raw bytes as a datagram: for tests of the server's defences.
    pub fn send_raw_datagram(&self, bytes: Vec<u8>) -> Result<(), ClientError> {
        Ok(self.connection.send_datagram(Bytes::from(bytes))?)
    }

    /// Writes raw bytes to the stream: for tests of the server's defences.
    pub async fn send_raw_stream(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        Ok(self.send.write_all(bytes).await?)
    }

    /// The next message on the reliable stream; `None` once it has ended.
    pub async fn next_event(&mut self) -> Option<Result<ServerMessage, ClientError>> {
        self.events.recv().await
    }

    /// The next message on the reliable stream if one is waiting: for a
    /// game loop that must not block. `None` when none is waiting.
    pub fn try_next_event(&mut self) -> Option<Result<ServerMessage, ClientError>> {
        self.events.try_recv().ok()
    }

    /// The next datagram from the server.
    pub async fn next_datagram(&self) -> Result<ServerDatagram, ClientError> {
        read_datagram(&self.connection).await
    }

    /// A reader of this connection's datagrams that does not borrow the
    /// client, so that datagrams and events can be awaited together.
    pub fn datagrams(&self) -> DatagramReader {
        DatagramReader(self.connection.clone())
    }

    /// Resolves when the connection closes, with the server's close code if
    /// it was one of ours.
    pub async fn closed(&self) -> (Option<CloseCode>, quinn::ConnectionError) {
        let err = self.connection.closed().await;
        let code = match &err {
            quinn::ConnectionError::ApplicationClosed(c) => {
                CloseCode::from_code(c.error_code.into_inner())
            }
            _ => None,
        };
        (code, err)
    }

    /// The SHA-256 fingerprint of the certificate the server presented, as
    /// `gsp world` prints it: what a client trusting on first use remembers.
    pub fn server_fingerprint(&self) -> Option<String> {
        let identity = self.connection.peer_identity()?;
        let chain = identity
            .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
            .ok()?;
        chain.first().map(|c| fingerprint_hex(c.as_ref()))
    }

    /// The underlying connection (statistics, RTT).
    pub fn connection(&self) -> &quinn::Connection {
        &self.connection
    }

    /// Closes the connection politely.
    pub fn close(&self) {
        self.connection
            .close(quinn::VarInt::from_u32(CloseCode::Normal.code()), b"bye");
    }
}

/// Reads a connection's datagrams; see [`Client::datagrams`].
#[derive(Debug, Clone)]
pub struct DatagramReader(quinn::Connection);

impl DatagramReader {
    /// The next datagram from the server.
    pub async fn next_datagram(&self) -> Result<ServerDatagram, ClientError> {
        read_datagram(&self.0).await
    }
}

async fn read_datagram(connection: &quinn::Connection) -> Result<ServerDatagram, ClientError> {
    let bytes = connection.read_datagram().await?;
    Ok(ServerDatagram::decode(&bytes)?)
}

async fn write_frame(
    send: &mut quinn::SendStream,
    message: &ClientMessage,
) -> Result<(), ClientError> {
    let mut frame = Vec::new();
    encode_frame(&message.encode(), &mut frame);
    send.write_all(&frame).await?;
    Ok(())
}

async fn read_frame(
    recv: &mut quinn::RecvStream,
    decoder: &mut FrameDecoder,
) -> Result<Option<ServerMessage>, ClientError> {
    let mut buf = [0u8; 4096];
    loop {
        if let Some(frame) = decoder
            .next_frame()
            .map_err(|e| ClientError::Protocol(e.to_string()))?
        {
            return Ok(Some(ServerMessage::decode(&frame)?));
        }
        match recv.read(&mut buf).await {
            Ok(Some(n)) => decoder.extend(&buf[..n]),
            Ok(None) => return Ok(None),
            Err(quinn::ReadError::ConnectionLost(e)) => return Err(e.into()),
            Err(e) => return Err(ClientError::Protocol(e.to_string())),
        }
    }
}
