//! The async shell of the telnet gateway.
//!
//! One task per connection: banner, login, then a loop that reads bytes
//! into the [`TelnetCodec`], hands complete lines to the world, and writes
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
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::login::{Action, Input, LoginConfig, LoginFlow, Request, MAX_TRIES};
use super::protocol::{opt, CodecConfig, TelnetCodec, TelnetEvent};
use super::render::{render, ERROR, RESET, TITLE};

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
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = timeout(
                    Duration::from_secs(2),
                    stream.write_all(b"The world is full of connections; try again later.\r\n"),
                )
                .await;
            });
            continue;
        };
        let world = world.clone();
        let config = config.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _ = stream.set_nodelay(true);
            let mut conn = Connection::new(stream, peer, &config);
            match conn.run(world, shutdown).await {
                Ok(()) => tracing::debug!(%peer, "telnet connection closed"),
                Err(e) => tracing::debug!(%peer, error = %e, "telnet connection ended"),
            }
        });
    }
}

/// Why a connection ended early.
#[derive(Debug, thiserror::Error)]
enum ConnError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("client stopped reading")]
    WriteTimeout,
    #[error("peer closed the connection")]
    Eof,
}

struct Connection<'a> {
    stream: TcpStream,
    peer: SocketAddr,
    codec: TelnetCodec,
    config: &'a TelnetConfig,
    buf: Vec<u8>,
    /// Lines decoded but not yet used (several can arrive in one read).
    lines: std::collections::VecDeque<TelnetEvent>,
}

impl<'a> Connection<'a> {
    fn new(stream: TcpStream, peer: SocketAddr, config: &'a TelnetConfig) -> Self {
        Connection {
            stream,
            peer,
            codec: TelnetCodec::new(CodecConfig {
                max_line_bytes: config.max_line_bytes,
                ..CodecConfig::default()
            }),
            config,
            buf: vec![0; 4096],
            lines: Default::default(),
        }
    }

    async fn write_text(&mut self, text: &str) -> Result<(), ConnError> {
        let mut out = self.codec.take_output();
        TelnetCodec::encode_text(text, &mut out);
        self.write_raw(&out).await
    }

    async fn write_raw(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        match timeout(self.config.write_timeout, self.stream.write_all(bytes)).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(ConnError::WriteTimeout),
        }
    }

    async fn prompt(&mut self, text: &str) -> Result<(), ConnError> {
        let mut out = self.codec.take_output();
        TelnetCodec::encode_text(text, &mut out);
        self.codec.send_go_ahead();
        out.extend(self.codec.take_output());
        self.write_raw(&out).await
    }

    /// Reads until the codec has an event, or the deadline passes (`None`).
    async fn next_event(&mut self, deadline: Instant) -> Result<Option<TelnetEvent>, ConnError> {
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
            let events = self.codec.receive(&self.buf[..n]);
            self.lines.extend(events);
            if self.codec.has_output() {
                let out = self.codec.take_output();
                self.write_raw(&out).await?;
            }
        }
    }

    async fn run(
        &mut self,
        world: WorldHandle,
        shutdown: CancellationToken,
    ) -> Result<(), ConnError> {
        self.write_text(&format!(
            "{TITLE}{BANNER}{RESET}Welcome to GSP, a world shared by text and 3D players.\n\n"
        ))
        .await?;
        let Some(session) = self.login(&world).await? else {
            return Ok(());
        };
        tracing::info!(peer = %self.peer, session = %session.id, "telnet player joined");
        let gsp_engine::Session {
            sender,
            mut receiver,
            ..
        } = session;
        let mut idle_deadline = Instant::now() + self.config.idle_timeout;
        let mut told_too_fast = false;
        let mut batch = Vec::with_capacity(BATCH);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    let _ = self.write_text(SHUTDOWN_NOTICE).await;
                    return Ok(());
                }
                taken = receiver.recv_batch(&mut batch, BATCH) => {
                    if taken == 0 {
                        let _ = self
                            .write_text(&format!("{ERROR}Disconnected: you fell too far behind.{RESET}\n"))
                            .await;
                        return Ok(());
                    }
                    // Everything waiting, rendered into one write.
                    let mut text = String::new();
                    let mut close = None;
                    for message in batch.drain(..) {
                        match message {
                            Outbound::Text(event) => text.push_str(&render(&event)),
                            Outbound::Closed(reason) => {
                                close = Some(reason);
                                break;
                            }
                            _ => {}
                        }
                    }
                    match close {
                        None => {}
                        Some(CloseReason::Quit) => {}
                        Some(CloseReason::TakenOver) => text.push_str(TAKEN_OVER_NOTICE),
                        Some(CloseReason::ShuttingDown) => text.push_str(SHUTDOWN_NOTICE),
                    }
                    if !text.is_empty() {
                        let written = self.write_text(&text).await;
                        if close.is_none() {
                            written?;
                        }
                    }
                    if close.is_some() {
                        return Ok(());
                    }
                }
                event = self.next_event(idle_deadline) => match event? {
                    None => {
                        self.write_text("You have been idle too long. Goodbye.\n").await?;
                        return Ok(());
                    }
                    Some(TelnetEvent::Line(line)) => {
                        idle_deadline = Instant::now() + self.config.idle_timeout;
                        if line.trim().is_empty() {
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
                    Some(TelnetEvent::LineTooLong { max_bytes }) => {
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
                    Action::Request(r) => request = Some(r),
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
        self.codec.request_local(opt::ECHO, !on);
        if self.codec.has_output() {
            let out = self.codec.take_output();
            self.write_raw(&out).await?;
        }
        Ok(())
    }

    /// The next line (or the deadline) at a login prompt.
    async fn next_login_input(&mut self, deadline: Instant) -> Result<Input, ConnError> {
        loop {
            match self.next_event(deadline).await? {
                None => return Ok(Input::TimedOut),
                Some(TelnetEvent::Line(line)) => return Ok(Input::Line(line)),
                Some(TelnetEvent::LineTooLong { .. }) => return Ok(Input::LineTooLong),
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
    ) -> Input {
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
                return Input::Login(Err(none));
            };
            match request {
                Request::Exists { name } => Input::Exists(service.exists(&name).await),
                Request::Connect { name, password } => {
                    let result = service.connect(&name, password.expose(), ip).await;
                    log_login(peer, &name, "connect", &result);
                    Input::Login(result)
                }
                Request::Create { name, password } => {
                    let result = service.create(&name, password.expose(), ip).await;
                    log_login(peer, &name, "create", &result);
                    Input::Login(result)
                }
                Request::Join(join) => joined(world.join_as(join).await, session),
            }
        };
        let input = tokio::time::timeout_at(deadline, call)
            .await
            .unwrap_or(Input::TimedOut);
        if let Input::Exists(Err(AccountError::Unavailable(detail))) = &input {
            tracing::warn!(%peer, %detail, "account service unavailable");
        }
        input
    }
}

/// The world's answer to a join as the flow's input; the session is kept.
fn joined(
    result: Result<gsp_engine::Session, gsp_engine::JoinError>,
    session: &mut Option<gsp_engine::Session>,
) -> Input {
    match result {
        Ok(s) => {
            *session = Some(s);
            Input::Joined(Ok(()))
        }
        Err(e) => Input::Joined(Err(e)),
    }
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
