//! [`Port`]: a public port a game listens on, as templates name them and
//! agents bind them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A port a template's game listens on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Port {
    /// What it is for ("telnet", "quic").
    #[schema(example = "telnet")]
    pub name: String,
    /// "tcp" or "udp".
    #[schema(example = "tcp")]
    pub protocol: String,
    /// The port the game listens on inside its container, or the child
    /// process's fixed port (`{port.NAME}`); none: the node picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = 25565)]
    pub port: Option<u16>,
}

/// Why a [`Port`] cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    /// Its protocol is neither "tcp" nor "udp".
    #[error("a port's protocol is \"tcp\" or \"udp\"")]
    Protocol,
}

impl Port {
    /// A port named `name` on `protocol` ("tcp" or "udp").
    pub fn new(name: &str, protocol: &str) -> Port {
        Port {
            name: name.into(),
            protocol: protocol.into(),
            port: None,
        }
    }

    /// The public ports of a GSP world: telnet over TCP, QUIC over UDP.
    pub fn gsp_world() -> Vec<Port> {
        vec![Port::new("telnet", "tcp"), Port::new("quic", "udp")]
    }

    /// Whether an agent can bind it: its protocol is "tcp" or "udp".
    pub fn check(&self) -> Result<(), PortError> {
        match self.protocol.as_str() {
            "tcp" | "udp" => Ok(()),
            _ => Err(PortError::Protocol),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tcp_and_udp_ports_pass() {
        assert!(Port::gsp_world().iter().all(|p| p.check().is_ok()));
        assert_eq!(Port::new("x", "sctp").check(), Err(PortError::Protocol));
    }
}
