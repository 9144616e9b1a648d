//! The platform's database opens on both backends with its own schema.

use gsp_store::testing::TestDb;

async fn opens_with_the_platform_schema(db: TestDb) {
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

gsp_store::both_backends! {
    migrations = &gsp_control::db::MIGRATOR;
    fn opens(t) {
        opens_with_the_platform_schema(t).await;
    }
}
