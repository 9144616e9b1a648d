//! The agent's core: the servers this node hosts, each a world run by
//! the [`Runtime`] behind a wake proxy that stays up while the world
//! sleeps.
//!
//! A server's slot is made the first time the platform starts it (or when
//! the platform lists it at registration): its public ports are bound then
//! and kept for the life of the server, so players always reach it at the
//! same address. Starting marks the slot's [`WakeGate`] awake the moment
//! the runtime reports the world ready; stopping marks it asleep, so the
//! next client asks the platform for a wake ([`PlatformWake`]).
//!
//! A world that exits on its own is noticed the moment it does (the
//! runtime's [`Runtime::exited`]) by the slot's supervisor (`supervise`):
//! logged at warn with its exit status, reported to the platform
//! ([`PlatformClient::exited`]) and, when it failed, restarted per the
//! [`RestartPolicy`] (held clients wait for the restart); a world that
//! failed too often is left crashed, and its proxy tells players so.
//!
//! [`Agent::run`] registers with the platform, then every
//! `heartbeat` reports each server's players (read from the world's
//! `/status`), proxy clients and idle time. The platform decides
//! hibernation from those reports.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use gsp_agent_api::{
    Assignment, Game, Heartbeat, PlatformCallError, PlatformClient, Players, Ready, Registered,
    Registration, ServerReport, StartRequest, Stats,
};
use gsp_proxy::{Phase, PlatformWake, WakeGate};
use tokio_util::sync::CancellationToken;

use crate::archive::{self, ArchiveError};
use crate::restart::{RestartPolicy, Restarts};
use crate::runtime::{Launch, Runtime, RuntimeError};

mod supervise;

/// Public ports for one listener name: `count` ports from `first` on
/// `ip`; `first == 0` means any free port, each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    /// The first port (0: let the system pick).
    pub first: u16,
    /// How many ports from `first`.
    pub count: u16,
}

impl std::str::FromStr for PortRange {
    type Err = String;

    /// `4000-4099`, `4000` (one port) or `0` (any).
    fn from_str(s: &str) -> Result<PortRange, String> {
        let bad = || format!("a port range is FIRST-LAST, one port, or 0 (any): {s:?}");
        let (first, last) = match s.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u16>(), b.trim().parse::<u16>()),
            None => (s.trim().parse::<u16>(), s.trim().parse::<u16>()),
        };
        let (first, last) = (first.map_err(|_| bad())?, last.map_err(|_| bad())?);
        if last < first || (first == 0 && last != 0) {
            return Err(bad());
        }
        Ok(PortRange {
            first,
            count: last - first + 1,
        })
    }
}

/// How an agent runs.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// The platform's base URL (`http://127.0.0.1:8080`).
    pub platform: String,
    /// The node's token, shown to the platform.
    pub token: String,
    /// The token the platform must show the agent.
    pub callback_token: String,
    /// Where the platform reaches this agent's API.
    pub address: String,
    /// The agent's data directory: `servers/<id>/{data,world.log}`.
    pub data: PathBuf,
    /// The address wake proxies listen on.
    pub public_ip: IpAddr,
    /// Public port ranges by listener name (`telnet`, `quic`); other names
    /// get any free port.
    pub ports: BTreeMap<String, PortRange>,
    /// How often the agent reports to the platform.
    pub heartbeat: Duration,
    /// How long the proxy holds a client while its world wakes.
    pub hold: Duration,
    /// How long a stopping world may take to save and exit before it is
    /// killed.
    pub stop_grace: Duration,
    /// CPU offered to servers, thousandths of a core.
    pub cpu_total_millis: i64,
    /// Memory offered to servers, MiB.
    pub memory_total_mib: i64,
    /// How worlds that fail are restarted.
    pub restart: RestartPolicy,
}

/// Why an agent operation failed (the API maps these to statuses).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The node hosts no such server.
    #[error("this node hosts no server {0}")]
    Unknown(i64),
    /// The request makes no sense for this node.
    #[error("{0}")]
    Invalid(String),
    /// No public port is free for the server.
    #[error("no free public port for {0}")]
    NoPorts(String),
    /// The server's world runs, and the operation needs it stopped.
    #[error("the server is running; stop it first")]
    Running,
    /// The runtime failed.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// A snapshot or restore failed.
    #[error(transparent)]
    Archive(ArchiveError),
}

struct Slot {
    spec: Mutex<StartRequest>,
    endpoints: BTreeMap<String, SocketAddr>,
    gate: Arc<WakeGate>,
    proxies: CancellationToken,
    /// One start/stop/remove/restore at a time.
    op: tokio::sync::Mutex<()>,
    players: AtomicU32,
    /// Since when it has had neither players nor clients (None: busy, or
    /// asleep).
    idle_since: Mutex<Option<Instant>>,
    /// Whether the platform wants the world running, and which start
    /// that was (a supervisor watches one start's world).
    run: Mutex<Run>,
    /// Its world's failures, under the restart policy.
    restarts: Mutex<Restarts>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Run {
    wanted: bool,
    generation: u64,
}

impl Slot {
    /// Whether start `generation` is still the one wanted running.
    fn wants(&self, generation: u64) -> bool {
        let run = lock(&self.run);
        run.wanted && run.generation == generation
    }

    /// A new start is wanted: its generation.
    fn want(&self) -> u64 {
        let mut run = lock(&self.run);
        run.wanted = true;
        run.generation += 1;
        run.generation
    }

    /// The world is not wanted running any more (a stop), or start
    /// `generation` ended (`Some`: only if it is still the current one).
    fn unwant(&self, generation: Option<u64>) {
        let mut run = lock(&self.run);
        if generation.is_none_or(|g| g == run.generation) {
            run.wanted = false;
        }
    }
}

/// The agent.
pub struct Agent {
    /// Itself, for the supervisors it spawns.
    me: Weak<Agent>,
    config: AgentConfig,
    runtime: Arc<dyn Runtime>,
    http: reqwest::Client,
    platform: PlatformClient,
    slots: Mutex<HashMap<i64, Arc<Slot>>>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("runtime", &self.runtime.name())
            .field("address", &self.config.address)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Agent {
    /// An agent running worlds with `runtime`.
    pub fn new(config: AgentConfig, runtime: Arc<dyn Runtime>) -> Arc<Agent> {
        let http = gsp_agent_api::http_client();
        let platform = PlatformClient::new(http.clone(), &config.platform, &config.token);
        Arc::new_cyclic(|me| Agent {
            me: me.clone(),
            config,
            runtime,
            http,
            platform,
            slots: Mutex::new(HashMap::new()),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &AgentConfig {
        &self.config
    }

    /// The runtime's name ("process" or "docker").
    pub fn runtime_name(&self) -> &'static str {
        self.runtime.name()
    }

    fn slot(&self, id: i64) -> Result<Arc<Slot>, AgentError> {
        lock(&self.slots)
            .get(&id)
            .cloned()
            .ok_or(AgentError::Unknown(id))
    }

    fn server_dir(&self, id: i64) -> PathBuf {
        self.config.data.join("servers").join(id.to_string())
    }

    /// Where server `id`'s proxy listens, by listener.
    pub fn endpoints(&self, id: i64) -> Option<BTreeMap<String, SocketAddr>> {
        lock(&self.slots).get(&id).map(|s| s.endpoints.clone())
    }

    /// The data directory of server `id`'s world.
    pub fn data_dir(&self, id: i64) -> PathBuf {
        self.server_dir(id).join("data")
    }

    /// The slot of server `id`, made (with its proxies bound) if new. With
    /// `endpoints`, binds exactly those (a re-registration).
    async fn ensure_slot(
        &self,
        id: i64,
        spec: &StartRequest,
        endpoints: Option<&BTreeMap<String, SocketAddr>>,
    ) -> Result<Arc<Slot>, AgentError> {
        if let Some(slot) = lock(&self.slots).get(&id).cloned() {
            *lock(&slot.spec) = spec.clone();
            return Ok(slot);
        }
        if spec.runtime != self.runtime.runs() {
            return Err(AgentError::Invalid(format!(
                "this node runs \"{}\" templates with its {} runtime, not \"{}\"",
                self.runtime.runs(),
                self.runtime.name(),
                spec.runtime
            )));
        }
        // The world's ready signal reaches the gate through `start` (the
        // platform calls it before it answers the wake), so the wake's
        // answer carries no addresses.
        let source = Arc::new(PlatformWake::new(self.platform.clone(), id, None));
        let gate = WakeGate::new(Phase::Asleep, self.config.hold, source);
        let proxies = CancellationToken::new();
        let mut bound = BTreeMap::new();
        let taken = self.ports_taken();
        for port in &spec.ports {
            let wanted = endpoints.and_then(|e| e.get(&port.name)).copied();
            let addr = match port.protocol.as_str() {
                "udp" => {
                    let socket = self.bind_udp(&port.name, wanted, &taken).await?;
                    let addr = socket.local_addr().map_err(io("reading a UDP address"))?;
                    tokio::spawn(gsp_proxy::udp::serve(
                        socket,
                        gate.clone(),
                        gsp_proxy::udp::UdpOptions {
                            listener: port.name.clone(),
                            asleep: asleep_answers(&spec.game, &port.name, id),
                        },
                        proxies.clone(),
                    ));
                    addr
                }
                _ => {
                    let listener = self.bind_tcp(&port.name, wanted, &taken).await?;
                    let addr = listener.local_addr().map_err(io("reading a TCP address"))?;
                    tokio::spawn(gsp_proxy::tcp::serve(
                        listener,
                        gate.clone(),
                        gsp_proxy::tcp::TcpOptions {
                            listener: port.name.clone(),
                            telnet: port.name == "telnet",
                            minecraft: minecraft_motd(&spec.game, &port.name, id),
                        },
                        proxies.clone(),
                    ));
                    addr
                }
            };
            tracing::info!(server = id, listener = %port.name, %addr, "wake proxy listening");
            bound.insert(port.name.clone(), addr);
        }
        let slot = Arc::new(Slot {
            spec: Mutex::new(spec.clone()),
            endpoints: bound,
            gate,
            proxies,
            op: tokio::sync::Mutex::new(()),
            players: AtomicU32::new(0),
            idle_since: Mutex::new(None),
            run: Mutex::new(Run::default()),
            restarts: Mutex::new(Restarts::new(self.config.restart)),
        });
        let mut slots = lock(&self.slots);
        // Two first starts at once: the first one in wins, the other's
        // proxies close.
        if let Some(existing) = slots.get(&id) {
            slot.proxies.cancel();
            return Ok(existing.clone());
        }
        slots.insert(id, slot.clone());
        Ok(slot)
    }

    fn ports_taken(&self) -> Vec<SocketAddr> {
        lock(&self.slots)
            .values()
            .flat_map(|s| s.endpoints.values().copied().collect::<Vec<_>>())
            .collect()
    }

    /// The candidate addresses for listener `name`, in order.
    fn candidates(&self, name: &str, taken: &[SocketAddr]) -> Vec<SocketAddr> {
        let ip = self.config.public_ip;
        match self.config.ports.get(name) {
            Some(r) if r.first != 0 => (0..r.count)
                .filter_map(|i| r.first.checked_add(i))
                .map(|p| SocketAddr::new(ip, p))
                .filter(|a| !taken.iter().any(|t| t.port() == a.port()))
                .collect(),
            _ => vec![SocketAddr::new(ip, 0)],
        }
    }

    /// The address a server had first (it keeps its address), then the
    /// range's.
    fn tries(
        &self,
        name: &str,
        wanted: Option<SocketAddr>,
        taken: &[SocketAddr],
    ) -> Vec<SocketAddr> {
        let mut tries: Vec<SocketAddr> = wanted.into_iter().collect();
        tries.extend(self.candidates(name, taken));
        tries
    }

    async fn bind_tcp(
        &self,
        name: &str,
        wanted: Option<SocketAddr>,
        taken: &[SocketAddr],
    ) -> Result<tokio::net::TcpListener, AgentError> {
        for addr in self.tries(name, wanted, taken) {
            if let Ok(l) = tokio::net::TcpListener::bind(addr).await {
                return Ok(l);
            }
        }
        Err(AgentError::NoPorts(name.to_owned()))
    }

    async fn bind_udp(
        &self,
        name: &str,
        wanted: Option<SocketAddr>,
        taken: &[SocketAddr],
    ) -> Result<tokio::net::UdpSocket, AgentError> {
        for addr in self.tries(name, wanted, taken) {
            if let Ok(s) = tokio::net::UdpSocket::bind(addr).await {
                return Ok(s);
            }
        }
        Err(AgentError::NoPorts(name.to_owned()))
    }

    fn launch(&self, id: i64, spec: &StartRequest) -> Launch {
        let dir = self.server_dir(id);
        Launch {
            server_id: id,
            launch: spec.launch.clone(),
            ports: spec.ports.clone(),
            cpu_millis: spec.cpu_millis,
            memory_mib: spec.memory_mib,
            data_dir: dir.join("data"),
            log_file: dir.join("world.log"),
            env: std::iter::once(("GSP_WORLD_NAME".to_owned(), format!("server-{id}")))
                .chain(spec.game.env.clone())
                .collect(),
            game: spec.game.clone(),
        }
    }

    /// Starts (or wakes) server `id`; resolves when its world is ready,
    /// with its public addresses.
    pub async fn start(
        &self,
        id: i64,
        spec: &StartRequest,
    ) -> Result<BTreeMap<String, SocketAddr>, AgentError> {
        let slot = self.ensure_slot(id, spec, None).await?;
        let _op = slot.op.lock().await;
        if slot.gate.crash().is_some() {
            // Its owner starts a crashed server again: a fresh count.
            lock(&slot.restarts).reset();
        }
        let launch = self.launch(id, &lock(&slot.spec).clone());
        let started = self.runtime.start(&launch).await?;
        slot.players.store(0, Ordering::Relaxed);
        *lock(&slot.idle_since) = Some(Instant::now());
        let generation = slot.want();
        slot.gate.woke(started.listeners);
        if let Some(me) = self.me.upgrade() {
            tokio::spawn(me.supervise(id, slot.clone(), generation));
        }
        Ok(slot.endpoints.clone())
    }

    /// Stops server `id`'s world (it saves first); its proxy stays, asleep.
    pub async fn stop(&self, id: i64) -> Result<(), AgentError> {
        let slot = self.slot(id)?;
        let _op = slot.op.lock().await;
        slot.unwant(None);
        slot.gate.stopped();
        self.runtime.stop(id, self.config.stop_grace).await?;
        *lock(&slot.idle_since) = None;
        Ok(())
    }

    /// Stops server `id` and removes it: its world, its proxy, its data.
    pub async fn remove(&self, id: i64) -> Result<(), AgentError> {
        let slot = lock(&self.slots).remove(&id);
        if let Some(slot) = &slot {
            let _op = slot.op.lock().await;
            slot.unwant(None);
            slot.proxies.cancel();
            slot.gate.stopped();
        }
        self.runtime.remove(id, self.config.stop_grace).await?;
        let dir = self.server_dir(id);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(format!("removing {}", dir.display())))?;
        }
        slot.map(|_| ()).ok_or(AgentError::Unknown(id))
    }

    /// A consistent snapshot of server `id`'s data (it may be running).
    pub async fn backup(&self, id: i64) -> Result<Vec<u8>, AgentError> {
        let slot = self.slot(id)?;
        // No start, stop or restore while the snapshot is taken.
        let _op = slot.op.lock().await;
        archive::snapshot(&self.data_dir(id))
            .await
            .map_err(AgentError::Archive)
    }

    /// Replaces server `id`'s data with `archive`; its world must be
    /// stopped.
    pub async fn restore(&self, id: i64, archive: &[u8]) -> Result<(), AgentError> {
        let slot = self.slot(id)?;
        let _op = slot.op.lock().await;
        if slot.gate.awake().is_some() {
            return Err(AgentError::Running);
        }
        crate::archive::restore(archive, &self.data_dir(id))
            .await
            .map_err(|e| match e {
                ArchiveError::BadArchive(_) => AgentError::Invalid(e.to_string()),
                e => AgentError::Archive(e),
            })
    }

    /// Writes `line` to server `id`'s console (its standard input): one
    /// line of printable text (see [`gsp_agent_api::ConsoleLine::check`]).
    pub async fn console(&self, id: i64, line: &str) -> Result<(), AgentError> {
        self.slot(id)?;
        gsp_agent_api::ConsoleLine::check(line).map_err(AgentError::Invalid)?;
        Ok(self.runtime.send_line(id, line).await?)
    }

    /// The last `lines` lines of server `id`'s world output.
    pub async fn logs(&self, id: i64, lines: usize) -> Result<Vec<String>, AgentError> {
        self.slot(id)?;
        match self.runtime.logs(id, lines).await {
            Err(RuntimeError::Unknown) => Ok(Vec::new()),
            other => Ok(other?),
        }
    }

    /// Server `id`'s stats now.
    pub async fn stats(&self, id: i64) -> Result<Stats, AgentError> {
        let slot = self.slot(id)?;
        let usage = self.runtime.usage(id).await?;
        Ok(Stats {
            running: usage.running,
            cpu_percent: usage.cpu_percent,
            memory_mib: usage.memory_mib,
            players: slot.players.load(Ordering::Relaxed),
        })
    }

    /// Every server's report, for the heartbeat.
    pub async fn reports(&self) -> Vec<ServerReport> {
        let slots: Vec<(i64, Arc<Slot>)> = lock(&self.slots)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let mut out = Vec::with_capacity(slots.len());
        for (id, slot) in slots {
            let usage = self.runtime.usage(id).await.unwrap_or_default();
            let running = slot.gate.awake().is_some() && usage.running;
            let idle_ms = match *lock(&slot.idle_since) {
                Some(since) if running => since.elapsed().as_millis() as u64,
                _ => 0,
            };
            out.push(ServerReport {
                id,
                running,
                players: slot.players.load(Ordering::Relaxed),
                clients: slot.gate.clients() as u32,
                idle_ms,
                cpu_percent: usage.cpu_percent,
                memory_mib: usage.memory_mib,
                endpoints: slot.endpoints.clone(),
            });
        }
        out.sort_by_key(|r| r.id);
        out
    }

    /// Reads each running world's player count from its `/status`, and
    /// keeps the idle clocks.
    async fn poll_players(&self) {
        let slots: Vec<Arc<Slot>> = lock(&self.slots).values().cloned().collect();
        for slot in slots {
            let Some(up) = slot.gate.awake() else {
                continue;
            };
            let counting = lock(&slot.spec).game.players.clone();
            let players = match &counting {
                Players::GspStatus => match up.get(crate::runtime::HTTP_LISTENER) {
                    Some(http) => self.players_of(*http).await,
                    None => None,
                },
                Players::MinecraftSlp { port } => match up.get(port) {
                    Some(addr) => crate::probe::minecraft(*addr).await.ok().map(|p| p.online),
                    None => None,
                },
                Players::A2s { port } => match up.get(port) {
                    Some(addr) => crate::probe::a2s(*addr)
                        .await
                        .ok()
                        .map(|i| u32::from(i.players)),
                    None => None,
                },
                Players::Proxy => Some(slot.gate.clients() as u32),
            };
            if let Some(players) = players {
                slot.players.store(players, Ordering::Relaxed);
            }
            let busy = slot.players.load(Ordering::Relaxed) > 0 || slot.gate.clients() > 0;
            let mut idle = lock(&slot.idle_since);
            if busy {
                *idle = None;
            } else if idle.is_none() {
                *idle = Some(Instant::now());
            }
        }
    }

    async fn players_of(&self, http: SocketAddr) -> Option<u32> {
        let status: serde_json::Value = self
            .http
            .get(format!("http://{http}/status"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        status["players"]["total"].as_u64().map(|n| n as u32)
    }

    /// Puts back the servers the platform placed here (asleep, on their
    /// ports).
    pub async fn adopt(&self, servers: &[Assignment]) {
        for a in servers {
            if let Err(e) = self.ensure_slot(a.id, &a.spec, Some(&a.endpoints)).await {
                tracing::error!(server = a.id, "could not take back the server: {e}");
            }
        }
    }

    /// What the agent tells the platform about itself.
    pub fn registration(&self) -> Registration {
        Registration {
            address: self.config.address.clone(),
            callback_token: self.config.callback_token.clone(),
            runtime: self.runtime.name().to_owned(),
            cpu_total_millis: self.config.cpu_total_millis,
            memory_total_mib: self.config.memory_total_mib,
            free_ports: self.free_ports(),
        }
    }

    /// Registers with the platform once.
    pub async fn register(&self) -> Result<Registered, PlatformCallError> {
        let registered = self.platform.register(&self.registration()).await?;
        self.adopt(&registered.servers).await;
        Ok(registered)
    }

    /// Registers (retrying until the platform answers), then reports every
    /// `heartbeat` until `shutdown` ([`Agent::heartbeats`]).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.register().await {
                Ok(r) => {
                    tracing::info!(node = %r.name, servers = r.servers.len(), "registered with the platform");
                    break;
                }
                Err(e) => {
                    tracing::warn!("registering with the platform failed: {e}");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
        self.heartbeats(shutdown).await;
    }

    /// Reports to the platform every `heartbeat`, and reads the worlds'
    /// player counts every second, until `shutdown`; then stops every
    /// world.
    pub async fn heartbeats(self: Arc<Self>, shutdown: CancellationToken) {
        let poll = self.config.heartbeat.min(Duration::from_secs(1));
        let mut polls = tokio::time::interval(poll);
        let mut beats = tokio::time::interval(self.config.heartbeat);
        let mut failing = false;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = polls.tick() => self.poll_players().await,
                _ = beats.tick() => {
                    let beat = Heartbeat { free_ports: self.free_ports(), servers: self.reports().await };
                    match self.platform.heartbeat(&beat).await {
                        Ok(_) => failing = false,
                        Err(e) if !failing => {
                            failing = true;
                            tracing::warn!("heartbeat failed: {e}");
                        }
                        Err(_) => {}
                    }
                }
            }
        }
        self.stop_all().await;
    }

    fn free_ports(&self) -> u32 {
        let ranges: Vec<PortRange> = self.config.ports.values().copied().collect();
        if ranges.is_empty() || ranges.iter().any(|r| r.first == 0) {
            return u32::from(u16::MAX);
        }
        let servers = lock(&self.slots).len() as u32;
        let per_server = ranges.iter().map(|r| u32::from(r.count)).min().unwrap_or(0);
        per_server.saturating_sub(servers)
    }

    /// Stops every world (each saves first) and closes every proxy.
    pub async fn stop_all(&self) {
        let slots: Vec<(i64, Arc<Slot>)> = lock(&self.slots)
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        let stops = slots.iter().map(|(id, slot)| async move {
            slot.proxies.cancel();
            let _op = slot.op.lock().await;
            slot.unwant(None);
            slot.gate.stopped();
            if let Err(e) = self.runtime.stop(*id, self.config.stop_grace).await {
                tracing::error!(server = id, "stopping the world failed: {e}");
            }
        });
        futures_util::future::join_all(stops).await;
    }
}

/// The MOTD a sleeping Minecraft server's proxy shows on listener
/// `name`, when the game speaks Minecraft there.
fn minecraft_motd(game: &Game, name: &str, id: i64) -> Option<String> {
    let speaks = matches!(&game.ready, Ready::MinecraftSlp { port } if port == name)
        || matches!(&game.players, Players::MinecraftSlp { port } if port == name);
    speaks.then(|| game.motd.clone().unwrap_or_else(|| format!("Server {id}")))
}

/// The queries a sleeping game's proxy answers on UDP listener `name`.
fn asleep_answers(game: &Game, name: &str, id: i64) -> Option<gsp_proxy::udp::Asleep> {
    let title = || game.motd.clone().unwrap_or_else(|| format!("Server {id}"));
    let a2s = matches!(&game.ready, Ready::A2s { port } if port == name)
        || matches!(&game.players, Players::A2s { port } if port == name);
    if a2s {
        return Some(gsp_proxy::udp::Asleep::A2s {
            name: title(),
            max_players: 0,
        });
    }
    matches!(&game.ready, Ready::SatisfactoryQuery { port } if port == name)
        .then(|| gsp_proxy::udp::Asleep::Satisfactory { name: title() })
}

/// A random token for the platform to show this agent (48 hex digits).
pub fn callback_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 24];
    getrandom::fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> AgentError {
    let context = context.into();
    move |source| AgentError::Runtime(RuntimeError::Io { context, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_ranges_parse() {
        assert_eq!(
            "4000-4099".parse(),
            Ok(PortRange {
                first: 4000,
                count: 100
            })
        );
        assert_eq!(
            "4000".parse(),
            Ok(PortRange {
                first: 4000,
                count: 1
            })
        );
        assert_eq!("0".parse(), Ok(PortRange { first: 0, count: 1 }));
        assert!("4099-4000".parse::<PortRange>().is_err());
        assert!("0-10".parse::<PortRange>().is_err());
        assert!("x".parse::<PortRange>().is_err());
    }
}
