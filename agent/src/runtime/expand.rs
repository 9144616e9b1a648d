//! Placeholders in a process template's command line: `{port.NAME}` is
//! the port the child listens on for the template's port NAME, `{data}`
//! its data directory. Any other text, braces included, stays as it is.

use std::collections::BTreeMap;
use std::path::Path;

use super::RuntimeError;

/// `word` with its placeholders replaced.
pub fn expand(
    word: &str,
    ports: &BTreeMap<String, u16>,
    data: &Path,
) -> Result<String, RuntimeError> {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let key = &after[..end];
        if key == "data" {
            out.push_str(&data.to_string_lossy());
        } else if let Some(name) = key.strip_prefix("port.") {
            let port = ports.get(name).ok_or_else(|| {
                RuntimeError::Invalid(format!(
                    "the command line names {{port.{name}}}, and the template has no port {name:?}"
                ))
            })?;
            out.push_str(&port.to_string());
        } else {
            out.push('{');
            out.push_str(key);
            out.push('}');
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_and_the_data_directory_are_filled_in() {
        let ports = BTreeMap::from([("game".to_owned(), 25565), ("query".to_owned(), 2457)]);
        let data = Path::new("/srv/gsp/servers/7/data");
        let e = |w: &str| expand(w, &ports, data);
        assert_eq!(e("--port={port.game}").unwrap(), "--port=25565");
        assert_eq!(
            e("{data}/world:{port.query}").unwrap(),
            "/srv/gsp/servers/7/data/world:2457"
        );
        assert_eq!(e("plain").unwrap(), "plain");
        // Other braces are left alone, an unclosed one too.
        assert_eq!(e(r#"{"motd":"hi"}"#).unwrap(), r#"{"motd":"hi"}"#);
        assert_eq!(e("{port.game").unwrap(), "{port.game");
        assert!(matches!(e("{port.rcon}"), Err(RuntimeError::Invalid(_))));
    }
}
