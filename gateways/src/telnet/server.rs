//! The async shell of the telnet gateway.
//!
//! One task per connection: banner, login, then a loop that reads bytes
//! into the [`TelnetSession`], hands complete lines to the world, and writes
//! the world's events back, everything waiting in one write. Every wait has a deadline: the login, idle
//! players, and writes to a client that stopped reading.
//!
//! The login conversation is the [`LoginFlow`] state machine; this shell
//! only carries out its actions: text and prompts to the socket, echo off
//! and on through the codec's option negotiation (IAC WILL ECHO / WONT
//! ECHO), questions to the [`AccountService`] and the world, all within
//! [`TelnetConfig::login_timeout`].

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use gsp_engine::{AccountError, AccountService, CloseReason, Outbound, SendError, WorldHandle};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::{timeout, Instant};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::quic::cert::ServerIdentity;

use super::gmcp;
use super::login::{Action, Input as LoginInput, LoginConfig, LoginFlow, Request, MAX_TRIES};
use super::mssp::MsspInfo;
use super::prompt::PromptContext;
use super::protocol::opt;
use super::render::{render_with, ColourDepth, ERROR, RESET, TITLE};
use super::session::{Input, SessionConfig, TelnetSession};

/// Settings of the telnet gateway.
#[derive(Clone)]
pub struct TelnetConfig {
    /// Longest input line, in bytes.
    pub max_line_bytes: usize,
    /// A player who sends nothing for this long is disconnected.
    pub idle_timeout: Duration,
    /// Time allowed to log in (every prompt and every answer of the
    /// account service together).
    pub login_timeout: Duration,
    /// A write that cannot complete in this time means the client stopped
    /// reading; the connection is closed.
    pub write_timeout: Duration,
    /// Connections served at once; more are told to come back later.
    pub max_connections: usize,
    /// The account service; `None` makes every player a guest who only
    /// chooses a name.
    pub accounts: Option<Arc<dyn AccountService>>,
    /// With accounts: whether `guest <name>` is offered at the login.
    pub allow_guests: bool,
    /// The world's name: MSSP's `NAME`, GMCP's `area`.
    pub world_name: String,
    /// The host name MSSP gives crawlers (default: the listener's address).
    pub hostname: Option<String>,
    /// The port MSSP gives (default: the listener's; a proxy in front of
    /// the world sets its own).
    pub public_port: Option<u16>,
    /// The TLS telnet port MSSP gives, if there is one.
    pub tls_port: Option<u16>,
}

impl std::fmt::Debug for TelnetConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelnetConfig")
            .field("max_line_bytes", &self.max_line_bytes)
            .field("idle_timeout", &self.idle_timeout)
            .field("login_timeout", &self.login_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("max_connections", &self.max_connections)
            .field("accounts", &self.accounts.is_some())
            .field("allow_guests", &self.allow_guests)
            .field("world_name", &self.world_name)
            .field("hostname", &self.hostname)
            .field("public_port", &self.public_port)
            .field("tls_port", &self.tls_port)
            .finish()
    }
}

impl Default for TelnetConfig {
    fn default() -> Self {
        TelnetConfig {
            max_line_bytes: 1024,
            idle_timeout: Duration::from_secs(30 * 60),
            login_timeout: Duration::from_secs(120),
            write_timeout: Duration::from_secs(10),
            max_connections: 4096,
            accounts: None,
            allow_guests: true,
            world_name: "gsp".into(),
            hostname: None,
            public_port: None,
            tls_port: None,
        }
    }
}

const BANNER: &str = "
   ____ ____  ____
  / ___/ ___||  _ \\
 | |  _\\___ \\| |_) |
 | |_| |___) |  __/
  \\____|____/|_|

";

/// The most messages from the world one write carries.
const BATCH: usize = 256;

const SHUTDOWN_NOTICE: &str = "The world is shutting down. Goodbye.\n";

/// What a player reads when the same account logs in elsewhere.
pub const TAKEN_OVER_NOTICE: &str = "Someone else has logged in as you. Goodbye.\n";

/// Accepts telnet connections until `shutdown` is cancelled.
pub async fn serve(
    listener: TcpListener,
    world: WorldHandle,
    config: TelnetConfig,
    shutdown: CancellationToken,
) {
    accept_loop(listener, world, config, None, shutdown).await
}

/// Accepts telnet-over-TLS connections (as Mudlet 4 speaks it) until
/// `shutdown` is cancelled; each connection's handshake must finish within
/// [`TLS_HANDSHAKE_TIMEOUT`].
pub async fn serve_tls(
    listener: TcpListener,
    world: WorldHandle,
    config: TelnetConfig,
    acceptor: TlsAcceptor,
    shutdown: CancellationToken,
) {
    accept_loop(listener, world, config, Some(acceptor), shutdown).await
}

/// How long a TLS client may take over its handshake.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS acceptor for the world's certificate (the QUIC one): TLS 1.2 and 1.3.
pub fn tls_acceptor(identity: &ServerIdentity) -> Result<TlsAcceptor, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(identity.chain.clone(), identity.key.clone_key())?;
    Ok(TlsAcceptor::from(Arc::new(tls)))
}

async fn accept_loop(
    listener: TcpListener,
    world: WorldHandle,
    config: TelnetConfig,
    tls: Option<TlsAcceptor>,
    shutdown: CancellationToken,
) {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(config.max_connections));
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, don't spin.
                    tracing::warn!(error = %e, "telnet accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            if tls.is_none() {
                tokio::spawn(async move {
                    let mut stream = stream;
                    let _ = timeout(
                        Duration::from_secs(2),
                        stream.write_all(b"The world is full of connections; try again later.\r\n"),
                    )
                    .await;
                });
            }
            continue;
        };
        let world = world.clone();
        let config = config.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        let local = stream.local_addr().unwrap_or(peer);
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            let listing = Listing {
                world: world.clone(),
                local,
            };
            let ended = match tls {
                None => {
                    Connection::new(stream, peer, &config, listing)
                        .run(world, shutdown)
                        .await
                }
                Some(acceptor) => {
                    match timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            Connection::new(stream, peer, &config, listing)
                                .run(world, shutdown)
                                .await
                        }
                        Ok(Err(e)) => Err(ConnError::Handshake(e.to_string())),
                        Err(_) => Err(ConnError::Handshake("timed out".into())),
                    }
                }
            };
            match ended {
                Ok(()) => tracing::debug!(%peer, "telnet connection closed"),
                Err(e) => tracing::debug!(%peer, error = %e, "telnet connection ended"),
            }
        });
    }
}

/// Serves one text player who arrived another way than a telnet socket
/// (the browser gateway's WebSocket, bridged to a byte stream): the same
/// session, login and world as a telnet player's.
pub(crate) async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    peer: SocketAddr,
    local: SocketAddr,
    world: WorldHandle,
    config: TelnetConfig,
    shutdown: CancellationToken,
) {
    let listing = Listing {
        world: world.clone(),
        local,
    };
    match Connection::new(stream, peer, &config, listing)
        .run(world, shutdown)
        .await
    {
        Ok(()) => tracing::debug!(%peer, "web connection closed"),
        Err(e) => tracing::debug!(%peer, error = %e, "web connection ended"),
    }
}

/// Why a connection ended early.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("client stopped reading")]
    WriteTimeout,
    #[error("TLS handshake: {0}")]
    Handshake(String),
    #[error("peer closed the connection")]
    Eof,
}

/// The world facts a connection reads for MSSP and GMCP.
#[derive(Clone)]
struct Listing {
    world: WorldHandle,
    local: SocketAddr,
}

struct Connection<'a, S> {
    stream: S,
    peer: SocketAddr,
    session: TelnetSession,
    config: &'a TelnetConfig,
    listing: Listing,
    buf: Vec<u8>,
    /// Inputs decoded but not yet used (several can arrive in one read).
    lines: std::collections::VecDeque<Input>,
    /// The character's name, once joined.
    name: String,
    /// The title of the room the player was last shown.
    room: String,
}

impl<'a, S: AsyncRead + AsyncWrite + Unpin> Connection<'a, S> {
    fn new(stream: S, peer: SocketAddr, config: &'a TelnetConfig, listing: Listing) -> Self {
        Connection {
            stream,
            peer,
            session: TelnetSession::new(SessionConfig {
                max_line_bytes: config.max_line_bytes,
            }),
            config,
            listing,
            buf: vec![0; 4096],
            lines: Default::default(),
            name: String::new(),
            room: String::new(),
        }
    }

    /// Writes everything the session has for the socket.
    async fn flush(&mut self) -> Result<(), ConnError> {
        if self.session.has_output() {
            let out = self.session.take_output();
            self.write_raw(&out).await?;
        }
        Ok(())
    }

    async fn write_text(&mut self, text: &str) -> Result<(), ConnError> {
        self.session.send_text(text);
        self.flush().await
    }

    /// The last words: compression ends cleanly, then the socket is flushed.
    async fn write_last(&mut self, text: &str) -> Result<(), ConnError> {
        self.session.send_text(text);
        self.session.finish();
        self.flush().await
    }

    async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        let write = async {
            self.stream.write_all(bytes).await?;
            self.stream.flush().await
        };
        match timeout(self.config.write_timeout, write).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(ConnError::WriteTimeout),
        }
    }

    async fn prompt(&mut self, text: &str) -> Result<(), ConnError> {
        self.session.send_prompt(text);
        self.flush().await
    }

    /// The MSSP table, from the world as it is now.
    fn mssp_info(&self) -> MsspInfo {
        let stats = self.listing.world.stats();
        let uptime = stats.snapshot().uptime_secs;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        MsspInfo {
            name: self.config.world_name.clone(),
            players: stats.players_online(),
            started_unix: (now - uptime).max(0.0) as u64,
            hostname: self
                .config
                .hostname
                .clone()
                .unwrap_or_else(|| self.listing.local.ip().to_string()),
            port: self.config.public_port.unwrap_or(self.listing.local.port()),
            tls_port: self.config.tls_port,
        }
    }

    /// Reads until the session has an input, or the deadline passes (`None`).
    async fn next_event(&mut self, deadline: Instant) -> Result<Option<Input>, ConnError> {
        loop {
            if let Some(e) = self.lines.pop_front() {
                return Ok(Some(e));
            }
            let read = tokio::time::timeout_at(deadline, self.stream.read(&mut self.buf)).await;
            let n = match read {
                Err(_) => return Ok(None),
                Ok(Ok(0)) => return Err(ConnError::Eof),
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Err(e.into()),
            };
            for input in self.session.receive(&self.buf[..n]) {
                match input {
                    Input::MsspWanted => {
                        let info = self.mssp_info();
                        self.session.send_mssp(&info);
                    }
                    other => self.lines.push_back(other),
                }
            }
            self.flush().await?;
        }
    }

    /// What a GMCP client learns on entering the world.
    fn greet_gmcp(&mut self) {
        let name = self.name.clone();
        let area = self.config.world_name.clone();
        self.session.send_gmcp("Char.Name", &gmcp::char_name(&name));
        self.session
            .send_gmcp("Char.Status", &gmcp::char_status(&name, &area, None));
        self.session.send_gmcp(
            "Comm.Channel.List",
            &gmcp::channel_list(gsp_engine::bus::CHANNELS),
        );
    }

    /// One message from the world, into the session's output.
    fn show(&mut self, event: &gsp_engine::TextEvent) {
        if let gsp_engine::TextEvent::Room(view) = event {
            self.room.clone_from(&view.title);
        }
        if self.session.enabled(opt::GMCP) {
            for (package, data) in gmcp::for_event(event, &self.name, &self.config.world_name) {
                self.session.send_gmcp(package, &data);
            }
        }
        let palette = self.session.palette();
        self.session.send_text(&render_with(event, &palette));
    }

    /// The in-game prompt after a burst of output, if the player has one.
    fn end_burst(&mut self) {
        if self.session.prompts_shown() {
            let text = self.session.prompt.render(&PromptContext {
                room: &self.room,
                players: self.listing.world.stats().players_online(),
                name: &self.name,
            });
            self.session.send_prompt(&text);
        }
    }

    async fn run(
        &mut self,
        world: WorldHandle,
        shutdown: CancellationToken,
    ) -> Result<(), ConnError> {
        self.session.start();
        self.write_text(&format!(
            "{TITLE}{BANNER}{RESET}Welcome to GSP, a world shared by text and 3D players.\n\n"
        ))
        .await?;
        let Some(session) = self.login(&world).await? else {
            self.session.finish();
            let _ = self.flush().await;
            return Ok(());
        };
        tracing::info!(peer = %self.peer, session = %session.id, "telnet player joined");
        let gsp_engine::Session {
            sender,
            mut receiver,
            ..
        } = session;
        self.greet_gmcp();
        let mut idle_deadline = Instant::now() + self.config.idle_timeout;
        let mut told_too_fast = false;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    let _ = self.write_last(SHUTDOWN_NOTICE).await;
                    return Ok(());
                }
                taken = receiver.recv_batch(&mut batch, BATCH) => {
                    if taken == 0 {
                        let _ = self
                            .write_last(&format!("{ERROR}Disconnected: you fell too far behind.{RESET}\n"))
                            .await;
                        return Ok(());
                    }
                    // Everything waiting, rendered into one write.
                    let mut close = None;
                    let mut shown = false;
                    for message in batch.drain(..) {
                        match message {
                            Outbound::Text(event) => {
                                self.show(&event);
                                shown = true;
                            }
                            Outbound::Gmcp { package, json } => {
                                self.session.send_gmcp_json(&package, &json);
                            }
                            Outbound::Setting { key, value } if key == "color" => {
                                self.session.set_colour_choice(ColourDepth::parse(&value));
                            }
                            Outbound::Closed(reason) => {
                                close = Some(reason);
                                break;
                            }
                            _ => {}
                        }
                    }
                    match close {
                        None => {
                            if shown {
                                self.end_burst();
                            }
                            self.flush().await?;
                        }
                        Some(reason) => {
                            let last = match reason {
                                CloseReason::Quit => "",
                                CloseReason::TakenOver => TAKEN_OVER_NOTICE,
                                CloseReason::ShuttingDown => SHUTDOWN_NOTICE,
                            };
                            let _ = self.write_last(last).await;
                            return Ok(());
                        }
                    }
                }
                event = self.next_event(idle_deadline) => match event? {
                    None => {
                        self.write_last("You have been idle too long. Goodbye.\n").await?;
                        return Ok(());
                    }
                    Some(Input::Line(line)) => {
                        idle_deadline = Instant::now() + self.config.idle_timeout;
                        if line.trim().is_empty() {
                            continue;
                        }
                        if let Some(args) = config_args(&line).filter(|a| !kept_with_character(a)) {
                            let answer = self.session.configure(args);
                            self.session.send_text(&format!("{answer}\n"));
                            self.end_burst();
                            self.flush().await?;
                            continue;
                        }
                        match sender.command(line) {
                            Ok(()) => told_too_fast = false,
                            Err(SendError::RateLimited) => {
                                if !told_too_fast {
                                    told_too_fast = true;
                                    self.write_text(&format!("{ERROR}You are typing too fast; that was ignored.{RESET}\n")).await?;
                                }
                            }
                            Err(SendError::Busy) => {
                                self.write_text(&format!("{ERROR}The world is busy; try again.{RESET}\n")).await?;
                            }
                            Err(SendError::Stopped) => return Ok(()),
                        }
                    }
                    Some(Input::LineTooLong { max_bytes }) => {
                        idle_deadline = Instant::now() + self.config.idle_timeout;
                        self.write_text(&format!(
                            "{ERROR}That line is too long (over {max_bytes} bytes) and was ignored.{RESET}\n"
                        ))
                        .await?;
                    }
                    Some(_) => {}
                },
            }
        }
    }

    /// Runs the login conversation. `None` if the player left, took too
    /// long, or ran out of tries.
    async fn login(
        &mut self,
        world: &WorldHandle,
    ) -> Result<Option<gsp_engine::Session>, ConnError> {
        let deadline = Instant::now() + self.config.login_timeout;
        let mut flow = LoginFlow::new(LoginConfig {
            accounts: self.config.accounts.is_some(),
            allow_guests: self.config.allow_guests,
            max_tries: MAX_TRIES,
        });
        let mut session = None;
        let mut actions = flow.start();
        loop {
            let mut request = None;
            for action in actions {
                match action {
                    Action::Write(text) => self.write_text(&text).await?,
                    Action::Prompt(text) => self.prompt(&text).await?,
                    Action::EchoOff => self.set_echo(false).await?,
                    Action::EchoOn => self.set_echo(true).await?,
                    Action::Request(r) => {
                        if let Request::Join(join) = &r {
                            self.name.clone_from(&join.name);
                        }
                        request = Some(r);
                    }
                    Action::Done => return Ok(session),
                    Action::Close => return Ok(None),
                }
            }
            let input = match request {
                Some(request) => self.ask(request, world, deadline, &mut session).await,
                None => self.next_login_input(deadline).await?,
            };
            actions = flow.handle(input);
        }
    }

    /// Client echo on or off, through the codec's option negotiation: the
    /// server offers to echo (IAC WILL ECHO) and does not, so the password
    /// stays off the screen; IAC WONT ECHO gives echo back to the client.
    async fn set_echo(&mut self, on: bool) -> Result<(), ConnError> {
        self.session.set_echo(on);
        self.flush().await
    }

    /// The next line (or the deadline) at a login prompt.
    async fn next_login_input(&mut self, deadline: Instant) -> Result<LoginInput, ConnError> {
        loop {
            match self.next_event(deadline).await? {
                None => return Ok(LoginInput::TimedOut),
                Some(Input::Line(line)) => return Ok(LoginInput::Line(line)),
                Some(Input::LineTooLong { .. }) => return Ok(LoginInput::LineTooLong),
                Some(_) => {}
            }
        }
    }

    /// Asks the account service or the world, within the login deadline.
    /// A world that accepts the player leaves the session in `session`.
    async fn ask(
        &self,
        request: Request,
        world: &WorldHandle,
        deadline: Instant,
        session: &mut Option<gsp_engine::Session>,
    ) -> LoginInput {
        let peer = self.peer;
        let ip = peer.ip().to_canonical();
        let accounts = self.config.accounts.as_deref();
        let call = async {
            let Some(service) = accounts else {
                if let Request::Join(join) = request {
                    return joined(world.join_as(join).await, session);
                }
                // The flow asks the service only when there is one.
                let none = AccountError::Unavailable("no account service".into());
                return LoginInput::Login(Err(none));
            };
            match request {
                Request::Exists { name } => LoginInput::Exists(service.exists(&name).await),
                Request::Connect { name, password } => {
                    let result = service.connect(&name, password.expose(), ip).await;
                    log_login(peer, &name, "connect", &result);
                    LoginInput::Login(result)
                }
                Request::Create { name, password } => {
                    let result = service.create(&name, password.expose(), ip).await;
                    log_login(peer, &name, "create", &result);
                    LoginInput::Login(result)
                }
                Request::Join(join) => joined(world.join_as(join).await, session),
            }
        };
        let input = tokio::time::timeout_at(deadline, call)
            .await
            .unwrap_or(LoginInput::TimedOut);
        if let LoginInput::Exists(Err(AccountError::Unavailable(detail))) = &input {
            tracing::warn!(%peer, %detail, "account service unavailable");
        }
        input
    }
}

/// The world's answer to a join as the flow's input; the session is kept.
fn joined(
    result: Result<gsp_engine::Session, gsp_engine::JoinError>,
    session: &mut Option<gsp_engine::Session>,
) -> LoginInput {
    match result {
        Ok(s) => {
            *session = Some(s);
            LoginInput::Joined(Ok(()))
        }
        Err(e) => LoginInput::Joined(Err(e)),
    }
}

/// The arguments of a `config` line, if it is one (handled by the
/// gateway: the settings are the connection's).
fn config_args(line: &str) -> Option<&str> {
    let line = line.trim();
    let (verb, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    verb.eq_ignore_ascii_case("config").then_some(rest.trim())
}

/// Whether `config <args>` changes a setting the world keeps with the
/// character (`config color 256`): those lines go to the world, which
/// answers with [`Outbound::Setting`].
fn kept_with_character(args: &str) -> bool {
    let mut words = args.split_whitespace();
    matches!(words.next(), Some(w) if w.eq_ignore_ascii_case("color") || w.eq_ignore_ascii_case("colour"))
        && words.next().is_some()
}

/// Logs a login attempt's outcome (never the password).
fn log_login(
    peer: SocketAddr,
    name: &str,
    what: &str,
    result: &Result<gsp_engine::Login, AccountError>,
) {
    match result {
        Ok(login) => {
            tracing::info!(%peer, account = %login.account, name = %login.name, what, "telnet login")
        }
        Err(AccountError::Unavailable(detail)) => {
            tracing::warn!(%peer, %name, what, %detail, "account service unavailable")
        }
        Err(e) => tracing::debug!(%peer, %name, what, error = %e, "telnet login refused"),
    }
}
