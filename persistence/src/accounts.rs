//! Accounts and characters: [`AccountStore`], the [`AccountService`] the
//! gateways log players in with.
//!
//! - **Names** follow [`valid_name`] and are unique in any capitalisation
//!   (a lowercase key with a unique index); the name keeps the
//!   capitalisation it was created with.
//! - **Passwords** are 8 to 128 characters and not the name; they are stored
//!   as argon2id hashes (default parameters), hashed and verified on tokio's
//!   blocking threads. An unknown name is verified against a dummy hash, so
//!   it takes as long as a wrong password, and both get the same answer.
//! - **Resume tokens** ([`AccountService::issue_token`]) are 32 random bytes
//!   printed as `gsp_rt_…`; only their SHA-256 is stored; they expire after
//!   30 days. An account keeps its 10 newest tokens.
//! - **Throttling**: failed logins are counted per address and per name by a
//!   [`Throttle`] (in memory, per process). A throttled attempt gets
//!   [`AccountError::Throttled`] without its password being checked.
//! - **Characters** are per world: accounts are shared by every world in the
//!   database, and this store reads and writes the characters of the world
//!   it was built for.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gsp_engine::accounts::BoxFuture;
use gsp_engine::systems::ingest::valid_name;
use gsp_engine::{AccountError, AccountId, AccountService, CharacterState, Login};

use crate::characters;
use crate::password;
use crate::sql;
use crate::throttle::{Throttle, ThrottleRules};
use crate::token::{self, TOKEN_LIFETIME};
use gsp_store::Database;
use gsp_store::StoreError;

/// Resume tokens kept per account (the newest).
const TOKENS_PER_ACCOUNT: i64 = 10;

/// Accounts (shared by all worlds of the database) and the characters of
/// one world. Cheap to clone; clones share the throttle.
#[derive(Clone)]
pub struct AccountStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    world: String,
    throttle: Mutex<Throttle>,
}

impl std::fmt::Debug for AccountStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountStore")
            .field("db", &self.inner.db)
            .field("world", &self.inner.world)
            .finish_non_exhaustive()
    }
}

/// How a password check ended.
enum Verdict {
    Valid { account: AccountId, name: String },
    Invalid,
}

impl AccountStore {
    /// The accounts of `db`, and the characters of the world named `world`,
    /// with the default throttling rules.
    pub fn new(db: Database, world: &str) -> AccountStore {
        AccountStore::with_throttle_rules(db, world, ThrottleRules::default())
    }

    /// [`AccountStore::new`] with other throttling rules.
    pub fn with_throttle_rules(db: Database, world: &str, rules: ThrottleRules) -> AccountStore {
        AccountStore {
            inner: Arc::new(Inner {
                db,
                world: world.to_string(),
                throttle: Mutex::new(Throttle::new(rules)),
            }),
        }
    }

    /// The world whose characters this store reads and writes.
    pub fn world(&self) -> &str {
        &self.inner.world
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.inner.db
    }

    /// Saves the character of `account` in this store's world.
    pub async fn save_character(
        &self,
        account: AccountId,
        state: &CharacterState,
    ) -> Result<(), StoreError> {
        self.save_characters(&[(account, state.clone())]).await
    }

    /// Saves several characters in one transaction (the last of an account
    /// wins).
    pub async fn save_characters(
        &self,
        characters: &[(AccountId, CharacterState)],
    ) -> Result<(), StoreError> {
        characters::save_alone(&self.inner.db, &self.inner.world, characters).await
    }

    /// The character of `account` in this store's world, if one was saved.
    pub async fn load_character(
        &self,
        account: AccountId,
    ) -> Result<Option<CharacterState>, StoreError> {
        characters::load(self.inner.db.pool(), &self.inner.world, account).await
    }

    /// The id and name of the account named `key` (lowercase), and its hash.
    async fn find(&self, key: &str) -> Result<Option<(i64, String, String)>, StoreError> {
        sqlx::query_as("SELECT id, name, password_hash FROM accounts WHERE name_key = $1")
            .bind(key.to_string())
            .fetch_optional(self.inner.db.pool())
            .await
            .map_err(StoreError::query("looking up an account"))
    }

    /// Counts an attempt in the throttle (see [`Throttle::begin`]).
    fn begin_attempt(&self, peer: IpAddr, key: Option<&str>) -> Result<(), AccountError> {
        let mut throttle = self
            .inner
            .throttle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        throttle
            .begin(peer, key, Instant::now())
            .map_err(|retry_after| {
                tracing::info!(%peer, account = key, ?retry_after, "login throttled");
                AccountError::Throttled { retry_after }
            })
    }

    fn attempt_succeeded(&self, peer: IpAddr, key: Option<&str>) {
        self.inner
            .throttle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .succeeded(peer, key);
    }

    /// A login for `account`, with its character in this world.
    async fn login(&self, account: AccountId, name: String) -> Result<Login, AccountError> {
        let character = self.load_character(account).await.map_err(unavailable)?;
        Ok(Login {
            account,
            name,
            character,
        })
    }

    async fn create_account(
        &self,
        name: &str,
        password: &str,
        peer: IpAddr,
    ) -> Result<Login, AccountError> {
        if !valid_name(name) {
            return Err(AccountError::BadName);
        }
        password::check_new(name, password)?;
        let key = name.to_ascii_lowercase();
        if self.find(&key).await.map_err(unavailable)?.is_some() {
            return Err(AccountError::NameTaken);
        }
        let owned = password.to_string();
        let hash = tokio::task::spawn_blocking(move || password::hash(&owned))
            .await
            .map_err(|e| AccountError::Unavailable(format!("password hashing failed: {e}")))?
            .map_err(AccountError::Unavailable)?;
        let account = self.insert(name, &key, &hash).await.map_err(|e| {
            if e.is_unique_violation() {
                AccountError::NameTaken
            } else {
                unavailable(e)
            }
        })?;
        tracing::info!(%account, name, %peer, "account created");
        Ok(Login {
            account,
            name: name.to_string(),
            character: None,
        })
    }

    async fn insert(&self, name: &str, key: &str, hash: &str) -> Result<AccountId, StoreError> {
        let mut tx = self.inner.db.begin_write().await?;
        // The id counter's row is the first write: it serialises creators.
        let id: i64 = sqlx::query_scalar(
            "UPDATE id_counters SET value = value + 1 WHERE name = 'accounts' RETURNING value",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::query("allocating an account id"))?;
        sqlx::query(
            "INSERT INTO accounts (id, name, name_key, password_hash, created_ms) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id)
        .bind(name.to_string())
        .bind(key.to_string())
        .bind(hash.to_string())
        .bind(sql::now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("creating an account"))?;
        tx.commit().await?;
        Ok(AccountId(id))
    }

    async fn connect_password(
        &self,
        name: &str,
        password: &str,
        peer: IpAddr,
    ) -> Result<Login, AccountError> {
        let key = name.to_ascii_lowercase();
        self.begin_attempt(peer, Some(&key))?;
        match self.verify(name, &key, password).await? {
            Verdict::Valid { account, name } => {
                self.attempt_succeeded(peer, Some(&key));
                tracing::info!(%account, name, %peer, "logged in");
                self.login(account, name).await
            }
            Verdict::Invalid => {
                tracing::info!(account = key, %peer, "failed login");
                Err(AccountError::BadCredentials)
            }
        }
    }

    /// Checks `password` for the account `key`, taking as long whether or
    /// not the account exists.
    async fn verify(&self, name: &str, key: &str, password: &str) -> Result<Verdict, AccountError> {
        if !valid_name(name) || password::too_long(password) {
            // No account can have this name or password: nothing to hide.
            return Ok(Verdict::Invalid);
        }
        let found = self.find(key).await.map_err(unavailable)?;
        let (stored, account) = match found {
            Some((id, name, hash)) => (hash, Some((AccountId(id), name))),
            None => (String::new(), None),
        };
        let owned = password.to_string();
        let matches = tokio::task::spawn_blocking(move || {
            let hash = if stored.is_empty() {
                password::dummy_hash()
            } else {
                stored.as_str()
            };
            password::verify(&owned, hash)
        })
        .await
        .map_err(|e| AccountError::Unavailable(format!("password check failed: {e}")))?;
        Ok(match (matches, account) {
            (true, Some((account, name))) => Verdict::Valid { account, name },
            _ => Verdict::Invalid,
        })
    }

    async fn connect_with_token(&self, token: &str, peer: IpAddr) -> Result<Login, AccountError> {
        self.begin_attempt(peer, None)?;
        if !token::well_formed(token) {
            tracing::info!(%peer, "malformed resume token");
            return Err(AccountError::BadCredentials);
        }
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT a.id, a.name FROM resume_tokens t JOIN accounts a ON a.id = t.account_id \
             WHERE t.token_hash = $1 AND t.expires_ms > $2",
        )
        .bind(token::digest(token))
        .bind(sql::now_ms())
        .fetch_optional(self.inner.db.pool())
        .await
        .map_err(StoreError::query("looking up a resume token"))
        .map_err(unavailable)?;
        let Some((id, name)) = row else {
            tracing::info!(%peer, "unknown or expired resume token");
            return Err(AccountError::BadCredentials);
        };
        self.attempt_succeeded(peer, None);
        let account = AccountId(id);
        tracing::info!(%account, name, %peer, "logged in with a resume token");
        self.login(account, name).await
    }

    async fn issue(&self, account: AccountId) -> Result<String, AccountError> {
        let token = token::generate()
            .map_err(|e| AccountError::Unavailable(format!("no randomness for a token: {e}")))?;
        let now = sql::now_ms();
        let lifetime = i64::try_from(TOKEN_LIFETIME.as_millis()).unwrap_or(i64::MAX);
        let result: Result<(), StoreError> = async {
            let mut tx = self.inner.db.begin_write().await?;
            sqlx::query("DELETE FROM resume_tokens WHERE account_id = $1 AND expires_ms <= $2")
                .bind(account.0)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query("removing expired tokens"))?;
            sqlx::query(
                "INSERT INTO resume_tokens (token_hash, account_id, created_ms, expires_ms) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(token::digest(&token))
            .bind(account.0)
            .bind(now)
            .bind(now.saturating_add(lifetime))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("storing a resume token"))?;
            sqlx::query(
                "DELETE FROM resume_tokens WHERE account_id = $1 AND token_hash NOT IN \
                 (SELECT token_hash FROM resume_tokens WHERE account_id = $1 \
                  ORDER BY created_ms DESC, token_hash LIMIT $2)",
            )
            .bind(account.0)
            .bind(TOKENS_PER_ACCOUNT)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("removing old tokens"))?;
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => Ok(token),
            Err(StoreError::Query {
                source: sqlx::Error::Database(e),
                ..
            }) if e.is_foreign_key_violation() => Err(AccountError::Unavailable(format!(
                "cannot issue a token: no {account}"
            ))),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn name_exists(&self, name: &str) -> Result<bool, AccountError> {
        if !valid_name(name) {
            return Err(AccountError::BadName);
        }
        let found = self
            .find(&name.to_ascii_lowercase())
            .await
            .map_err(unavailable)?;
        Ok(found.is_some())
    }
}

/// A store failure as the player sees it (and logged in full).
fn unavailable(e: StoreError) -> AccountError {
    tracing::error!(error = %e, "account store failure");
    AccountError::Unavailable(e.to_string())
}

impl AccountService for AccountStore {
    /// `Err(BadName)` for a name that breaks the rules (no account can have it).
    fn exists<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<bool, AccountError>> {
        Box::pin(self.name_exists(name))
    }

    fn create<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>> {
        Box::pin(self.create_account(name, password, peer))
    }

    fn connect<'a>(
        &'a self,
        name: &'a str,
        password: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>> {
        Box::pin(self.connect_password(name, password, peer))
    }

    fn connect_token<'a>(
        &'a self,
        token: &'a str,
        peer: IpAddr,
    ) -> BoxFuture<'a, Result<Login, AccountError>> {
        Box::pin(self.connect_with_token(token, peer))
    }

    fn issue_token(&self, account: AccountId) -> BoxFuture<'_, Result<String, AccountError>> {
        Box::pin(self.issue(account))
    }
}
