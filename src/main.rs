//! `gsp`: the one binary of GSP. Each subcommand wires the crates together;
//! the work happens in the crates.

mod agent;
mod bot;
mod platform;
#[cfg(feature = "play")]
mod play;
mod proxy;
mod standin;
mod up;
mod world;

use clap::{Parser, Subcommand};

/// GSP: an open game-server engine and hosting platform.
///
/// One authoritative world per process, shared by graphical players over QUIC
/// and text players over telnet.
#[derive(Debug, Parser)]
#[command(name = "gsp", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Everything on one machine with embedded defaults, and how to connect:
    /// the platform, a local agent, and the default world behind its wake
    /// proxy.
    Up(up::UpArgs),
    /// Run one world server: telnet, QUIC and HTTP (health, status, metrics).
    World(Box<world::WorldArgs>),
    /// Run the platform: the web API over its own database, or an admin
    /// command (`user create`, `apikey create`).
    Platform(platform::PlatformArgs),
    /// Run a node agent: worlds for the platform, as child processes or
    /// Docker containers, each behind a wake proxy.
    Agent(agent::AgentArgs),
    /// Run a wake-on-connect proxy in front of one world.
    Proxy(proxy::ProxyArgs),
    /// Run a swarm of headless QUIC bots against a world and report what they saw.
    Bot(bot::BotArgs),
    /// Play: the 3D client for graphical players.
    #[cfg(feature = "play")]
    Play(play::PlayArgs),
    /// Run a tiny stand-in game server speaking one real protocol
    /// (Minecraft, A2S, Satisfactory's query), for trying templates and
    /// the wake proxy without the game.
    Standin(standin::StandinArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let default_filter = match cli.command {
        Command::Bot(_) => "warn",
        #[cfg(feature = "play")]
        Command::Play(_) => "warn",
        _ => "info",
    };
    // Colours only for a person at a terminal: logs redirected to a file,
    // the journal or `docker logs` stay plain text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(colour)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .init();
    let result = match cli.command {
        Command::Up(args) => up::run(args),
        Command::World(args) => world::run(*args),
        Command::Agent(args) => agent::run(args),
        Command::Proxy(args) => proxy::run(args),
        Command::Bot(args) => bot::run(args),
        #[cfg(feature = "play")]
        Command::Play(args) => play::run(args),
        Command::Platform(args) => platform::run(args),
        Command::Standin(args) => standin::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gsp: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
