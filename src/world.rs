//! `gsp world`: a world server with its three listeners.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use std::sync::Arc;

use gsp_engine::components::SpeechRate;
use gsp_engine::{
    AccountService, GameWorld, PersistSink, ReplicationConfig, WorldConfig, WorldMap, WorldRuntime,
};
use gsp_gateways::quic::{QuicConfig, ServerIdentity};
use gsp_gateways::telnet::TelnetConfig;
use gsp_gateways::CancellationToken;

/// Saves waiting for the writer; while it is this far behind, the world
/// puts off new saves (their changes go out with a later one).
const SAVE_QUEUE: usize = 4;

/// How long a stopping world waits for its last save to be written.
const FINAL_SAVE_TIMEOUT: Duration = Duration::from_secs(60);

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
    /// Telnet-over-TLS listener (Mudlet 4 and other clients with TLS), with
    /// the world's certificate (the QUIC one, --cert or self-signed).
    #[arg(long, value_name = "ADDR", env = "GSP_TELNET_TLS")]
    telnet_tls: Option<SocketAddr>,
    /// The browser client's listener: the page at `/` and its WebSocket at
    /// `/ws` (the mudstandards.org subprotocols), for players to reach.
    #[arg(long, value_name = "ADDR", env = "GSP_WEB")]
    web: Option<SocketAddr>,
    /// The host name MSSP gives MUD crawlers (by default the address a
    /// crawler connected to).
    #[arg(long, value_name = "NAME", env = "GSP_MSSP_HOST")]
    mssp_host: Option<String>,
    /// The telnet port MSSP gives crawlers, when players reach the world
    /// through a proxy on another port (by default the world's own).
    #[arg(long, value_name = "PORT", env = "GSP_MSSP_PORT")]
    mssp_port: Option<u16>,
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
    /// Folder of Luau mods to load (each a subfolder with mod.toml and init.lua).
    #[arg(long, value_name = "DIR", default_value = "mods", env = "GSP_MODS")]
    mods: PathBuf,
    /// Reload a mod in place when its files change (its storage survives).
    #[arg(long)]
    watch: bool,
    /// CPU time one mod callback may take before it is stopped, ms.
    #[arg(long, value_name = "MS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    mod_cpu_ms: u64,
    /// Memory one mod may use, MiB.
    #[arg(long, value_name = "MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=65_536))]
    mod_memory_mib: u64,
    /// Script time all mods together may take per tick, ms; events left
    /// over wait for the next tick.
    #[arg(long, value_name = "MS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    script_ms_per_tick: u64,
    /// The database: `sqlite://FILE` or `postgres://USER@HOST/DB`. By default
    /// a SQLite file in --data.
    #[arg(long, value_name = "URL", env = "GSP_DATABASE_URL")]
    database_url: Option<String>,
    /// This world's name: saves and characters are kept per world in a
    /// shared database, and other worlds on the bus see it in `who all`.
    #[arg(long, value_name = "NAME", default_value = "default", env = "GSP_WORLD_NAME",
          value_parser = parse_world_name)]
    world_name: String,
    /// Seconds between world saves (the world also saves when it stops).
    #[arg(long, value_name = "SECS", default_value_t = 30.0, value_parser = parse_interval)]
    save_interval: f64,
    /// Redis for chat channels and presence across worlds
    /// (`redis://127.0.0.1:6379`); without it chat stays in this world.
    #[arg(long, value_name = "URL", env = "GSP_REDIS_URL")]
    redis_url: Option<String>,
    /// The Redis pub/sub channel worlds talk on.
    #[arg(long, value_name = "NAME", default_value = gsp_persistence::bus::DEFAULT_CHANNEL)]
    bus_channel: String,
    /// Refuse graphical players who do not log in to an account (by
    /// default they may play as guests, whose characters are not saved).
    #[arg(long)]
    no_guests: bool,
    /// Offer `guest <name>` at the telnet login too (by default text
    /// players need an account): for open worlds, and for load tests,
    /// where every account login costs a password hash.
    #[arg(long)]
    telnet_guests: bool,
    /// Snapshot bandwidth per graphical player, kbit/s.
    #[arg(long, value_name = "KBPS", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(16..=100_000))]
    snapshot_kbps: u32,
    /// Lines a player may `say` or `chat` per second, sustained (a flood
    /// past it is dropped where it was typed; the speaker is told).
    #[arg(long, value_name = "LINES", default_value_t = gsp_engine::components::SPEECH_PER_SECOND,
          value_parser = parse_speech_rate)]
    speech_per_second: f32,
    /// Lines a player may speak in a burst before --speech-per-second applies.
    #[arg(long, value_name = "LINES", default_value_t = 5,
          value_parser = clap::value_parser!(u16).range(1..))]
    speech_burst: u16,
}

fn parse_speech_rate(s: &str) -> Result<f32, String> {
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() && (0.0..=1000.0).contains(&v) => Ok(v),
        _ => Err("a number of lines per second from 0 to 1000".into()),
    }
}

fn parse_world_name(s: &str) -> Result<String, String> {
    let ok = (1..=32).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(s.to_owned())
    } else {
        Err("a world name is 1 to 32 letters, digits, '-' or '_'".into())
    }
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.01..=86_400.0).contains(&v) => Ok(v),
        _ => Err("a save interval is a number of seconds from 0.01 to 86400".into()),
    }
}

/// Runs a world until SIGINT or SIGTERM.
pub fn run(args: WorldArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gsp-io")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(args: WorldArgs) -> anyhow::Result<()> {
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
        speech: SpeechRate {
            per_second: args.speech_per_second,
            burst: f32::from(args.speech_burst),
        },
        ..WorldConfig::default()
    };
    config
        .validate()
        .map_err(|e| anyhow::anyhow!("invalid world settings: {e}"))?;
    let mods = find_mods(&args)?;
    let map = world_map(&mods)?;

    // Storage: the database, the last complete save, and the writer that
    // takes saves off the tick thread.
    let db = match &args.database_url {
        Some(url) => gsp_persistence::db::connect(url).await,
        None => gsp_persistence::db::open_data_dir(&args.data).await,
    }
    .context("opening the database")?;
    tracing::info!(backend = db.backend().name(), world = %args.world_name, "database ready");
    let world_store = gsp_persistence::WorldStore::new(db.clone(), &args.world_name);
    let accounts = gsp_persistence::AccountStore::new(db.clone(), &args.world_name);
    let saved = world_store
        .load()
        .await
        .context("loading the last world save")?;
    if saved.generation > 0 {
        tracing::info!(
            generation = saved.generation,
            entities = saved.entities.len(),
            mods = saved.mod_storage.len(),
            "restoring the last complete save"
        );
    }
    let (save_tx, save_rx) = crossbeam_channel::bounded(SAVE_QUEUE);
    let writer = gsp_persistence::Writer::spawn(world_store, accounts.clone(), save_rx);

    let mut game = GameWorld::new(config, map);
    let interval_ticks = (args.save_interval * f64::from(args.tick_hz))
        .round()
        .max(1.0) as u64;
    game.enable_saves(PersistSink { tx: save_tx }, interval_ticks);
    game.restore(&saved);

    // Chat and presence between worlds.
    let bus = gsp_persistence::bus::Bus::start(
        gsp_persistence::bus::BusConfig::new(args.world_name.clone())
            .redis_url(args.redis_url.as_deref())
            .channel(args.bus_channel.clone()),
    )
    .context("starting the bus")?;
    let (link, bus_guard) =
        gsp_persistence::bus::bridge(&bus, &args.world_name, &tokio::runtime::Handle::current())
            .context("connecting the world to the bus")?;
    game.connect_bus(link);

    gsp_physics::install(&mut game);
    let watched: Vec<(String, PathBuf)> = mods
        .iter()
        .map(|m| (m.manifest.name.clone(), m.dir.clone()))
        .collect();
    gsp_scripting::install(
        &mut game,
        mods,
        gsp_scripting::ScriptConfig {
            limits: gsp_scripting::Limits {
                callback: Duration::from_millis(args.mod_cpu_ms),
                memory: (args.mod_memory_mib as usize) << 20,
            },
            tick_budget: Duration::from_millis(args.script_ms_per_tick),
            ..Default::default()
        },
    );
    for report in game.stats().mods() {
        match &report.last_error {
            None => {
                tracing::info!(mod_name = %report.name, version = %report.version, "mod loaded")
            }
            Some(e) => tracing::warn!(mod_name = %report.name, "mod not loaded: {e}"),
        }
    }
    if args.watch {
        let changes = gsp_scripting::watch::spawn(watched).context("watching the mods")?;
        game.world_mut()
            .resource_mut::<gsp_scripting::ScriptHost>()
            .watch(changes);
    }
    let stats = game.stats().clone();
    let world = WorldRuntime::start(game).context("starting the world thread")?;
    let reporter = tokio::spawn(report_services(
        stats,
        writer.clone(),
        bus.clone(),
        db.backend().name(),
    ));
    let handle = world.handle();

    let telnet = tokio::net::TcpListener::bind(args.telnet)
        .await
        .with_context(|| format!("binding telnet to {}", args.telnet))?;
    let accounts: Arc<dyn AccountService> = Arc::new(accounts);
    let quic_config = QuicConfig {
        accounts: Some(accounts.clone()),
        allow_guests: !args.no_guests,
        ..QuicConfig::default()
    };
    let quic = gsp_gateways::quic::endpoint(args.quic, &identity, &quic_config)
        .with_context(|| format!("binding QUIC to {}", args.quic))?;
    let http = tokio::net::TcpListener::bind(args.http)
        .await
        .with_context(|| format!("binding HTTP to {}", args.http))?;
    let telnet_tls = match args.telnet_tls {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding telnet-tls to {addr}"))?,
        ),
        None => None,
    };
    let web = match args.web {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding web to {addr}"))?,
        ),
        None => None,
    };
    let web_addr = web.as_ref().map(|l| l.local_addr()).transpose()?;
    let tls_acceptor = gsp_gateways::telnet::tls_acceptor(&identity)
        .context("making the telnet-tls configuration")?;
    let telnet_addr = telnet.local_addr()?;
    let telnet_tls_addr = telnet_tls.as_ref().map(|l| l.local_addr()).transpose()?;
    let quic_addr = quic.local_addr()?;
    let http_addr = http.local_addr()?;

    let shutdown = CancellationToken::new();
    let telnet_config = TelnetConfig {
        idle_timeout: Duration::from_secs(args.idle_timeout.max(1)),
        accounts: Some(accounts),
        allow_guests: args.telnet_guests,
        world_name: args.world_name.clone(),
        tls_port: telnet_tls_addr.map(|a| a.port()),
        hostname: args.mssp_host.clone(),
        public_port: args.mssp_port,
        ..TelnetConfig::default()
    };
    let mut tasks = vec![];
    if let Some(listener) = telnet_tls {
        tasks.push(tokio::spawn(gsp_gateways::telnet::serve_tls(
            listener,
            handle.clone(),
            telnet_config.clone(),
            tls_acceptor,
            shutdown.clone(),
        )));
    }
    if let Some(listener) = web {
        tasks.push(tokio::spawn(gsp_gateways::web::serve(
            listener,
            handle.clone(),
            telnet_config.clone(),
            shutdown.clone(),
        )));
    }
    tasks.extend([
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
    ]);

    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening telnet={telnet_addr}")?;
        if let Some(addr) = telnet_tls_addr {
            writeln!(out, "listening telnet-tls={addr}")?;
        }
        if let Some(addr) = web_addr {
            writeln!(out, "listening web={addr}")?;
        }
        writeln!(out, "listening quic={quic_addr}")?;
        writeln!(out, "listening http={http_addr}")?;
        writeln!(out, "quic certificate sha256={fingerprint}")?;
        out.flush()?;
    }

    wait_for_signal().await?;
    tracing::info!("shutting down");
    reporter.abort();
    shutdown.cancel();
    for task in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
    // Saves a last time, closes every session with a goodbye and stops the
    // tick thread; then waits for the writer to have written it all.
    tokio::task::spawn_blocking(move || world.shutdown()).await?;
    let flushed = tokio::task::spawn_blocking(move || {
        let result = writer.flush(FINAL_SAVE_TIMEOUT);
        (result, writer.stats())
    })
    .await?;
    match flushed {
        (Ok(()), stats) => tracing::info!(generation = stats.last_generation, "world saved"),
        (Err(e), _) => tracing::error!("the last save was not written: {e}"),
    }
    drop(bus_guard);
    db.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), quic.wait_idle()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Keeps `/status` told how saves and the bus are doing.
async fn report_services(
    stats: Arc<gsp_engine::WorldStats>,
    writer: gsp_persistence::WriterHandle,
    bus: gsp_persistence::bus::Bus,
    database: &'static str,
) {
    let mut every = tokio::time::interval(Duration::from_secs(1));
    loop {
        every.tick().await;
        let w = writer.stats();
        let b = bus.status();
        stats.set_services(
            Some(gsp_engine::SaveReport {
                database: database.to_owned(),
                generation: w.last_generation,
                saves_written: w.saves_written,
                last_save_ms: w.last_save_duration.map(|d| d.as_secs_f64() * 1e3),
                failures: w.failures,
                last_error: w.last_error,
            }),
            Some(gsp_engine::BusReport {
                backend: match b.backend {
                    gsp_persistence::bus::BusBackend::InProcess => "in-process".into(),
                    gsp_persistence::bus::BusBackend::Redis => "redis".into(),
                },
                connected: b.connected,
                last_error: b.last_error,
            }),
        );
    }
}

/// The map named by the last mod that provides one (`map = "map.toml"` in
/// its manifest; the shipped `core` does), else the built-in copy of it.
fn world_map(mods: &[gsp_scripting::ModSource]) -> anyhow::Result<WorldMap> {
    let Some((source, file)) = mods
        .iter()
        .rev()
        .find_map(|m| Some((m, m.manifest.map.as_ref()?)))
    else {
        return Ok(WorldMap::default_world());
    };
    let path = source.dir.join(file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the map {}", path.display()))?;
    let map = WorldMap::from_toml(&text)
        .map_err(|e| anyhow::anyhow!("the map {}: {e}", path.display()))?;
    tracing::info!(mod_name = %source.manifest.name, rooms = map.rooms.len(), "map loaded");
    Ok(map)
}

/// The mods of `--mods`, in load order. A missing default folder means no
/// mods; a folder named on the command line must exist.
fn find_mods(args: &WorldArgs) -> anyhow::Result<Vec<gsp_scripting::ModSource>> {
    if !args.mods.is_dir() {
        if args.mods == std::path::Path::new("mods") {
            tracing::warn!("no mods folder at ./mods: the world runs without mods");
            return Ok(Vec::new());
        }
        anyhow::bail!("the mods folder {} does not exist", args.mods.display());
    }
    gsp_scripting::discover(&args.mods)
        .with_context(|| format!("reading the mods in {}", args.mods.display()))
}

pub(crate) async fn wait_for_signal() -> anyhow::Result<()> {
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
