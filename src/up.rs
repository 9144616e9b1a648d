//! `gsp up`: the platform, a local agent with the process runtime, and the
//! default world behind its wake proxy, in one process with embedded
//! defaults.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use gsp_agent::{Agent, AgentConfig, PortRange};
use gsp_control::backup::BackupStore;
use gsp_control::fleet::Fleet;
use gsp_gateways::CancellationToken;
use gsp_platform::api::AppState;
use gsp_platform::local;

use crate::agent::{machine_capacity, make_runtime, RuntimeKind};

/// `gsp up`'s flags.
#[derive(Debug, Args)]
pub struct UpArgs {
    /// Directory for everything: the platform's database, the worlds' data.
    #[arg(long, value_name = "DIR", default_value = "./data", env = "GSP_DATA")]
    data: PathBuf,
    /// The platform's API and dashboard (port 0 picks a free port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    http: SocketAddr,
    /// The default world's public telnet port (its wake proxy); further
    /// servers get the ports after it.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:4000")]
    telnet: SocketAddr,
    /// The default world's public QUIC (UDP) port.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:4433")]
    quic: SocketAddr,
    /// Folder of Luau mods the worlds load.
    #[arg(long, value_name = "DIR", default_value = "mods", env = "GSP_MODS")]
    mods: PathBuf,
}

/// Runs `gsp up` until SIGINT or SIGTERM.
pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gsp-up")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

fn range(addr: SocketAddr) -> PortRange {
    match addr.port() {
        0 => PortRange { first: 0, count: 1 },
        p => PortRange {
            first: p,
            count: 100.min(u16::MAX - p + 1),
        },
    }
}

fn loopback(a: SocketAddr) -> SocketAddr {
    if a.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), a.port())
    } else {
        a
    }
}

async fn serve(args: UpArgs) -> anyhow::Result<()> {
    let data = std::path::absolute(&args.data).context("resolving --data")?;
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let mods = args
        .mods
        .is_dir()
        .then(|| std::path::absolute(&args.mods))
        .transpose()
        .context("resolving --mods")?;
    if mods.is_none() {
        tracing::warn!(mods = %args.mods.display(), "no mods folder: the world runs without mods");
    }

    // The platform.
    let db = gsp_control::db::open(None, &data)
        .await
        .context("opening the platform database")?;
    let fleet = Fleet::new(db.clone());
    let backups = BackupStore::local(&data.join("backups")).context("opening the backup store")?;
    let state = AppState::new(db.clone())
        .with_fleet(fleet.clone())
        .with_backups(backups);
    let (admin, password_file) = local::ensure_admin(&state, &data).await?;
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("binding HTTP to {}", args.http))?;
    let http = listener.local_addr()?;
    let platform = tokio::spawn(gsp_platform::serve(listener, state.clone()));

    // The local agent, in this process, with a fresh token.
    let (node, token) = fleet.issue_token(local::NODE).await?;
    let agent_listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the agent API")?;
    let (cpu, memory) = machine_capacity();
    if args.quic.ip() != args.telnet.ip() {
        tracing::warn!("the proxies listen on the --telnet address's IP for both ports");
    }
    let config = AgentConfig {
        platform: format!("http://{}", loopback(http)),
        token,
        callback_token: gsp_agent::callback_token().context("making the callback token")?,
        address: format!("http://{}", agent_listener.local_addr()?),
        data: data.clone(),
        public_ip: args.telnet.ip(),
        ports: BTreeMap::from([
            ("telnet".to_owned(), range(args.telnet)),
            ("quic".to_owned(), range(args.quic)),
        ]),
        heartbeat: Duration::from_secs(5),
        hold: gsp_proxy::DEFAULT_HOLD,
        stop_grace: Duration::from_secs(30),
        cpu_total_millis: cpu,
        memory_total_mib: memory,
        restart: gsp_agent::RestartPolicy::default(),
    };
    let agent = Agent::new(config, make_runtime(RuntimeKind::Process).await?);
    let agents_stop = CancellationToken::new();
    let agent_api = tokio::spawn(gsp_agent::http::serve(
        agent_listener,
        agent.clone(),
        agents_stop.clone(),
    ));
    agent
        .register()
        .await
        .map_err(|e| anyhow::anyhow!("the local agent could not register: {e}"))?;

    // The default world: made and started on the first run; later runs
    // find it asleep behind its proxy.
    let template = local::ensure_template(&state, &local::world_command(mods.as_deref())).await?;
    let server = local::ensure_server(&state, &admin, &template).await?;
    let beats = tokio::spawn(agent.clone().heartbeats(agents_stop.clone()));
    let endpoints = agent
        .endpoints(server.id)
        .context("the default world has no proxy")?;
    let telnet = endpoints
        .get("telnet")
        .copied()
        .context("no telnet proxy")?;
    let quic = endpoints.get("quic").copied().context("no QUIC proxy")?;
    let identity = gsp_gateways::quic::ServerIdentity::load_or_create(
        &agent.data_dir(server.id),
        None,
        None,
        &[],
    )
    .context("reading the world's QUIC certificate")?;

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening http={http}")?;
        writeln!(out, "listening telnet={telnet}")?;
        writeln!(out, "listening quic={quic}")?;
        writeln!(out, "dashboard http://{}/", loopback(http))?;
        writeln!(
            out,
            "sign in as {} with the password in {}",
            admin.email,
            password_file.display()
        )?;
        let t = loopback(telnet);
        writeln!(out)?;
        writeln!(
            out,
            "GSP is up. The default world sleeps when nobody plays and wakes when someone connects:"
        )?;
        writeln!(
            out,
            "  text:      telnet {} {}   (type a new name to create a character)",
            t.ip(),
            t.port()
        )?;
        writeln!(
            out,
            "  graphical: gsp play --server {} --pin {} --name <you>",
            loopback(quic),
            identity.fingerprint()
        )?;
        writeln!(
            out,
            "  bots:      gsp bot --server {} --pin {} --count 5 --duration 30",
            loopback(quic),
            identity.fingerprint()
        )?;
        writeln!(out, "Stop with Ctrl-C.")?;
        out.flush()?;
    }

    crate::world::wait_for_signal().await?;
    tracing::info!("shutting down: the worlds save and stop");
    agents_stop.cancel();
    let _ = beats.await;
    agent.stop_all().await;
    local::record_stopped(&state, &fleet, node.id, "shutdown").await?;
    let _ = agent_api.await;
    state.shutdown.cancel();
    let _ = platform.await;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}
