//! The platform's database opens on both backends with its own schema.

use gsp_persistence::testing::TestDb;
use gsp_persistence::Backend;

async fn opens_with_the_platform_schema(backend: Backend) {
    let Some(db) = TestDb::new_with(backend, &gsp_platform::db::MIGRATOR).await else {
        return;
    };
    sqlx::query("INSERT INTO platform_info (key, value) VALUES ($1, $2)")
        .bind("made_by")
        .bind("test")
        .execute(db.db().pool())
        .await
        .expect("the platform's table exists");
    let value: String = sqlx::query_scalar("SELECT value FROM platform_info WHERE key = $1")
        .bind("made_by")
        .fetch_one(db.db().pool())
        .await
        .expect("read back");
    assert_eq!(value, "test");
    // The world stores' tables are not there: the schemas are separate.
    assert!(sqlx::query("SELECT 1 FROM accounts")
        .fetch_optional(db.db().pool())
        .await
        .is_err());
}

#[tokio::test]
async fn opens_on_sqlite() {
    opens_with_the_platform_schema(Backend::Sqlite).await;
}

#[tokio::test]
async fn opens_on_postgres() {
    opens_with_the_platform_schema(Backend::Postgres).await;
}
