//! SQLite's read-then-write trap, and why `Database::begin_write` avoids it.
//!
//! In WAL mode a deferred transaction that has read and then wants to write
//! gets "database is locked" at once (the busy timeout does not apply) if
//! another connection committed in between: its snapshot is stale. The
//! stores' own transactions start with a write, but any read-modify-write
//! through `begin_write` must be safe too. These tests are SQLite-only: on
//! PostgreSQL the same pattern needs a row lock, not a different BEGIN.

use std::time::{Duration, Instant};

use gsp_persistence::Database;
use gsp_store::testing::TestDb;

async fn counter_table(db: &Database) {
    sqlx::query("CREATE TABLE counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL)")
        .execute(db.pool())
        .await
        .expect("create");
    sqlx::query("INSERT INTO counter (id, value) VALUES (1, 0)")
        .execute(db.pool())
        .await
        .expect("insert");
}

async fn value(db: &Database) -> i64 {
    sqlx::query_scalar("SELECT value FROM counter WHERE id = 1")
        .fetch_one(db.pool())
        .await
        .expect("read")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_read_then_write_fails_at_once() {
    let test = TestDb::sqlite_with(&gsp_persistence::db::MIGRATOR).await;
    let a = test.db().clone();
    let b = test.reopen().await;
    counter_table(&a).await;

    // The naive way: BEGIN (deferred), read, someone else writes, write.
    let mut tx = a.pool().begin().await.expect("begin");
    let read: i64 = sqlx::query_scalar("SELECT value FROM counter WHERE id = 1")
        .fetch_one(&mut *tx)
        .await
        .expect("read");
    let mut other = b.begin_write().await.expect("begin");
    sqlx::query("UPDATE counter SET value = value + 1 WHERE id = 1")
        .execute(&mut *other)
        .await
        .expect("write");
    other.commit().await.expect("commit");
    let t = Instant::now();
    let err = sqlx::query("UPDATE counter SET value = $1 WHERE id = 1")
        .bind(read + 1)
        .execute(&mut *tx)
        .await
        .expect_err("a stale snapshot cannot write");
    assert!(err.to_string().contains("locked"), "{err}");
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "failed without waiting for the busy timeout"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn begin_write_makes_the_other_writer_wait() {
    let test = TestDb::sqlite_with(&gsp_persistence::db::MIGRATOR).await;
    let a = test.db().clone();
    let b = test.reopen().await;
    counter_table(&a).await;

    let mut tx = a.begin_write().await.expect("begin");
    let read: i64 = sqlx::query_scalar("SELECT value FROM counter WHERE id = 1")
        .fetch_one(&mut *tx)
        .await
        .expect("read");
    // Another "process" wants to write meanwhile: it waits instead of
    // invalidating our read.
    let other = tokio::spawn(async move {
        let mut tx = b.begin_write().await.expect("begin");
        sqlx::query("UPDATE counter SET value = value + 1 WHERE id = 1")
            .execute(&mut *tx)
            .await
            .expect("write");
        tx.commit().await.expect("commit");
        Instant::now()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!other.is_finished(), "the other writer must wait for ours");
    sqlx::query("UPDATE counter SET value = $1 WHERE id = 1")
        .bind(read + 1)
        .execute(&mut *tx)
        .await
        .expect("our write");
    tx.commit().await.expect("commit");
    let ours = Instant::now();
    let theirs = other.await.expect("task");
    assert!(theirs >= ours);
    assert_eq!(value(&a).await, 2, "no update lost");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_read_modify_writes_from_two_processes() {
    let test = TestDb::sqlite_with(&gsp_persistence::db::MIGRATOR).await;
    let first = test.db().clone();
    let second = test.reopen().await;
    counter_table(&first).await;
    let mut tasks = tokio::task::JoinSet::new();
    for db in [first.clone(), second] {
        for _ in 0..16 {
            let db = db.clone();
            tasks.spawn(async move {
                let mut tx = db.begin_write().await.map_err(|e| e.to_string())?;
                let read: i64 = sqlx::query_scalar("SELECT value FROM counter WHERE id = 1")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                tokio::time::sleep(Duration::from_millis(2)).await;
                sqlx::query("UPDATE counter SET value = $1 WHERE id = 1")
                    .bind(read + 1)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| e.to_string())?;
                tx.commit().await.map_err(|e| e.to_string())
            });
        }
    }
    while let Some(result) = tasks.join_next().await {
        result.expect("task").expect("no 'database is locked'");
    }
    assert_eq!(value(&first).await, 32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_connection_gets_the_durable_settings() {
    let test = TestDb::sqlite_with(&gsp_persistence::db::MIGRATOR).await;
    // Several connections at once, so that the pool opens more than one.
    let mut conns = Vec::new();
    for _ in 0..3 {
        conns.push(test.db().pool().acquire().await.expect("connection"));
    }
    for conn in &mut conns {
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&mut **conn)
            .await
            .expect("pragma");
        let synchronous: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&mut **conn)
            .await
            .expect("pragma");
        let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
            .fetch_one(&mut **conn)
            .await
            .expect("pragma");
        let busy: i64 = sqlx::query_scalar("PRAGMA busy_timeout")
            .fetch_one(&mut **conn)
            .await
            .expect("pragma");
        assert_eq!(journal, "wal");
        assert_eq!(synchronous, 2, "FULL");
        assert_eq!(foreign_keys, 1);
        assert_eq!(busy, 10_000);
    }
}
