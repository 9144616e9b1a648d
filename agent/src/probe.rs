//! Asking a running game about itself, over its own protocol: whether its
//! TCP port accepts, a Minecraft status ping, Steam's A2S_INFO,
//! Satisfactory's server query. The agent uses these to know when a game
//! is ready and how many players it has. The protocols are
//! [`gsp_proxy::games`]' codecs; this module is their I/O.

use std::net::SocketAddr;
use std::time::Duration;

use gsp_proxy::games::{a2s, satisfactory, slp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// How long one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_millis(1500);

/// Why a probe got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The network failed (refused, unreachable).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No answer in time.
    #[error("no answer within {PROBE_TIMEOUT:?}")]
    Timeout,
    /// An answer that is not the protocol's.
    #[error("a bad answer: {0}")]
    Bad(String),
}

async fn timed<T>(
    f: impl std::future::Future<Output = Result<T, ProbeError>>,
) -> Result<T, ProbeError> {
    tokio::time::timeout(PROBE_TIMEOUT, f)
        .await
        .map_err(|_| ProbeError::Timeout)?
}

/// Whether `addr` accepts a TCP connection.
pub async fn tcp_accepts(addr: SocketAddr) -> Result<(), ProbeError> {
    timed(async { Ok(TcpStream::connect(addr).await.map(drop)?) }).await
}

/// Players online and slots, from a Minecraft status ping.
pub async fn minecraft(addr: SocketAddr) -> Result<slp::Players, ProbeError> {
    timed(async {
        let mut s = TcpStream::connect(addr).await?;
        let host = addr.ip().to_string();
        s.write_all(&slp::client_status(&host, addr.port(), 767))
            .await?;
        let mut decoder = slp::Decoder::new(slp::MAX_STATUS_RESPONSE);
        let mut buf = [0u8; 4096];
        loop {
            if let Some(f) = decoder
                .next_frame()
                .map_err(|e| ProbeError::Bad(e.to_string()))?
            {
                let status =
                    slp::parse_status_response(&f).map_err(|e| ProbeError::Bad(e.to_string()))?;
                return Ok(status.players);
            }
            let n = s.read(&mut buf).await?;
            if n == 0 {
                return Err(ProbeError::Bad("closed before its status".into()));
            }
            decoder.feed(&buf[..n]);
        }
    })
    .await
}

async fn udp_to(addr: SocketAddr) -> Result<UdpSocket, ProbeError> {
    let local: SocketAddr = if addr.is_ipv4() {
        ([127, 0, 0, 1], 0).into()
    } else {
        (std::net::Ipv6Addr::LOCALHOST, 0).into()
    };
    let s = UdpSocket::bind(local).await?;
    s.connect(addr).await?;
    Ok(s)
}

/// What a server says to A2S_INFO (answering its challenge if it sets one).
pub async fn a2s(addr: SocketAddr) -> Result<a2s::Info, ProbeError> {
    timed(async {
        let s = udp_to(addr).await?;
        let mut buf = vec![0u8; 1400];
        let mut challenge = None;
        for _ in 0..3 {
            s.send(&a2s::info_request(challenge)).await?;
            let n = s.recv(&mut buf).await?;
            if let Some(c) = a2s::parse_challenge(&buf[..n]) {
                challenge = Some(c);
                continue;
            }
            return a2s::parse_info(&buf[..n]).map_err(|e| ProbeError::Bad(e.to_string()));
        }
        Err(ProbeError::Bad("challenged again and again".into()))
    })
    .await
}

/// What a Satisfactory server says to a Poll Server State.
pub async fn satisfactory(addr: SocketAddr) -> Result<satisfactory::ServerState, ProbeError> {
    timed(async {
        let s = udp_to(addr).await?;
        let cookie = 0x6773_7021_u64;
        s.send(&satisfactory::poll(cookie)).await?;
        let mut buf = vec![0u8; 1400];
        loop {
            let n = s.recv(&mut buf).await?;
            match satisfactory::parse_state(&buf[..n]) {
                Some(state) if state.cookie == cookie => return Ok(state),
                _ => continue,
            }
        }
    })
    .await
}

/// How often a game that is not ready yet is probed.
pub const PROBE_EVERY: Duration = Duration::from_millis(100);

/// Resolves once the game answers as `ready` says, on its listeners `at`
/// (probed every [`PROBE_EVERY`]). Readiness that is not a probe
/// (`listening` lines, a log line) is the runtime's: this never resolves
/// for it.
pub async fn until_ready(
    ready: &gsp_agent_api::Ready,
    at: &std::collections::BTreeMap<String, SocketAddr>,
) {
    use gsp_agent_api::Ready;
    let addr = |port: &str| at.get(port).copied();
    loop {
        let answered = match ready {
            Ready::TcpPort { port } => match addr(port) {
                Some(a) => tcp_accepts(a).await.is_ok(),
                None => false,
            },
            Ready::MinecraftSlp { port } => match addr(port) {
                Some(a) => minecraft(a).await.is_ok(),
                None => false,
            },
            Ready::A2s { port } => match addr(port) {
                Some(a) => a2s(a).await.is_ok(),
                None => false,
            },
            Ready::SatisfactoryQuery { port } => match addr(port) {
                Some(a) => satisfactory(a).await.is_ok(),
                None => false,
            },
            Ready::Listening | Ready::LogLine { .. } => std::future::pending().await,
        };
        if answered {
            return;
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
