//! The `imagehub` binary: the server and its administrative commands.

mod config;

use anyhow::Context;
use clap::{Parser, Subcommand};
use imagehub_catalog::{Catalog, ProjectId, Role};

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
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented configuration file with every default.
    Example,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the runtime")?;
    runtime.block_on(run(cli))
}

async fn open_catalog(config: &Config) -> anyhow::Result<Catalog> {
    let db = &config.database;
    if let Some(path) = db.strip_prefix("sqlite://").or_else(|| db.strip_prefix("sqlite:"))
        && let Some(dir) = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let store = imagehub_store::open(db).await.map_err(|e| anyhow::anyhow!("{}", e.log_detail()))?;
    Ok(Catalog::new(store))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(Config::load(&args)?).await,
        Command::Token(TokenCommand::Create { project, role, label, store }) => {
            let project = ProjectId::parse(&project)
                .with_context(|| format!("--project {project:?} is not 32 lowercase hexadecimal characters"))?;
            let role = Role::parse(&role).with_context(|| format!("--role {role:?} is not admin, member or reader"))?;
            let catalog = open_catalog(&Config::load_store(&store)?).await?;
            let token = catalog.create_token(&project, role, label).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            Ok(())
        }
        Command::Migrate(store) => {
            let config = Config::load_store(&store)?;
            open_catalog(&config).await?;
            println!("database {} is at the latest schema", config.database);
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
    let catalog = open_catalog(&config).await?;
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
    let api =
        imagehub_api::ApiConfig { body_limit: config.body_limit, scnet_utc_offset_secs: config.scnet_utc_offset_secs };
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
