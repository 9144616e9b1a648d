//! The process runtime: each world is a child process of the agent.
//!
//! The child gets its own data directory (`GSP_DATA`), loopback listeners on
//! ports the kernel picks (`GSP_TELNET=127.0.0.1:0`, one `GSP_<NAME>` per
//! listener; the world prints the ports it bound), and its own process
//! group, so a Ctrl-C meant for the agent does not reach it: the agent stops
//! its worlds itself, in order. Its stdout and stderr are appended to the
//! server's log file and kept in a [`LogRing`]. Stop is SIGTERM (the world
//! saves and exits), then SIGKILL after the grace period.
//!
//! The runtime does not limit CPU or memory (that needs cgroups, which the
//! docker runtime gets from the engine); it measures both from `/proc`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use gsp_agent_api::{Ready, Stop};
use tokio::io::AsyncWriteExt;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{ChildStdin, Command};
use tokio::sync::{mpsc, watch};

use super::expand::expand;
use crate::probe;

use super::{
    lock, parse_listening, Exit, Launch, LogBook, LogRing, Runtime, RuntimeError, Started, Usage,
    READY_TIMEOUT,
};

/// Runs worlds as child processes of `gsp` (or any command that follows
/// the same contract: `GSP_*` listener variables in, `listening` lines out).
#[derive(Debug)]
pub struct ProcessRuntime {
    gsp: PathBuf,
    children: Mutex<HashMap<i64, Child>>,
    logs: LogBook,
}

#[derive(Debug, Clone)]
struct Child {
    pid: u32,
    started: Started,
    /// Becomes `Some` when the process has exited.
    exited: watch::Receiver<Option<Exit>>,
    /// Its standard input: the console.
    stdin: Arc<tokio::sync::Mutex<Option<ChildStdin>>>,
    /// How it stops.
    stop: Stop,
    last_cpu: Arc<Mutex<Option<(Instant, u64)>>>,
}

impl Child {
    fn running(&self) -> bool {
        self.exited.borrow().is_none()
    }
}

impl ProcessRuntime {
    /// A runtime whose command lines' `gsp` is the binary at `gsp` (the
    /// agent passes its own executable).
    pub fn new(gsp: PathBuf) -> ProcessRuntime {
        ProcessRuntime {
            gsp,
            children: Mutex::new(HashMap::new()),
            logs: LogBook::default(),
        }
    }

    fn child(&self, server_id: i64) -> Option<Child> {
        lock(&self.children).get(&server_id).cloned()
    }

    fn ring(&self, server_id: i64) -> LogRing {
        self.logs.ring(server_id)
    }

    /// The program and arguments of a launch's command line.
    fn command_line(&self, launch: &str) -> Result<(PathBuf, Vec<String>), RuntimeError> {
        let words = shlex::split(launch)
            .ok_or_else(|| RuntimeError::Invalid("the command line has an open quote".into()))?;
        let (program, args) = words
            .split_first()
            .ok_or_else(|| RuntimeError::Invalid("the command line is empty".into()))?;
        let program = if program == "gsp" {
            self.gsp.clone()
        } else {
            PathBuf::from(program)
        };
        Ok((program, args.to_vec()))
    }

    async fn spawn(&self, launch: &Launch) -> Result<Started, RuntimeError> {
        if let Some(child) = self.child(launch.server_id).filter(Child::running) {
            return Ok(child.started);
        }
        let (program, args) = self.command_line(&launch.launch)?;
        // A game other than a GSP world listens where it is told: each
        // port fixed by the template, or one picked here, given to it as
        // `{port.NAME}`.
        let gsp_world = launch.game.is_gsp();
        let mut fixed: BTreeMap<String, u16> = BTreeMap::new();
        if !gsp_world {
            for p in &launch.ports {
                let port = match p.port {
                    Some(n) if n != 0 => n,
                    _ => free_port(&p.protocol)?,
                };
                fixed.insert(p.name.clone(), port);
            }
        }
        let args = args
            .iter()
            .map(|a| expand(a, &fixed, &launch.data_dir))
            .collect::<Result<Vec<String>, RuntimeError>>()?;
        let ready_line = match &launch.game.ready {
            Ready::LogLine { regex } => Some(
                regex::Regex::new(regex)
                    .map_err(|e| RuntimeError::Invalid(format!("the log line regex: {e}")))?,
            ),
            _ => None,
        };
        std::fs::create_dir_all(&launch.data_dir).map_err(RuntimeError::io(format!(
            "creating {}",
            launch.data_dir.display()
        )))?;
        if let Some(dir) = launch.log_file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(RuntimeError::io(format!("creating {}", dir.display())))?;
        }
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.log_file)
            .map_err(RuntimeError::io(format!(
                "opening {}",
                launch.log_file.display()
            )))?;
        let log_file = Arc::new(Mutex::new(log_file));

        let wanted = launch.listeners();
        let mut command = Command::new(&program);
        command
            .args(&args)
            .current_dir(&launch.data_dir)
            .env("GSP_DATA", &launch.data_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        if gsp_world {
            for name in &wanted {
                command.env(listener_var(name), "127.0.0.1:0");
            }
        }
        for (name, port) in &fixed {
            command.env(listener_var(&format!("port-{name}")), port.to_string());
        }
        // The world's log is read by people on the dashboard: its own
        // info lines, without colour codes, whatever the agent's filter.
        command
            .env(
                "RUST_LOG",
                std::env::var("GSP_WORLD_LOG").unwrap_or_else(|_| "info".into()),
            )
            .env("NO_COLOR", "1");
        for (k, v) in &launch.env {
            command.env(k, v);
        }
        // If the agent dies without stopping its worlds, each gets SIGTERM
        // (and saves) rather than living on unmanaged.
        #[cfg(target_os = "linux")]
        // SAFETY: prctl is async-signal-safe; nothing else runs between
        // fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .map_err(RuntimeError::io(format!("running {}", program.display())))?;
        let pid = child.id().unwrap_or_default();
        let ring = self.ring(launch.server_id);
        ring.push(format!("[agent] started {} (pid {pid})", launch.launch));
        let stdin = Arc::new(tokio::sync::Mutex::new(child.stdin.take()));

        let (seen_tx, mut seen_rx) = mpsc::unbounded_channel();
        let (lines_tx, mut lines_rx) = mpsc::unbounded_channel();
        let lines = ready_line.is_some().then_some(lines_tx);
        let mut pumps = Vec::with_capacity(2);
        if let Some(out) = child.stdout.take() {
            pumps.push(tokio::spawn(pump(
                out,
                ring.clone(),
                log_file.clone(),
                gsp_world.then(|| seen_tx.clone()),
                lines.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            pumps.push(tokio::spawn(pump(
                err,
                ring.clone(),
                log_file.clone(),
                None,
                lines,
            )));
        }
        drop(seen_tx);
        let (exited_tx, mut exited) = watch::channel(None);
        {
            let ring = ring.clone();
            tokio::spawn(async move {
                let status = child.wait().await;
                let exit = match status {
                    Ok(s) => Exit {
                        success: s.success(),
                        status: s.to_string(),
                        at: std::time::SystemTime::now(),
                    },
                    Err(e) => Exit {
                        success: false,
                        status: format!("waiting for it failed: {e}"),
                        at: std::time::SystemTime::now(),
                    },
                };
                // What it wrote last is read before its exit is noted (a
                // grandchild holding the pipes open gets a second).
                let drained = async {
                    for pump in pumps {
                        let _ = pump.await;
                    }
                };
                let _ = tokio::time::timeout(std::time::Duration::from_secs(1), drained).await;
                ring.push(format!("[agent] the world exited ({})", exit.status));
                let _ = exited_tx.send(Some(exit));
            });
        }

        let mut started = Started::default();
        let addrs: BTreeMap<String, SocketAddr> = fixed
            .iter()
            .map(|(n, p)| (n.clone(), SocketAddr::from(([127, 0, 0, 1], *p))))
            .collect();
        let probed = async {
            match &launch.game.ready {
                Ready::LogLine { .. } => {
                    let re = ready_line.as_ref();
                    while let Some(line) = lines_rx.recv().await {
                        if re.is_some_and(|re| re.is_match(&line)) {
                            return;
                        }
                    }
                    std::future::pending::<()>().await;
                }
                other => probe::until_ready(other, &addrs).await,
            }
        };
        let ready = async {
            if !gsp_world {
                tokio::select! {
                    _ = probed => {
                        started.listeners = addrs.clone();
                        return true;
                    }
                    _ = exited.wait_for(Option::is_some) => return false,
                }
            }
            while started.listeners.len() < wanted.len() {
                tokio::select! {
                    seen = seen_rx.recv() => match seen {
                        Some((name, addr)) => {
                            if wanted.contains(&name) {
                                started.listeners.insert(name, addr);
                            }
                        }
                        // Its output closed: it is exiting.
                        None => break,
                    },
                    _ = exited.wait_for(Option::is_some) => break,
                }
            }
            if started.listeners.len() < wanted.len() {
                let _ = exited.wait_for(Option::is_some).await;
                return false;
            }
            true
        };
        match tokio::time::timeout(READY_TIMEOUT, ready).await {
            Ok(true) => {}
            Ok(false) => {
                let tail = ring.tail(20).join("\n");
                return Err(RuntimeError::Failed(tail));
            }
            Err(_) => {
                signal(pid, libc::SIGKILL);
                return Err(RuntimeError::NotReady(READY_TIMEOUT));
            }
        }
        tracing::info!(server = launch.server_id, pid, listeners = ?started.listeners, "world ready");
        lock(&self.children).insert(
            launch.server_id,
            Child {
                pid,
                started: started.clone(),
                exited,
                stdin,
                stop: launch.game.stop.clone(),
                last_cpu: Arc::default(),
            },
        );
        Ok(started)
    }

    async fn halt(&self, server_id: i64, grace: Duration) -> Result<(), RuntimeError> {
        let Some(mut child) = self.child(server_id) else {
            return Ok(());
        };
        if child.running() {
            match &child.stop {
                Stop::Console { command } => {
                    let said = write_line(&child.stdin, command).await;
                    self.ring(server_id).push(format!(
                        "[agent] stopping with the console command {command:?}"
                    ));
                    let gone = said.is_ok()
                        && tokio::time::timeout(grace, child.exited.wait_for(Option::is_some))
                            .await
                            .is_ok();
                    if !gone {
                        signal(child.pid, libc::SIGTERM);
                    }
                }
                Stop::Signal { signal: name } => signal(child.pid, signal_number(name)),
            }
            let exited = tokio::time::timeout(grace, child.exited.wait_for(Option::is_some))
                .await
                .is_ok();
            if !exited {
                tracing::warn!(
                    server = server_id,
                    pid = child.pid,
                    "the world ignored SIGTERM; killing it"
                );
                self.ring(server_id)
                    .push(format!("[agent] no exit {grace:?} after SIGTERM: SIGKILL"));
                signal(child.pid, libc::SIGKILL);
                let _ = child.exited.wait_for(Option::is_some).await;
            }
        }
        lock(&self.children).remove(&server_id);
        Ok(())
    }
}

impl Runtime for ProcessRuntime {
    fn name(&self) -> &'static str {
        "process"
    }

    fn runs(&self) -> &'static str {
        "command"
    }

    fn start<'a>(&'a self, launch: &'a Launch) -> BoxFuture<'a, Result<Started, RuntimeError>> {
        Box::pin(self.spawn(launch))
    }

    fn stop(&self, server_id: i64, grace: Duration) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(self.halt(server_id, grace))
    }

    fn remove(&self, server_id: i64, grace: Duration) -> BoxFuture<'_, Result<(), RuntimeError>> {
        Box::pin(async move {
            self.halt(server_id, grace).await?;
            self.logs.forget(server_id);
            Ok(())
        })
    }

    fn logs(
        &self,
        server_id: i64,
        lines: usize,
    ) -> BoxFuture<'_, Result<Vec<String>, RuntimeError>> {
        Box::pin(std::future::ready(self.logs.tail(server_id, lines)))
    }

    fn send_line<'a>(
        &'a self,
        server_id: i64,
        line: &'a str,
    ) -> BoxFuture<'a, Result<(), RuntimeError>> {
        Box::pin(async move {
            let child = self
                .child(server_id)
                .filter(Child::running)
                .ok_or_else(|| RuntimeError::Invalid("the world is not running".into()))?;
            self.ring(server_id).push(format!("> {line}"));
            write_line(&child.stdin, line).await
        })
    }

    fn exited(&self, server_id: i64) -> BoxFuture<'_, Option<Exit>> {
        Box::pin(async move {
            let mut exited = self.child(server_id)?.exited;
            let exit = exited.wait_for(Option::is_some).await.ok()?.clone();
            exit
        })
    }

    fn usage(&self, server_id: i64) -> BoxFuture<'_, Result<Usage, RuntimeError>> {
        Box::pin(async move {
            let Some(child) = self.child(server_id).filter(Child::running) else {
                return Ok(Usage::default());
            };
            let (ticks, rss_pages) = proc_usage(child.pid).unwrap_or_default();
            let now = Instant::now();
            let cpu_percent = {
                let mut last = lock(&child.last_cpu);
                let percent = match *last {
                    Some((then, before)) if now > then => {
                        let secs = ticks.saturating_sub(before) as f64 / clock_ticks();
                        100.0 * secs / (now - then).as_secs_f64()
                    }
                    _ => 0.0,
                };
                *last = Some((now, ticks));
                percent
            };
            Ok(Usage {
                running: true,
                cpu_percent,
                memory_mib: rss_pages as f64 * page_size() / (1024.0 * 1024.0),
            })
        })
    }
}

/// A port of `protocol` free on the loopback now.
fn free_port(protocol: &str) -> Result<u16, RuntimeError> {
    let port = match protocol {
        "udp" => std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()),
        _ => std::net::TcpListener::bind("127.0.0.1:0").and_then(|s| s.local_addr()),
    }
    .map_err(RuntimeError::io("finding a free port"))?
    .port();
    Ok(port)
}

/// The number of a stop signal's name (SIGTERM when unknown).
fn signal_number(name: &str) -> libc::c_int {
    match name {
        "SIGINT" => libc::SIGINT,
        "SIGQUIT" => libc::SIGQUIT,
        "SIGHUP" => libc::SIGHUP,
        _ => libc::SIGTERM,
    }
}

/// Writes `line` and a newline to a child's console.
async fn write_line(
    stdin: &tokio::sync::Mutex<Option<ChildStdin>>,
    line: &str,
) -> Result<(), RuntimeError> {
    let mut stdin = stdin.lock().await;
    let pipe = stdin
        .as_mut()
        .ok_or_else(|| RuntimeError::Invalid("the world has no console".into()))?;
    let mut bytes = line.as_bytes().to_vec();
    bytes.push(b'\n');
    pipe.write_all(&bytes)
        .await
        .map_err(RuntimeError::io("writing to the world's console"))?;
    pipe.flush()
        .await
        .map_err(RuntimeError::io("writing to the world's console"))
}

/// The variable that sets listener `name` of a GSP world: `GSP_TELNET`.
pub fn listener_var(name: &str) -> String {
    format!("GSP_{}", name.to_ascii_uppercase().replace('-', "_"))
}

/// Copies a child's output into the ring and the log file, line by line,
/// reporting `listening` lines to `seen`.
async fn pump(
    from: impl AsyncRead + Unpin,
    ring: LogRing,
    file: Arc<Mutex<std::fs::File>>,
    seen: Option<mpsc::UnboundedSender<(String, std::net::SocketAddr)>>,
    mut every: Option<mpsc::UnboundedSender<String>>,
) {
    use std::io::Write;
    let mut lines = BufReader::new(from).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(seen) = &seen {
            if let Some((name, addr)) = parse_listening(&line) {
                let _ = seen.send((name.to_owned(), addr));
            }
        }
        // Until nobody waits for the ready line any more.
        if every
            .as_ref()
            .is_some_and(|tx| tx.send(line.clone()).is_err())
        {
            every = None;
        }
        let _ = writeln!(lock(&file), "{line}");
        ring.push(line);
    }
}

fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    if pid > 0 {
        // SAFETY: kill(2) has no memory effects; a stale pid at worst gets
        // ESRCH (the waiter task reaps the child, so the pid is ours until
        // then).
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// CPU ticks (user + system) and resident pages of `pid`.
fn proc_usage(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; fields count from after its ')'.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let rss: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some((utime + stime, rss))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf reads a constant.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn page_size() -> f64 {
    // SAFETY: sysconf reads a constant.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as f64
    } else {
        4096.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_variables() {
        assert_eq!(listener_var("telnet"), "GSP_TELNET");
        assert_eq!(listener_var("web-admin"), "GSP_WEB_ADMIN");
    }

    #[test]
    fn gsp_means_the_agent_binary() {
        let rt = ProcessRuntime::new("/opt/gsp/bin/gsp".into());
        let (program, args) = rt.command_line("gsp world --mods '/srv/my mods'").unwrap();
        assert_eq!(program, PathBuf::from("/opt/gsp/bin/gsp"));
        assert_eq!(args, ["world", "--mods", "/srv/my mods"]);
        let (program, _) = rt.command_line("/usr/bin/env true").unwrap();
        assert_eq!(program, PathBuf::from("/usr/bin/env"));
        assert!(matches!(
            rt.command_line("  "),
            Err(RuntimeError::Invalid(_))
        ));
        assert!(matches!(
            rt.command_line("gsp 'open"),
            Err(RuntimeError::Invalid(_))
        ));
    }

    #[test]
    fn usage_reads_our_own_process() {
        let (ticks, rss) = proc_usage(std::process::id()).expect("/proc is readable");
        assert!(rss > 0);
        let _ = ticks;
    }

    /// A fake world: a shell script that prints its listening lines, and
    /// exits on SIGTERM.
    fn script_launch(dir: &std::path::Path, script: &str) -> Launch {
        Launch {
            server_id: 7,
            launch: format!("/bin/sh -c {}", shlex::try_quote(script).unwrap()),
            ports: vec![gsp_agent_api::Port {
                name: "telnet".into(),
                protocol: "tcp".into(),
                port: None,
            }],
            cpu_millis: 100,
            memory_mib: 64,
            data_dir: dir.join("data"),
            log_file: dir.join("log/world.log"),
            env: vec![("GREETING".into(), "hello".into())],
            game: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_world_is_ready_when_it_reports_its_listeners_and_stops_on_sigterm() {
        let dir = tempfile::tempdir().unwrap();
        let rt = ProcessRuntime::new("/bin/false".into());
        let launch = script_launch(
            dir.path(),
            "trap 'echo saving; exit 0' TERM; echo \"$GREETING from $GSP_TELNET in $(pwd)\"; \
             echo listening telnet=127.0.0.1:4100; echo listening http=127.0.0.1:4180; \
             while :; do sleep 0.05; done",
        );
        let started = rt.start(&launch).await.unwrap();
        assert_eq!(
            started.listeners["telnet"],
            "127.0.0.1:4100".parse().unwrap()
        );
        assert_eq!(started.listeners["http"], "127.0.0.1:4180".parse().unwrap());
        assert!(rt.usage(7).await.unwrap().running);
        // Starting again while it runs is the same world.
        assert_eq!(rt.start(&launch).await.unwrap(), started);

        rt.stop(7, Duration::from_secs(5)).await.unwrap();
        assert!(!rt.usage(7).await.unwrap().running);
        let logs = rt.logs(7, 100).await.unwrap();
        let data = launch.data_dir.display().to_string();
        assert!(
            logs.iter()
                .any(|l| l == &format!("hello from 127.0.0.1:0 in {data}")),
            "{logs:?}"
        );
        assert!(
            logs.iter().any(|l| l == "saving"),
            "SIGTERM reached the world: {logs:?}"
        );
        let file = std::fs::read_to_string(&launch.log_file).unwrap();
        assert!(file.contains("listening telnet=127.0.0.1:4100"), "{file}");

        rt.remove(7, Duration::from_secs(1)).await.unwrap();
        assert!(matches!(rt.logs(7, 1).await, Err(RuntimeError::Unknown)));
    }

    #[tokio::test]
    async fn a_world_that_exits_on_its_own_is_noticed_with_its_status() {
        let dir = tempfile::tempdir().unwrap();
        let rt = ProcessRuntime::new("/bin/false".into());
        assert_eq!(rt.exited(7).await, None, "nothing started yet");
        let launch = script_launch(
            dir.path(),
            "echo listening telnet=127.0.0.1:1; echo listening http=127.0.0.1:2; \
             sleep 0.3; echo bye; exit 3",
        );
        rt.start(&launch).await.unwrap();
        let before = std::time::SystemTime::now();
        let exit = rt.exited(7).await.expect("the child was waited for");
        assert!(!exit.success);
        assert_eq!(exit.status, "exit status: 3");
        assert!(exit.at >= before);
        assert!(!rt.usage(7).await.unwrap().running);
        let logs = rt.logs(7, 10).await.unwrap();
        assert_eq!(
            logs.last().map(String::as_str),
            Some("[agent] the world exited (exit status: 3)"),
            "{logs:?}"
        );

        // Started again, then killed with SIGKILL from outside.
        let launch = script_launch(
            dir.path(),
            "echo listening telnet=127.0.0.1:1; echo listening http=127.0.0.1:2; \
             while :; do sleep 0.05; done",
        );
        rt.start(&launch).await.unwrap();
        signal(rt.child(7).unwrap().pid, libc::SIGKILL);
        let exit = rt.exited(7).await.unwrap();
        assert!(!exit.success);
        assert!(exit.status.contains("signal: 9"), "{}", exit.status);
    }

    #[tokio::test]
    async fn a_world_that_dies_before_ready_fails_with_its_output() {
        let dir = tempfile::tempdir().unwrap();
        let rt = ProcessRuntime::new("/bin/false".into());
        let launch = script_launch(dir.path(), "echo 'bad map: no rooms' >&2; exit 3");
        match rt.start(&launch).await {
            Err(RuntimeError::Failed(out)) => assert!(out.contains("bad map: no rooms"), "{out}"),
            other => panic!("expected Failed, got {other:?}"),
        }
        assert!(!rt.usage(7).await.unwrap().running);
    }

    #[tokio::test]
    async fn a_world_that_ignores_sigterm_is_killed_after_the_grace() {
        let dir = tempfile::tempdir().unwrap();
        let rt = ProcessRuntime::new("/bin/false".into());
        let launch = script_launch(
            dir.path(),
            "trap '' TERM; echo listening telnet=127.0.0.1:1; echo listening http=127.0.0.1:2; \
             while :; do sleep 0.05; done",
        );
        rt.start(&launch).await.unwrap();
        let t = Instant::now();
        rt.stop(7, Duration::from_millis(300)).await.unwrap();
        assert!(t.elapsed() >= Duration::from_millis(300));
        assert!(!rt.usage(7).await.unwrap().running);
        let logs = rt.logs(7, 10).await.unwrap();
        assert!(logs.iter().any(|l| l.contains("SIGKILL")), "{logs:?}");
    }
}
