//! The Redis backend: a thin async shell around the plain parts.
//!
//! Two tasks per bus. The publisher owns a multiplexed connection and sends
//! what [`RedisShell::publish`] queued; the subscriber owns a pub/sub
//! connection and hands what arrives to local subscribers, minus our own
//! echo ([`envelope::admit`]). Each reconnects on its own with a
//! [`Backoff`]; idle connections are pinged so a silent loss is noticed.
//! Both report to one [`Health`], which decides what is worth a log line.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use gsp_engine::BusMessage;
use redis::aio::{MultiplexedConnection, PubSubSink, PubSubStream};
use redis::{AsyncConnectionConfig, Client};
use tokio::sync::{broadcast, mpsc};
use tokio::task::AbortHandle;
use tokio::time::{sleep, sleep_until, timeout, Instant};

use super::envelope::{self, Admit};
use super::health::{Health, Side, Transition};
use super::ratelimit::DropWarner;
use super::{lock, Backoff, BusConfig};

/// The Redis half of a bus: the queue to the publisher task, the shared
/// health, and the tasks to stop when the bus goes away.
pub(super) struct RedisShell {
    outbox: mpsc::Sender<String>,
    health: Arc<Mutex<Health>>,
    full: Mutex<DropWarner>,
    tasks: [AbortHandle; 2],
}

impl Drop for RedisShell {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// What both tasks need to know.
#[derive(Clone)]
struct Shared {
    client: Client,
    channel: String,
    origin: String,
    health: Arc<Mutex<Health>>,
    backoff: Backoff,
    io_timeout: Duration,
    ping_interval: Duration,
}

impl RedisShell {
    /// Spawn the publisher and subscriber tasks on `runtime`.
    pub(super) fn start(
        runtime: &tokio::runtime::Handle,
        client: Client,
        config: &BusConfig,
        origin: &str,
        local: broadcast::Sender<BusMessage>,
    ) -> Self {
        let health = Arc::new(Mutex::new(Health::new()));
        let shared = Shared {
            client,
            channel: config.channel.clone(),
            origin: origin.to_string(),
            health: health.clone(),
            backoff: Backoff::new(config.backoff_initial, config.backoff_max),
            io_timeout: config.io_timeout,
            ping_interval: config.ping_interval,
        };
        tracing::info!(
            channel = %config.channel,
            origin,
            "redis bus starting; connecting in the background"
        );
        let (outbox, queue) = mpsc::channel(super::capacity(config));
        let publisher = runtime.spawn(run_publisher(shared.clone(), queue));
        let subscriber = runtime.spawn(run_subscriber(shared, local));
        Self {
            outbox,
            health,
            full: Mutex::new(DropWarner::new(Duration::from_secs(10))),
            tasks: [publisher.abort_handle(), subscriber.abort_handle()],
        }
    }

    /// Queue `msg` for Redis; drops it (with a rate-limited warning) if the
    /// queue is full. Never blocks.
    pub(super) fn publish(&self, origin: &str, msg: &BusMessage) {
        let payload = match envelope::encode(origin, msg) {
            Ok(payload) => payload,
            Err(err) => {
                tracing::debug!(error = %err, "bus message not encodable; not sent to redis");
                return;
            }
        };
        match self.outbox.try_send(payload) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                // During an outage the queue fills while the publisher waits
                // to reconnect; that outage has had its one warning.
                if !lock(&self.health).connected() {
                    return;
                }
                if let Some(n) = lock(&self.full).dropped(std::time::Instant::now()) {
                    tracing::warn!(
                        dropped = n,
                        "redis bus send queue full; dropped {n} messages for other worlds"
                    );
                }
            }
            // The publisher task is gone: the bus is being dropped.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// A copy of the current health.
    pub(super) fn health(&self) -> Health {
        lock(&self.health).clone()
    }
}

impl Shared {
    fn up(&self, side: Side) {
        let transition = lock(&self.health).up(side);
        self.log(transition);
    }

    fn down(&self, side: Side, error: String) {
        tracing::debug!(?side, %error, channel = %self.channel, origin = %self.origin, "redis bus connection failed");
        let transition = lock(&self.health).down(side, error);
        self.log(transition);
    }

    fn log(&self, transition: Option<Transition>) {
        match transition {
            None => {}
            Some(Transition::Connected) => {
                tracing::info!(channel = %self.channel, origin = %self.origin, "redis bus connected");
            }
            Some(Transition::Lost(error)) => tracing::warn!(
                channel = %self.channel,
                origin = %self.origin,
                "redis bus unavailable ({error}); chat stays within this world until it returns"
            ),
            Some(Transition::Restored) => tracing::info!(
                channel = %self.channel,
                origin = %self.origin,
                "redis bus is back; chat reaches other worlds again"
            ),
        }
    }

    async fn connect(&self) -> Result<MultiplexedConnection, String> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.io_timeout))
            .set_response_timeout(Some(self.io_timeout));
        // The outer timeout also bounds the handshake after the TCP connect.
        match timeout(
            self.io_timeout * 2,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await
        {
            Ok(Ok(conn)) => Ok(conn),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("connecting timed out".to_string()),
        }
    }

    async fn subscribe(&self) -> Result<(PubSubSink, PubSubStream), String> {
        let attempt = async {
            let pubsub = self.client.get_async_pubsub().await?;
            let (mut sink, stream) = pubsub.split();
            sink.subscribe(&self.channel).await?;
            Ok::<_, redis::RedisError>((sink, stream))
        };
        match timeout(self.io_timeout * 2, attempt).await {
            Ok(Ok(pair)) => Ok(pair),
            Ok(Err(err)) => Err(err.to_string()),
            Err(_) => Err("subscribing timed out".to_string()),
        }
    }
}

async fn publish_one(
    conn: &mut MultiplexedConnection,
    channel: &str,
    payload: &str,
) -> Result<(), String> {
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(payload)
        .query_async::<i64>(conn)
        .await
        .map(drop)
        .map_err(|err| err.to_string())
}

async fn ping(conn: &mut MultiplexedConnection) -> Result<(), String> {
    redis::cmd("PING")
        .query_async::<redis::Value>(conn)
        .await
        .map(drop)
        .map_err(|err| err.to_string())
}

/// Send queued payloads while connected; drop them while not; reconnect
/// with backoff. Ends when the bus (the queue's sender) is dropped.
async fn run_publisher(shared: Shared, mut queue: mpsc::Receiver<String>) {
    let mut backoff = shared.backoff.clone();
    let mut conn: Option<MultiplexedConnection> = None;
    let mut retry_at = Instant::now();
    let mut dropped_in_outage: u64 = 0;
    loop {
        let Some(live) = conn.as_mut() else {
            // Down: drop what is queued until it is time to try again.
            tokio::select! {
                payload = queue.recv() => match payload {
                    Some(_) => dropped_in_outage += 1,
                    None => return,
                },
                () = sleep_until(retry_at) => match shared.connect().await {
                    Ok(new) => {
                        if dropped_in_outage > 0 {
                            tracing::debug!(
                                dropped = dropped_in_outage,
                                "redis bus messages published during the outage were delivered locally only"
                            );
                            dropped_in_outage = 0;
                        }
                        conn = Some(new);
                        backoff.reset();
                        shared.up(Side::Publisher);
                    }
                    Err(error) => {
                        shared.down(Side::Publisher, error);
                        retry_at = Instant::now() + backoff.next_delay();
                    }
                },
            }
            continue;
        };
        // Up: send, or ping when idle for a while.
        let result = tokio::select! {
            payload = queue.recv() => match payload {
                None => return,
                Some(payload) => match publish_one(live, &shared.channel, &payload).await {
                    Ok(()) => Ok(()),
                    // One fresh connection and one more try before calling it
                    // an outage: the old connection may simply have died idle.
                    Err(first) => match shared.connect().await {
                        Ok(mut fresh) => {
                            let again = publish_one(&mut fresh, &shared.channel, &payload).await;
                            conn = Some(fresh);
                            again.map_err(|e| format!("{e} (after {first})"))
                        }
                        Err(e) => Err(format!("{first}; reconnecting: {e}")),
                    },
                },
            },
            () = sleep(shared.ping_interval) => match ping(live).await {
                Ok(()) => Ok(()),
                Err(first) => match shared.connect().await {
                    Ok(fresh) => {
                        tracing::debug!(error = %first, "redis bus publisher reconnected after a failed ping");
                        conn = Some(fresh);
                        Ok(())
                    }
                    Err(e) => Err(format!("{first}; reconnecting: {e}")),
                },
            },
        };
        if let Err(error) = result {
            conn = None;
            shared.down(Side::Publisher, error);
            retry_at = Instant::now() + backoff.next_delay();
        }
    }
}

/// Keep a subscription to the channel and hand what arrives to local
/// subscribers; resubscribe with backoff when it breaks. Runs until aborted.
async fn run_subscriber(shared: Shared, local: broadcast::Sender<BusMessage>) {
    let mut backoff = shared.backoff.clone();
    loop {
        match shared.subscribe().await {
            Ok((mut sink, mut stream)) => {
                backoff.reset();
                shared.up(Side::Subscriber);
                let error = pump(&shared, &local, &mut sink, &mut stream).await;
                shared.down(Side::Subscriber, error);
            }
            Err(error) => shared.down(Side::Subscriber, error),
        }
        sleep(backoff.next_delay()).await;
    }
}

/// Deliver messages until the subscription breaks; returns why it did.
async fn pump(
    shared: &Shared,
    local: &broadcast::Sender<BusMessage>,
    sink: &mut PubSubSink,
    stream: &mut PubSubStream,
) -> String {
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(msg) = msg else {
                    return "subscription connection closed".to_string();
                };
                let payload = msg.get_payload_bytes();
                match envelope::admit(payload, &shared.origin) {
                    Admit::Deliver(msg) => {
                        // An error only means nobody is subscribed right now.
                        let _ = local.send(msg);
                    }
                    Admit::Own => {}
                    Admit::Invalid(error) => tracing::debug!(
                        %error,
                        len = payload.len(),
                        start = %String::from_utf8_lossy(&payload[..payload.len().min(64)]),
                        "skipping a payload on the bus channel that is not a bus message"
                    ),
                }
            }
            () = sleep(shared.ping_interval) => {
                match timeout(shared.io_timeout, sink.ping::<redis::Value>()).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => return format!("subscription ping failed: {error}"),
                    Err(_) => return "subscription ping timed out".to_string(),
                }
            }
        }
    }
}
