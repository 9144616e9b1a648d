//! Dashboard sessions: a random token in an `HttpOnly` cookie, its SHA-256
//! in the database, a CSRF token per session, and a flag for a second
//! factor still owed.

use std::time::Duration;

use gsp_store::token;
use gsp_store::{Database, StoreError};

use super::users::{Role, User};
use super::{now_ms, same_secret, AuthError};

/// What session tokens start with.
pub const SESSION_PREFIX: &str = "gsp_s_";
/// What CSRF tokens start with.
pub const CSRF_PREFIX: &str = "gsp_csrf_";
/// How long a session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);
/// How long a session waiting for its second factor lasts.
pub const PENDING_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// A live session, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user_id: i64,
    /// The user's role.
    pub role: Role,
    /// The token forms must echo.
    pub csrf: String,
    /// `false` while a TOTP code is still owed: such a session may only
    /// give the code (or sign out).
    pub complete: bool,
}

impl Session {
    /// Whether `submitted` (a form's CSRF field) is this session's token.
    pub fn csrf_ok(&self, submitted: &str) -> bool {
        same_secret(&self.csrf, submitted)
    }
}

/// The sessions of one platform database.
#[derive(Debug, Clone)]
pub struct Sessions {
    db: Database,
}

impl Sessions {
    /// The sessions in `db`.
    pub fn new(db: Database) -> Sessions {
        Sessions { db }
    }

    /// Starts a session for `user`, who just proved their password (or came
    /// back from OpenID Connect): a new token every time, so a token
    /// planted before sign-in is worth nothing after it. If the user has
    /// TOTP, the session is pending until [`Sessions::complete`]. Ends
    /// `replacing` (the visitor's previous session), if any. Returns the
    /// token for the cookie.
    pub async fn start(&self, user: &User, replacing: Option<&str>) -> Result<String, AuthError> {
        let secret = token::generate_with(SESSION_PREFIX)?;
        let csrf = token::generate_with(CSRF_PREFIX)?;
        let complete = !user.totp_enabled;
        let lifetime = if complete {
            SESSION_LIFETIME
        } else {
            PENDING_LIFETIME
        };
        let now = now_ms();
        let mut tx = self.db.begin_write().await?;
        if let Some(old) = replacing {
            sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
                .bind(token::digest(old))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query("ending the previous session"))?;
        }
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, second_factor, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(token::digest(&secret))
        .bind(user.id)
        .bind(csrf)
        .bind(i64::from(complete))
        .bind(now)
        .bind(now + lifetime.as_millis() as i64)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("starting a session"))?;
        tx.commit().await?;
        Ok(secret)
    }

    /// The live session of `secret` (from the cookie), if any.
    pub async fn get(&self, secret: &str) -> Result<Option<Session>, AuthError> {
        if !token::well_formed_with(secret, SESSION_PREFIX) {
            return Ok(None);
        }
        let row: Option<(i64, String, i64, String)> = sqlx::query_as(
            "SELECT s.user_id, s.csrf, s.second_factor, u.role FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token::digest(secret))
        .bind(now_ms())
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::query("reading a session"))?;
        Ok(row.map(|(user_id, csrf, complete, role)| Session {
            user_id,
            role: Role::parse(&role),
            csrf,
            complete: complete != 0,
        }))
    }

    /// Marks a pending session complete once the second factor is given,
    /// with a new token (rotation again); returns it.
    pub async fn complete(&self, secret: &str) -> Result<String, AuthError> {
        let fresh = token::generate_with(SESSION_PREFIX)?;
        let mut tx = self.db.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE sessions SET token_hash = $1, second_factor = $2, expires_at = $3 \
             WHERE token_hash = $4 AND expires_at > $5",
        )
        .bind(token::digest(&fresh))
        .bind(1i64)
        .bind(now_ms() + SESSION_LIFETIME.as_millis() as i64)
        .bind(token::digest(secret))
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("completing a session"))?;
        tx.commit().await?;
        if updated.rows_affected() == 1 {
            Ok(fresh)
        } else {
            Err(AuthError::NotFound)
        }
    }

    /// Ends a session (sign-out).
    pub async fn end(&self, secret: &str) -> Result<(), AuthError> {
        let mut tx = self.db.begin_write().await?;
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token::digest(secret))
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("ending a session"))?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every session of a user (password change, "sign out everywhere").
    pub async fn end_all(&self, user_id: i64) -> Result<u64, AuthError> {
        let mut tx = self.db.begin_write().await?;
        let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("ending sessions"))?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }
}
