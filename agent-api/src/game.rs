//! [`Game`]: what a template says about the game it runs besides its
//! launch line and ports: when it is ready, how its players are counted,
//! how it stops, and what the wake proxy answers for it while it sleeps.
//! A template without one is a GSP world.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// How a game is known to be up, counted, stopped and fronted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Game {
    /// When it counts as ready.
    #[serde(default)]
    pub ready: Ready,
    /// How its players are counted.
    #[serde(default)]
    pub players: Players,
    /// How it is stopped.
    #[serde(default)]
    pub stop: Stop,
    /// Extra environment for it (`EULA=TRUE` for Minecraft's image).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Its server-list name or MOTD, which the proxy shows while it sleeps.
    #[serde(default)]
    pub motd: Option<String>,
}

/// When a game counts as ready.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Ready {
    /// It prints one `listening NAME=ADDR` line per port (a GSP world,
    /// which also has its `http` listener).
    #[default]
    Listening,
    /// Its TCP port `port` accepts a connection.
    TcpPort {
        /// The port's name.
        port: String,
    },
    /// It answers a Minecraft status ping on `port`.
    MinecraftSlp {
        /// The port's name.
        port: String,
    },
    /// It answers Steam's A2S_INFO on `port`.
    A2s {
        /// The port's name.
        port: String,
    },
    /// It answers Satisfactory's server query on `port`.
    SatisfactoryQuery {
        /// The port's name.
        port: String,
    },
    /// A line of its output matches `regex` (`Done \(`).
    LogLine {
        /// The regular expression.
        regex: String,
    },
}

/// How a game's players are counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Players {
    /// A GSP world's `/status` on its `http` listener.
    #[default]
    GspStatus,
    /// Minecraft's Server List Ping on `port`.
    MinecraftSlp {
        /// The port's name.
        port: String,
    },
    /// Steam's A2S_INFO on `port`.
    A2s {
        /// The port's name.
        port: String,
    },
    /// Clients connected through the wake proxy (any game).
    Proxy,
}

/// How a game stops.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stop {
    /// A signal (`SIGTERM`, `SIGINT`), then SIGKILL after the grace.
    Signal {
        /// Its name.
        #[serde(default = "sigterm")]
        signal: String,
    },
    /// A line on its console (`stop`), then SIGTERM, then SIGKILL.
    Console {
        /// The line.
        command: String,
    },
}

fn sigterm() -> String {
    "SIGTERM".into()
}

impl Default for Stop {
    fn default() -> Stop {
        Stop::Signal { signal: sigterm() }
    }
}

/// The signals a template may stop its game with.
pub const STOP_SIGNALS: [&str; 4] = ["SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP"];

impl Game {
    /// Whether it is a GSP world (ready from `listening` lines).
    pub fn is_gsp(&self) -> bool {
        self.ready == Ready::Listening
    }

    /// The port names it refers to.
    fn referenced_ports(&self) -> Vec<&str> {
        let mut out = Vec::new();
        match &self.ready {
            Ready::TcpPort { port }
            | Ready::MinecraftSlp { port }
            | Ready::A2s { port }
            | Ready::SatisfactoryQuery { port } => out.push(port.as_str()),
            Ready::Listening | Ready::LogLine { .. } => {}
        }
        match &self.players {
            Players::MinecraftSlp { port } | Players::A2s { port } => out.push(port.as_str()),
            Players::GspStatus | Players::Proxy => {}
        }
        out
    }

    /// Checks it against the template's port names: every port it names
    /// exists, the stop signal is one of [`STOP_SIGNALS`], the console
    /// command is one printable line, the environment's names are
    /// variables, and nothing is absurdly long.
    pub fn check(&self, ports: &[&str]) -> Result<(), String> {
        for p in self.referenced_ports() {
            if !ports.contains(&p) {
                return Err(format!(
                    "the game names a port {p:?} the template does not have"
                ));
            }
        }
        if let Ready::LogLine { regex } = &self.ready {
            if regex.is_empty() || regex.len() > 500 {
                return Err("a log line regex is 1 to 500 characters".into());
            }
        }
        match &self.stop {
            Stop::Signal { signal } if !STOP_SIGNALS.contains(&signal.as_str()) => {
                return Err(format!(
                    "a stop signal is one of {}",
                    STOP_SIGNALS.join(", ")
                ));
            }
            Stop::Console { command }
                if command.trim().is_empty()
                    || command.len() > 200
                    || command.chars().any(char::is_control) =>
            {
                return Err("a stop command is one printable line".into());
            }
            _ => {}
        }
        if self.players == Players::GspStatus && !self.is_gsp() {
            return Err("players from /status need a GSP world (ready: listening)".into());
        }
        for (k, v) in &self.env {
            let ok = !k.is_empty()
                && k.len() <= 100
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !k.starts_with("GSP_")
                && v.len() <= 4096
                && !v.contains('\0');
            if !ok {
                return Err(format!("environment variable {k:?}: a name of letters, digits and '_' (not GSP_*), a value up to 4096 bytes"));
            }
        }
        if self.motd.as_ref().is_some_and(|m| m.len() > 200) {
            return Err("a motd is at most 200 bytes".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_template_without_a_game_is_a_gsp_world() {
        let g: Game = serde_json::from_str("{}").unwrap();
        assert!(g.is_gsp());
        assert_eq!(g.players, Players::GspStatus);
        assert_eq!(
            g.stop,
            Stop::Signal {
                signal: "SIGTERM".into()
            }
        );
        assert_eq!(g.check(&["telnet", "quic"]), Ok(()));
    }

    #[test]
    fn games_read_from_json_and_are_checked() {
        let g: Game = serde_json::from_value(serde_json::json!({
            "ready": {"kind": "minecraft_slp", "port": "game"},
            "players": {"kind": "minecraft_slp", "port": "game"},
            "stop": {"kind": "console", "command": "stop"},
            "env": {"EULA": "TRUE"},
            "motd": "A Minecraft Server",
        }))
        .unwrap();
        assert_eq!(g.check(&["game"]), Ok(()));
        assert!(g.check(&["query"]).unwrap_err().contains("\"game\""));
        let bad_signal = Game {
            stop: Stop::Signal {
                signal: "SIGKILL".into(),
            },
            ..Game::default()
        };
        assert!(bad_signal.check(&[]).is_err());
        let bad_env = Game {
            env: [("GSP_DATA".to_owned(), "/".to_owned())].into(),
            ..Game::default()
        };
        assert!(bad_env.check(&[]).is_err());
        let status_without_gsp = Game {
            ready: Ready::LogLine {
                regex: "Done".into(),
            },
            ..Game::default()
        };
        assert!(status_without_gsp.check(&[]).is_err());
        let two_lines = Game {
            ready: Ready::TcpPort { port: "p".into() },
            players: Players::Proxy,
            stop: Stop::Console {
                command: "save\nstop".into(),
            },
            ..Game::default()
        };
        assert!(two_lines.check(&["p"]).is_err());
    }
}
