-- The credits ledger: double entry, append-only (see platform/src/ledger).
-- Portable SQL: runs unchanged on SQLite and PostgreSQL.

-- One row per transaction; the idempotency key is its identity, so a key
-- can move money once only.
CREATE TABLE ledger_transactions (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    who TEXT NOT NULL,
    memo TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX ledger_transactions_created ON ledger_transactions (created_ms);

-- The postings of each transaction (they sum to zero per transaction).
-- `account_seq` numbers an account's postings 1, 2, 3...; `balance_after`
-- is the account's balance once this posting applied: the history of every
-- balance, and proof that no wallet was ever below zero.
CREATE TABLE ledger_postings (
    tx_key TEXT NOT NULL REFERENCES ledger_transactions (key),
    account TEXT NOT NULL,
    amount BIGINT NOT NULL,
    account_seq BIGINT NOT NULL,
    balance_after BIGINT NOT NULL,
    PRIMARY KEY (tx_key, account)
);
CREATE UNIQUE INDEX ledger_postings_account_seq ON ledger_postings (account, account_seq);

-- A cache of each account's balance and posting count, updated in the
-- transaction that posts. Its row is the lock a posting takes on an
-- account (PostgreSQL); the truth remains SUM(ledger_postings.amount).
CREATE TABLE ledger_balances (
    account TEXT PRIMARY KEY,
    balance BIGINT NOT NULL,
    entries BIGINT NOT NULL
);
