//! `gsp bot`: a swarm of headless QUIC and telnet clients.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use gsp_client::bot::{run_swarm, SwarmConfig, SwarmReport};
use gsp_client::{parse_fingerprint, Trust};

/// What the swarm does.
#[derive(Debug, Args)]
pub struct BotArgs {
    /// The world's QUIC address, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:4433")]
    server: String,
    /// Number of bots.
    #[arg(long, value_name = "N", default_value_t = 10)]
    count: usize,
    /// How long the swarm runs, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    duration: f64,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// Accept any server certificate (for a local self-signed world).
    #[arg(long, conflicts_with = "pin")]
    insecure: bool,
    /// Accept only the certificate with this SHA-256 fingerprint, as
    /// `gsp world` prints it.
    #[arg(long, value_name = "SHA256")]
    pin: Option<String>,
    /// Bots are named PREFIX0, PREFIX1... (telnet bots PREFIXt0...).
    #[arg(long, value_name = "PREFIX", default_value = "bot")]
    name_prefix: String,
    /// Telnet bots besides the graphical ones.
    #[arg(long, value_name = "N", default_value_t = 0)]
    telnet: usize,
    /// The world's telnet address, HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:4000")]
    telnet_server: String,
    /// Crowd mode: every bot stays in the start room and mills about.
    #[arg(long)]
    crowd: bool,
    /// The share of bots (0 to 1) that say a line every --talk-every seconds.
    #[arg(long, value_name = "SHARE", default_value_t = 0.0)]
    talkers: f64,
    /// How often a talker speaks, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    talk_every: f64,
    /// Start the bots evenly over this many seconds (at most half of
    /// --duration).
    #[arg(long, value_name = "SECS", default_value_t = 1.0)]
    ramp: f64,
}

/// Runs the swarm and prints its report; fails if any bot failed.
pub fn run(args: BotArgs) -> anyhow::Result<ExitCode> {
    let trust = match (&args.pin, args.insecure) {
        (Some(pin), _) => Trust::Fingerprint(
            parse_fingerprint(pin).context("--pin takes 64 hex digits (a SHA-256)")?,
        ),
        (None, true) => Trust::Insecure,
        (None, false) => bail!(
            "say how to trust the server's certificate: --pin SHA256 (printed by `gsp world`) \
             or --insecure"
        ),
    };
    if !(args.duration.is_finite() && args.duration > 0.0) {
        bail!("--duration must be a positive number of seconds");
    }
    if !(0.0..=1.0).contains(&args.talkers) {
        bail!("--talkers is a share, from 0 to 1");
    }
    if !(args.talk_every.is_finite() && args.talk_every > 0.0) {
        bail!("--talk-every must be a positive number of seconds");
    }
    if !(args.ramp.is_finite() && args.ramp >= 0.0) {
        bail!("--ramp must be a number of seconds, 0 or more");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let report = runtime.block_on(async {
        let server = tokio::net::lookup_host(&args.server)
            .await
            .with_context(|| format!("resolving {}", args.server))?
            .next()
            .with_context(|| format!("{} has no address", args.server))?;
        let telnet_server = if args.telnet > 0 {
            Some(
                tokio::net::lookup_host(&args.telnet_server)
                    .await
                    .with_context(|| format!("resolving {}", args.telnet_server))?
                    .next()
                    .with_context(|| format!("{} has no address", args.telnet_server))?,
            )
        } else {
            None
        };
        run_swarm(SwarmConfig {
            name_prefix: args.name_prefix.clone(),
            telnet: args.telnet,
            telnet_server,
            crowd: args.crowd,
            talkers: args.talkers,
            talk_every: Duration::from_secs_f64(args.talk_every),
            ramp: Duration::from_secs_f64(args.ramp),
            ..SwarmConfig::quic(
                server,
                args.count,
                Duration::from_secs_f64(args.duration),
                trust,
            )
        })
        .await
        .context("running the swarm")
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_human(&report);
    }
    Ok(
        if report.failed == 0
            && report.connected == report.bots
            && report.telnet_connected == report.telnet_bots
        {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        },
    )
}

fn print_human(r: &SwarmReport) {
    println!(
        "bots:   {} connected, {} failed, {} without state, in {:.2} s",
        r.connected, r.failed, r.without_state, r.elapsed_secs
    );
    println!(
        "state:  {:.1} snapshots/s per bot (lowest {:.1}), {:.1} entities in view, {} undecodable",
        r.states_per_sec_per_bot, r.min_states_per_sec, r.entities_in_view, r.snapshot_errors
    );
    println!(
        "predict: {:.1}% exact, error mean {:.1} mm, p99 {:.1} mm, max {:.1} mm over {} reconciliations",
        r.prediction_exact_share * 100.0,
        r.prediction_error_mean_m * 1000.0,
        r.prediction_error_p99_m * 1000.0,
        r.prediction_error_max_m * 1000.0,
        r.predictions_checked
    );
    println!(
        "bytes:  {:.1} KB/s received per bot, {:.1} KB/s sent",
        r.bytes_per_sec_per_bot / 1000.0,
        r.sent_bytes_per_sec_per_bot / 1000.0
    );
    println!(
        "rtt:    p50 {:.2} ms, p99 {:.2} ms",
        r.rtt_ms_p50, r.rtt_ms_p99
    );
    println!(
        "chat:   {} commands sent, {} events received",
        r.commands_sent, r.events_received
    );
    if r.telnet_bots > 0 {
        println!(
            "telnet: {} of {} logged in, {} failed, {:.1} lines/s read in all, {} said",
            r.telnet_connected,
            r.telnet_bots,
            r.telnet_failed,
            r.telnet_lines_per_sec,
            r.telnet_said
        );
        if r.telnet_heard > 0 {
            println!(
                "speech: {:.0} lines/s read once steady, {} stamped lines heard, latency p50 {:.2} ms, \
                 p99 {:.2} ms (say to a listener's read)",
                r.telnet_steady_lines_per_sec,
                r.telnet_heard,
                r.telnet_latency_ms_p50,
                r.telnet_latency_ms_p99
            );
        }
    }
    println!(
        "swarm:  {:.1}% CPU of {} core(s), {:.1}% of input ticks late{}",
        r.swarm_cpu_percent,
        r.swarm_cores,
        r.late_input_share * 100.0,
        if r.saturated {
            " (saturated: these figures measure the swarm too)"
        } else {
            ""
        }
    );
    for e in &r.errors {
        println!("error:  {e}");
    }
}
