//! Servers trusted on first use: the fingerprints `gsp play` remembers.
//!
//! Without `--pin`, the first connection to a server accepts whatever
//! certificate it shows, with a warning, and remembers its fingerprint in
//! `known_servers` (one `ADDRESS SHA256` per line); later connections accept
//! only that certificate, and a changed one is refused with a warning that
//! says so, until the player chooses to trust the new one.

use std::path::{Path, PathBuf};

/// The remembered fingerprints, by server address as typed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KnownServers {
    entries: Vec<(String, String)>,
}

impl KnownServers {
    /// Reads the file's text; lines that are not `ADDRESS SHA256` are skipped.
    pub fn parse(text: &str) -> Self {
        let entries = text
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                let (addr, pin) = (words.next()?, words.next()?);
                gsp_client::parse_fingerprint(pin)?;
                Some((addr.to_owned(), pin.to_ascii_lowercase()))
            })
            .collect();
        KnownServers { entries }
    }

    /// The file's text.
    pub fn render(&self) -> String {
        self.entries
            .iter()
            .map(|(a, p)| format!("{a} {p}\n"))
            .collect()
    }

    /// The fingerprint remembered for `server`.
    pub fn get(&self, server: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(a, _)| a == server)
            .map(|(_, p)| p.as_str())
    }

    /// Remembers `pin` for `server`, replacing what was remembered.
    pub fn set(&mut self, server: &str, pin: &str) {
        self.entries.retain(|(a, _)| a != server);
        self.entries
            .push((server.to_owned(), pin.to_ascii_lowercase()));
    }

    /// Reads `path`; a missing file is an empty list.
    pub fn load(path: &Path) -> std::io::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Self::parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e),
        }
    }

    /// Writes `path`, creating its directory.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, self.render())
    }
}

/// Where the list lives: `$GSP_CONFIG_DIR/known_servers`, else
/// `$XDG_CONFIG_HOME/gsp/known_servers`, else `~/.config/gsp/known_servers`.
pub fn default_path() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let dir = var("GSP_CONFIG_DIR")
        .or_else(|| var("XDG_CONFIG_HOME").map(|d| d.join("gsp")))
        .or_else(|| var("HOME").map(|h| h.join(".config").join("gsp")))?;
    Some(dir.join("known_servers"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_replaces_and_survives_a_round_trip() {
        let a = "ab".repeat(32);
        let b = "CD".repeat(32);
        let mut known = KnownServers::parse(&format!("host:1 {a}\nnonsense\nhost:2 short\n"));
        assert_eq!(known.get("host:1"), Some(a.as_str()));
        assert_eq!(known.get("host:2"), None);
        known.set("host:1", &b);
        assert_eq!(known.get("host:1"), Some("cd".repeat(32).as_str()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/known_servers");
        assert_eq!(KnownServers::load(&path).unwrap(), KnownServers::default());
        known.save(&path).unwrap();
        assert_eq!(KnownServers::load(&path).unwrap(), known);
    }
}
