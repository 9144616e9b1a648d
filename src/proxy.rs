//! `gsp proxy`: a standalone wake-on-connect proxy in front of one world
//! (a sidecar). Node agents run the same proxy for each of their servers
//! without it.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use crate::agent::PlatformLink;
use anyhow::Context;
use clap::Args;
use gsp_agent_api::PlatformClient;
use gsp_gateways::CancellationToken;
use gsp_proxy::{Phase, PlatformWake, WakeGate};

/// The proxy's flags.
#[derive(Debug, Args)]
pub struct ProxyArgs {
    // The platform, asked to wake the world, and the token of the node the
    // world is placed on.
    #[command(flatten)]
    link: PlatformLink,
    /// The world's server id on the platform.
    #[arg(long, value_name = "ID")]
    server: i64,
    /// The public telnet listener (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:4000")]
    telnet: SocketAddr,
    /// The public QUIC (UDP) listener.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:4433")]
    quic: SocketAddr,
    /// The world's telnet listener.
    #[arg(long, value_name = "ADDR")]
    upstream_telnet: SocketAddr,
    /// The world's QUIC listener.
    #[arg(long, value_name = "ADDR")]
    upstream_quic: SocketAddr,
    /// Seconds a client is held while the world wakes.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    hold: f64,
}

/// Runs `gsp proxy` until SIGINT or SIGTERM.
pub fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gsp-proxy")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: ProxyArgs) -> anyhow::Result<()> {
    let upstreams = BTreeMap::from([
        ("telnet".to_owned(), args.upstream_telnet),
        ("quic".to_owned(), args.upstream_quic),
    ]);
    // Up already? Then clients go straight through; if it sleeps later,
    // the first refused connection wakes it.
    let probe = tokio::time::timeout(
        Duration::from_secs(1),
        tokio::net::TcpStream::connect(args.upstream_telnet),
    )
    .await;
    let phase = match probe {
        Ok(Ok(_)) => Phase::Awake(upstreams.clone()),
        _ => Phase::Asleep,
    };
    let hold = Duration::try_from_secs_f64(args.hold).context("--hold is a number of seconds")?;
    let platform = PlatformClient::new(
        gsp_agent_api::http_client(),
        &args.link.platform,
        &args.link.token,
    );
    let source = PlatformWake::new(platform, args.server, Some(upstreams));
    let gate = WakeGate::new(phase, hold, std::sync::Arc::new(source));
    let telnet = tokio::net::TcpListener::bind(args.telnet)
        .await
        .with_context(|| format!("binding telnet to {}", args.telnet))?;
    let quic = tokio::net::UdpSocket::bind(args.quic)
        .await
        .with_context(|| format!("binding QUIC to {}", args.quic))?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening telnet={}", telnet.local_addr()?)?;
        writeln!(out, "listening quic={}", quic.local_addr()?)?;
        out.flush()?;
    }
    let shutdown = CancellationToken::new();
    let tasks = [
        tokio::spawn(gsp_proxy::tcp::serve(
            telnet,
            gate.clone(),
            gsp_proxy::tcp::TcpOptions {
                listener: "telnet".into(),
                telnet: true,
                minecraft: None,
            },
            shutdown.clone(),
        )),
        tokio::spawn(gsp_proxy::udp::serve(
            quic,
            gate,
            gsp_proxy::udp::UdpOptions {
                listener: "quic".into(),
                asleep: None,
            },
            shutdown.clone(),
        )),
    ];
    crate::world::wait_for_signal().await?;
    shutdown.cancel();
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}
