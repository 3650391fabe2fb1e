//! The `imagehub` binary: the server and its administrative commands.

mod config;

use anyhow::Context;
use clap::{Parser, Subcommand};
use imagehub_catalog::{Catalog, MasterKey, ProjectId, Role};

use config::{Config, ServeArgs, StoreArgs};

#[derive(Parser)]
#[command(name = "imagehub", version, about = "imagehub: a self-hosted image catalog service")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (creates the database and loads the preset catalog on first start).
    Serve(ServeArgs),
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Manage access keys (AK/SK pairs for signed requests and SCNet logins).
    #[command(subcommand, name = "access-key")]
    AccessKey(AccessKeyCommand),
    /// Apply pending database migrations and exit.
    Migrate(StoreArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token for a project and print it (shown once; only its hash is stored).
    Create {
        /// Project id: 32 lowercase hexadecimal characters.
        #[arg(long)]
        project: String,
        /// admin (every project), member (read and write its project) or reader (read only).
        #[arg(long, default_value = "member")]
        role: String,
        /// A note stored with the token.
        #[arg(long)]
        label: Option<String>,
        /// Lifetime, e.g. `90d`, `12h`, `30m` (default: it does not expire).
        #[arg(long, value_name = "DURATION", value_parser = parse_lifetime)]
        expires_in: Option<i64>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List tokens: id, project, role, label, created, last used, expiry, state (never a token).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke a token by its id (from `token list`); it stops working at once on every node.
    Revoke {
        id: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// A lifetime such as `90d`, `12h`, `30m`, `3600s` or `1h 30m`, in milliseconds.
fn parse_lifetime(s: &str) -> Result<i64, String> {
    let d: jiff::SignedDuration = s.parse().map_err(|e| format!("not a duration such as 12h or 30m: {e}"))?;
    let ms = i64::try_from(d.as_millis()).map_err(|_| "too long".to_owned())?;
    if ms < 1000 {
        return Err("a token must live at least a second".into());
    }
    Ok(ms)
}

#[derive(Subcommand)]
enum AccessKeyCommand {
    /// Create a key pair for a project; prints the access key id and the secret key (shown once).
    Create {
        #[arg(long)]
        project: String,
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List access keys (never their secrets).
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Revoke an access key; signatures made with it stop working at once.
    Revoke {
        ak: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented configuration file with every default.
    Example,
}

// The server allocates many small, short-lived objects per request (rows, JSON values);
// mimalloc serves them from thread-local pages (measured: BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(run(cli))
}

/// The catalog on the configured database. `serving`: the server's store, with the read
/// index; the one-shot commands open the database without building it.
async fn open_catalog(config: &Config, serving: bool) -> anyhow::Result<Catalog> {
    let db = &config.database;
    if let Some(path) = imagehub_store::sqlite_path(db)
        && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let store = if serving { imagehub_store::open_for_serving(db).await } else { imagehub_store::open(db).await }
        .map_err(|e| anyhow::anyhow!("{}", e.log_detail()))?;
    Catalog::new(store).with_master_key(master_key(config)?).await.map_err(|e| anyhow::anyhow!("{e}"))
}

/// The master key: given in the configuration, else read from (or created in) its file.
fn master_key(config: &Config) -> anyhow::Result<MasterKey> {
    if let Some(k) = &config.master_key {
        return MasterKey::from_hex(k.expose()).context("master_key must be 64 hexadecimal digits");
    }
    let path = &config.master_key_file;
    match std::fs::read_to_string(path) {
        Ok(text) => {
            MasterKey::from_hex(&text).with_context(|| format!("{} does not hold 64 hex digits", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key = MasterKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            match options.open(path) {
                Ok(mut f) => {
                    std::io::Write::write_all(&mut f, format!("{}\n", key.to_hex()).as_bytes())?;
                    f.sync_all()?;
                    Ok(key)
                }
                // Another process created it first: use that one.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => master_key(config),
                Err(e) => Err(e).with_context(|| format!("cannot create {}", path.display())),
            }
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(Config::load(&args)?).await,
        Command::Token(TokenCommand::Create { project, role, label, expires_in, store }) => {
            let project = ProjectId::parse(&project)
                .with_context(|| format!("--project {project:?} is not 32 lowercase hexadecimal characters"))?;
            let role = Role::parse(&role).with_context(|| format!("--role {role:?} is not admin, member or reader"))?;
            let catalog = open_catalog(&Config::load_store(&store)?, false).await?;
            let expires = expires_in.map(imagehub_catalog::expiry_after);
            let token =
                catalog.create_token(&project, role, label, expires).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Token(TokenCommand::List { store }) => {
            let catalog = open_catalog(&Config::load_store(&store)?, false).await?;
            let now = imagehub_catalog::Millis::now();
            println!(
                "{:<16} {:<32} {:<6} {:<20} {:<20} {:<20} {:<8} label",
                "id", "project", "role", "created", "last used", "expires", "state"
            );
            for t in catalog.list_tokens().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                let when = |m: Option<imagehub_catalog::Millis>| {
                    m.map_or_else(|| "-".to_owned(), |m| imagehub_api::time::iso_utc(m.0))
                };
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "active"
                };
                println!(
                    "{:<16} {:<32} {:<6} {:<20} {:<20} {:<20} {:<8} {}",
                    t.id(),
                    t.project,
                    t.role,
                    when(Some(t.created_at)),
                    when(t.last_used_at),
                    when(t.expires_at),
                    state,
                    t.label.as_deref().unwrap_or_default()
                );
            }
            Ok(())
        }
        Command::Token(TokenCommand::Revoke { id, store }) => {
            let catalog = open_catalog(&Config::load_store(&store)?, false).await?;
            if catalog.revoke_token(&id).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!("revoked {id}");
                Ok(())
            } else {
                anyhow::bail!("no active token {id}")
            }
        }
        Command::AccessKey(AccessKeyCommand::Create { project, role, label, store }) => {
            let project = ProjectId::parse(&project)
                .with_context(|| format!("--project {project:?} is not 32 lowercase hexadecimal characters"))?;
            let role = Role::parse(&role).with_context(|| format!("--role {role:?} is not admin, member or reader"))?;
            let catalog = open_catalog(&Config::load_store(&store)?, false).await?;
            let (ak, sk) =
                catalog.create_access_key(&project, role, label).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("access_key {ak}");
            println!("secret_key {sk}");
            Ok(())
        }
        Command::AccessKey(AccessKeyCommand::List { store }) => {
            let catalog = open_catalog(&Config::load_store(&store)?, false).await?;
            println!("{:<22} {:<34} {:<8} {:<10} label", "access_key", "project", "role", "state");
            for k in catalog.list_access_keys().await.map_err(|e| anyhow::anyhow!("{e}"))? {
                let state = if k.revoked_at.is_some() { "revoked" } else { "active" };
                println!("{:<22} {:<34} {:<8} {:<10} {}", k.ak, k.project, k.role, state, k.label.unwrap_or_default());
            }
            Ok(())
        }
        Command::AccessKey(AccessKeyCommand::Revoke { ak, store }) => {
            let catalog = open_catalog(&Config::load_store(&store)?, false).await?;
            if catalog.revoke_access_key(&ak).await.map_err(|e| anyhow::anyhow!("{e}"))? {
                println!("revoked {ak}");
                Ok(())
            } else {
                anyhow::bail!("no active access key {ak}")
            }
        }
        Command::Migrate(store) => {
            let config = Config::load_store(&store)?;
            open_catalog(&config, false).await?;
            println!("database {} is at the latest schema", config::without_password(&config.database));
            Ok(())
        }
        Command::Config(ConfigCommand::Example) => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&config.log).context("invalid log filter")?)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    tracing::info!(?config, "starting imagehub");
    let catalog = open_catalog(&config, true).await?;
    let chosen = config.bootstrap_token.as_ref().map(config::Secret::expose);
    match catalog.bootstrap(chosen).await.map_err(|e| anyhow::anyhow!("bootstrap: {e}"))? {
        Some(token) => {
            println!("imagehub: first start. Admin token of the system project (shown once, keep it):");
            println!("{token}");
        }
        None if chosen.is_some() => tracing::info!("admin token taken from IMAGEHUB_BOOTSTRAP_TOKEN"),
        None => {}
    }
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let api = imagehub_api::ApiConfig {
        body_limit: config.body_limit,
        scnet_utc_offset_secs: config.scnet_utc_offset_secs,
        scnet_token_ttl_secs: config.scnet_token_ttl_secs,
    };
    let app = imagehub_api::build(catalog, &api);
    tracing::info!("listening on http://{}", listener.local_addr()?);
    imagehub_api::serve(listener, app, shutdown_signal()).await.context("server error")?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
