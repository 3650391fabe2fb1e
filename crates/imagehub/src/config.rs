//! Configuration, parsed once, in layers: defaults → `imagehub.toml` → `IMAGEHUB_*`
//! environment → command-line flags (each layer overrides the ones before it).

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;

pub const DEFAULT_BIND: &str = "127.0.0.1:9292";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_CONFIG_FILE: &str = "imagehub.toml";
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

/// Options shared by every command that opens the database. Flags and environment
/// variables; `None` means "not given here".
#[derive(Debug, Clone, Default, Args)]
pub struct StoreArgs {
    /// Directory for the embedded SQLite database (and later, image data).
    #[arg(long, env = "IMAGEHUB_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`; default: SQLite file `imagehub.db` in the data directory.
    #[arg(long, env = "IMAGEHUB_DATABASE_URL", value_name = "URL")]
    pub database: Option<String>,
    /// Configuration file (default: ./imagehub.toml if it exists).
    #[arg(long, env = "IMAGEHUB_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// Flags and environment of `serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "IMAGEHUB_BIND", value_name = "ADDR")]
    pub bind: Option<SocketAddr>,
    /// Log filter (e.g. `info`, `imagehub=debug`).
    #[arg(long, env = "IMAGEHUB_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "IMAGEHUB_BODY_LIMIT", value_name = "BYTES")]
    pub body_limit: Option<usize>,
    /// Lifetime of SCNet access-key login tokens, in seconds.
    #[arg(long, env = "IMAGEHUB_SCNET_TOKEN_TTL", value_name = "SECONDS")]
    pub scnet_token_ttl: Option<i64>,
    /// Fixed offset from UTC of the times the SCNet face shows (`+08:00`, `UTC`).
    #[arg(long, env = "IMAGEHUB_SCNET_TIME_OFFSET", value_name = "OFFSET")]
    pub scnet_time_offset: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// The file layer: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    bind: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database: Option<String>,
    log: Option<String>,
    body_limit: Option<usize>,
    scnet_time_offset: Option<String>,
    scnet_token_ttl: Option<i64>,
    bootstrap_token: Option<Secret>,
    master_key: Option<Secret>,
    master_key_file: Option<PathBuf>,
}

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: String,
    pub log: String,
    pub body_limit: usize,
    /// Offset from UTC, in seconds, of the SCNet face's times.
    pub scnet_utc_offset_secs: i32,
    /// Lifetime of SCNet login tokens, in seconds.
    pub scnet_token_ttl_secs: i64,
    /// The master key (64 hex digits) that seals access-key secrets, if given directly.
    pub master_key: Option<Secret>,
    /// Where the master key is kept otherwise (created on first use).
    pub master_key_file: PathBuf,
    /// Admin token to create on start instead of generating one (`IMAGEHUB_BOOTSTRAP_TOKEN`).
    pub bootstrap_token: Option<Secret>,
}

fn read_file(explicit: Option<&Path>) -> anyhow::Result<FileConfig> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => toml::from_str(&text).with_context(|| format!("in config file {}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(FileConfig::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read config file {}", path.display())),
    }
}

impl Config {
    /// Resolves the layers for `serve`.
    pub fn load(args: &ServeArgs) -> anyhow::Result<Self> {
        let file = read_file(args.store.config.as_deref())?;
        let env_token = std::env::var("IMAGEHUB_BOOTSTRAP_TOKEN").ok().filter(|t| !t.is_empty()).map(Secret);
        let data_dir: PathBuf =
            args.store.data_dir.clone().or(file.data_dir).unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let env_master = std::env::var("IMAGEHUB_MASTER_KEY").ok().filter(|t| !t.is_empty()).map(Secret);
        let scnet_token_ttl_secs = args.scnet_token_ttl.or(file.scnet_token_ttl).unwrap_or(12 * 3600);
        if scnet_token_ttl_secs < 1 {
            bail!("scnet_token_ttl must be at least 1 second");
        }
        let database = args.store.database.clone().or(file.database).unwrap_or_else(|| default_database(&data_dir));
        let body_limit = args.body_limit.or(file.body_limit).unwrap_or(DEFAULT_BODY_LIMIT);
        if body_limit < 1024 {
            bail!("body_limit must be at least 1024 bytes");
        }
        let offset = args.scnet_time_offset.clone().or(file.scnet_time_offset).unwrap_or_else(|| "UTC".into());
        let Some(scnet_utc_offset_secs) = imagehub_api::time::parse_offset(&offset) else {
            bail!("scnet_time_offset {offset:?} is not a fixed offset such as +08:00, -05:30 or UTC");
        };
        Ok(Self {
            bind: match args.bind.or(file.bind) {
                Some(b) => b,
                None => DEFAULT_BIND.parse().context("default bind address")?,
            },
            database,
            log: args.log.clone().or(file.log).unwrap_or_else(|| "info".into()),
            body_limit,
            scnet_utc_offset_secs,
            scnet_token_ttl_secs,
            master_key: env_master.or(file.master_key),
            master_key_file: file.master_key_file.unwrap_or_else(|| data_dir.join("master.key")),
            bootstrap_token: env_token.or(file.bootstrap_token),
        })
    }

    /// Resolves only what the administrative commands need (the database).
    pub fn load_store(args: &StoreArgs) -> anyhow::Result<Self> {
        Self::load(&ServeArgs { store: args.clone(), ..ServeArgs::default() })
    }
}

fn default_database(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("imagehub.db").display())
}

/// `imagehub config example`: every key, commented, with its default.
pub const EXAMPLE: &str = r#"# imagehub.toml — every key is optional; shown with its default.
# Precedence: this file < IMAGEHUB_* environment variables < command-line flags.

# Address to listen on.                         (IMAGEHUB_BIND, --bind)
# bind = "127.0.0.1:9292"

# Where the embedded database lives.            (IMAGEHUB_DATA_DIR, --data-dir)
# data_dir = "./data"

# Database URL; default: SQLite file imagehub.db in data_dir.
#                                               (IMAGEHUB_DATABASE_URL, --database)
# database = "sqlite://./data/imagehub.db"

# Log filter (tracing EnvFilter syntax).       (IMAGEHUB_LOG, --log)
# log = "info"

# Largest accepted request body, in bytes.      (IMAGEHUB_BODY_LIMIT, --body-limit)
# body_limit = 1048576

# Fixed offset from UTC of the times the SCNet face shows (createTime).
#                                               (IMAGEHUB_SCNET_TIME_OFFSET, --scnet-time-offset)
# scnet_time_offset = "UTC"

# Lifetime, in seconds, of the tokens SCNet clients get with an access key.
#                                               (IMAGEHUB_SCNET_TOKEN_TTL, --scnet-token-ttl)
# scnet_token_ttl = 43200

# The master key that seals access-key secrets at rest: 64 hex digits. Every node on one
# database needs the same one. Without it, the key lives in master_key_file (created with
# mode 0600 on first use).                      (IMAGEHUB_MASTER_KEY)
# master_key = "…64 hex digits…"
# master_key_file = "./data/master.key"

# Admin token of the system project to create at start, instead of printing a
# generated one on first start. URL-safe characters only, 16 to 256 of them.
#                                               (IMAGEHUB_BOOTSTRAP_TOKEN)
# bootstrap_token = "change-me-to-a-long-random-value"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_and_every_key_is_known() {
        let uncommented: String = EXAMPLE
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let parsed: FileConfig = toml::from_str(&uncommented).unwrap();
        assert_eq!(parsed.bind.unwrap().to_string(), DEFAULT_BIND);
        assert_eq!(parsed.body_limit, Some(DEFAULT_BODY_LIMIT));
        assert!(format!("{parsed:?}").contains("[redacted]"));
    }

    #[test]
    fn flags_override_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("imagehub.toml");
        std::fs::write(&file, "bind = \"127.0.0.1:7000\"\nlog = \"debug\"\n").unwrap();
        let args = ServeArgs {
            bind: Some("127.0.0.1:8000".parse().unwrap()),
            store: StoreArgs { config: Some(file), ..StoreArgs::default() },
            ..ServeArgs::default()
        };
        let c = Config::load(&args).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(c.log, "debug");
        assert_eq!(c.database, "sqlite://./data/imagehub.db");
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("x.toml");
        std::fs::write(&file, "bnd = \"127.0.0.1:7000\"\n").unwrap();
        let args = StoreArgs { config: Some(file), ..StoreArgs::default() };
        assert!(Config::load_store(&args).is_err());
    }
}
