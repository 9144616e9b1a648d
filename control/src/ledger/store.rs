//! The ledger in the database: [`Ledger::post`] and the reads.
//!
//! # One posting, one database transaction
//!
//! [`Ledger::post`] does everything in one write transaction
//! ([`Database::begin_write`]):
//!
//! 1. `INSERT` the transaction row `ON CONFLICT (key) DO NOTHING`. No row
//!    inserted means the key was used: roll back, and return the original
//!    as [`Posted::Duplicate`]. On PostgreSQL a concurrent insert of the
//!    same key waits for the first transaction to commit or roll back, so
//!    two deliveries of one key can never both pass this step.
//! 2. For each posting, in account-name order, add the amount to the
//!    account's `ledger_balances` row with one upsert that returns the new
//!    balance. This write is the lock: on PostgreSQL the row stays locked
//!    until commit, so a concurrent posting on the same wallet waits and
//!    then sees this one's result (READ COMMITTED re-reads the row after
//!    the wait); on SQLite `begin_write` already serialises every writer.
//!    Taking the locks in one global order (account names sorted) means two
//!    postings can never wait on each other in a cycle. If a wallet's new
//!    balance is below zero, the whole transaction rolls back: nothing
//!    changed, and [`LedgerError::InsufficientFunds`] says why.
//! 3. Insert the postings, numbered per account, with the balance after.
//! 4. Commit.
//!
//! The price of this simplicity on PostgreSQL: every charge locks
//! `system:revenue` until it commits, so charges commit one after another
//! (as on SQLite, where all writers do). A posting holds its locks for a
//! few statements, so this allows hundreds of charges a second, far beyond
//! hourly billing's needs; should it ever matter, revenue can be split into
//! per-shard accounts without changing the rules.
//!
//! The tables are append-only: this module never updates or deletes a
//! transaction or posting (only the `ledger_balances` cache row, in the
//! same transaction as the postings it sums). Balances are derived:
//! [`Ledger::balance`] sums the postings, and [`Ledger::audit`] checks the
//! cache against the sums.

use std::time::{SystemTime, UNIX_EPOCH};

use gsp_store::{Database, StoreError};

use super::rules::{Account, IdemKey, Kind, Millis, Posting, RuleError, Tx};

/// Why a ledger operation failed. Every failure leaves the ledger as it was.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The request breaks a ledger rule.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// A wallet would go below zero; nothing was posted.
    #[error("insufficient funds in {account}: balance {balance}, needs {needed}")]
    InsufficientFunds {
        /// The wallet.
        account: Account,
        /// Its balance before this transaction.
        balance: Millis,
        /// What the transaction would take from it.
        needed: Millis,
    },
    /// No transaction has this key (to reverse, say).
    #[error("no transaction with key {0}")]
    UnknownTransaction(IdemKey),
    /// The database failed.
    #[error("ledger storage: {0}")]
    Store(#[from] StoreError),
    /// A stored row does not read back as a valid ledger value.
    #[error("corrupt ledger row: {0}")]
    Corrupt(String),
}

fn query_error(context: &'static str) -> impl FnOnce(sqlx::Error) -> LedgerError {
    move |source| LedgerError::Store(StoreError::Query { context, source })
}

/// A transaction as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// Its idempotency key.
    pub key: IdemKey,
    /// Its kind (from the key).
    pub kind: Kind,
    /// Who or what caused it.
    pub who: String,
    /// What it was for.
    pub memo: String,
    /// When it was posted, Unix ms.
    pub created_ms: i64,
    /// Its postings, sorted by account name.
    pub postings: Vec<Posting>,
}

/// The outcome of [`Ledger::post`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    /// Posted now.
    New(Recorded),
    /// The key was posted before: this is the original, and nothing moved
    /// now (even if the new request's amounts differed: the first wins).
    Duplicate(Recorded),
}

impl Posted {
    /// The transaction, new or original.
    pub fn recorded(&self) -> &Recorded {
        match self {
            Posted::New(r) | Posted::Duplicate(r) => r,
        }
    }

    /// Whether money moved now.
    pub fn is_new(&self) -> bool {
        matches!(self, Posted::New(_))
    }
}

/// One line of an account's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The account's posting number (1 for its first).
    pub seq: i64,
    /// The transaction's key.
    pub key: IdemKey,
    /// Its kind.
    pub kind: Kind,
    /// Who or what caused it.
    pub who: String,
    /// What it was for.
    pub memo: String,
    /// This account's change.
    pub amount: Millis,
    /// This account's balance afterwards.
    pub balance_after: Millis,
    /// When, Unix ms.
    pub created_ms: i64,
}

/// The result of [`Ledger::audit`]: the ledger's invariants, measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// The sum of every posting (zero in a sound ledger).
    pub total: i64,
    /// Transactions whose postings do not sum to zero (none in a sound ledger).
    pub unbalanced: Vec<String>,
    /// Accounts whose cached balance differs from the sum of their postings.
    pub cache_mismatches: Vec<String>,
    /// Wallet postings that left a balance below zero.
    pub negative_wallet_postings: i64,
    /// Every account with its balance (sum of postings), sorted by name.
    pub balances: Vec<(Account, Millis)>,
}

/// The credits ledger on a [`Database`] migrated with
/// [`crate::db::MIGRATOR`]. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Ledger {
    db: Database,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn parse_key(text: &str) -> Result<IdemKey, LedgerError> {
    text.parse()
        .map_err(|e| LedgerError::Corrupt(format!("key {text:?}: {e}")))
}

fn parse_account(text: &str) -> Result<Account, LedgerError> {
    text.parse()
        .map_err(|e| LedgerError::Corrupt(format!("account {text:?}: {e}")))
}

impl Ledger {
    /// The ledger stored in `db`.
    pub fn new(db: Database) -> Ledger {
        Ledger { db }
    }

    /// Posts `tx` atomically (see the module docs): [`Posted::New`], or
    /// [`Posted::Duplicate`] with the original when the key was used, or
    /// [`LedgerError::InsufficientFunds`] with nothing changed.
    pub async fn post(&self, tx: &Tx) -> Result<Posted, LedgerError> {
        let key = tx.key().to_string();
        let created_ms = now_ms();
        let mut wtx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO ledger_transactions (key, kind, who, memo, created_ms) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (key) DO NOTHING",
        )
        .bind(&key)
        .bind(tx.key().kind().name())
        .bind(tx.who())
        .bind(tx.memo())
        .bind(created_ms)
        .execute(&mut *wtx)
        .await
        .map_err(query_error("recording a ledger transaction"))?
        .rows_affected();
        if inserted == 0 {
            drop(wtx);
            tracing::debug!(%key, "ledger key already posted; returning the original");
            return match self.transaction(tx.key()).await? {
                Some(original) => Ok(Posted::Duplicate(original)),
                None => Err(LedgerError::Corrupt(format!(
                    "key {key} conflicted but cannot be read back"
                ))),
            };
        }
        for posting in tx.postings() {
            let account = posting.account.to_string();
            let (balance, seq): (i64, i64) = sqlx::query_as(
                "INSERT INTO ledger_balances (account, balance, entries) VALUES ($1, $2, 1) \
                 ON CONFLICT (account) DO UPDATE SET \
                 balance = ledger_balances.balance + excluded.balance, \
                 entries = ledger_balances.entries + 1 \
                 RETURNING balance, entries",
            )
            .bind(&account)
            .bind(posting.amount.0)
            .fetch_one(&mut *wtx)
            .await
            .map_err(query_error("updating an account balance"))?;
            if posting.account.is_wallet() && balance < 0 {
                drop(wtx);
                let before = Millis(balance - posting.amount.0);
                tracing::info!(%key, %account, balance = %before, "refused: insufficient funds");
                return Err(LedgerError::InsufficientFunds {
                    account: posting.account.clone(),
                    balance: before,
                    needed: Millis(-posting.amount.0),
                });
            }
            sqlx::query(
                "INSERT INTO ledger_postings (tx_key, account, amount, account_seq, balance_after) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&key)
            .bind(&account)
            .bind(posting.amount.0)
            .bind(seq)
            .bind(balance)
            .execute(&mut *wtx)
            .await
            .map_err(query_error("recording a posting"))?;
        }
        wtx.commit().await?;
        tracing::info!(%key, who = tx.who(), "ledger transaction posted");
        Ok(Posted::New(Recorded {
            key: tx.key().clone(),
            kind: tx.key().kind(),
            who: tx.who().to_string(),
            memo: tx.memo().to_string(),
            created_ms,
            postings: tx.postings().to_vec(),
        }))
    }

    /// Grants `amount` to `user` on behalf of `admin` (request id
    /// `request`: the same request twice grants once).
    pub async fn grant(
        &self,
        admin: &str,
        request: &str,
        user: &str,
        amount: Millis,
        memo: &str,
    ) -> Result<Posted, LedgerError> {
        self.post(&Tx::grant(admin, request, user, amount, memo)?)
            .await
    }

    /// Credits `user` with a payment (`payment` is the provider's id: a
    /// replayed webhook deposits once).
    pub async fn deposit(
        &self,
        payment: &str,
        user: &str,
        amount: Millis,
        who: &str,
    ) -> Result<Posted, LedgerError> {
        self.post(&Tx::deposit(payment, user, amount, who)?).await
    }

    /// Charges `user` for the period of `server` starting at `period` (Unix
    /// ms); see [`crate::billing`] for which periods are due.
    pub async fn charge(
        &self,
        server: &str,
        period: i64,
        user: &str,
        amount: Millis,
        who: &str,
    ) -> Result<Posted, LedgerError> {
        self.post(&Tx::charge(server, period, user, amount, who)?)
            .await
    }

    /// Reverses the transaction `key` (a correction): posts
    /// `reverse:<key>` with every posting negated. Reversing twice returns
    /// the first reversal as a duplicate. Refused with
    /// [`LedgerError::InsufficientFunds`] when the wallet no longer holds
    /// what a reversed credit gave it.
    pub async fn reverse(&self, key: &IdemKey, who: &str) -> Result<Posted, LedgerError> {
        // Checked before the lookup: a reversal's key never names a
        // reversible transaction.
        IdemKey::reverse(key)?;
        let original = self
            .transaction(key)
            .await?
            .ok_or_else(|| LedgerError::UnknownTransaction(key.clone()))?;
        self.post(&Tx::reversal(key, &original.postings, who)?)
            .await
    }

    /// The transaction posted under `key`, if any.
    pub async fn transaction(&self, key: &IdemKey) -> Result<Option<Recorded>, LedgerError> {
        let text = key.to_string();
        let mut rtx = self.db.begin_read().await?;
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT who, memo, created_ms FROM ledger_transactions WHERE key = $1")
                .bind(&text)
                .fetch_optional(&mut *rtx)
                .await
                .map_err(query_error("reading a ledger transaction"))?;
        let Some((who, memo, created_ms)) = row else {
            return Ok(None);
        };
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT account, amount FROM ledger_postings WHERE tx_key = $1 ORDER BY account",
        )
        .bind(&text)
        .fetch_all(&mut *rtx)
        .await
        .map_err(query_error("reading postings"))?;
        let postings = rows
            .into_iter()
            .map(|(account, amount)| {
                Ok(Posting {
                    account: parse_account(&account)?,
                    amount: Millis(amount),
                })
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        Ok(Some(Recorded {
            key: key.clone(),
            kind: key.kind(),
            who,
            memo,
            created_ms,
            postings,
        }))
    }

    /// The balance of `account`: the sum of its postings (zero for an
    /// account never posted to).
    pub async fn balance(&self, account: &Account) -> Result<Millis, LedgerError> {
        let sum: i64 = sqlx::query_scalar(
            "SELECT COALESCE(CAST(SUM(amount) AS BIGINT), 0) FROM ledger_postings WHERE account = $1",
        )
        .bind(account.to_string())
        .fetch_one(self.db.pool())
        .await
        .map_err(query_error("summing an account's postings"))?;
        Ok(Millis(sum))
    }

    /// The latest `limit` entries of `account`, newest first, each with
    /// who caused it and the balance after it.
    pub async fn history(&self, account: &Account, limit: u32) -> Result<Vec<Entry>, LedgerError> {
        self.history_before(account, None, limit).await
    }

    /// A page of [`Ledger::history`]: up to `limit` entries older than the
    /// entry numbered `before_seq` (all the latest when `None`), newest
    /// first. Pass the last entry's `seq` to get the next page.
    pub async fn history_before(
        &self,
        account: &Account,
        before_seq: Option<i64>,
        limit: u32,
    ) -> Result<Vec<Entry>, LedgerError> {
        type Row = (i64, String, String, String, i64, i64, i64);
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT p.account_seq, t.key, t.who, t.memo, p.amount, p.balance_after, t.created_ms \
             FROM ledger_postings p JOIN ledger_transactions t ON t.key = p.tx_key \
             WHERE p.account = $1 AND p.account_seq < $2 ORDER BY p.account_seq DESC LIMIT $3",
        )
        .bind(account.to_string())
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(i64::from(limit))
        .fetch_all(self.db.pool())
        .await
        .map_err(query_error("reading an account's history"))?;
        rows.into_iter()
            .map(|(seq, key, who, memo, amount, after, created_ms)| {
                let key = parse_key(&key)?;
                Ok(Entry {
                    seq,
                    kind: key.kind(),
                    key,
                    who,
                    memo,
                    amount: Millis(amount),
                    balance_after: Millis(after),
                    created_ms,
                })
            })
            .collect()
    }

    /// Checks the whole ledger's invariants in one consistent snapshot (for
    /// tests and operators; it reads every posting).
    pub async fn audit(&self) -> Result<Audit, LedgerError> {
        let mut rtx = self.db.begin_read().await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COALESCE(CAST(SUM(amount) AS BIGINT), 0) FROM ledger_postings",
        )
        .fetch_one(&mut *rtx)
        .await
        .map_err(query_error("summing the ledger"))?;
        let unbalanced: Vec<String> = sqlx::query_scalar(
            "SELECT tx_key FROM ledger_postings GROUP BY tx_key HAVING SUM(amount) <> 0 ORDER BY tx_key",
        )
        .fetch_all(&mut *rtx)
        .await
        .map_err(query_error("finding unbalanced transactions"))?;
        let sums: Vec<(String, i64)> = sqlx::query_as(
            "SELECT account, CAST(SUM(amount) AS BIGINT) FROM ledger_postings \
             GROUP BY account ORDER BY account",
        )
        .fetch_all(&mut *rtx)
        .await
        .map_err(query_error("summing balances"))?;
        let cached: Vec<(String, i64)> =
            sqlx::query_as("SELECT account, balance FROM ledger_balances ORDER BY account")
                .fetch_all(&mut *rtx)
                .await
                .map_err(query_error("reading cached balances"))?;
        let negative_wallet_postings: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ledger_postings WHERE account LIKE 'wallet:%' AND balance_after < 0",
        )
        .fetch_one(&mut *rtx)
        .await
        .map_err(query_error("checking wallet balances"))?;
        let mut cache_mismatches = Vec::new();
        for (account, balance) in &cached {
            let derived = sums
                .iter()
                .find(|(a, _)| a == account)
                .map_or(0, |(_, s)| *s);
            if derived != *balance {
                cache_mismatches.push(account.clone());
            }
        }
        for (account, _) in &sums {
            if !cached.iter().any(|(a, _)| a == account) {
                cache_mismatches.push(account.clone());
            }
        }
        let balances = sums
            .into_iter()
            .map(|(account, sum)| Ok((parse_account(&account)?, Millis(sum))))
            .collect::<Result<Vec<_>, LedgerError>>()?;
        Ok(Audit {
            total,
            unbalanced,
            cache_mismatches,
            negative_wallet_postings,
            balances,
        })
    }
}
