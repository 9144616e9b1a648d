//! What container a [`Launch`] becomes, and where its listeners end up.
//!
//! Pure functions, no engine: the runtime asks this module for the
//! container's name, its create request and, once the world is up, the host
//! addresses of its listeners.
//!
//! Inside the container every world listens on the same fixed ports (telnet
//! 4000/tcp, QUIC 4433/udp, HTTP 4080/tcp; any other listener 5000 + its
//! index), on `0.0.0.0`, told so by `GSP_<NAME>` variables. Each port is
//! published on the host's loopback with no host port, so the engine picks a
//! free one; the node reads the picks back from the container's inspect
//! data. The world's data directory on the node is bind-mounted at `/data`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::Path;

use bollard::models::{ContainerCreateBody, HostConfig, Mount, MountType, PortBinding, PortMap};

use super::super::process::listener_var;
use super::super::{Launch, RuntimeError, HTTP_LISTENER};

/// Where the world's data directory is mounted inside the container.
pub const CONTAINER_DATA: &str = "/data";

/// The label every container this runtime makes carries (`true`).
pub const MANAGED_LABEL: &str = "gsp.managed";

/// The label that names the platform server a container runs.
pub const SERVER_LABEL: &str = "gsp.server";

/// Processes (threads included) a world's container may have.
pub const PIDS_LIMIT: i64 = 256;

/// The host IP container ports are published on: only the node itself
/// (its wake proxy) connects to a world directly.
pub const HOST_IP: &str = "127.0.0.1";

/// The container of a server: `gsp-server-<id>`.
pub fn container_name(server_id: i64) -> String {
    format!("gsp-server-{server_id}")
}

/// One listener of a world in a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// Its name (`telnet`), as the world prints it in `listening` lines.
    pub name: String,
    /// The port the world binds inside the container.
    pub port: u16,
    /// `tcp` or `udp`.
    pub protocol: &'static str,
}

impl Listener {
    /// The engine's key for the port: `4000/tcp`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.port, self.protocol)
    }
}

/// The container ports of a launch's listeners, in [`Launch::listeners`]
/// order. Fails on a name that cannot become a variable, a name given
/// twice, or a protocol other than tcp, udp or http (which is tcp).
pub fn listeners(launch: &Launch) -> Result<Vec<Listener>, RuntimeError> {
    let names = launch.listeners();
    let mut out: Vec<Listener> = Vec::with_capacity(names.len());
    for (i, name) in names.into_iter().enumerate() {
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(RuntimeError::Invalid(format!(
                "port name {name:?}: use letters, digits, '-' and '_'"
            )));
        }
        if out.iter().any(|l| l.name == name) {
            return Err(RuntimeError::Invalid(format!(
                "port name {name:?} is given twice"
            )));
        }
        let declared = launch
            .ports
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.protocol.as_str());
        let fixed = launch
            .ports
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.port)
            .filter(|p| *p != 0);
        let (port, protocol) = match name.as_str() {
            // A game's own port inside its image (25565 for Minecraft).
            _ if fixed.is_some() => (
                fixed.unwrap_or_default(),
                if declared == Some("udp") {
                    "udp"
                } else {
                    "tcp"
                },
            ),
            "telnet" => (4000, "tcp"),
            "quic" => (4433, "udp"),
            HTTP_LISTENER => (4080, "tcp"),
            _ => {
                let protocol = match declared {
                    Some("tcp" | "http") | None => "tcp",
                    Some("udp") => "udp",
                    Some(other) => {
                        return Err(RuntimeError::Invalid(format!(
                            "port {name:?} has protocol {other:?}; use tcp or udp"
                        )))
                    }
                };
                let port = u16::try_from(5000 + i).map_err(|_| {
                    RuntimeError::Invalid("a template has at most a few hundred ports".into())
                })?;
                (port, protocol)
            }
        };
        out.push(Listener {
            name,
            port,
            protocol,
        });
    }
    Ok(out)
}

/// The world's environment: `GSP_<NAME>=0.0.0.0:<port>` per listener,
/// `GSP_DATA=/data`, its log filter and `NO_COLOR=1` (people read its log
/// on the dashboard, as in the process runtime), then the launch's own
/// variables (a later value of the same name wins).
pub fn environment(launch: &Launch, listeners: &[Listener]) -> Result<Vec<String>, RuntimeError> {
    let mut vars: Vec<(String, String)> = listeners
        .iter()
        .map(|l| (listener_var(&l.name), format!("0.0.0.0:{}", l.port)))
        .collect();
    vars.push(("GSP_DATA".into(), CONTAINER_DATA.into()));
    vars.push(("RUST_LOG".into(), world_log()));
    vars.push(("NO_COLOR".into(), "1".into()));
    for (key, value) in &launch.env {
        if key.is_empty() || key.contains(['=', '\0']) || value.contains('\0') {
            return Err(RuntimeError::Invalid(format!(
                "environment variable {key:?}: a name has no '=' and neither has NUL bytes"
            )));
        }
        match vars.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1.clone_from(value),
            None => vars.push((key.clone(), value.clone())),
        }
    }
    Ok(vars.into_iter().map(|(k, v)| format!("{k}={v}")).collect())
}

/// The worlds' log filter: the agent's `GSP_WORLD_LOG`, else `info`.
pub fn world_log() -> String {
    std::env::var("GSP_WORLD_LOG").unwrap_or_else(|_| "info".into())
}

/// The create request for a launch's container; `data_dir` is the launch's
/// data directory made absolute (the engine needs an absolute bind source).
pub fn create_body(
    launch: &Launch,
    listeners: &[Listener],
    data_dir: &Path,
) -> Result<ContainerCreateBody, RuntimeError> {
    let image = launch.launch.trim();
    if image.is_empty() || image.contains(char::is_whitespace) {
        return Err(RuntimeError::Invalid(format!(
            "{:?} is not an image name (the docker runtime runs an image, e.g. gsp-world:dev)",
            launch.launch
        )));
    }
    let memory = positive(launch.memory_mib, 1 << 20, "memory_mib")?;
    let nano_cpus = positive(launch.cpu_millis, 1_000_000, "cpu_millis")?;
    let source = data_dir
        .to_str()
        .filter(|_| data_dir.is_absolute())
        .ok_or_else(|| {
            RuntimeError::Invalid(format!(
                "the data directory {} must be an absolute UTF-8 path",
                data_dir.display()
            ))
        })?;

    let port_bindings: PortMap = listeners
        .iter()
        .map(|l| {
            let binding = PortBinding {
                host_ip: Some(HOST_IP.into()),
                host_port: Some(String::new()),
            };
            (l.key(), Some(vec![binding]))
        })
        .collect();
    let labels = HashMap::from([
        (MANAGED_LABEL.to_owned(), "true".to_owned()),
        (SERVER_LABEL.to_owned(), launch.server_id.to_string()),
    ]);
    Ok(ContainerCreateBody {
        image: Some(image.to_owned()),
        env: Some(environment(launch, listeners)?),
        exposed_ports: Some(listeners.iter().map(Listener::key).collect()),
        labels: Some(labels),
        // The template's stop signal; a console stop is SIGTERM here (the
        // engine's stop), which the shipped images save on.
        stop_signal: Some(match &launch.game.stop {
            gsp_agent_api::Stop::Signal { signal } => signal.clone(),
            gsp_agent_api::Stop::Console { .. } => "SIGTERM".into(),
        }),
        host_config: Some(HostConfig {
            mounts: Some(vec![Mount {
                target: Some(CONTAINER_DATA.into()),
                source: Some(source.to_owned()),
                typ: Some(MountType::BIND),
                ..Default::default()
            }]),
            port_bindings: Some(port_bindings),
            memory: Some(memory),
            memory_swap: Some(memory),
            nano_cpus: Some(nano_cpus),
            pids_limit: Some(PIDS_LIMIT),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// `value * unit`, when `value` is positive and the product fits.
fn positive(value: i64, unit: i64, what: &str) -> Result<i64, RuntimeError> {
    value
        .checked_mul(unit)
        .filter(|_| value > 0)
        .ok_or_else(|| {
            RuntimeError::Invalid(format!("{what} is {value}; it must be positive and sane"))
        })
}

/// Where the node reaches each listener: `127.0.0.1:<host port>` from the
/// container's published ports (its inspect data).
pub fn host_addresses(
    listeners: &[Listener],
    ports: Option<&PortMap>,
) -> Result<BTreeMap<String, SocketAddr>, RuntimeError> {
    listeners
        .iter()
        .map(|l| {
            let host_port = ports
                .and_then(|p| p.get(&l.key()))
                .and_then(Option::as_ref)
                .into_iter()
                .flatten()
                .find_map(|b| {
                    b.host_port
                        .as_deref()?
                        .parse::<u16>()
                        .ok()
                        .filter(|p| *p != 0)
                })
                .ok_or_else(|| {
                    RuntimeError::Engine(format!(
                        "the container publishes no host port for {} ({})",
                        l.name,
                        l.key()
                    ))
                })?;
            let ip = [127, 0, 0, 1].into();
            Ok((l.name.clone(), SocketAddr::new(ip, host_port)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use gsp_agent_api::Port;

    fn launch(ports: &[(&str, &str)]) -> Launch {
        Launch {
            server_id: 42,
            launch: "gsp-world:test".into(),
            ports: ports.iter().map(|(n, p)| Port::new(n, p)).collect(),
            cpu_millis: 500,
            memory_mib: 256,
            data_dir: "/srv/gsp/42".into(),
            log_file: "/srv/gsp/42.log".into(),
            env: vec![("GSP_WORLD_NAME".into(), "w42".into())],
            game: Default::default(),
        }
    }

    #[test]
    fn well_known_listeners_get_fixed_ports_and_others_follow_5000() {
        let l = listeners(&launch(&[
            ("telnet", "tcp"),
            ("quic", "udp"),
            ("voice", "udp"),
            ("web", "http"),
        ]))
        .unwrap();
        let keys: Vec<(String, String)> = l.iter().map(|l| (l.name.clone(), l.key())).collect();
        assert_eq!(
            keys,
            [
                ("telnet".into(), "4000/tcp".into()),
                ("quic".into(), "4433/udp".into()),
                ("voice".into(), "5002/udp".into()),
                ("web".into(), "5003/tcp".into()),
                ("http".into(), "4080/tcp".into()),
            ]
        );
    }

    #[test]
    fn bad_ports_are_invalid() {
        for ports in [
            &[("telnet", "tcp"), ("telnet", "tcp")][..],
            &[("voice", "sctp")],
            &[("bad name", "tcp")],
            &[("", "tcp")],
            &[("a=b", "tcp")],
        ] {
            let err = listeners(&launch(ports)).unwrap_err();
            assert!(matches!(err, RuntimeError::Invalid(_)), "{ports:?}: {err}");
        }
    }

    #[test]
    fn the_environment_names_every_listener_and_the_launch_wins() {
        let mut l = launch(&[("telnet", "tcp"), ("quic", "udp")]);
        l.env.push(("GSP_DATA".into(), "/elsewhere".into()));
        let env = environment(&l, &listeners(&l).unwrap()).unwrap();
        assert_eq!(
            env,
            [
                "GSP_TELNET=0.0.0.0:4000",
                "GSP_QUIC=0.0.0.0:4433",
                "GSP_HTTP=0.0.0.0:4080",
                "GSP_DATA=/elsewhere",
                format!("RUST_LOG={}", world_log()).as_str(),
                "NO_COLOR=1",
                "GSP_WORLD_NAME=w42",
            ]
        );
        l.env.push(("A=B".into(), "x".into()));
        assert!(matches!(
            environment(&l, &[]),
            Err(RuntimeError::Invalid(_))
        ));
    }

    #[test]
    fn the_create_request_has_limits_labels_bindings_and_the_mount() {
        let l = launch(&[("telnet", "tcp"), ("quic", "udp")]);
        let body = create_body(&l, &listeners(&l).unwrap(), Path::new("/srv/gsp/42")).unwrap();
        assert_eq!(body.image.as_deref(), Some("gsp-world:test"));
        assert_eq!(body.stop_signal.as_deref(), Some("SIGTERM"));
        let labels = body.labels.unwrap();
        assert_eq!(labels[MANAGED_LABEL], "true");
        assert_eq!(labels[SERVER_LABEL], "42");
        let host = body.host_config.unwrap();
        assert_eq!(host.memory, Some(256 << 20));
        assert_eq!(host.memory_swap, Some(256 << 20));
        assert_eq!(host.nano_cpus, Some(500_000_000));
        assert_eq!(host.pids_limit, Some(PIDS_LIMIT));
        let bindings = host.port_bindings.unwrap();
        let quic = bindings["4433/udp"].as_ref().unwrap();
        assert_eq!(quic[0].host_ip.as_deref(), Some(HOST_IP));
        assert_eq!(quic[0].host_port.as_deref(), Some(""));
        assert_eq!(bindings.len(), 3);
        let mount = &host.mounts.unwrap()[0];
        assert_eq!(mount.source.as_deref(), Some("/srv/gsp/42"));
        assert_eq!(mount.target.as_deref(), Some(CONTAINER_DATA));
        assert_eq!(mount.typ, Some(MountType::BIND));
        // The engine wants ExposedPorts as an object of empty objects.
        let json = serde_json::to_value(ContainerCreateBody {
            exposed_ports: body.exposed_ports,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(json["ExposedPorts"]["4433/udp"], serde_json::json!({}));
    }

    #[test]
    fn bad_launches_are_invalid_not_panics() {
        let ports = [("telnet", "tcp")];
        let dir = Path::new("/srv/gsp/42");
        let cases: Vec<(Launch, &Path)> = vec![
            (
                Launch {
                    launch: "  ".into(),
                    ..launch(&ports)
                },
                dir,
            ),
            (
                Launch {
                    launch: "gsp-world:test world".into(),
                    ..launch(&ports)
                },
                dir,
            ),
            (
                Launch {
                    memory_mib: 0,
                    ..launch(&ports)
                },
                dir,
            ),
            (
                Launch {
                    memory_mib: i64::MAX,
                    ..launch(&ports)
                },
                dir,
            ),
            (
                Launch {
                    cpu_millis: -5,
                    ..launch(&ports)
                },
                dir,
            ),
            (
                Launch {
                    cpu_millis: i64::MAX,
                    ..launch(&ports)
                },
                dir,
            ),
            (launch(&ports), Path::new("relative/dir")),
        ];
        for (l, dir) in cases {
            let err = create_body(&l, &listeners(&l).unwrap(), dir).unwrap_err();
            assert!(matches!(err, RuntimeError::Invalid(_)), "{l:?}: {err}");
        }
    }

    #[test]
    fn host_addresses_come_from_the_published_ports() {
        let l = launch(&[("telnet", "tcp"), ("quic", "udp")]);
        let ls = listeners(&l).unwrap();
        let bind = |port: &str| {
            Some(vec![PortBinding {
                host_ip: Some("127.0.0.1".into()),
                host_port: Some(port.into()),
            }])
        };
        let mut ports: PortMap = HashMap::from([
            ("4000/tcp".into(), bind("32768")),
            ("4433/udp".into(), bind("32769")),
        ]);
        let err = host_addresses(&ls, Some(&ports)).unwrap_err();
        assert!(err.to_string().contains("http (4080/tcp)"), "{err}");
        ports.insert("4080/tcp".into(), bind("32770"));
        let addrs = host_addresses(&ls, Some(&ports)).unwrap();
        assert_eq!(addrs["telnet"], "127.0.0.1:32768".parse().unwrap());
        assert_eq!(addrs["quic"], "127.0.0.1:32769".parse().unwrap());
        assert_eq!(addrs["http"], "127.0.0.1:32770".parse().unwrap());
        assert!(host_addresses(&ls, None).is_err());
    }
}
