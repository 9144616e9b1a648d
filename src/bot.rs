//! `gsp bot`: a swarm of headless QUIC clients.

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
    /// Bots are named PREFIX0, PREFIX1...
    #[arg(long, value_name = "PREFIX", default_value = "bot")]
    name_prefix: String,
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
        run_swarm(SwarmConfig {
            server,
            count: args.count,
            duration: Duration::from_secs_f64(args.duration),
            trust,
            name_prefix: args.name_prefix.clone(),
            bots_per_endpoint: 25,
        })
        .await
        .context("running the swarm")
    })?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_human(&report);
    }
    Ok(if report.failed == 0 && report.connected == report.bots {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
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
    for e in &r.errors {
        println!("error:  {e}");
    }
}
