//! World saves: the persistent entities, mod storage and characters of one
//! world, saved incrementally and loaded whole at start.
//!
//! Each [`WorldSave`] is applied in **one transaction** whose first
//! statement advances the world's generation (a row of `world_meta`). A
//! process killed at any moment therefore leaves the database at the last
//! committed generation, complete: there is no partial save to repair.
//! Within a save, removals are applied before upserts: the upserts are what
//! existed when the save was gathered, so a key that was removed and then
//! spawned again between two saves ends up present.
//!
//! Several worlds may share a database; everything here is keyed by the
//! world's name.

use std::collections::HashMap;
use std::sync::Arc;

use gsp_engine::persist::SavedBody;
use gsp_engine::{EntityRecord, SavedWorld, Vec3, WorldSave};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::characters;
use crate::sql;
use gsp_store::StoreError;
use gsp_store::{Database, WriteTx};

/// The columns of `world_entities`, in insert order.
const ENTITY_COLUMNS: [&str; 22] = [
    "world",
    "entity_key",
    "kind",
    "pos_x",
    "pos_y",
    "pos_z",
    "rot_x",
    "rot_y",
    "rot_z",
    "rot_w",
    "vel_x",
    "vel_y",
    "vel_z",
    "body_kind",
    "shape_0",
    "shape_1",
    "shape_2",
    "shape_3",
    "density",
    "friction",
    "restitution",
    "attributes",
];

/// Saves and loads one world.
#[derive(Debug, Clone)]
pub struct WorldStore {
    db: Database,
    world: Arc<str>,
}

impl WorldStore {
    /// The store of the world named `world` in `db`.
    pub fn new(db: Database, world: &str) -> WorldStore {
        WorldStore {
            db,
            world: world.into(),
        }
    }

    /// The world's name.
    pub fn world(&self) -> &str {
        &self.world
    }

    /// The database.
    pub fn database(&self) -> &Database {
        &self.db
    }

    fn params(&self) -> sql::Params {
        sql::Params(self.db.backend())
    }

    /// The same store on another database handle (the writer's own pool).
    pub(crate) fn with_database(&self, db: Database) -> WorldStore {
        WorldStore {
            db,
            world: self.world.clone(),
        }
    }

    /// Applies `save` atomically and returns the new generation (the
    /// previous one plus one). On error nothing was written.
    ///
    /// Characters in the save are stored for this world. Entities, mod
    /// storage and characters may be listed more than once; the last entry
    /// of a key wins.
    pub async fn save(&self, save: &WorldSave) -> Result<u64, StoreError> {
        self.save_as(save, &self.world).await
    }

    /// [`WorldStore::save`], storing the characters for `characters_world`.
    pub(crate) async fn save_as(
        &self,
        save: &WorldSave,
        characters_world: &str,
    ) -> Result<u64, StoreError> {
        check_save(&self.world, save)?;
        sql::check_text("the world name", characters_world)?;
        let tick = i64::try_from(save.tick)
            .map_err(|_| StoreError::Invalid(format!("tick {}: too large", save.tick)))?;
        let now = sql::now_ms();

        let mut tx = self.db.begin_write().await?;
        // First statement: a write (the generation), which also serialises
        // concurrent saves of this world on PostgreSQL.
        let generation: i64 = sqlx::query_scalar(
            "INSERT INTO world_meta (world, generation, tick, saved_ms) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (world) DO UPDATE SET generation = world_meta.generation + 1, \
             tick = excluded.tick, saved_ms = excluded.saved_ms \
             RETURNING generation",
        )
        .bind(self.world.to_string())
        .bind(tick)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::query("advancing the save generation"))?;

        self.remove_entities(&mut tx, &save.removals).await?;
        self.upsert_entities(&mut tx, &save.upserts).await?;
        self.upsert_mod_storage(&mut tx, &save.mod_storage).await?;
        characters::save(
            &mut tx,
            self.params(),
            characters_world,
            &save.characters,
            now,
        )
        .await?;
        tx.commit().await?;
        u64::try_from(generation).map_err(|_| StoreError::Corrupt {
            table: "world_meta",
            detail: format!("negative generation {generation}"),
        })
    }

    async fn remove_entities(&self, tx: &mut WriteTx, keys: &[Arc<str>]) -> Result<(), StoreError> {
        for chunk in keys.chunks(sql::rows_per_statement(1)) {
            let params = self.params();
            let text = format!(
                "DELETE FROM world_entities WHERE world = {} AND entity_key IN ({})",
                params.one(1),
                params.list(2, chunk.len())
            );
            let mut query = sqlx::query(AssertSqlSafe(text)).bind(self.world.to_string());
            for key in chunk {
                query = query.bind(key.to_string());
            }
            query
                .execute(&mut **tx)
                .await
                .map_err(StoreError::query("removing entities"))?;
        }
        Ok(())
    }

    async fn upsert_entities(
        &self,
        tx: &mut WriteTx,
        records: &[EntityRecord],
    ) -> Result<(), StoreError> {
        let rows = last_of_each(records, |r| &*r.key);
        let columns = ENTITY_COLUMNS.len();
        let updates = ENTITY_COLUMNS[2..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        for chunk in rows.chunks(sql::rows_per_statement(columns)) {
            let text = format!(
                "INSERT INTO world_entities ({}) VALUES {} \
                 ON CONFLICT (world, entity_key) DO UPDATE SET {updates}",
                ENTITY_COLUMNS.join(", "),
                self.params().rows(1, chunk.len(), columns)
            );
            let mut query = sqlx::query(AssertSqlSafe(text));
            for &i in chunk {
                let r = &records[i];
                let body = r.body.as_ref();
                let attributes = serde_json::Value::Object(r.attributes.clone()).to_string();
                query = query
                    .bind(self.world.to_string())
                    .bind(r.key.to_string())
                    .bind(i64::from(r.kind))
                    .bind(sql::f(r.position.x))
                    .bind(sql::f(r.position.y))
                    .bind(sql::f(r.position.z))
                    .bind(sql::f(r.rotation[0]))
                    .bind(sql::f(r.rotation[1]))
                    .bind(sql::f(r.rotation[2]))
                    .bind(sql::f(r.rotation[3]))
                    .bind(sql::f(r.velocity.x))
                    .bind(sql::f(r.velocity.y))
                    .bind(sql::f(r.velocity.z))
                    .bind(body.map(|b| i64::from(b.kind)))
                    .bind(body_float(body, |b| b.shape[0]))
                    .bind(body_float(body, |b| b.shape[1]))
                    .bind(body_float(body, |b| b.shape[2]))
                    .bind(body_float(body, |b| b.shape[3]))
                    .bind(body_float(body, |b| b.density))
                    .bind(body_float(body, |b| b.friction))
                    .bind(body_float(body, |b| b.restitution))
                    .bind(attributes);
            }
            query
                .execute(&mut **tx)
                .await
                .map_err(StoreError::query("saving entities"))?;
        }
        Ok(())
    }

    async fn upsert_mod_storage(
        &self,
        tx: &mut WriteTx,
        storage: &[(String, serde_json::Value)],
    ) -> Result<(), StoreError> {
        let rows = last_of_each(storage, |(name, _)| name.as_str());
        for chunk in rows.chunks(sql::rows_per_statement(3)) {
            let text = format!(
                "INSERT INTO world_mod_storage (world, mod_name, data) VALUES {} \
                 ON CONFLICT (world, mod_name) DO UPDATE SET data = excluded.data",
                self.params().rows(1, chunk.len(), 3)
            );
            let mut query = sqlx::query(AssertSqlSafe(text));
            for &i in chunk {
                let (name, value) = &storage[i];
                query = query
                    .bind(self.world.to_string())
                    .bind(name.clone())
                    .bind(value.to_string());
            }
            query
                .execute(&mut **tx)
                .await
                .map_err(StoreError::query("saving mod storage"))?;
        }
        Ok(())
    }

    /// The world's generation (0: never saved).
    pub async fn generation(&self) -> Result<u64, StoreError> {
        let generation: Option<i64> =
            sqlx::query_scalar("SELECT generation FROM world_meta WHERE world = $1")
                .bind(self.world.to_string())
                .fetch_optional(self.db.pool())
                .await
                .map_err(StoreError::query("reading the save generation"))?;
        Ok(generation.map_or(0, |g| g.max(0) as u64))
    }

    /// The last complete save, read in one consistent snapshot; an empty
    /// world at generation 0 if the world was never saved. Entities and mod
    /// storage come sorted by key.
    pub async fn load(&self) -> Result<SavedWorld, StoreError> {
        sql::check_text("the world name", &self.world)?;
        let world = self.world.to_string();
        let mut tx = self.db.begin_read().await?;
        let meta: Option<(i64, i64)> =
            sqlx::query_as("SELECT generation, tick FROM world_meta WHERE world = $1")
                .bind(world.clone())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::query("loading the save generation"))?;
        let Some((generation, tick)) = meta else {
            return Ok(SavedWorld::default());
        };
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {} FROM world_entities WHERE world = $1 ORDER BY entity_key",
            ENTITY_COLUMNS[1..].join(", ")
        )))
        .bind(world.clone())
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::query("loading entities"))?;
        let entities = rows
            .iter()
            .map(entity_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let storage: Vec<(String, String)> = sqlx::query_as(
            "SELECT mod_name, data FROM world_mod_storage WHERE world = $1 ORDER BY mod_name",
        )
        .bind(world)
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::query("loading mod storage"))?;
        let mod_storage = storage
            .into_iter()
            .map(|(name, data)| match serde_json::from_str(&data) {
                Ok(value) => Ok((name, value)),
                Err(e) => Err(StoreError::Corrupt {
                    table: "world_mod_storage",
                    detail: format!("storage of mod {name:?} is not JSON: {e}"),
                }),
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Ending the read-only transaction; nothing to keep.
        tx.rollback()
            .await
            .map_err(StoreError::query("ending the load"))?;
        Ok(SavedWorld {
            generation: u64::try_from(generation).unwrap_or(0),
            tick: u64::try_from(tick).unwrap_or(0),
            entities,
            mod_storage,
        })
    }
}

/// A body's field as bound; 0 without a body (`body_kind` NULL says there is
/// none). Not NULL: sqlx 0.9's `Any` driver sends a NULL `f64` to PostgreSQL
/// typed as `real`, and a statement prepared that way then rejects the next
/// row's `double precision` value ("incorrect binary data format").
fn body_float(body: Option<&SavedBody>, field: impl Fn(&SavedBody) -> f32) -> f64 {
    body.map_or(0.0, |b| sql::f(field(b)))
}

/// Refuses a save that PostgreSQL could not store, before anything is written.
fn check_save(world: &str, save: &WorldSave) -> Result<(), StoreError> {
    sql::check_text("the world name", world)?;
    for record in &save.upserts {
        sql::check_text("the entity key", &record.key)?;
    }
    for key in &save.removals {
        sql::check_text("the entity key", key)?;
    }
    for (name, _) in &save.mod_storage {
        sql::check_text("the mod name", name)?;
    }
    characters::check(&save.characters)
}

/// Indices of the last item of each key, in order.
fn last_of_each<T>(items: &[T], key: impl Fn(&T) -> &str) -> Vec<usize> {
    let mut last: HashMap<&str, usize> = HashMap::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        last.insert(key(item), i);
    }
    let mut rows: Vec<usize> = last.into_values().collect();
    rows.sort_unstable();
    rows
}

fn entity_from_row(row: &AnyRow) -> Result<EntityRecord, StoreError> {
    let key: String = row.try_get(0).map_err(|e| StoreError::Corrupt {
        table: "world_entities",
        detail: e.to_string(),
    })?;
    let corrupt = |detail: String| StoreError::Corrupt {
        table: "world_entities",
        detail: format!("entity {key:?}: {detail}"),
    };
    let float = |i: usize| -> Result<f32, StoreError> {
        Ok(sql::unf(
            row.try_get(i).map_err(|e| corrupt(e.to_string()))?,
        ))
    };
    let kind: i64 = row.try_get(1).map_err(|e| corrupt(e.to_string()))?;
    let kind = u8::try_from(kind).map_err(|_| corrupt(format!("kind {kind} out of range")))?;
    let body_kind: Option<i64> = row.try_get(12).map_err(|e| corrupt(e.to_string()))?;
    let body = match body_kind {
        None => None,
        Some(k) => Some(SavedBody {
            kind: u8::try_from(k).map_err(|_| corrupt(format!("body kind {k} out of range")))?,
            shape: [float(13)?, float(14)?, float(15)?, float(16)?],
            density: float(17)?,
            friction: float(18)?,
            restitution: float(19)?,
        }),
    };
    let attributes: String = row.try_get(20).map_err(|e| corrupt(e.to_string()))?;
    Ok(EntityRecord {
        kind,
        position: Vec3::new(float(2)?, float(3)?, float(4)?),
        rotation: [float(5)?, float(6)?, float(7)?, float(8)?],
        velocity: Vec3::new(float(9)?, float(10)?, float(11)?),
        body,
        attributes: characters::parse_attributes(&attributes).map_err(corrupt)?,
        key: key.as_str().into(),
    })
}
