//! Everything on one machine (`gsp up`): the pieces a first run needs in
//! the platform's database, made once and found again on later runs.
//!
//! - an admin, `admin@gsp.localhost`, whose generated password is written
//!   to `admin-password` in the data directory (mode 0600) and shown once;
//! - the node `local`, whose token is renewed at every start (the local
//!   agent runs in the same process and is handed it);
//! - the free template `gsp-world` (this binary's `gsp world` with the
//!   given mods);
//! - the admin's server `default`, made from it.

use std::path::{Path, PathBuf};

use crate::api::AppState;
use gsp_control::auth::{Caller, Role, User};
use gsp_control::servers::{NewTemplate, Port, Server, Template};

/// The local admin's email.
pub const ADMIN_EMAIL: &str = "admin@gsp.localhost";

/// The file in the data directory holding the local admin's password.
pub const PASSWORD_FILE: &str = "admin-password";

/// The local node's name.
pub const NODE: &str = "local";

/// The local world template's name.
pub const TEMPLATE: &str = "gsp-world";

/// The default server's name.
pub const SERVER: &str = "default";

/// Why the local set-up failed.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// A platform call failed.
    #[error("{context}: {message}")]
    Platform {
        /// What was being done.
        context: &'static str,
        /// Why it failed.
        message: String,
    },
    /// Writing the password file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn platform<E: std::fmt::Display>(context: &'static str) -> impl FnOnce(E) -> LocalError {
    move |e| LocalError::Platform {
        context,
        message: e.to_string(),
    }
}

/// The local admin, made on the first run. The second value is where its
/// password is kept.
pub async fn ensure_admin(state: &AppState, data: &Path) -> Result<(User, PathBuf), LocalError> {
    let file = data.join(PASSWORD_FILE);
    if let Some(user) = state
        .users
        .find_by_email(ADMIN_EMAIL)
        .await
        .map_err(platform("finding the local admin"))?
    {
        return Ok((user, file));
    }
    let password = gsp_control::auth::oidc::pkce::random_token()
        .map_err(platform("making a password"))?
        .chars()
        .take(20)
        .collect::<String>();
    write_secret(&file, &format!("{password}\n"))?;
    let user = state
        .users
        .create(ADMIN_EMAIL, Some(&password), Role::Admin)
        .await
        .map_err(platform("creating the local admin"))?;
    tracing::info!(email = ADMIN_EMAIL, file = %file.display(), "local admin created");
    Ok((user, file))
}

fn write_secret(path: &Path, text: &str) -> Result<(), LocalError> {
    use std::io::Write;
    let io = |source| LocalError::Io {
        path: path.to_owned(),
        source,
    };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(path).map_err(io)?;
    f.write_all(text.as_bytes()).map_err(io)
}

/// The local world template, made on the first run: `launch` is its
/// command line (`gsp world --mods …`).
pub async fn ensure_template(state: &AppState, launch: &str) -> Result<Template, LocalError> {
    let templates = state
        .servers
        .templates()
        .await
        .map_err(platform("listing templates"))?;
    if let Some(t) = templates.into_iter().find(|t| t.name == TEMPLATE) {
        return Ok(t);
    }
    state
        .servers
        .create_template(&NewTemplate {
            name: TEMPLATE.into(),
            runtime: "command".into(),
            launch: launch.into(),
            ports: Port::gsp_world(),
            cpu_millis: 1000,
            memory_mib: 1024,
            price_per_hour: 0,
            idle_minutes: 15,
            idle_seconds: None,
            game: Default::default(),
        })
        .await
        .map_err(platform("creating the local template"))
}

/// The admin's default server, made (and started) on the first run.
pub async fn ensure_server(
    state: &AppState,
    admin: &User,
    template: &Template,
) -> Result<Server, LocalError> {
    let servers = state
        .servers
        .list(admin.id, Role::Admin)
        .await
        .map_err(platform("listing servers"))?;
    if let Some(s) = servers
        .into_iter()
        .find(|s| s.name == SERVER && s.owner_id == admin.id)
    {
        return Ok(s);
    }
    let caller = Caller {
        user_id: admin.id,
        role: Role::Admin,
    };
    state
        .hosting
        .create(caller, template.id, SERVER)
        .await
        .map_err(platform("creating the default server"))
}

/// The command line of the local world template: this binary's `gsp world`
/// with `mods` (when the folder exists).
pub fn world_command(mods: Option<&Path>) -> String {
    match mods {
        Some(dir) => {
            let dir = dir.display().to_string();
            let quoted = shlex::try_quote(&dir).map_or(dir.clone(), |q| q.into_owned());
            format!("gsp world --mods {quoted}")
        }
        None => "gsp world".to_owned(),
    }
}

/// Records the servers still running on node `node_id` as hibernated (the
/// local agent stopped them): billing stops with them, and their proxies
/// wake them at the next start.
pub async fn record_stopped(
    state: &AppState,
    fleet: &gsp_control::fleet::Fleet,
    node_id: i64,
    cause: &str,
) -> Result<usize, LocalError> {
    let on_node = fleet
        .servers_on(node_id)
        .await
        .map_err(platform("listing the node's servers"))?;
    state
        .hosting
        .record_stopped(&on_node, cause)
        .await
        .map_err(platform("recording the stopped servers"))
}
