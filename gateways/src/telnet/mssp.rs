//! MSSP: the world's listing for MUD crawlers, sent on `IAC DO MSSP`.
//!
//! The payload is `MSSP_VAR name MSSP_VAL value`, repeated
//! (<https://tintin.mudhalla.net/protocols/mssp/>). [`variables`] fills the
//! standard ones from [`MsspInfo`]; [`encode`] writes them.

/// Introduces a variable's name.
pub const VAR: u8 = 1;
/// Introduces its value.
pub const VAL: u8 = 2;

/// What the world says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsspInfo {
    /// The world's name.
    pub name: String,
    /// Players online.
    pub players: u64,
    /// When the world started, in Unix seconds.
    pub started_unix: u64,
    /// The host players connect to.
    pub hostname: String,
    /// The telnet port.
    pub port: u16,
    /// The TLS telnet port, if there is one.
    pub tls_port: Option<u16>,
}

/// The standard variables, filled from `info`.
pub fn variables(info: &MsspInfo) -> Vec<(&'static str, String)> {
    let yes = || "1".to_owned();
    let mut vars = vec![
        ("NAME", info.name.clone()),
        ("PLAYERS", info.players.to_string()),
        ("UPTIME", info.started_unix.to_string()),
        ("CODEBASE", format!("GSP {}", env!("CARGO_PKG_VERSION"))),
        ("HOSTNAME", info.hostname.clone()),
        ("PORT", info.port.to_string()),
        ("CRAWL DELAY", "-1".to_owned()),
        ("CONTACT", String::new()),
        ("LANGUAGE", "English".to_owned()),
        ("FAMILY", "Custom".to_owned()),
        ("GENRE", "None".to_owned()),
        ("STATUS", "Alpha".to_owned()),
        ("ANSI", yes()),
        ("UTF-8", yes()),
        ("GMCP", yes()),
        ("MCCP", yes()),
        ("MSSP", yes()),
        ("XTERM 256 COLORS", yes()),
        ("XTERM TRUE COLORS", yes()),
        ("MSDP", "0".to_owned()),
        ("MXP", "0".to_owned()),
        ("PUEBLO", "0".to_owned()),
        ("VT100", "0".to_owned()),
        (
            "SSL",
            info.tls_port.map_or("0".to_owned(), |p| p.to_string()),
        ),
    ];
    for (_, v) in &mut vars {
        v.retain(|c| !c.is_control());
    }
    vars
}

/// The subnegotiation payload for `vars`.
pub fn encode(vars: &[(&str, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in vars {
        out.push(VAR);
        out.extend_from_slice(name.as_bytes());
        out.push(VAL);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// Reads a payload back into `(name, value)` pairs (for tests and clients).
pub fn decode(data: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name: Option<Vec<u8>> = None;
    let mut value: Option<Vec<u8>> = None;
    let mut flush = |name: &mut Option<Vec<u8>>, value: &mut Option<Vec<u8>>| {
        if let (Some(n), Some(v)) = (name.take(), value.take()) {
            out.push((
                String::from_utf8_lossy(&n).into_owned(),
                String::from_utf8_lossy(&v).into_owned(),
            ));
        }
    };
    for &b in data {
        match b {
            VAR => {
                flush(&mut name, &mut value);
                name = Some(Vec::new());
            }
            VAL => {
                if value.is_some() {
                    flush(&mut name, &mut value);
                }
                value = Some(Vec::new());
            }
            b => match (&mut name, &mut value) {
                (_, Some(v)) => v.push(b),
                (Some(n), None) => n.push(b),
                (None, None) => {}
            },
        }
    }
    flush(&mut name, &mut value);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> MsspInfo {
        MsspInfo {
            name: "town\u{1}ville".into(),
            players: 3,
            started_unix: 1_700_000_000,
            hostname: "mud.example".into(),
            port: 4000,
            tls_port: Some(4443),
        }
    }

    #[test]
    fn the_standard_variables_filled_from_the_world() {
        let vars = decode(&encode(&variables(&info())));
        let get = |k: &str| {
            vars.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no {k}"))
        };
        assert_eq!(get("NAME"), "townville", "control bytes removed");
        assert_eq!(get("PLAYERS"), "3");
        assert_eq!(get("UPTIME"), "1700000000");
        assert!(get("CODEBASE").starts_with("GSP "));
        assert_eq!(get("HOSTNAME"), "mud.example");
        assert_eq!(get("PORT"), "4000");
        assert_eq!(get("SSL"), "4443");
        assert_eq!(get("CRAWL DELAY"), "-1");
        for k in ["ANSI", "UTF-8", "GMCP", "MCCP", "XTERM 256 COLORS"] {
            assert_eq!(get(k), "1", "{k}");
        }
    }

    #[test]
    fn encoding_is_var_name_val_value() {
        assert_eq!(
            encode(&[("NAME", "x".into()), ("PORT", "23".into())]),
            b"\x01NAME\x02x\x01PORT\x0223".to_vec()
        );
        assert_eq!(decode(b"junk"), vec![]);
    }
}
