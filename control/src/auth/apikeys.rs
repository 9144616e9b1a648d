//! API keys: `gsp_ak_` and 64 hex digits, shown once, stored as SHA-256,
//! revocable, each acting as one user.

use gsp_store::token;
use gsp_store::{Database, StoreError};

use super::users::Role;
use super::{now_ms, AuthError};

/// What every API key starts with (so that logs and secret scanners
/// recognise one).
pub const KEY_PREFIX: &str = "gsp_ak_";
/// Characters of a key kept in the clear to tell keys apart in lists.
pub const SHOWN_CHARS: usize = 12;

/// An API key as listed (never the secret itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Id.
    pub id: i64,
    /// Whose it is.
    pub user_id: i64,
    /// A name its owner gave it.
    pub name: String,
    /// Its first characters (`gsp_ak_1f3a9`).
    pub shown_prefix: String,
    /// When it was made, ms since the epoch.
    pub created_at: i64,
    /// When it was revoked, if it was.
    pub revoked_at: Option<i64>,
    /// When it was last used.
    pub last_used_at: Option<i64>,
}

/// Who an API key acts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyIdentity {
    /// The key.
    pub key_id: i64,
    /// Its user.
    pub user_id: i64,
    /// The user's role.
    pub role: Role,
}

/// The API keys of one platform database.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    db: Database,
}

type KeyRow = (i64, i64, String, String, i64, Option<i64>, Option<i64>);

impl ApiKeys {
    /// The API keys in `db`.
    pub fn new(db: Database) -> ApiKeys {
        ApiKeys { db }
    }

    /// Makes a key for `user_id`; returns it and the secret, which is never
    /// shown again.
    pub async fn create(&self, user_id: i64, name: &str) -> Result<(ApiKey, String), AuthError> {
        let secret = token::generate_with(KEY_PREFIX)?;
        let shown: String = secret.chars().take(SHOWN_CHARS).collect();
        let name = name.trim();
        let name = if name.is_empty() { "api key" } else { name };
        let name: String = name.chars().take(100).collect();
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        let id = crate::db::next_id(&mut tx, "api_keys").await?;
        let inserted = sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, shown_prefix, key_hash, created_at) \
             SELECT $1, id, $2, $3, $4, $5 FROM users WHERE id = $6",
        )
        .bind(id)
        .bind(name.clone())
        .bind(shown.clone())
        .bind(token::digest(&secret))
        .bind(now)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("creating an API key"))?;
        if inserted.rows_affected() == 0 {
            return Err(AuthError::NotFound);
        }
        tx.commit().await?;
        tracing::info!(user = user_id, key = id, "API key created");
        Ok((
            ApiKey {
                id,
                user_id,
                name,
                shown_prefix: shown,
                created_at: now,
                revoked_at: None,
                last_used_at: None,
            },
            secret,
        ))
    }

    /// Who `secret` (from `Authorization: Bearer …`) acts as, if it is a
    /// live key; records the use.
    pub async fn authenticate(&self, secret: &str) -> Result<Option<KeyIdentity>, AuthError> {
        if !token::well_formed_with(secret, KEY_PREFIX) {
            return Ok(None);
        }
        let row: Option<(i64, i64, String)> = sqlx::query_as(
            "SELECT k.id, k.user_id, u.role FROM api_keys k JOIN users u ON u.id = k.user_id \
             WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        )
        .bind(token::digest(secret))
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::query("checking an API key"))?;
        let Some((key_id, user_id, role)) = row else {
            return Ok(None);
        };
        let mut tx = self.db.begin_write().await?;
        sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(key_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("recording an API key's use"))?;
        tx.commit().await?;
        Ok(Some(KeyIdentity {
            key_id,
            user_id,
            role: Role::parse(&role),
        }))
    }

    /// The keys of `user_id`, newest first.
    pub async fn list(&self, user_id: i64) -> Result<Vec<ApiKey>, AuthError> {
        let rows: Vec<KeyRow> = sqlx::query_as(
            "SELECT id, user_id, name, shown_prefix, created_at, revoked_at, last_used_at \
             FROM api_keys WHERE user_id = $1 ORDER BY id DESC",
        )
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await
        .map_err(StoreError::query("listing API keys"))?;
        Ok(rows
            .into_iter()
            .map(|r| ApiKey {
                id: r.0,
                user_id: r.1,
                name: r.2,
                shown_prefix: r.3,
                created_at: r.4,
                revoked_at: r.5,
                last_used_at: r.6,
            })
            .collect())
    }

    /// Revokes key `key_id` of `user_id` (a user revokes only their own;
    /// `NotFound` otherwise). Revoking twice is fine.
    pub async fn revoke(&self, user_id: i64, key_id: i64) -> Result<(), AuthError> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query(
            "UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2 AND user_id = $3",
        )
        .bind(now_ms())
        .bind(key_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("revoking an API key"))?;
        tx.commit().await?;
        if done.rows_affected() == 1 {
            tracing::info!(user = user_id, key = key_id, "API key revoked");
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }
}
