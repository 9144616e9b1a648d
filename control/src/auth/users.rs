//! Platform users: email, argon2id password, role, TOTP with recovery
//! codes, and the OpenID Connect accounts that sign them in.

use gsp_store::password;
use gsp_store::{Database, StoreError};

use super::oidc::Identity;
use super::{now_ms, totp, AuthError, OidcUserError};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Everything: every server, every ledger, users, nodes, templates.
    Admin,
    /// Their own servers and ledger only.
    Customer,
}

impl Role {
    /// As stored: "admin" or "customer".
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Customer => "customer",
        }
    }

    /// From its stored form; anything but "admin" is a customer.
    pub(crate) fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::Customer
        }
    }
}

/// A user as the rest of the platform sees it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: i64,
    /// Email as given.
    pub email: String,
    /// Role.
    pub role: Role,
    /// Whether sign-in asks for a TOTP code.
    pub totp_enabled: bool,
}

/// Recovery codes made when TOTP is turned on; each works once.
pub const RECOVERY_CODES: usize = 10;

/// The users of one platform database.
#[derive(Debug, Clone)]
pub struct Users {
    db: Database,
}

type UserRow = (
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
);

/// The user query with `$rest` (a literal) after it: one column list for
/// every read, and still a literal SQL string.
macro_rules! select_user {
    ($rest:literal) => {
        concat!(
            "SELECT id, email, password_hash, role, totp_secret, totp_last_step FROM users ",
            $rest
        )
    };
}

fn user_of(row: &UserRow) -> User {
    User {
        id: row.0,
        email: row.1.clone(),
        role: Role::parse(&row.3),
        totp_enabled: row.4.is_some(),
    }
}

/// `email` trimmed, checked loosely (one `@`, something either side, no
/// spaces), and its lowercase lookup key.
fn email_key(email: &str) -> Result<(String, String), AuthError> {
    let email = email.trim();
    let ok = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(a, b)| !a.is_empty() && b.contains('.') && !b.contains('@'));
    if ok {
        Ok((email.to_owned(), email.to_lowercase()))
    } else {
        Err(AuthError::BadEmail)
    }
}

fn check_password(email: &str, pw: &str) -> Result<(), AuthError> {
    let n = pw.chars().count();
    if !(password::MIN_PASSWORD_CHARS..=password::MAX_PASSWORD_CHARS).contains(&n) {
        return Err(AuthError::WeakPassword(format!(
            "passwords are {} to {} characters",
            password::MIN_PASSWORD_CHARS,
            password::MAX_PASSWORD_CHARS
        )));
    }
    if pw.eq_ignore_ascii_case(email) {
        return Err(AuthError::WeakPassword(
            "the password must not be the email".into(),
        ));
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(v) => v,
        Err(e) => std::panic::resume_unwind(e.into_panic()),
    }
}

impl Users {
    /// The users in `db`.
    pub fn new(db: Database) -> Users {
        Users { db }
    }

    /// Creates a user. `password` is `None` for a user who signs in only
    /// through OpenID Connect.
    pub async fn create(
        &self,
        email: &str,
        password: Option<&str>,
        role: Role,
    ) -> Result<User, AuthError> {
        let (email, key) = email_key(email)?;
        let hash = match password {
            Some(pw) => {
                check_password(&email, pw)?;
                let pw = pw.to_owned();
                Some(
                    blocking(move || password::hash(&pw))
                        .await
                        .map_err(AuthError::Random)?,
                )
            }
            None => None,
        };
        let mut tx = self.db.begin_write().await?;
        let id = crate::db::next_id(&mut tx, "users").await?;
        let inserted = sqlx::query(
            "INSERT INTO users (id, email, email_key, password_hash, role, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(email.clone())
        .bind(key)
        .bind(hash)
        .bind(role.as_str())
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("creating a user"));
        match inserted {
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => return Err(AuthError::EmailTaken),
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        tracing::info!(user = id, role = role.as_str(), "platform user created");
        Ok(User {
            id,
            email,
            role,
            totp_enabled: false,
        })
    }

    async fn row_by_email(&self, email: &str) -> Result<Option<UserRow>, AuthError> {
        let Ok((_, key)) = email_key(email) else {
            return Ok(None);
        };
        Ok(sqlx::query_as(select_user!("WHERE email_key = $1"))
            .bind(key)
            .fetch_optional(self.db.pool())
            .await
            .map_err(StoreError::query("finding a user"))?)
    }

    async fn row(&self, id: i64) -> Result<Option<UserRow>, AuthError> {
        Ok(sqlx::query_as(select_user!("WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await
            .map_err(StoreError::query("reading a user"))?)
    }

    /// The user with this id.
    pub async fn get(&self, id: i64) -> Result<Option<User>, AuthError> {
        Ok(self.row(id).await?.as_ref().map(user_of))
    }

    /// The user with this email (any capitalisation).
    pub async fn find_by_email(&self, email: &str) -> Result<Option<User>, AuthError> {
        Ok(self.row_by_email(email).await?.as_ref().map(user_of))
    }

    /// Every user, by id.
    pub async fn list(&self) -> Result<Vec<User>, AuthError> {
        let rows: Vec<UserRow> = sqlx::query_as(select_user!("ORDER BY id"))
            .fetch_all(self.db.pool())
            .await
            .map_err(StoreError::query("listing users"))?;
        Ok(rows.iter().map(user_of).collect())
    }

    /// How many users there are (0: the first start, when the platform
    /// says how to make the first admin).
    pub async fn count(&self) -> Result<i64, AuthError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.db.pool())
            .await
            .map_err(StoreError::query("counting users"))?)
    }

    /// Checks email and password. Unknown emails are checked against a
    /// dummy hash, so the answer takes as long either way.
    pub async fn authenticate(&self, email: &str, pw: &str) -> Result<User, AuthError> {
        let row = self.row_by_email(email).await?;
        let hash = row
            .as_ref()
            .and_then(|r| r.2.clone())
            .unwrap_or_else(|| password::dummy_hash().to_owned());
        let pw = pw.to_owned();
        let ok = !password::too_long(&pw) && blocking(move || password::verify(&pw, &hash)).await;
        match row {
            Some(r) if ok && r.2.is_some() => Ok(user_of(&r)),
            _ => Err(AuthError::BadCredentials),
        }
    }

    /// Starts turning TOTP on: a new secret and its `otpauth://` URI. Nothing
    /// changes until [`Users::confirm_totp`] gets a code made with it.
    pub fn begin_totp(&self, user: &User) -> Result<(String, String), AuthError> {
        let secret = totp::generate_secret()?;
        let uri = totp::provisioning_uri("GSP", &user.email, &secret);
        Ok((secret, uri))
    }

    /// Turns TOTP on with `secret` if `code` was made with it now, and
    /// returns the recovery codes (shown once; stored hashed).
    pub async fn confirm_totp(
        &self,
        user_id: i64,
        secret: &str,
        code: &str,
        unix_secs: u64,
    ) -> Result<Vec<String>, AuthError> {
        let key = totp::decode_secret(secret).ok_or(AuthError::BadCode)?;
        let step = totp::verify(&key, code, unix_secs, None).ok_or(AuthError::BadCode)?;
        let mut codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            codes.push(recovery_code()?);
        }
        let mut tx = self.db.begin_write().await?;
        let updated =
            sqlx::query("UPDATE users SET totp_secret = $1, totp_last_step = $2 WHERE id = $3")
                .bind(secret.to_owned())
                .bind(step as i64)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query("turning TOTP on"))?;
        if updated.rows_affected() == 0 {
            return Err(AuthError::NotFound);
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::query("replacing recovery codes"))?;
        for c in &codes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user_id)
                .bind(gsp_store::token::digest(&normalize_recovery(c)))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query("storing recovery codes"))?;
        }
        tx.commit().await?;
        Ok(codes)
    }

    /// Checks a second factor: a TOTP code (each works once) or a recovery
    /// code (each works once, ever).
    pub async fn second_factor(
        &self,
        user_id: i64,
        code: &str,
        unix_secs: u64,
    ) -> Result<(), AuthError> {
        let row = self.row(user_id).await?.ok_or(AuthError::NotFound)?;
        let Some(secret) = row.4.as_deref() else {
            return Err(AuthError::BadCode);
        };
        let mut tx = self.db.begin_write().await?;
        if let Some(key) = totp::decode_secret(secret) {
            let last = row.5.map(|s| s as u64);
            if let Some(step) = totp::verify(&key, code, unix_secs, last) {
                // Only moves forward: a concurrent use of the same code loses.
                let moved = sqlx::query(
                    "UPDATE users SET totp_last_step = $1 \
                     WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)",
                )
                .bind(step as i64)
                .bind(user_id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::query("recording a TOTP use"))?;
                tx.commit().await?;
                return if moved.rows_affected() == 1 {
                    Ok(())
                } else {
                    Err(AuthError::BadCode)
                };
            }
        }
        let used = sqlx::query(
            "UPDATE recovery_codes SET used_at = $1 \
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
        )
        .bind(now_ms())
        .bind(user_id)
        .bind(gsp_store::token::digest(&normalize_recovery(code)))
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("using a recovery code"))?;
        tx.commit().await?;
        if used.rows_affected() == 1 {
            tracing::info!(user = user_id, "a recovery code was used");
            Ok(())
        } else {
            Err(AuthError::BadCode)
        }
    }
}

/// OpenID Connect: an account at a provider, (issuer, subject), signs in
/// the user it is linked to.
impl Users {
    /// The user an OpenID Connect sign-in is for: the one `identity` is
    /// linked to; else, when the provider verified the email, the user
    /// with that email (now linked), or a new customer without a password
    /// (linked). An unknown account without a verified email is refused
    /// ([`OidcUserError::UnverifiedEmail`]): anyone can claim an
    /// unverified address.
    pub async fn sign_in_oidc(&self, identity: &Identity) -> Result<User, OidcUserError> {
        if let Some(user) = self.oidc_user(identity).await? {
            return Ok(user);
        }
        let email = match &identity.email {
            Some(email) if identity.email_verified => email.as_str(),
            _ => return Err(OidcUserError::UnverifiedEmail),
        };
        let user = match self.find_by_email(email).await? {
            Some(user) => user,
            None => match self.create(email, None, Role::Customer).await {
                // Made by a concurrent sign-in a moment ago.
                Err(AuthError::EmailTaken) => self
                    .find_by_email(email)
                    .await?
                    .ok_or(AuthError::NotFound)?,
                other => other?,
            },
        };
        Ok(self.link_oidc(identity, &user).await?)
    }

    async fn oidc_user(&self, identity: &Identity) -> Result<Option<User>, AuthError> {
        let id: Option<i64> = sqlx::query_scalar(
            "SELECT user_id FROM oidc_identities WHERE issuer = $1 AND subject = $2",
        )
        .bind(identity.issuer.clone())
        .bind(identity.subject.clone())
        .fetch_optional(self.db.pool())
        .await
        .map_err(StoreError::query("finding an OIDC identity"))?;
        match id {
            Some(id) => Ok(Some(self.get(id).await?.ok_or(AuthError::NotFound)?)),
            None => Ok(None),
        }
    }

    /// Links `identity` to `user`, or returns the user it was linked to by
    /// a concurrent sign-in.
    async fn link_oidc(&self, identity: &Identity, user: &User) -> Result<User, AuthError> {
        let mut tx = self.db.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO oidc_identities (issuer, subject, user_id, created_at) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(identity.issuer.clone())
        .bind(identity.subject.clone())
        .bind(user.id)
        .bind(now_ms())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::query("linking an OIDC identity"));
        match inserted {
            Ok(_) => {
                tx.commit().await?;
                tracing::info!(user = user.id, issuer = %identity.issuer, "OIDC identity linked");
                Ok(user.clone())
            }
            Err(e) if e.is_unique_violation() => {
                drop(tx);
                self.oidc_user(identity).await?.ok_or(AuthError::NotFound)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A recovery code: ten random characters from an alphabet without look-alikes,
/// shown as `xxxxx-xxxxx`.
fn recovery_code() -> Result<String, AuthError> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut bytes = [0u8; 10];
    getrandom::fill(&mut bytes)?;
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    Ok(format!("{}-{}", &chars[..5], &chars[5..]))
}

/// A typed recovery code as stored: lowercase, without dashes or spaces.
fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_passwords() {
        assert_eq!(
            email_key(" Ada@Example.com ").unwrap(),
            ("Ada@Example.com".into(), "ada@example.com".into())
        );
        for bad in [
            "ada",
            "@x.com",
            "ada@",
            "ada@localhost",
            "a da@x.com",
            "a@b@c.com",
        ] {
            assert!(email_key(bad).is_err(), "{bad}");
        }
        assert!(check_password("a@x.com", "correct horse").is_ok());
        assert!(check_password("a@x.com", "short").is_err());
        assert!(check_password("ada@x.com", "ADA@X.COM").is_err());
    }

    #[test]
    fn recovery_codes_are_random_and_forgiving_to_type() {
        let a = recovery_code().unwrap();
        assert_ne!(a, recovery_code().unwrap());
        assert_eq!(a.len(), 11);
        assert_eq!(
            normalize_recovery(&a.to_uppercase().replace('-', " ")),
            a.replace('-', "")
        );
    }
}
