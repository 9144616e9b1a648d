//! The templates GSP ships: a GSP world, Minecraft Java, Valheim,
//! Satisfactory, and generic TCP and UDP servers. An admin adds them
//! (Admin → Templates, or `POST /api/admin/templates` with one of these
//! bodies) and may change them first; nothing is added on its own.

use gsp_agent_api::{Game, Players, Port, Ready, Stop};

use super::NewTemplate;

fn port(name: &str, protocol: &str, inside: u16) -> Port {
    Port {
        port: Some(inside),
        ..Port::new(name, protocol)
    }
}

/// Every shipped template, by name.
pub fn shipped() -> Vec<NewTemplate> {
    let base = |name: &str, runtime: &str, launch: &str| NewTemplate {
        name: name.into(),
        runtime: runtime.into(),
        launch: launch.into(),
        ports: Vec::new(),
        cpu_millis: 1000,
        memory_mib: 512,
        price_per_hour: 1000,
        idle_minutes: 15,
        idle_seconds: None,
        game: Game::default(),
    };
    vec![
        NewTemplate {
            ports: Port::gsp_world(),
            ..base("gsp-world", "command", "gsp world")
        },
        NewTemplate {
            ports: vec![port("game", "tcp", 25565)],
            cpu_millis: 2000,
            memory_mib: 4096,
            price_per_hour: 3000,
            game: Game {
                ready: Ready::MinecraftSlp {
                    port: "game".into(),
                },
                players: Players::MinecraftSlp {
                    port: "game".into(),
                },
                stop: Stop::Console {
                    command: "stop".into(),
                },
                env: [("EULA".to_owned(), "TRUE".to_owned())].into(),
                motd: Some("A Minecraft Server".into()),
            },
            ..base("minecraft-java", "image", "itzg/minecraft-server")
        },
        NewTemplate {
            ports: vec![port("game", "udp", 2456), port("query", "udp", 2457)],
            cpu_millis: 2000,
            memory_mib: 4096,
            price_per_hour: 3000,
            game: Game {
                ready: Ready::A2s {
                    port: "query".into(),
                },
                players: Players::A2s {
                    port: "query".into(),
                },
                motd: Some("A Valheim server".into()),
                ..Game::default()
            },
            ..base("valheim", "image", "lloesche/valheim-server")
        },
        NewTemplate {
            ports: vec![port("game", "udp", 7777), port("api", "tcp", 7777)],
            cpu_millis: 4000,
            memory_mib: 8192,
            price_per_hour: 5000,
            game: Game {
                ready: Ready::SatisfactoryQuery {
                    port: "game".into(),
                },
                players: Players::Proxy,
                motd: Some("A Satisfactory server".into()),
                ..Game::default()
            },
            ..base("satisfactory", "image", "wolveix/satisfactory-server")
        },
        NewTemplate {
            ports: vec![Port::new("game", "tcp")],
            game: Game {
                ready: Ready::TcpPort {
                    port: "game".into(),
                },
                players: Players::Proxy,
                ..Game::default()
            },
            ..base(
                "generic-tcp",
                "command",
                "/usr/local/bin/my-server --port {port.game} --data {data}",
            )
        },
        NewTemplate {
            ports: vec![Port::new("game", "udp")],
            game: Game {
                ready: Ready::LogLine {
                    regex: "(?i)ready|listening".into(),
                },
                players: Players::Proxy,
                ..Game::default()
            },
            ..base(
                "generic-udp",
                "command",
                "/usr/local/bin/my-server --port {port.game} --data {data}",
            )
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_template_passes_its_own_checks() {
        let all = shipped();
        let names: Vec<&str> = all.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "gsp-world",
                "minecraft-java",
                "valheim",
                "satisfactory",
                "generic-tcp",
                "generic-udp"
            ]
        );
        for t in &all {
            let ports: Vec<&str> = t.ports.iter().map(|p| p.name.as_str()).collect();
            assert_eq!(t.game.check(&ports), Ok(()), "{}", t.name);
            assert!(t.ports.iter().all(|p| p.check().is_ok()), "{}", t.name);
        }
    }
}
