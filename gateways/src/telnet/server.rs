//! The async shell of the telnet gateway.
//!
//! One task per connection: banner, name prompt, join, then a loop that
//! reads bytes into the [`TelnetCodec`], hands complete lines to the world,
//! and writes the world's events back. Every wait has a deadline: the name
//! prompt, idle players, and writes to a client that stopped reading.

use std::net::SocketAddr;
use std::time::Duration;

use gsp_engine::{
    CloseReason, GatewayKind, JoinError, Outbound, RefusalReason, SendError, WorldHandle,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;

use super::protocol::{CodecConfig, TelnetCodec, TelnetEvent};
use super::render::{render, ERROR, RESET, TITLE};

/// Settings of the telnet gateway.
#[derive(Debug, Clone)]
pub struct TelnetConfig {
    /// Longest input line, in bytes.
    pub max_line_bytes: usize,
    /// A player who sends nothing for this long is disconnected.
    pub idle_timeout: Duration,
    /// Time allowed to choose a name.
    pub login_timeout: Duration,
    /// A write that cannot complete in this time means the client stopped
    /// reading; the connection is closed.
    pub write_timeout: Duration,
    /// Connections served at once; more are told to come back later.
    pub max_connections: usize,
}

impl Default for TelnetConfig {
    fn default() -> Self {
        TelnetConfig {
            max_line_bytes: 1024,
            idle_timeout: Duration::from_secs(30 * 60),
            login_timeout: Duration::from_secs(120),
            write_timeout: Duration::from_secs(10),
            max_connections: 4096,
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

const SHUTDOWN_NOTICE: &str = "The world is shutting down. Goodbye.\n";

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
        loop {
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => {
                    let _ = self.write_text(SHUTDOWN_NOTICE).await;
                    return Ok(());
                }
                message = receiver.recv() => match message {
                    Some(Outbound::Text(event)) => self.write_text(&render(&event)).await?,
                    Some(Outbound::Closed(CloseReason::Quit)) => return Ok(()),
                    Some(Outbound::Closed(CloseReason::TakenOver)) => {
                        let _ = self.write_text("Someone else has logged in as you. Goodbye.\n").await;
                        return Ok(());
                    }
                    Some(Outbound::Closed(CloseReason::ShuttingDown)) => {
                        let _ = self.write_text(SHUTDOWN_NOTICE).await;
                        return Ok(());
                    }
                    Some(_) => {}
                    None => {
                        let _ = self
                            .write_text(&format!("{ERROR}Disconnected: you fell too far behind.{RESET}\n"))
                            .await;
                        return Ok(());
                    }
                },
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

    /// Asks for a name until the world accepts one. `None` if the player
    /// left or took too long.
    async fn login(
        &mut self,
        world: &WorldHandle,
    ) -> Result<Option<gsp_engine::Session>, ConnError> {
        let deadline = Instant::now() + self.config.login_timeout;
        for _ in 0..10 {
            self.prompt("By what name do you wish to be known? ")
                .await?;
            let name = loop {
                match self.next_event(deadline).await? {
                    None => {
                        self.write_text("\nToo slow. Goodbye.\n").await?;
                        return Ok(None);
                    }
                    Some(TelnetEvent::Line(line)) => break line.trim().to_owned(),
                    Some(TelnetEvent::LineTooLong { .. }) => {
                        self.write_text("That is far too long for a name.\n")
                            .await?;
                    }
                    Some(_) => {}
                }
            };
            if name.is_empty() {
                continue;
            }
            if name.eq_ignore_ascii_case("quit") {
                self.write_text("Goodbye.\n").await?;
                return Ok(None);
            }
            match world.join(&name, GatewayKind::Telnet).await {
                Ok(session) => return Ok(Some(session)),
                Err(JoinError::Refused(
                    reason @ (RefusalReason::BadName | RefusalReason::NameTaken),
                )) => {
                    self.write_text(&format!("Sorry, {reason}.\n")).await?;
                }
                Err(JoinError::Refused(reason)) => {
                    self.write_text(&format!("Sorry, {reason}.\n")).await?;
                    return Ok(None);
                }
                Err(e) => {
                    self.write_text(&format!("Sorry: {e}.\n")).await?;
                    return Ok(None);
                }
            }
        }
        self.write_text("Too many tries. Goodbye.\n").await?;
        Ok(None)
    }
}
