//! `gsp play`: the 3D client for graphical players.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;

/// How to join and, for automation, what to do.
#[derive(Debug, Args)]
pub struct PlayArgs {
    /// The world's QUIC address, HOST:PORT. With --name, skips the login screen.
    #[arg(long, value_name = "HOST:PORT")]
    server: Option<String>,
    /// Your name (a guest unless --password is given).
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
    /// The account's password.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "GSP_PASSWORD",
        hide_env_values = true
    )]
    password: Option<String>,
    /// Create the account NAME with --password.
    #[arg(long, requires = "password")]
    create: bool,
    /// Trust only the server certificate with this SHA-256 fingerprint (as
    /// `gsp world` and `gsp up` print it). Without it the first connection
    /// trusts what the server shows, with a warning, and remembers it.
    #[arg(long, value_name = "SHA256")]
    pin: Option<String>,
    /// Where certificates trusted on first use are remembered
    /// (default: ~/.config/gsp/known_servers).
    #[arg(long, value_name = "FILE")]
    known_servers: Option<std::path::PathBuf>,
    /// Steps to play once the world is shown, e.g. "walk north 2s; say hello; wait 1s; shot a.png".
    #[arg(long, value_name = "STEPS")]
    script: Option<String>,
    /// Write a screenshot here when exiting (with --exit-after).
    #[arg(long, value_name = "PATH", requires = "exit_after")]
    screenshot: Option<String>,
    /// Exit this many seconds after the world is first shown.
    #[arg(long, value_name = "SECS")]
    exit_after: Option<f64>,
    /// Window size, WIDTHxHEIGHT.
    #[arg(long, value_name = "WxH", default_value = "1024x768")]
    size: String,
    /// Print every line of text the world sends to stdout, as `text: ...`.
    #[arg(long)]
    echo: bool,
}

/// Plays; fails if the automation never got to play or lost the world.
pub fn run(args: PlayArgs) -> anyhow::Result<ExitCode> {
    if let Some(pin) = &args.pin {
        if gsp_client::parse_fingerprint(pin).is_none() {
            bail!("--pin takes 64 hex digits (a SHA-256)");
        }
    }
    let exit_after = match args.exit_after {
        Some(s) if s.is_finite() && s > 0.0 => Some(Duration::from_secs_f64(s)),
        Some(_) => bail!("--exit-after must be a positive number of seconds"),
        None => None,
    };
    let script = args
        .script
        .as_deref()
        .map(gsp_play::script::parse)
        .transpose()
        .context("--script")?;
    let size = args
        .size
        .split_once('x')
        .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
        .filter(|&(w, h): &(i32, i32)| (320..=8192).contains(&w) && (240..=8192).contains(&h))
        .context("--size is WIDTHxHEIGHT, e.g. 1024x768")?;
    let options = gsp_play::Options {
        server: args.server,
        name: args.name,
        password: args.password,
        create: args.create,
        pin: args.pin,
        known_servers: args.known_servers.or_else(gsp_play::known::default_path),
        script,
        screenshot: args.screenshot,
        exit_after,
        size,
        echo: args.echo,
    };
    match gsp_play::run(options) {
        gsp_play::Outcome::Done => Ok(ExitCode::SUCCESS),
        gsp_play::Outcome::Failed(why) => bail!("{why}"),
    }
}
