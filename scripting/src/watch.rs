//! `--watch`: notices when a mod's files change, so the host reloads it.
//!
//! A background thread looks at the modification time and size of every
//! file in each mod's folder a few times a second (no platform file-event
//! API, so it works the same in containers and on network disks) and sends
//! the name of each mod that changed. The host reloads it on the tick
//! thread at the start of the next scripts stage.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crossbeam_channel::Receiver;

/// How often the folders are looked at.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

fn fingerprint(dir: &Path) -> Fingerprint {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
            } else {
                out.push((path, meta.modified().ok(), meta.len()));
            }
        }
    }
    out.sort();
    out
}

/// Watches `mods` (name, folder) and returns the channel of changed names.
/// The thread ends when the receiver is dropped.
pub fn spawn(mods: Vec<(String, PathBuf)>) -> std::io::Result<Receiver<String>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    let mut seen: Vec<Fingerprint> = mods.iter().map(|(_, d)| fingerprint(d)).collect();
    std::thread::Builder::new()
        .name("gsp-mod-watch".into())
        .spawn(move || loop {
            std::thread::sleep(POLL_INTERVAL);
            for ((name, dir), seen) in mods.iter().zip(seen.iter_mut()) {
                let now = fingerprint(dir);
                if now != *seen {
                    *seen = now;
                    if tx.send(name.clone()).is_err() {
                        return;
                    }
                }
            }
        })?;
    Ok(rx)
}
