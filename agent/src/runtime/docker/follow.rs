//! Following a container's output: the engine's log stream, line by line,
//! into the server's log file and [`LogRing`], with the world's
//! `listening NAME=...` lines reported as they pass.
//!
//! The engine sends stdout and stderr as frames (usually one line each, a
//! long line split across several), so each stream has its own line buffer.
//! A follow stream ends when the container stops; the follower then asks
//! the engine how it ended and writes that as a last `[agent]` line, which
//! makes it part of the output a failed start reports.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};

use bollard::container::LogOutput;
use bollard::models::ContainerState;
use bollard::query_parameters::{InspectContainerOptions, LogsOptions, WaitContainerOptions};
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::{mpsc, watch};

use super::super::{parse_listening, Exit, LogRing};

/// Where a container's output goes.
#[derive(Debug, Clone)]
pub struct Sink {
    /// The server's last lines.
    pub ring: LogRing,
    /// The server's log file, appended to.
    pub file: Arc<Mutex<File>>,
}

impl Sink {
    fn line(&self, line: String) {
        let _ = writeln!(
            self.file.lock().unwrap_or_else(|e| e.into_inner()),
            "{line}"
        );
        self.ring.push(line);
    }

    /// Records what the agent did or saw, marked `[agent]`.
    pub fn note(&self, what: impl std::fmt::Display) {
        self.line(format!("[agent] {what}"));
    }
}

/// Follows container `name`'s output from `since` (Unix seconds; 0 for all
/// of it) until the container stops, sending the name of each listener the
/// world reports to `seen`, and how it ended to `exited`.
pub async fn follow(
    docker: Docker,
    name: String,
    since: i32,
    sink: Sink,
    seen: mpsc::UnboundedSender<String>,
    exited: watch::Sender<Option<Exit>>,
) {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        since,
        ..Default::default()
    };
    let mut stream = docker.logs(&name, Some(options));
    let (mut out, mut err) = (Lines::default(), Lines::default());
    while let Some(frame) = stream.next().await {
        let (buffer, bytes) = match frame {
            Ok(LogOutput::StdOut { message }) => (&mut out, message),
            Ok(LogOutput::StdErr { message }) => (&mut err, message),
            Ok(LogOutput::Console { message }) => (&mut out, message),
            Ok(LogOutput::StdIn { .. }) => continue,
            Err(e) => {
                sink.note(format_args!("reading the container's output failed: {e}"));
                break;
            }
        };
        for line in buffer.push(&bytes) {
            emit(&sink, &seen, line);
        }
    }
    for line in [out.finish(), err.finish()].into_iter().flatten() {
        emit(&sink, &seen, line);
    }
    let (text, exit) = ending(&docker, &name).await;
    sink.note(text);
    if let Some(exit) = exit {
        let _ = exited.send(Some(exit));
    }
    tracing::debug!(container = %name, "stopped following its output");
}

/// How container `name` ended, once it has: the output stream can end
/// while it still runs (the engine dropped it), and then the engine is
/// asked to wait for its end.
async fn ending(docker: &Docker, name: &str) -> (String, Option<Exit>) {
    for _ in 0..2 {
        let state = match docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
        {
            Ok(c) => c.state,
            Err(e) => return (format!("the container is gone ({e})"), None),
        };
        match state {
            Some(s) if s.running != Some(true) => {
                let exit = exit_of(&s);
                let text = match s.error.filter(|e| !e.is_empty()) {
                    Some(e) => format!("the world exited ({}): {e}", exit.status),
                    None => format!("the world exited ({})", exit.status),
                };
                return (text, Some(exit));
            }
            _ => {
                // Still running: wait for it (a non-zero exit arrives as an
                // error of the stream; either way, inspect again).
                let _ = docker
                    .wait_container(name, None::<WaitContainerOptions>)
                    .next()
                    .await;
            }
        }
    }
    (
        "the container's output ended while it runs".to_owned(),
        None,
    )
}

/// An [`Exit`] from the engine's state of a stopped container.
fn exit_of(s: &ContainerState) -> Exit {
    let code = s.exit_code.unwrap_or(-1);
    let oom = if s.oom_killed == Some(true) {
        ", out of memory"
    } else {
        ""
    };
    Exit {
        success: code == 0,
        status: format!("exit code {code}{oom}"),
        at: std::time::SystemTime::now(),
    }
}

fn emit(sink: &Sink, seen: &mpsc::UnboundedSender<String>, line: String) {
    if let Some((listener, _)) = parse_listening(&line) {
        let _ = seen.send(listener.to_owned());
    }
    sink.line(line);
}

/// Bytes of one output stream cut into lines.
#[derive(Debug, Default)]
struct Lines {
    partial: Vec<u8>,
}

impl Lines {
    /// The lines `bytes` completes.
    fn push(&mut self, bytes: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(bytes);
        let mut lines = Vec::new();
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let rest = self.partial.split_off(end + 1);
            let line = std::mem::replace(&mut self.partial, rest);
            lines.push(text(&line[..end]));
        }
        lines
    }

    /// What is left after the stream ended without a newline.
    fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| text(&std::mem::take(&mut self.partial)))
    }
}

fn text(bytes: &[u8]) -> String {
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engines_state_becomes_an_exit() {
        let killed = ContainerState {
            running: Some(false),
            exit_code: Some(137),
            ..Default::default()
        };
        let exit = exit_of(&killed);
        assert!(!exit.success);
        assert_eq!(exit.status, "exit code 137");
        let oom = ContainerState {
            oom_killed: Some(true),
            ..killed
        };
        assert_eq!(exit_of(&oom).status, "exit code 137, out of memory");
        let clean = ContainerState {
            running: Some(false),
            exit_code: Some(0),
            ..Default::default()
        };
        assert!(exit_of(&clean).success);
    }

    #[test]
    fn frames_become_lines() {
        let mut lines = Lines::default();
        assert_eq!(lines.push(b"listening tel"), Vec::<String>::new());
        assert_eq!(
            lines.push(b"net=0.0.0.0:4000\r\nquic"),
            ["listening telnet=0.0.0.0:4000"]
        );
        assert_eq!(lines.push(b" ok\n\nlast \xff"), ["quic ok", ""]);
        assert_eq!(lines.finish().as_deref(), Some("last \u{fffd}"));
        assert_eq!(lines.finish(), None);
    }

    #[test]
    fn the_sink_keeps_lines_in_the_ring_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("world.log");
        let sink = Sink {
            ring: LogRing::default(),
            file: Arc::new(Mutex::new(File::create(&path).unwrap())),
        };
        let (tx, mut rx) = mpsc::unbounded_channel();
        emit(&sink, &tx, "listening quic=0.0.0.0:4433".into());
        emit(&sink, &tx, "hello".into());
        sink.note("the world exited (code 0)");
        assert_eq!(rx.try_recv().unwrap(), "quic");
        assert!(rx.try_recv().is_err());
        assert_eq!(
            sink.ring.tail(3),
            [
                "listening quic=0.0.0.0:4433",
                "hello",
                "[agent] the world exited (code 0)"
            ]
        );
        let file = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            file,
            "listening quic=0.0.0.0:4433\nhello\n[agent] the world exited (code 0)\n"
        );
    }
}
