//! `gsp platform`: the control plane's web API, and admin commands on the
//! same database.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use gsp_control::auth::oidc::{Oidc, ProviderConfig};
use gsp_control::auth::{ApiKeys, Role, Users};
use gsp_control::backup::BackupStore;
use gsp_control::fleet::Fleet;
use gsp_platform::api::AppState;

/// The platform's flags.
#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// What to do; without one, serve the web API.
    #[command(subcommand)]
    action: Option<Action>,
    /// HTTP listener for the API and dashboard (port 0 picks a free port).
    #[arg(
        long,
        value_name = "ADDR",
        default_value = "127.0.0.1:8080",
        env = "GSP_PLATFORM_HTTP"
    )]
    http: SocketAddr,
    /// Directory for the platform's files (`platform.db`).
    #[arg(
        long,
        value_name = "DIR",
        default_value = "./data",
        env = "GSP_DATA",
        global = true
    )]
    data: PathBuf,
    /// The platform's database, `postgres://…` or `sqlite://…`, instead of
    /// `platform.db` in --data. Give it a database of its own (not a
    /// world's).
    #[arg(
        long,
        value_name = "URL",
        env = "GSP_PLATFORM_DATABASE_URL",
        global = true
    )]
    database_url: Option<String>,
    /// The payment provider's webhook signing secret (Stripe's `whsec_…`);
    /// without it, /api/webhooks/payments answers 404.
    #[arg(
        long,
        value_name = "SECRET",
        env = "GSP_WEBHOOK_SECRET",
        hide_env_values = true
    )]
    webhook_secret: Option<String>,
    /// The address people use to reach the dashboard, e.g.
    /// `https://play.example.com` (default: `http://` and the listener).
    /// With `https://`, session cookies are `Secure`.
    #[arg(long, value_name = "URL", env = "GSP_PUBLIC_URL")]
    public_url: Option<String>,
    /// An OpenID Connect provider to offer on the sign-in page (repeat for
    /// more): `name=google,issuer=https://accounts.google.com,client-id=ID,client-secret-env=GOOGLE_SECRET[,label=Google]`
    /// (or `client-secret=S`). Register `<public URL>/auth/oidc/<name>/callback`
    /// as the redirect URI with the provider.
    #[arg(long = "oidc-provider", value_name = "SPEC")]
    oidc_providers: Vec<ProviderConfig>,
    /// Where server backups are kept: a folder (a path or `file:///…`) or
    /// an S3-compatible bucket, `s3://bucket/prefix` (credentials and
    /// endpoint from the `AWS_*` variables). Default: `backups` in --data.
    #[arg(long, value_name = "URL", env = "GSP_BACKUPS")]
    backups: Option<String>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Manage users.
    #[command(subcommand)]
    User(UserAction),
    /// Manage API keys.
    #[command(subcommand)]
    Apikey(KeyAction),
    /// Manage nodes (the machines whose agents run worlds).
    #[command(subcommand)]
    Node(NodeAction),
}

#[derive(Debug, Subcommand)]
enum NodeAction {
    /// Create a node and print its token, for `gsp agent --token`.
    Create {
        /// A name to tell the node apart (letters, digits, '-', '_', '.').
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum UserAction {
    /// Create a user (a customer, or an admin with --admin).
    Create {
        /// Email address, used to sign in.
        #[arg(long)]
        email: String,
        /// Password (8 to 128 characters).
        #[arg(long, env = "GSP_PASSWORD")]
        password: String,
        /// Make an admin.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Debug, Subcommand)]
enum KeyAction {
    /// Create an API key for a user; prints it once.
    Create {
        /// The user's email.
        #[arg(long)]
        email: String,
        /// A name to tell the key apart.
        #[arg(long, default_value = "cli")]
        name: String,
    },
}

/// Runs `gsp platform`.
pub fn run(args: PlatformArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("gsp-platform")
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async move {
        let db = gsp_control::db::open(args.database_url.as_deref(), &args.data)
            .await
            .context("opening the platform database")?;
        let result = match args.action {
            None => {
                let secure = args
                    .public_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with("https://"));
                let backups = match &args.backups {
                    Some(url) => BackupStore::from_url(url),
                    None => BackupStore::local(&args.data.join("backups")),
                }
                .context("opening the backup store")?;
                let mut state = AppState::new(db.clone())
                    .with_fleet(Fleet::new(db.clone()))
                    .with_backups(backups)
                    .with_webhook_secret(args.webhook_secret)
                    .with_secure_cookies(secure);
                if !args.oidc_providers.is_empty() {
                    let base = args
                        .public_url
                        .clone()
                        .unwrap_or_else(|| format!("http://{}", args.http));
                    let oidc = Oidc::new(&base, args.oidc_providers)
                        .context("setting up OpenID Connect sign-in")?;
                    state = state.with_oidc(oidc);
                }
                serve(args.http, args.public_url, state).await
            }
            Some(Action::User(UserAction::Create {
                email,
                password,
                admin,
            })) => {
                let role = if admin { Role::Admin } else { Role::Customer };
                let user = Users::new(db.clone())
                    .create(&email, Some(&password), role)
                    .await
                    .context("creating the user")?;
                println!(
                    "created {} user {} (id {})",
                    role.as_str(),
                    user.email,
                    user.id
                );
                Ok(())
            }
            Some(Action::Node(NodeAction::Create { name })) => {
                let (node, token) = Fleet::new(db.clone())
                    .create_node(&name)
                    .await
                    .context("creating the node")?;
                println!("{token}");
                eprintln!(
                    "node {} (id {}): its token is shown once; run `gsp agent --platform <URL> --token <token>` there",
                    node.name, node.id
                );
                Ok(())
            }
            Some(Action::Apikey(KeyAction::Create { email, name })) => {
                let user = Users::new(db.clone())
                    .find_by_email(&email)
                    .await?
                    .with_context(|| format!("no user has the email {email}"))?;
                let (key, secret) = ApiKeys::new(db.clone())
                    .create(user.id, &name)
                    .await
                    .context("creating the API key")?;
                println!("{secret}");
                eprintln!(
                    "API key {} ({}) for {}: shown once, keep it safe",
                    key.id, key.name, user.email
                );
                Ok(())
            }
        };
        db.close().await;
        result.map(|()| ExitCode::SUCCESS)
    })
}

async fn serve(
    addr: SocketAddr,
    public_url: Option<String>,
    state: AppState,
) -> anyhow::Result<()> {
    let first_start = state.users.count().await? == 0;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding HTTP to {addr}"))?;
    let bound = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening http={bound}")?;
        let url = public_url.unwrap_or_else(|| format!("http://{bound}"));
        writeln!(out, "dashboard {}/", url.trim_end_matches('/'))?;
        if first_start {
            writeln!(out)?;
            writeln!(out, "No users yet. Create the first admin with")?;
            writeln!(
                out,
                "  gsp platform user create --email you@example.com --password '<8+ characters>' --admin"
            )?;
            writeln!(out, "and an API key for it with")?;
            writeln!(out, "  gsp platform apikey create --email you@example.com")?;
        }
        out.flush()?;
    }
    let shutdown = state.shutdown.clone();
    let server = tokio::spawn(gsp_platform::serve(listener, state));
    crate::world::wait_for_signal().await?;
    tracing::info!("shutting down");
    shutdown.cancel();
    let _ = server.await;
    Ok(())
}
