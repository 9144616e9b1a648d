//! `gsp world` and `gsp up`: a world server with its three listeners.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gsp_engine::{GameWorld, ReplicationConfig, WorldConfig, WorldMap, WorldRuntime};
use gsp_gateways::quic::{QuicConfig, ServerIdentity};
use gsp_gateways::telnet::TelnetConfig;
use gsp_gateways::CancellationToken;

/// Where a world listens and how it ticks.
#[derive(Debug, Args)]
pub struct WorldArgs {
    /// Telnet listener for text players (port 0 picks a free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "0.0.0.0:4000",
        env = "GSP_TELNET"
    )]
    telnet: SocketAddr,
    /// QUIC listener (UDP) for graphical players.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "0.0.0.0:4433",
        env = "GSP_QUIC"
    )]
    quic: SocketAddr,
    /// HTTP listener for /health, /status and /metrics.
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:4080",
        env = "GSP_HTTP"
    )]
    http: SocketAddr,
    /// Simulation ticks per second.
    #[arg(long, value_name = "N", default_value_t = 30,
          value_parser = clap::value_parser!(u16).range(1..=240))]
    tick_hz: u16,
    /// Directory for the world's files (the self-signed QUIC certificate, saves).
    #[arg(long, value_name = "DIR", default_value = "./data", env = "GSP_DATA")]
    data: PathBuf,
    /// PEM certificate chain for QUIC, instead of the self-signed one.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Players allowed at once, over both gateways.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_players: usize,
    /// Disconnect telnet players idle this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1800)]
    idle_timeout: u64,
    /// How far graphical players see, metres.
    #[arg(long, value_name = "METRES", default_value_t = 60.0)]
    view_radius: f32,
    /// The most entities one graphical player is sent (the nearest).
    #[arg(long, value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    max_interest: u32,
    /// Snapshot bandwidth per graphical player, kbit/s.
    #[arg(long, value_name = "KBPS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(16..=100_000))]
    snapshot_kbps: u32,
}

/// Runs a world until SIGINT or SIGTERM.
pub fn run(args: WorldArgs, up: bool) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gsp-io")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, up))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: WorldArgs, up: bool) -> anyhow::Result<()> {
    let identity =
        ServerIdentity::load_or_create(&args.data, args.cert.as_deref(), args.key.as_deref(), &[])
            .context("loading the QUIC certificate")?;
    if identity.generated {
        tracing::info!(path = %identity.cert_path.display(), "made a self-signed QUIC certificate");
    }
    let fingerprint = identity.fingerprint();

    let config = WorldConfig {
        tick_rate: args.tick_hz,
        max_players: args.max_players,
        replication: ReplicationConfig {
            view_radius: args.view_radius,
            max_interest: args.max_interest as usize,
            bytes_per_second: args.snapshot_kbps * 1000 / 8,
            ..ReplicationConfig::default()
        },
        ..WorldConfig::default()
    };
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid world settings: {e}"))?;
    let mut game_world = GameWorld::new(config, WorldMap::default_world());
    gsp_physics::install(&mut game_world);
    let world = WorldRuntime::start(game_world).context("starting the world thread")?;
    let handle = world.handle();

    let telnet = tokio::net::TcpListener::bind(args.telnet)
        .await
        .with_context(|| format!("binding telnet to {}", args.telnet))?;
    let quic_config = QuicConfig::default();
    let quic = gsp_gateways::quic::endpoint(args.quic, &identity, &quic_config)
        .with_context(|| format!("binding QUIC to {}", args.quic))?;
    let http = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("binding HTTP to {}", args.http))?;
    let telnet_addr = telnet.local_addr()?;
    let quic_addr = quic.local_addr()?;
    let http_addr = http.local_addr()?;

    let shutdown = CancellationToken::new();
    let telnet_config = TelnetConfig {
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        ..TelnetConfig::default()
    };
    let tasks = [
        tokio::spawn(gsp_gateways::telnet::serve(
            telnet,
            handle.clone(),
            telnet_config,
            shutdown.clone(),
        )),
        tokio::spawn(gsp_gateways::quic::serve(
            quic.clone(),
            handle.clone(),
            quic_config,
            shutdown.clone(),
        )),
        tokio::spawn(gsp_gateways::http::serve(
            http,
            gsp_gateways::http::router(handle.clone()),
            shutdown.clone(),
        )),
    ];

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening telnet={telnet_addr}")?;
        writeln!(out, "listening quic={quic_addr}")?;
        writeln!(out, "listening http={http_addr}")?;
        writeln!(out, "quic certificate sha256={fingerprint}")?;
        if up {
            let local = |a: SocketAddr| {
                if a.ip().is_unspecified() {
                    SocketAddr::new([127, 0, 0, 1].into(), a.port())
                } else {
                    a
                }
            };
            let t = local(telnet_addr);
            writeln!(out)?;
            writeln!(out, "GSP is up: the default world is running. Connect with")?;
            writeln!(out, "  text:      telnet {} {}", t.ip(), t.port())?;
            writeln!(
                out,
                "  graphical: gsp bot --server {} --pin {fingerprint} --count 5 --duration 30",
                local(quic_addr)
            )?;
            writeln!(out, "  status:    curl http://{}/status", local(http_addr))?;
            writeln!(out, "Stop with Ctrl-C.")?;
        }
        out.flush()?;
    }

    wait_for_signal().await?;
    tracing::info!("shutting down");
    shutdown.cancel();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    // Closes every session with a goodbye and stops the tick thread.
    tokio::task::spawn_blocking(move || world.shutdown()).await?;
    let _ = tokio::time::timeout(Duration::from_secs(2), quic.wait_idle()).await;
    tracing::info!("stopped");
    Ok(())
}

async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("installing SIGTERM handler")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("waiting for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    Ok(())
}
