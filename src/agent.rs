//! `gsp agent`: a node agent that runs worlds for the platform.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Args, ValueEnum};
use gsp_agent::runtime::docker::DockerRuntime;
use gsp_agent::runtime::process::ProcessRuntime;
use gsp_agent::runtime::Runtime;
use gsp_agent::{Agent, AgentConfig, PortRange};
use gsp_gateways::CancellationToken;

/// How worlds run on this node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    /// Child processes of the agent (templates with a command line).
    Process,
    /// Docker containers (templates with an image).
    Docker,
}

/// How a node's programs (the agent, a standalone proxy) reach the
/// platform.
#[derive(Debug, Args)]
pub struct PlatformLink {
    /// The platform's URL.
    #[arg(long, value_name = "URL", env = "GSP_PLATFORM_URL")]
    pub platform: String,
    /// The node's token (`gsp platform node create --name NAME`).
    #[arg(
        long,
        value_name = "TOKEN",
        env = "GSP_NODE_TOKEN",
        hide_env_values = true
    )]
    pub token: String,
}

/// The agent's flags.
#[derive(Debug, Args)]
pub struct AgentArgs {
    #[command(flatten)]
    link: PlatformLink,
    /// How worlds run.
    #[arg(long, value_enum, default_value_t = RuntimeKind::Process)]
    runtime: RuntimeKind,
    /// The agent's API, which the platform calls (port 0 picks a free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8081",
        env = "GSP_AGENT_HTTP"
    )]
    http: SocketAddr,
    /// The URL the platform reaches the agent's API at (default: http://
    /// and --http).
    #[arg(long, value_name = "URL")]
    advertise: Option<String>,
    /// Directory for the worlds' data and logs (`servers/<id>/`).
    #[arg(long, value_name = "DIR", default_value = "./data", env = "GSP_DATA")]
    data: PathBuf,
    /// The address players reach the worlds' wake proxies at.
    #[arg(long, value_name = "IP", default_value = "0.0.0.0")]
    public_ip: IpAddr,
    /// Public telnet ports to give servers, FIRST-LAST (0: any free port).
    #[arg(long, value_name = "RANGE", default_value = "4000-4099")]
    telnet_ports: PortRange,
    /// Public QUIC (UDP) ports to give servers, FIRST-LAST (0: any).
    #[arg(long, value_name = "RANGE", default_value = "4433-4532")]
    quic_ports: PortRange,
    /// Seconds between heartbeats to the platform.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    heartbeat: f64,
    /// Seconds a proxy holds a client while its world wakes.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    hold: f64,
    /// Seconds a stopping world may take to save before it is killed.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    stop_grace: f64,
    /// CPU to offer, thousandths of a core (default: every core).
    #[arg(long, value_name = "MILLIS")]
    cpu: Option<i64>,
    /// Memory to offer, MiB (default: all of it).
    #[arg(long, value_name = "MIB")]
    memory: Option<i64>,
}

/// Runs `gsp agent` until SIGINT or SIGTERM.
pub fn run(args: AgentArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gsp-agent")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

fn seconds(name: &str, s: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(s).with_context(|| format!("--{name} is a number of seconds"))
}

/// Every core, in thousandths; all memory, MiB.
pub fn machine_capacity() -> (i64, i64) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get()) as i64;
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<i64>().ok())
        })
        .map_or(1024, |kib| kib / 1024);
    (cpus * 1000, memory)
}

/// The runtime of `kind`.
pub async fn make_runtime(kind: RuntimeKind) -> anyhow::Result<Arc<dyn Runtime>> {
    Ok(match kind {
        RuntimeKind::Process => {
            let me = std::env::current_exe().context("finding the gsp binary")?;
            Arc::new(ProcessRuntime::new(me))
        }
        RuntimeKind::Docker => Arc::new(
            DockerRuntime::connect()
                .await
                .context("connecting to the Docker engine")?,
        ),
    })
}

async fn serve(args: AgentArgs) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("binding the agent API to {}", args.http))?;
    let bound = listener.local_addr()?;
    let (cpu, memory) = machine_capacity();
    let data = std::path::absolute(&args.data).context("resolving --data")?;
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let config = AgentConfig {
        platform: args.link.platform.trim_end_matches('/').to_owned(),
        token: args.link.token,
        callback_token: gsp_agent::callback_token().context("making the callback token")?,
        address: args.advertise.unwrap_or_else(|| format!("http://{bound}")),
        data,
        public_ip: args.public_ip,
        ports: BTreeMap::from([
            ("telnet".to_owned(), args.telnet_ports),
            ("quic".to_owned(), args.quic_ports),
        ]),
        heartbeat: seconds("heartbeat", args.heartbeat)?,
        hold: seconds("hold", args.hold)?,
        stop_grace: seconds("stop-grace", args.stop_grace)?,
        cpu_total_millis: args.cpu.unwrap_or(cpu),
        memory_total_mib: args.memory.unwrap_or(memory),
        restart: gsp_agent::RestartPolicy::default(),
    };
    let agent = Agent::new(config, make_runtime(args.runtime).await?);
    let shutdown = CancellationToken::new();
    let api = tokio::spawn(gsp_agent::http::serve(
        listener,
        agent.clone(),
        shutdown.clone(),
    ));
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening http={bound}")?;
        out.flush()?;
    }
    let beats = tokio::spawn(agent.clone().run(shutdown.clone()));
    crate::world::wait_for_signal().await?;
    tracing::info!("shutting down: stopping every world");
    shutdown.cancel();
    let _ = beats.await;
    agent.stop_all().await;
    let _ = api.await;
    Ok(())
}
