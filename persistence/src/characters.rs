//! The characters table: one saved character per (world, account), written
//! by the account store and inside world saves.

use std::collections::HashMap;

use gsp_engine::persist::AttributeMap;
use gsp_engine::{AccountId, CharacterState, Vec3};
use sqlx::AnyConnection;
use sqlx::{AnyPool, AssertSqlSafe, Row};

use crate::sql;
use gsp_store::Database;
use gsp_store::StoreError;

const COLUMNS: usize = 8;

/// Refuses characters PostgreSQL could not store; see [`sql::check_text`].
pub(crate) fn check(characters: &[(AccountId, CharacterState)]) -> Result<(), StoreError> {
    for (account, state) in characters {
        if let Some(room) = &state.room {
            sql::check_text(&format!("the room of the character of {account}"), room)?;
        }
    }
    Ok(())
}

/// Upserts `characters` of `world` (the last of an account wins) inside the
/// caller's transaction.
pub(crate) async fn save(
    conn: &mut AnyConnection,
    params: sql::Params,
    world: &str,
    characters: &[(AccountId, CharacterState)],
    now_ms: i64,
) -> Result<(), StoreError> {
    // One row per account: PostgreSQL refuses to upsert a row twice in one statement.
    let mut last: HashMap<AccountId, usize> = HashMap::with_capacity(characters.len());
    for (i, (account, _)) in characters.iter().enumerate() {
        last.insert(*account, i);
    }
    let mut rows: Vec<usize> = last.into_values().collect();
    rows.sort_unstable();
    for chunk in rows.chunks(sql::rows_per_statement(COLUMNS)) {
        let text = format!(
            "INSERT INTO characters (world, account_id, pos_x, pos_y, pos_z, room, attributes, saved_ms) \
             VALUES {} ON CONFLICT (world, account_id) DO UPDATE SET \
             pos_x = excluded.pos_x, pos_y = excluded.pos_y, pos_z = excluded.pos_z, \
             room = excluded.room, attributes = excluded.attributes, saved_ms = excluded.saved_ms",
            params.rows(1, chunk.len(), COLUMNS)
        );
        let mut query = sqlx::query(AssertSqlSafe(text));
        for &i in chunk {
            let (account, state) = &characters[i];
            let attributes = serde_json::Value::Object(state.attributes.clone()).to_string();
            query = query
                .bind(world.to_string())
                .bind(account.0)
                .bind(sql::f(state.position.x))
                .bind(sql::f(state.position.y))
                .bind(sql::f(state.position.z))
                .bind(state.room.clone())
                .bind(attributes)
                .bind(now_ms);
        }
        query
            .execute(&mut *conn)
            .await
            .map_err(StoreError::query("saving characters"))?;
    }
    Ok(())
}

/// Checks and saves `characters` of `world` in a transaction of their own.
pub(crate) async fn save_alone(
    db: &Database,
    world: &str,
    characters: &[(AccountId, CharacterState)],
) -> Result<(), StoreError> {
    sql::check_text("the world name", world)?;
    check(characters)?;
    let mut tx = db.begin_write().await?;
    save(
        &mut tx,
        sql::Params(db.backend()),
        world,
        characters,
        sql::now_ms(),
    )
    .await?;
    tx.commit().await
}

/// The character of `account` in `world`, if one was saved.
pub(crate) async fn load(
    pool: &AnyPool,
    world: &str,
    account: AccountId,
) -> Result<Option<CharacterState>, StoreError> {
    let row = sqlx::query(
        "SELECT pos_x, pos_y, pos_z, room, attributes FROM characters \
         WHERE world = $1 AND account_id = $2",
    )
    .bind(world.to_string())
    .bind(account.0)
    .fetch_optional(pool)
    .await
    .map_err(StoreError::query("loading a character"))?;
    let Some(row) = row else { return Ok(None) };
    let read = |e: sqlx::Error| StoreError::Corrupt {
        table: "characters",
        detail: format!("{account} in world {world:?}: {e}"),
    };
    let attributes: String = row.try_get(4).map_err(read)?;
    Ok(Some(CharacterState {
        position: Vec3::new(
            sql::unf(row.try_get(0).map_err(read)?),
            sql::unf(row.try_get(1).map_err(read)?),
            sql::unf(row.try_get(2).map_err(read)?),
        ),
        room: row.try_get(3).map_err(read)?,
        attributes: parse_attributes(&attributes).map_err(|detail| StoreError::Corrupt {
            table: "characters",
            detail: format!("{account} in world {world:?}: {detail}"),
        })?,
    }))
}

/// Attributes as stored: a JSON object.
pub(crate) fn parse_attributes(text: &str) -> Result<AttributeMap, String> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(other) => Err(format!("attributes are not a JSON object: {other}")),
        Err(e) => Err(format!("attributes are not JSON: {e}")),
    }
}
