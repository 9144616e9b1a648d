//! The event bus end to end: in-process loopback, two Redis-backed buses
//! talking, a Redis outage through a TCP proxy that can cut and restore, and
//! the bridge to a world's crossbeam channels.
//!
//! Tests that need Redis (127.0.0.1:6379, or `GSP_TEST_REDIS_ADDR`) skip with
//! a printed reason when it is absent, and fail instead under `CI=true`. Each
//! test uses its own channel, so parallel tests do not hear each other.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gsp_engine::BusMessage;
use gsp_persistence::bus::{
    bridge, envelope, Bus, BusBackend, BusConfig, BusError, BusReceiver, PresenceBook,
    BRIDGE_CAPACITY,
};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// How long anything that should happen may take before the test fails.
const DEADLINE: Duration = Duration::from_secs(10);

fn chat(world: &str, text: &str) -> BusMessage {
    BusMessage::Chat {
        world: world.into(),
        channel: "public".into(),
        from: format!("{world}-player"),
        text: text.into(),
    }
}

fn presence(world: &str, players: &[&str]) -> BusMessage {
    BusMessage::Presence {
        world: world.into(),
        players: players.iter().map(|p| p.to_string()).collect(),
        sent_ms: 1,
    }
}

fn unique_channel(test: &str) -> String {
    format!(
        "gsp:test:{test}:{:x}-{:016x}",
        std::process::id(),
        fastrand::u64(..)
    )
}

fn redis_addr() -> String {
    std::env::var("GSP_TEST_REDIS_ADDR").unwrap_or_else(|_| "127.0.0.1:6379".to_string())
}

/// The Redis URL if Redis answers PING; otherwise skip (print why) or, under
/// `CI=true`, fail.
async fn redis_or_skip(test: &str) -> Option<String> {
    let addr = redis_addr();
    let url = format!("redis://{addr}/");
    let probe = async {
        let client = redis::Client::open(url.as_str())?;
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    let outcome = match tokio::time::timeout(Duration::from_secs(3), probe).await {
        Ok(Ok(_)) => return Some(url),
        Ok(Err(err)) => err.to_string(),
        Err(_) => "PING timed out".to_string(),
    };
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: Redis is required under CI=true but {addr} failed: {outcome}");
    }
    eprintln!("skipping {test}: no Redis at {addr} ({outcome})");
    None
}

/// A Redis bus with a quick ping so that outages are noticed fast.
fn redis_bus(url: &str, channel: &str, label: &str) -> Bus {
    let mut config = BusConfig::new(label).redis_url(Some(url)).channel(channel);
    config.ping_interval = Duration::from_millis(300);
    Bus::start(config).expect("bus starts")
}

/// Poll `cond` until it holds; fail with `what` after [`DEADLINE`].
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Receive until a message equal to `want` arrives; returns everything
/// received up to and including it.
async fn until(rx: &mut BusReceiver, want: &BusMessage) -> Vec<BusMessage> {
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(msg)) => {
                let done = &msg == want;
                seen.push(msg);
                if done {
                    return seen;
                }
            }
            Ok(None) => panic!("bus closed while waiting for {want:?}; saw {seen:?}"),
            Err(_) => panic!("timed out waiting for {want:?}; saw {seen:?}"),
        }
    }
}

fn count(seen: &[BusMessage], msg: &BusMessage) -> usize {
    seen.iter().filter(|m| *m == msg).count()
}

/// `a` says x; `b` answers y once it heard x; `a` says z once it heard y.
/// Redis keeps one publisher's order per subscriber, and each answer is sent
/// only after the previous message was fanned out, so any echo of x reaches
/// `a` before y, and any echo of y reaches `b` before z: hearing y (or z)
/// without a second copy proves the echo was filtered.
async fn exchange(
    tag: &str,
    (a, a_rx): (&Bus, &mut BusReceiver),
    (b, b_rx): (&Bus, &mut BusReceiver),
) {
    let x = chat("a", &format!("{tag}: x from a"));
    let y = chat("b", &format!("{tag}: y from b"));
    let z = chat("a", &format!("{tag}: z from a"));

    a.publish(x.clone());
    let b_seen = until(b_rx, &x).await;
    assert_eq!(count(&b_seen, &x), 1, "{tag}: b hears x once");

    b.publish(y.clone());
    let a_seen = until(a_rx, &y).await;
    assert_eq!(
        count(&a_seen, &x),
        1,
        "{tag}: a hears its own x once: {a_seen:?}"
    );
    assert_eq!(count(&a_seen, &y), 1, "{tag}: a hears y once");
    let b_seen = until(b_rx, &y).await;
    assert_eq!(count(&b_seen, &x), 0, "{tag}: b hears x only once");

    a.publish(z.clone());
    let b_seen = until(b_rx, &z).await;
    assert_eq!(
        count(&b_seen, &y),
        0,
        "{tag}: b hears its own y once: {b_seen:?}"
    );
    let a_seen = until(a_rx, &z).await;
    assert_eq!(count(&a_seen, &z), 1, "{tag}: a hears its own z at once");
}

// ---------------------------------------------------------------- in-process

#[tokio::test]
async fn in_process_loopback_delivers_each_message_once_to_every_subscriber() {
    let bus = Bus::in_process();
    let status = bus.status();
    assert_eq!(status.backend, BusBackend::InProcess);
    assert!(status.connected);
    assert_eq!(status.last_error, None);

    let mut first = bus.subscribe();
    let mut second = bus.clone().subscribe();
    let sent = [chat("w", "one"), presence("w", &["ann"]), chat("w", "two")];
    for msg in &sent {
        bus.publish(msg.clone());
    }
    for rx in [&mut first, &mut second] {
        for msg in &sent {
            assert_eq!(
                rx.try_recv().as_ref(),
                Some(msg),
                "delivered at once, in order"
            );
        }
        assert_eq!(rx.try_recv(), None, "and only once");
    }

    // A subscriber made later hears only what comes later.
    let mut late = bus.subscribe();
    assert_eq!(late.try_recv(), None);
    bus.publish(chat("w", "three"));
    assert_eq!(late.recv().await, Some(chat("w", "three")));

    // With no URL, connect is the in-process bus too.
    let plain = Bus::connect(None, "w").expect("in-process bus");
    assert_eq!(plain.status().backend, BusBackend::InProcess);
}

#[test]
fn bad_configurations_are_clear_errors() {
    // Outside a runtime, the Redis bus cannot start its tasks.
    assert!(matches!(
        Bus::connect(Some("redis://127.0.0.1:6379/"), "w"),
        Err(BusError::NoRuntime)
    ));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let err = Bus::connect(Some("definitely not a url"), "w").expect_err("bad url");
        assert!(matches!(err, BusError::InvalidUrl(_)), "{err}");
        let empty = BusConfig::new("w")
            .redis_url(Some("redis://127.0.0.1:6379/"))
            .channel("");
        assert!(matches!(Bus::start(empty), Err(BusError::EmptyChannel)));
    });
}

#[tokio::test]
async fn unreachable_redis_at_start_degrades_to_local_delivery() {
    // A port that nobody listens on (bound, then released).
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let bus = Bus::connect(Some(&format!("redis://127.0.0.1:{port}/")), "lonely")
        .expect("an unreachable Redis is not an error");
    let mut rx = bus.subscribe();
    bus.publish(chat("lonely", "anyone?"));
    assert_eq!(rx.try_recv(), Some(chat("lonely", "anyone?")));
    eventually("the failed connection is reported", || {
        bus.status().last_error.is_some()
    })
    .await;
    let status = bus.status();
    assert_eq!(status.backend, BusBackend::Redis);
    assert!(!status.connected);
    // Still local, still once.
    bus.publish(chat("lonely", "still here"));
    assert_eq!(rx.recv().await, Some(chat("lonely", "still here")));
    assert_eq!(rx.try_recv(), None);
}

// --------------------------------------------------------------------- bridge

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bridge_links_worlds_through_the_bus_and_stops_with_its_guard() {
    let bus = Bus::in_process();
    let rt = tokio::runtime::Handle::current();
    let (tavern, tavern_guard) = bridge(&bus, "tavern", &rt).expect("bridge");
    let (harbor, harbor_guard) = bridge(&bus, "harbor", &rt).expect("bridge");
    assert_eq!(tavern.world, "tavern");
    assert_eq!(harbor_guard.world(), "harbor");

    // The tick thread's side is plain crossbeam: try_send, never wait.
    let hello = chat("tavern", "hello harbor");
    tavern.outbound.try_send(hello.clone()).expect("room");
    let got = tokio::task::spawn_blocking({
        let (t, h) = (tavern.inbound.clone(), harbor.inbound.clone());
        move || (t.recv_timeout(DEADLINE), h.recv_timeout(DEADLINE))
    })
    .await
    .expect("join");
    assert_eq!(got.0.as_ref().ok(), Some(&hello), "tavern hears itself");
    assert_eq!(got.1.as_ref().ok(), Some(&hello), "harbor hears tavern");
    assert!(tavern.inbound.try_recv().is_err(), "exactly once");
    assert!(harbor.inbound.try_recv().is_err(), "exactly once");

    // Messages from elsewhere on the bus reach both worlds.
    let mut outside = bus.subscribe();
    bus.publish(presence("keep", &["cid"]));
    let got = tokio::task::spawn_blocking({
        let h = harbor.inbound.clone();
        move || h.recv_timeout(DEADLINE)
    })
    .await
    .expect("join");
    assert_eq!(got.ok(), Some(presence("keep", &["cid"])));
    assert_eq!(outside.recv().await, Some(presence("keep", &["cid"])));

    // Dropping the guard stops both forwarders: the world's ends disconnect.
    drop(tavern_guard);
    let inbound = tavern.inbound.clone();
    let ended = tokio::task::spawn_blocking(move || loop {
        match inbound.recv_timeout(DEADLINE) {
            Ok(_) => continue, // anything already queued
            Err(e) => return e,
        }
    })
    .await
    .expect("join");
    assert_eq!(ended, crossbeam_channel::RecvTimeoutError::Disconnected);
    eventually("the outbound forwarder let go of its receiver", || {
        matches!(
            tavern.outbound.try_send(chat("tavern", "into the void")),
            Err(crossbeam_channel::TrySendError::Disconnected(_))
        )
    })
    .await;
    // The other world's bridge is unaffected.
    let still_up = chat("harbor", "still up");
    harbor.outbound.try_send(still_up.clone()).expect("room");
    let seen = until(&mut outside, &still_up).await;
    // Probes sent before the forwarder noticed the stop may have gone out.
    let probe = chat("tavern", "into the void");
    assert!(
        seen[..seen.len() - 1].iter().all(|m| *m == probe),
        "{seen:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_world_that_does_not_read_loses_messages_but_never_blocks_the_bus() {
    let logs = logs();
    let mut config = BusConfig::new("busy");
    config.capacity = BRIDGE_CAPACITY * 4; // no lag on the bus itself
    let bus = Bus::start(config).expect("bus");
    let world = format!("sleepy-{:016x}", fastrand::u64(..));
    let (link, _guard) = bridge(&bus, &world, &tokio::runtime::Handle::current()).expect("bridge");
    let sent = BRIDGE_CAPACITY + 500;
    let started = Instant::now();
    for i in 0..sent {
        bus.publish(chat("busy", &i.to_string()));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "publishing never waits on a full world"
    );
    eventually("the world's inbound channel is full", || {
        link.inbound.len() == BRIDGE_CAPACITY
    })
    .await;
    let dropped = || logs.lines_with(&["is not reading the bus", &world]);
    eventually("the forwarder warned that it dropped messages", || {
        !dropped().is_empty()
    })
    .await;
    assert!(dropped()[0].contains("WARN"), "{:?}", dropped());
    assert_eq!(
        link.inbound.len(),
        BRIDGE_CAPACITY,
        "never more than the bound"
    );

    // The world reads again: it gets the first messages in order, then
    // whatever was not dropped, then what is said once it has made room.
    let after = chat("busy", "after");
    let inbound = link.inbound.clone();
    let publisher = bus.clone();
    let got = tokio::task::spawn_blocking(move || {
        let mut got = Vec::new();
        while let Ok(msg) = inbound.recv_timeout(DEADLINE) {
            if got.len() + 1 == BRIDGE_CAPACITY {
                // At most the 500 not yet forwarded can be ahead of it now.
                publisher.publish(after.clone());
            }
            let done = msg == after;
            got.push(msg);
            if done {
                break;
            }
        }
        got
    })
    .await
    .expect("join");
    assert_eq!(
        got.last(),
        Some(&chat("busy", "after")),
        "{} received",
        got.len()
    );
    let numbers: Vec<usize> = got[..got.len() - 1]
        .iter()
        .map(|m| match m {
            BusMessage::Chat { text, .. } => text.parse().expect("a number"),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        numbers[..BRIDGE_CAPACITY],
        (0..BRIDGE_CAPACITY).collect::<Vec<_>>()[..],
        "the first messages were kept in order"
    );
    assert!(
        numbers.windows(2).all(|w| w[0] < w[1]),
        "in order, no repeats"
    );
    assert!(
        numbers.len() < sent,
        "some were dropped, not queued without bound"
    );
}

// ---------------------------------------------------------------------- Redis

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_redis_buses_exchange_chat_and_presence_both_ways() {
    let Some(url) = redis_or_skip("two_redis_buses_exchange_chat_and_presence_both_ways").await
    else {
        return;
    };
    let channel = unique_channel("exchange");
    // Same label on purpose: the origin id must still tell them apart.
    let a = redis_bus(&url, &channel, "world");
    let b = redis_bus(&url, &channel, "world");
    assert_ne!(a.origin(), b.origin());
    let (mut a_rx, mut b_rx) = (a.subscribe(), b.subscribe());
    eventually("both buses are connected", || {
        a.status().connected && b.status().connected
    })
    .await;
    assert_eq!(a.status().backend, BusBackend::Redis);

    exchange("chat", (&a, &mut a_rx), (&b, &mut b_rx)).await;
    exchange("chat reversed", (&b, &mut b_rx), (&a, &mut a_rx)).await;

    // Presence both ways, into a book on each side.
    let pa = presence("tavern", &["ann", "bob"]);
    let pb = presence("harbor", &["cid"]);
    a.publish(pa.clone());
    b.publish(pb.clone());
    for (rx, name) in [(&mut a_rx, "a"), (&mut b_rx, "b")] {
        let mut book = PresenceBook::default();
        let mut seen = until(rx, &pa).await;
        if count(&seen, &pb) == 0 {
            seen.extend(until(rx, &pb).await);
        }
        let now = std::time::Instant::now();
        for msg in &seen {
            book.observe(msg, now);
        }
        let online: Vec<(String, usize)> = book
            .online(now)
            .map(|(w, p)| (w.to_string(), p.len()))
            .collect();
        assert_eq!(
            online,
            vec![("harbor".to_string(), 1), ("tavern".to_string(), 2)],
            "{name} knows both worlds"
        );
        assert_eq!(book.find("cid", now), vec!["harbor"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payloads_that_are_not_ours_are_skipped() {
    let Some(url) = redis_or_skip("payloads_that_are_not_ours_are_skipped").await else {
        return;
    };
    let channel = unique_channel("garbage");
    let bus = redis_bus(&url, &channel, "w");
    let mut rx = bus.subscribe();
    eventually("the bus is connected", || bus.status().connected).await;

    let client = redis::Client::open(url.as_str()).expect("url");
    let mut raw = client
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection");
    let good = chat("elsewhere", "a real message");
    let payloads: Vec<Vec<u8>> = vec![
        b"not json at all".to_vec(),
        b"\xff\xfe\x00\x01".to_vec(),
        br#"{"v":99,"origin":"x","msg":{"type":"gone","world":"w"}}"#.to_vec(),
        br#"{"v":1,"origin":"x","msg":{"type":"dance"}}"#.to_vec(),
        // Forged with our own origin: taken as our echo and dropped.
        envelope::encode(bus.origin(), &chat("w", "forged echo"))
            .expect("encode")
            .into_bytes(),
        envelope::encode("another-process", &good)
            .expect("encode")
            .into_bytes(),
    ];
    for payload in payloads {
        redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(payload)
            .query_async::<i64>(&mut raw)
            .await
            .expect("publish");
    }
    let seen = until(&mut rx, &good).await;
    assert_eq!(seen, vec![good], "only the real message got through");
    assert!(bus.status().connected, "bad payloads do not break the bus");
}

/// A TCP proxy in front of Redis that can cut every connection (and refuse
/// new ones) and be restored.
struct Proxy {
    addr: SocketAddr,
    state: Arc<Mutex<ProxyState>>,
    accept: AbortHandle,
}

#[derive(Default)]
struct ProxyState {
    cut: bool,
    conns: Vec<AbortHandle>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(ProxyState::default()));
        let shared = state.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let mut state = shared.lock().expect("proxy state");
                if state.cut {
                    drop(client); // refused: closed at once
                    continue;
                }
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                state.conns.retain(|c| !c.is_finished());
                state.conns.push(conn.abort_handle());
            }
        });
        Self {
            addr,
            state,
            accept: accept.abort_handle(),
        }
    }

    fn url(&self) -> String {
        format!("redis://{}/", self.addr)
    }

    /// Drop every connection and refuse new ones.
    fn cut(&self) {
        let mut state = self.state.lock().expect("proxy state");
        state.cut = true;
        for conn in state.conns.drain(..) {
            conn.abort();
        }
    }

    fn restore(&self) {
        self.state.lock().expect("proxy state").cut = false;
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Every log line of this test binary, captured by one global subscriber.
/// Tests pick their own lines by the bus origin or world name in them (both
/// unique per test), so parallel tests do not mix.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<u8>>>);

fn logs() -> &'static Logs {
    static LOGS: std::sync::OnceLock<Logs> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Logs::default();
        let sink = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("the only global subscriber");
        logs
    })
}

impl Logs {
    /// The lines that contain every one of `needles`.
    fn lines_with(&self, needles: &[&str]) -> Vec<String> {
        let bytes = self.0.lock().expect("logs").clone();
        String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| needles.iter().all(|n| l.contains(n)))
            .map(str::to_string)
            .collect()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("logs").extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_outage_degrades_to_local_delivery_and_recovers() {
    let Some(url) = redis_or_skip("redis_outage_degrades_to_local_delivery_and_recovers").await
    else {
        return;
    };
    let logs = logs();
    let channel = unique_channel("outage");
    let proxy = Proxy::start(redis_addr()).await;
    let a = redis_bus(&proxy.url(), &channel, "behind-proxy");
    let b = redis_bus(&url, &channel, "direct");
    let (mut a_rx, mut b_rx) = (a.subscribe(), b.subscribe());
    eventually("both buses are connected", || {
        a.status().connected && b.status().connected
    })
    .await;
    exchange("before the outage", (&a, &mut a_rx), (&b, &mut b_rx)).await;

    proxy.cut();
    eventually("the bus behind the proxy reports the outage", || {
        !a.status().connected
    })
    .await;
    let status = a.status();
    assert!(status.last_error.is_some(), "{status:?}");
    assert!(b.status().connected, "the other bus is unaffected");

    // Local delivery goes on, once.
    let lost = chat("a", "said during the outage");
    a.publish(lost.clone());
    assert_eq!(a_rx.try_recv(), Some(lost.clone()));
    assert_eq!(a_rx.try_recv(), None);

    // Let both connections fail several times (retries with backoff)...
    let failures = || {
        logs.lines_with(&["redis bus connection failed", a.origin()])
            .len()
    };
    eventually("several reconnection attempts failed", || failures() >= 5).await;
    // ...which is still one outage: one warning.
    let warnings = logs.lines_with(&["redis bus unavailable", a.origin()]);
    assert_eq!(warnings.len(), 1, "one warning per outage: {warnings:#?}");
    assert!(warnings[0].contains("WARN"), "{}", warnings[0]);
    assert!(warnings[0].contains("chat stays within this world until it returns"));

    proxy.restore();
    let restored = Instant::now();
    eventually("the bus reconnects by itself", || a.status().connected).await;
    eprintln!(
        "bus reconnected {:?} after the proxy was restored ({} failed attempts during the outage)",
        restored.elapsed(),
        failures()
    );
    exchange("after the outage", (&a, &mut a_rx), (&b, &mut b_rx)).await;
    exchange(
        "after the outage, reversed",
        (&b, &mut b_rx),
        (&a, &mut a_rx),
    )
    .await;
    // What was said during the outage stayed local (dropped for Redis, not
    // queued): b never heard it, though it heard everything a said after.
    let marker = chat("a", "last word");
    a.publish(marker.clone());
    let b_seen = until(&mut b_rx, &marker).await;
    assert_eq!(count(&b_seen, &lost), 0);

    assert_eq!(
        logs.lines_with(&["redis bus is back", a.origin()]).len(),
        1,
        "one info line when it is back"
    );
    assert_eq!(
        logs.lines_with(&["redis bus unavailable", a.origin()])
            .len(),
        1
    );
    assert!(
        logs.lines_with(&["redis bus unavailable", b.origin()])
            .is_empty(),
        "the bus that kept its Redis never warned"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_connects_when_it_appears() {
    let Some(url) = redis_or_skip("redis_down_at_start_connects_when_it_appears").await else {
        return;
    };
    let channel = unique_channel("late");
    let proxy = Proxy::start(redis_addr()).await;
    proxy.cut();
    let a = redis_bus(&proxy.url(), &channel, "early");
    let mut a_rx = a.subscribe();
    eventually("the failed start is reported", || {
        a.status().last_error.is_some()
    })
    .await;
    assert!(!a.status().connected);
    a.publish(chat("a", "local only"));
    assert_eq!(a_rx.try_recv(), Some(chat("a", "local only")));

    proxy.restore();
    let b = redis_bus(&url, &channel, "late");
    let mut b_rx = b.subscribe();
    eventually("both buses are connected", || {
        a.status().connected && b.status().connected
    })
    .await;
    exchange("after a late start", (&a, &mut a_rx), (&b, &mut b_rx)).await;
}
