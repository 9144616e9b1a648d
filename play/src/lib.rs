//! `gsp play`: the 3D client for graphical players.
//!
//! It runs in the player's process as `gsp play`: a window (macroquad, so
//! OpenGL 2 or software GL under Xvfb) onto a world, on top of the headless
//! client SDK (`gsp-client`): the map and names the world sends
//! ([`gsp_client::scene`]), interpolation for everyone else and prediction
//! for the player's own avatar. A login screen asks for the server, name,
//! password and how to trust its certificate (a pin, or trust on first use,
//! [`known`]); `--server`, `--name` (and `--pin` or a remembered
//! certificate) skip it. For tests and screenshots, `--script` drives the
//! player ([`script`]), and `--screenshot PATH --exit-after SECONDS` leaves a
//! picture of a real frame and exits.
//!
//! # Layout
//!
//! - the crate root: [`Options`] and [`run`].
//! - [`window`]: the login screen and the 3D view with its text panel (macroquad).
//! - [`view`]: the third-person camera and world-to-screen maths, without a window.
//! - [`net`]: the network thread: login, inputs, snapshots, the shared state drawn from.
//! - [`script`]: scripted inputs for automation, sans-I/O.
//! - [`known`]: servers trusted on first use.

pub mod known;
pub mod net;
pub mod script;
pub mod view;
pub mod window;

use std::path::PathBuf;
use std::time::Duration;

pub use window::Outcome;

/// What `gsp play` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `HOST:PORT`; with `name`, skips the login screen.
    pub server: Option<String>,
    /// The player's name.
    pub name: Option<String>,
    /// The account's password (a guest without one).
    pub password: Option<String>,
    /// Create the account.
    pub create: bool,
    /// The server certificate's SHA-256; without it, trust on first use.
    pub pin: Option<String>,
    /// Where trusted-on-first-use fingerprints are remembered.
    pub known_servers: Option<PathBuf>,
    /// Steps to play once the world is shown.
    pub script: Option<Vec<script::Step>>,
    /// Where to write a screenshot when exiting after `exit_after`.
    pub screenshot: Option<String>,
    /// Exit this long after the world was first shown.
    pub exit_after: Option<Duration>,
    /// Window size in pixels.
    pub size: (i32, i32),
    /// Print every line of text the world sends to stdout.
    pub echo: bool,
}

/// Opens the window and plays until the player quits or the automation
/// ends. Returns how it ended.
pub fn run(options: Options) -> Outcome {
    let conf = macroquad::window::Conf {
        window_title: "GSP".to_owned(),
        window_width: options.size.0.max(320),
        window_height: options.size.1.max(240),
        high_dpi: false,
        ..Default::default()
    };
    let outcome = std::sync::Arc::new(std::sync::Mutex::new(None));
    let out = outcome.clone();
    macroquad::Window::from_config(conf, async move {
        let result = window::main_loop(options).await;
        *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
    });
    let result = outcome.lock().unwrap_or_else(|e| e.into_inner()).take();
    result.unwrap_or(Outcome::Failed("the window closed".into()))
}
