//! Logins through the real gateways: telnet over a TCP socket and QUIC over
//! a real endpoint, against a real `GameWorld` ticking on its own thread,
//! with an in-memory account service defined here.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gsp_client::{Client, ClientError, ConnectOptions, Trust};
use gsp_engine::accounts::BoxFuture;
use gsp_engine::systems::ingest::valid_name;
use gsp_engine::{
    AccountError, AccountId, AccountService, GameWorld, Login, WorldConfig, WorldMap, WorldRuntime,
};
use gsp_gateways::quic::{QuicConfig, ServerIdentity};
use gsp_gateways::telnet::protocol::cmd::{DO, DONT, IAC, WILL, WONT};
use gsp_gateways::telnet::protocol::opt::ECHO;
use gsp_gateways::telnet::TelnetConfig;
use gsp_gateways::CancellationToken;
use gsp_protocol::{CloseCode, EventKind, RefusalCode, ServerMessage};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

// ------------------------------------------------------------ the fake store

/// Failed logins of one name before it is throttled.
const FAILURES_BEFORE_THROTTLE: u32 = 3;

/// Accounts in a hash map: the rules of the real store in miniature (names
/// checked, passwords of 8+ characters, one answer for every bad login,
/// throttling after repeated failures, tokens).
#[derive(Default)]
struct FakeAccounts {
    state: Mutex<FakeState>,
    /// Every answer takes this long.
    delay: Duration,
}

#[derive(Default)]
struct FakeState {
    /// By lowercase name: id, name as created, password.
    accounts: HashMap<String, (AccountId, String, String)>,
    tokens: HashMap<String, AccountId>,
    failures: HashMap<String, u32>,
    /// The peer address of every login call.
    peers: Vec<IpAddr>,
    next_id: i64,
}

impl FakeAccounts {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap()
    }

    fn password_of(&self, name: &str) -> Option<String> {
        let state = self.lock();
        state
            .accounts
            .get(&name.to_ascii_lowercase())
            .map(|a| a.2.clone())
    }

    fn tokens_of(&self, name: &str) -> Vec<String> {
        let state = self.lock();
        let Some((id, ..)) = state.accounts.get(&name.to_ascii_lowercase()) else {
            return Vec::new();
        };
        state
            .tokens
            .iter()
            .filter(|(_, a)| *a == id)
            .map(|(t, _)| t.clone())
            .collect()
    }
}

fn login_of(id: AccountId, name: &str) -> Login {
    Login {
        account: id,
        name: name.to_owned(),
        character: None,
    }
}

impl AccountService for FakeAccounts {
    fn exists<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, AccountError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            Ok(self
                .lock()
                .accounts
                .contains_key(&name.to_ascii_lowercase()))
        })
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let mut state = self.lock();
            state.peers.push(peer);
            if !valid_name(name) {
                return Err(AccountError::BadName);
            }
            if password.chars().count() < 8 {
                return Err(AccountError::WeakPassword(
                    "passwords need at least 8 characters".into(),
                ));
            }
            let key = name.to_ascii_lowercase();
            if state.accounts.contains_key(&key) {
                return Err(AccountError::NameTaken);
            }
            state.next_id += 1;
            let id = AccountId(state.next_id);
            state
                .accounts
                .insert(key, (id, name.to_owned(), password.to_owned()));
            Ok(login_of(id, name))
        })
    }

    fn connect<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let mut state = self.lock();
            state.peers.push(peer);
            let key = name.to_ascii_lowercase();
            if state.failures.get(&key).copied().unwrap_or(0) >= FAILURES_BEFORE_THROTTLE {
                return Err(AccountError::Throttled {
                    retry_after: Duration::from_secs(30),
                });
            }
            match state.accounts.get(&key) {
                Some((id, real_name, real_password)) if real_password == password => {
                    let login = login_of(*id, real_name);
                    state.failures.remove(&key);
                    Ok(login)
                }
                _ => {
                    *state.failures.entry(key).or_default() += 1;
                    Err(AccountError::BadCredentials)
                }
            }
        })
    }

    fn connect_token<'a>(
        &'a self,
        token: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let mut state = self.lock();
            state.peers.push(peer);
            let id = *state
                .tokens
                .get(token)
                .ok_or(AccountError::BadCredentials)?;
            let (_, name, _) = state
                .accounts
                .values()
                .find(|(a, ..)| *a == id)
                .ok_or(AccountError::BadCredentials)?;
            Ok(login_of(id, name))
        })
    }

    fn issue_token(&self, account: AccountId) -> BoxFuture<'_, Result<String, AccountError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let mut state = self.lock();
            let token = format!("token-{}-{}", account.0, state.tokens.len());
            state.tokens.insert(token.clone(), account);
            Ok(token)
        })
    }
}

// ------------------------------------------------------------ the server

/// A world with both gateways on ephemeral ports; stops when dropped.
struct Server {
    telnet: SocketAddr,
    quic: SocketAddr,
    shutdown: CancellationToken,
    _world: WorldRuntime,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(accounts: Option<Arc<FakeAccounts>>, allow_guests: bool) -> Server {
        Server::start_with(accounts, allow_guests, Duration::from_secs(10)).await
    }

    async fn start_with(
        accounts: Option<Arc<FakeAccounts>>,
        allow_guests: bool,
        handshake_timeout: Duration,
    ) -> Server {
        let world = WorldRuntime::start(GameWorld::new(
            WorldConfig::default(),
            WorldMap::default_world(),
        ))
        .expect("world thread");
        let handle = world.handle();
        let accounts = accounts.map(|a| a as Arc<dyn AccountService>);
        let shutdown = CancellationToken::new();

        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let telnet = listener.local_addr().unwrap();
        let telnet_config = TelnetConfig {
            accounts: accounts.clone(),
            allow_guests,
            ..TelnetConfig::default()
        };
        tokio::spawn(gsp_gateways::telnet::serve(
            listener,
            handle.clone(),
            telnet_config,
            shutdown.clone(),
        ));

        let dir = tempfile::tempdir().unwrap();
        let identity = ServerIdentity::load_or_create(dir.path(), None, None, &[]).unwrap();
        let quic_config = QuicConfig {
            handshake_timeout,
            accounts,
            allow_guests,
            ..QuicConfig::default()
        };
        let endpoint =
            gsp_gateways::quic::endpoint("127.0.0.1:0".parse().unwrap(), &identity, &quic_config)
                .unwrap();
        let quic = endpoint.local_addr().unwrap();
        tokio::spawn(gsp_gateways::quic::serve(
            endpoint,
            handle,
            quic_config,
            shutdown.clone(),
        ));
        Server {
            telnet,
            quic,
            shutdown,
            _world: world,
            _dir: dir,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

// ------------------------------------------------------------ a telnet client

/// A telnet client that, like a real one, agrees to the server echoing
/// (DO ECHO after WILL ECHO, DONT ECHO after WONT ECHO).
struct Telnet {
    stream: TcpStream,
    /// Every byte received.
    raw: Vec<u8>,
    /// Bytes of `raw` already scanned for echo negotiation.
    scanned: usize,
    /// Characters of the cleaned text already consumed by `expect`.
    consumed: usize,
}

impl Telnet {
    async fn connect(addr: SocketAddr) -> Telnet {
        Telnet {
            stream: TcpStream::connect(addr).await.unwrap(),
            raw: Vec::new(),
            scanned: 0,
            consumed: 0,
        }
    }

    async fn send(&mut self, line: &str) {
        self.stream
            .write_all(format!("{line}\r\n").as_bytes())
            .await
            .unwrap();
    }

    /// Reads once (up to `wait`): `None` on timeout, `Some(false)` at EOF.
    async fn read_some(&mut self, wait: Duration) -> Option<bool> {
        let mut buf = [0u8; 4096];
        match tokio::time::timeout(wait, self.stream.read(&mut buf)).await {
            Err(_) => None,
            Ok(Ok(0)) | Ok(Err(_)) => Some(false),
            Ok(Ok(n)) => {
                self.raw.extend_from_slice(&buf[..n]);
                self.answer_negotiation().await;
                Some(true)
            }
        }
    }

    async fn answer_negotiation(&mut self) {
        let mut replies = Vec::new();
        while self.scanned + 3 <= self.raw.len() {
            match self.raw[self.scanned..self.scanned + 3] {
                [IAC, WILL, ECHO] => replies.extend_from_slice(&[IAC, DO, ECHO]),
                [IAC, WONT, ECHO] => replies.extend_from_slice(&[IAC, DONT, ECHO]),
                _ => {}
            }
            self.scanned += 1;
        }
        if !replies.is_empty() {
            // The server may already be gone; the test's expectations say so.
            let _ = self.stream.write_all(&replies).await;
        }
    }

    fn pending(&self) -> String {
        clean(&self.raw).chars().skip(self.consumed).collect()
    }

    /// Waits (up to 10 s) for `needle`; returns the text up to and
    /// including it, and consumes it.
    async fn expect(&mut self, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let pending = self.pending();
            if let Some(i) = pending.find(needle) {
                let text = pending[..i + needle.len()].to_owned();
                self.consumed += text.chars().count();
                return text;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_some(left).await {
                Some(true) => {}
                Some(false) => panic!("closed waiting for {needle:?}; got {pending:?}"),
                None => panic!("timed out waiting for {needle:?}; got {pending:?}"),
            }
        }
    }

    /// Reads until the server closes (up to 10 s); returns the rest.
    async fn expect_closed(&mut self) -> String {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.read_some(left).await {
                Some(true) => {}
                Some(false) => return self.pending(),
                None => panic!("still open; got {:?}", self.pending()),
            }
        }
    }
}

/// Bytes as text: telnet commands and ANSI escapes removed, no CRs.
fn clean(bytes: &[u8]) -> String {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            IAC => {
                let cmd = bytes.get(i + 1).copied().unwrap_or(0);
                i += if (WILL..=DONT).contains(&cmd) { 3 } else { 2 };
            }
            0x1b => {
                i += 1;
                while i < bytes.len() && !bytes[i].is_ascii_alphabetic() {
                    i += 1;
                }
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).replace('\r', "")
}

/// Where `needle` first occurs in `haystack` at or after `from`.
fn find_from(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

const WILL_ECHO: [u8; 3] = [IAC, WILL, ECHO];
const WONT_ECHO: [u8; 3] = [IAC, WONT, ECHO];

// ------------------------------------------------------------ QUIC helpers

async fn quic(server: &Server, options: ConnectOptions) -> Result<Client, ClientError> {
    Client::connect_as(server.quic, &options, &Trust::Insecure).await
}

/// Connects, retrying while the world still holds the name from a
/// connection just closed.
async fn quic_reconnect(server: &Server, options: ConnectOptions) -> Client {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match quic(server, options.clone()).await {
            Ok(c) => return c,
            Err(ClientError::Refused {
                code: RefusalCode::NameTaken,
                ..
            }) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("reconnecting: {e}"),
        }
    }
}

fn refusal(result: Result<Client, ClientError>) -> (RefusalCode, String) {
    match result {
        Err(ClientError::Refused { code, reason }) => (code, reason),
        Err(e) => panic!("expected a refusal, got {e}"),
        Ok(_) => panic!("expected a refusal, got a welcome"),
    }
}

/// The next event of `kind` (up to 5 s).
async fn next_event_of(client: &mut Client, kind: EventKind) -> String {
    let wait = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(message) = client.next_event().await {
            if let Ok(ServerMessage::Event { kind: k, text, .. }) = message {
                if k == kind {
                    return Some(text);
                }
            }
        }
        None
    });
    match wait.await {
        Ok(Some(text)) => text,
        Ok(None) => panic!("the stream ended before a {kind:?} event"),
        Err(_) => panic!("no {kind:?} event within 5 s"),
    }
}

// ------------------------------------------------------------ telnet tests

#[tokio::test]
async fn telnet_creates_a_character_then_connects_with_echo_off_for_passwords() {
    let accounts = Arc::new(FakeAccounts::default());
    let server = Server::start(Some(accounts.clone()), true).await;

    let mut t = Telnet::connect(server.telnet).await;
    let intro = t.expect("What is your name? ").await;
    assert!(
        intro.contains(
            "Enter your name to log in or create a character. Or type:\n\
             connect <name> <password> | create <name> <password> | guest <name> | quit"
        ),
        "{intro}"
    );
    t.send("Ada").await;
    t.expect("There is no one called Ada yet. Create a new character called Ada? (yes/no) ")
        .await;
    t.send("yes").await;
    t.expect("Choose a password (at least 8 characters): ")
        .await;
    t.send("open-sesame").await;
    t.expect("Repeat it: ").await;
    t.send("open-sesame!").await;
    t.expect("The passwords do not match; try again.").await;
    t.expect("Choose a password").await;
    t.send("open-sesame").await;
    t.expect("Repeat it: ").await;
    t.send("open-sesame").await;
    t.expect("Welcome, Ada! Your character has been created.")
        .await;
    t.expect("Players here: Ada (you).").await;
    assert_eq!(accounts.password_of("ada").as_deref(), Some("open-sesame"));

    // On the wire: WILL ECHO just before the first password prompt, WONT
    // ECHO once, after the last password line; echo stays off between.
    let raw = t.raw.clone();
    assert_eq!(count(&raw, &WILL_ECHO), 1);
    assert_eq!(count(&raw, &WONT_ECHO), 1);
    let will = find_from(&raw, &WILL_ECHO, 0).unwrap();
    let choose = find_from(&raw, b"Choose a password", 0).unwrap();
    let created = find_from(&raw, b"has been created", 0).unwrap();
    let wont = find_from(&raw, &WONT_ECHO, 0).unwrap();
    assert!(
        will < choose && raw[will..choose].iter().all(|&b| b != b'\n'),
        "WILL ECHO right before the prompt"
    );
    let last_repeat = raw
        .windows(b"Repeat it: ".len())
        .rposition(|w| w == b"Repeat it: ")
        .unwrap();
    assert!(
        last_repeat < wont && wont < created,
        "WONT ECHO after the line"
    );
    // The newline the client did not echo follows the WONT ECHO.
    assert_eq!(&raw[wont + 3..wont + 5], b"\r\n");
    // The server never writes a password back.
    assert!(find_from(&raw, b"open-sesame", 0).is_none());

    t.send("quit").await;
    t.expect_closed().await;

    // Again: the name is known now, so a password is asked for.
    let mut t = Telnet::connect(server.telnet).await;
    t.expect("What is your name? ").await;
    t.send("ada").await;
    t.expect("Password: ").await;
    t.send("not-the-password").await;
    t.expect("Sorry, wrong name or password.").await;
    t.expect("What is your name? ").await;
    // Evennia's one-line form, without prompts and without echo changes.
    let before = t.raw.len();
    t.send("connect ada open-sesame").await;
    t.expect("Welcome back, Ada.").await;
    t.expect("Players here: Ada (you).").await;
    let raw = t.raw.clone();
    assert_eq!(count(&raw, &WILL_ECHO), 1, "only the password prompt");
    assert_eq!(count(&raw, &WONT_ECHO), 1);
    assert!(find_from(&raw, &WILL_ECHO, before).is_none());
    let password_prompt = find_from(&raw, b"Password: ", 0).unwrap();
    let will = find_from(&raw, &WILL_ECHO, 0).unwrap();
    let wont = find_from(&raw, &WONT_ECHO, 0).unwrap();
    let sorry = find_from(&raw, b"Sorry, wrong name", 0).unwrap();
    assert!(will < password_prompt && password_prompt < wont && wont < sorry);
    // The world has the player: commands work.
    t.send("say hello").await;
    t.expect("You say, \"hello\"").await;
    assert!(accounts
        .lock()
        .peers
        .iter()
        .all(|p| *p == IpAddr::from([127, 0, 0, 1])));
}

#[tokio::test]
async fn telnet_one_line_create_errors_and_guests() {
    let accounts = Arc::new(FakeAccounts::default());
    let server = Server::start(Some(accounts.clone()), true).await;
    let mut t = Telnet::connect(server.telnet).await;
    t.expect("What is your name? ").await;
    t.send("create bob short").await;
    t.expect("Sorry, passwords need at least 8 characters.")
        .await;
    t.expect("What is your name? ").await;
    t.send("create bob long-enough").await;
    t.expect("Welcome, bob! Your character has been created.")
        .await;
    t.expect("Players here: bob (you).").await;
    assert!(
        count(&t.raw, &WILL_ECHO) == 0,
        "no echo games for one-liners"
    );

    let mut g = Telnet::connect(server.telnet).await;
    g.expect("What is your name? ").await;
    g.send("create BOB another-password").await;
    g.expect("Sorry, that name is already taken.").await;
    g.send("guest bob").await;
    g.expect("bob is an account's name; log in with: connect bob <password>")
        .await;
    g.send("guest carol").await;
    g.expect("Players here: carol (you), bob.").await;
    assert!(
        accounts.password_of("carol").is_none(),
        "guests have no account"
    );
}

#[tokio::test]
async fn telnet_without_accounts_is_the_name_only_guest_login() {
    let server = Server::start(None, false).await;
    let mut t = Telnet::connect(server.telnet).await;
    let intro = t.expect("By what name do you wish to be known? ").await;
    assert!(!intro.contains("connect <name>"), "{intro}");
    t.send("x").await;
    t.expect("Sorry, names are 2 to 16 letters").await;
    t.send("dora").await;
    t.expect("Players here: dora (you).").await;
    assert_eq!(count(&t.raw, &WILL_ECHO), 0);
}

#[tokio::test]
async fn telnet_worlds_without_guests_ask_for_an_account() {
    let server = Server::start(Some(Arc::new(FakeAccounts::default())), false).await;
    let mut t = Telnet::connect(server.telnet).await;
    let intro = t.expect("What is your name? ").await;
    assert!(!intro.contains("guest"), "{intro}");
    t.send("guest eve").await;
    t.expect("This world has no guests; create a character instead.")
        .await;
}

#[tokio::test]
async fn telnet_takeover_closes_the_first_connection() {
    let server = Server::start(Some(Arc::new(FakeAccounts::default())), true).await;
    let mut first = Telnet::connect(server.telnet).await;
    first.expect("What is your name? ").await;
    first.send("create ada open-sesame").await;
    first.expect("Players here: ada (you).").await;

    let mut second = Telnet::connect(server.telnet).await;
    second.expect("What is your name? ").await;
    second.send("connect ada open-sesame").await;
    second.expect("Welcome back, ada.").await;
    second.expect("Players here:").await;
    first
        .expect("Someone else has logged in as you. Goodbye.")
        .await;
    first.expect_closed().await;
    second.send("say still here").await;
    second.expect("You say, \"still here\"").await;
}

// ------------------------------------------------------------ QUIC tests

#[tokio::test]
async fn quic_password_login_gets_a_token_that_logs_in_again() {
    let accounts = Arc::new(FakeAccounts::default());
    let server = Server::start(Some(accounts.clone()), true).await;

    let created = quic(&server, ConnectOptions::create("ada", "open-sesame"))
        .await
        .expect("create");
    let first_token = created.token().expect("a token after creating").to_owned();
    assert_eq!(accounts.tokens_of("ada"), vec![first_token.clone()]);
    created.close();

    let mut by_password =
        quic_reconnect(&server, ConnectOptions::password("ADA", "open-sesame")).await;
    let token = by_password
        .token()
        .expect("a token after a password login")
        .to_owned();
    assert_ne!(token, first_token);
    by_password.command("who").await.unwrap();
    let who = next_event_of(&mut by_password, EventKind::Who).await;
    assert!(who.contains("ada"), "the account's own name: {who}");
    by_password.close();

    let mut by_token = quic_reconnect(&server, ConnectOptions::token(&token)).await;
    assert_eq!(by_token.token(), None, "a token login gets no new token");
    by_token.command("who").await.unwrap();
    let who = next_event_of(&mut by_token, EventKind::Who).await;
    assert!(who.contains("ada"), "{who}");
    assert!(accounts
        .lock()
        .peers
        .iter()
        .all(|p| *p == IpAddr::from([127, 0, 0, 1])));
}

#[tokio::test]
async fn quic_refusals_say_why() {
    let accounts = Arc::new(FakeAccounts::default());
    let server = Server::start(Some(accounts.clone()), true).await;
    let ada = quic(&server, ConnectOptions::create("ada", "open-sesame"))
        .await
        .unwrap();

    let (code, reason) = refusal(quic(&server, ConnectOptions::password("ada", "guess")).await);
    assert_eq!(code, RefusalCode::BadCredentials);
    assert_eq!(reason, "wrong name or password");
    let (code, _) = refusal(quic(&server, ConnectOptions::password("nobody", "guess")).await);
    assert_eq!(
        code,
        RefusalCode::BadCredentials,
        "unknown names look the same"
    );
    let (code, _) = refusal(quic(&server, ConnectOptions::token("forged")).await);
    assert_eq!(code, RefusalCode::BadCredentials);

    // Two more failures for ada and the name is throttled, the right
    // password included.
    for _ in 0..2 {
        refusal(quic(&server, ConnectOptions::password("ada", "guess")).await);
    }
    let (code, reason) =
        refusal(quic(&server, ConnectOptions::password("ada", "open-sesame")).await);
    assert_eq!(code, RefusalCode::Throttled);
    assert!(reason.contains("try again in 30 s"), "{reason}");

    let (code, reason) = refusal(quic(&server, ConnectOptions::create("bob", "short")).await);
    assert_eq!(code, RefusalCode::WeakPassword);
    assert_eq!(reason, "passwords need at least 8 characters");
    let (code, _) = refusal(quic(&server, ConnectOptions::create("ADA", "long-enough")).await);
    assert_eq!(code, RefusalCode::NameTaken);
    let (code, _) =
        refusal(quic(&server, ConnectOptions::create("no spaces", "long-enough")).await);
    assert_eq!(code, RefusalCode::BadName);

    // A guest may not borrow an account's name, but may play under another.
    let (code, reason) = refusal(quic(&server, ConnectOptions::guest("ada")).await);
    assert_eq!(code, RefusalCode::AccountRequired);
    assert!(reason.contains("log in"), "{reason}");
    let guest = quic(&server, ConnectOptions::guest("carol")).await.unwrap();
    assert_eq!(guest.token(), None);
    assert!(accounts.password_of("carol").is_none());
    drop((ada, guest));
}

#[tokio::test]
async fn quic_worlds_without_guests_or_without_accounts() {
    let server = Server::start(Some(Arc::new(FakeAccounts::default())), false).await;
    let (code, _) = refusal(quic(&server, ConnectOptions::guest("carol")).await);
    assert_eq!(code, RefusalCode::AccountRequired);
    // Bots and old clients connect as guests: fine without accounts.
    let server = Server::start(None, false).await;
    let guest = Client::connect(server.quic, "carol", &Trust::Insecure)
        .await
        .expect("guests need no account");
    assert_eq!(guest.token(), None);
    let (code, reason) =
        refusal(quic(&server, ConnectOptions::password("dave", "open-sesame")).await);
    assert_eq!(code, RefusalCode::Unavailable);
    assert!(reason.contains("no accounts"), "{reason}");
}

#[tokio::test]
async fn quic_account_service_is_bounded_by_the_handshake_timeout() {
    let slow = Arc::new(FakeAccounts {
        delay: Duration::from_secs(5),
        ..FakeAccounts::default()
    });
    let server = Server::start_with(Some(slow), true, Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let (code, reason) =
        refusal(quic(&server, ConnectOptions::password("ada", "open-sesame")).await);
    assert_eq!(code, RefusalCode::Unavailable);
    assert!(reason.contains("in time"), "{reason}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn quic_takeover_closes_the_first_connection() {
    let server = Server::start(Some(Arc::new(FakeAccounts::default())), true).await;
    let mut first = quic(&server, ConnectOptions::create("ada", "open-sesame"))
        .await
        .unwrap();
    let token = first.token().unwrap().to_owned();
    let mut second = quic(&server, ConnectOptions::token(&token))
        .await
        .expect("the second login takes over");
    loop {
        let info = next_event_of(&mut first, EventKind::Info).await;
        if info == gsp_gateways::quic::server::TAKEN_OVER_NOTICE {
            break;
        }
    }
    let (code, _) = tokio::time::timeout(Duration::from_secs(5), first.closed())
        .await
        .expect("the first connection closes");
    assert_eq!(code, Some(CloseCode::TakenOver));
    second.command("who").await.unwrap();
    let who = next_event_of(&mut second, EventKind::Who).await;
    assert!(who.contains("ada"), "{who}");
}
