//! Configuration, parsed once, in layers (each overriding the ones before it): the
//! defaults of [`Settings`] → `imagehub.toml` → `IMAGEHUB_*` environment variables →
//! `*_FILE` variables that name a file holding a secret → command-line flags. The layers
//! are merged with `figment`, so an error names where the bad value came from. A key is
//! declared once, as a field of [`Settings`] (its environment variable is derived from
//! its name); a flag, where there is one, is declared in [`ServeArgs`] / [`StoreArgs`].

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::{Deserialize, Serialize};

pub const DEFAULT_CONFIG_FILE: &str = "imagehub.toml";

/// A secret that never shows in `Debug` output or logs.
#[derive(Clone, Deserialize, Serialize)]
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

/// Every configuration key, with its default. `IMAGEHUB_<KEY>` sets a key from the
/// environment (`IMAGEHUB_DATABASE_URL` for `database`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on.
    pub bind: SocketAddr,
    /// Directory of the embedded database (and the master key file).
    pub data_dir: PathBuf,
    /// Database URL; `None`: the SQLite file `imagehub.db` in `data_dir`.
    pub database: Option<Secret>,
    /// Log filter (tracing `EnvFilter` syntax).
    pub log: String,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
    /// Fixed offset from UTC of the times the SCNet face shows.
    pub scnet_time_offset: String,
    /// Lifetime of the tokens SCNet clients get with an access key, in seconds.
    pub scnet_token_ttl: i64,
    /// Lifetime of the tokens a password login on the identity face (`/v3`) issues, in seconds.
    pub identity_token_ttl: i64,
    /// The region the identity face's service catalog names.
    pub region: String,
    /// Who may make an image public: `member` (and administrators) or `admin` only.
    pub publicize: String,
    /// Who may make an image community: `member` (and administrators) or `admin` only.
    pub communitize: String,
    /// Admin token of the system project to create at start.
    pub bootstrap_token: Option<Secret>,
    /// The master key that seals access-key secrets (64 hex digits).
    pub master_key: Option<Secret>,
    /// Where the master key is kept otherwise; default `<data_dir>/master.key`.
    pub master_key_file: Option<PathBuf>,
    /// The URL clients reach the service at, for absolute links; default: from `Host`.
    pub public_url: Option<String>,
    /// Seconds a request's headers may take to arrive (also how long an idle keep-alive
    /// connection stays open).
    pub header_timeout: u64,
    /// Seconds a request body may send nothing before it is cut off.
    pub body_timeout: u64,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Directory of the image data (the filesystem blob store); default `<data_dir>/images`.
    pub blob_dir: Option<PathBuf>,
    /// Object storage for the image data instead of `blob_dir`: `s3://BUCKET[/PREFIX]`.
    pub blob_url: Option<String>,
    /// Largest image an upload may store, in bytes.
    pub image_size_cap: u64,
    /// Whether an upload's first bytes must match its disk_format and name no other files.
    pub image_format_checks: bool,
    /// The most bytes one project's images may hold; `None`: no limit.
    pub project_storage_quota: Option<u64>,
    /// Hosts (`host` or `host:port`) the web-download import may fetch from; empty: off.
    pub web_download_hosts: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 9292)),
            data_dir: PathBuf::from("./data"),
            database: None,
            log: "info".into(),
            body_limit: 1024 * 1024,
            scnet_time_offset: "UTC".into(),
            scnet_token_ttl: 12 * 3600,
            identity_token_ttl: 3600,
            region: "RegionOne".into(),
            publicize: "member".into(),
            communitize: "member".into(),
            bootstrap_token: None,
            master_key: None,
            master_key_file: None,
            public_url: None,
            header_timeout: 30,
            body_timeout: 30,
            max_connections: 4096,
            blob_dir: None,
            blob_url: None,
            image_size_cap: imagehub_catalog::DEFAULT_IMAGE_SIZE_CAP,
            image_format_checks: true,
            project_storage_quota: None,
            web_download_hosts: Vec::new(),
        }
    }
}

/// Keys whose environment variable has another name than `IMAGEHUB_<KEY>`.
const ENV_NAMES: &[(&str, &str)] = &[("database_url", "database")];

/// Secrets that may also be read from a file: `IMAGEHUB_<NAME>_FILE=/path` (the file's
/// content, trimmed, is the value). The master key has `master_key_file` for that.
const SECRET_FILES: &[(&str, &str)] = &[("BOOTSTRAP_TOKEN", "bootstrap_token"), ("DATABASE_URL", "database")];

/// Text values whose variables are taken verbatim: the environment layer guesses types
/// from the text, and a master key or a token of digits only would become a number (a
/// key of 64 zeros, the number 0).
const VERBATIM: &[(&str, &str)] =
    &[("MASTER_KEY", "master_key"), ("BOOTSTRAP_TOKEN", "bootstrap_token"), ("DATABASE_URL", "database")];

/// The names of [`Settings`]' fields, as serde sees them (so the list cannot drift).
fn keys() -> &'static [&'static str] {
    struct Fields(&'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for &mut Fields {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("fields only"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(serde::de::Error::custom("fields only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 u8 u16 u32 u64 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    static KEYS: std::sync::OnceLock<&'static [&'static str]> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let mut fields = Fields(&[]);
        let _ = Settings::deserialize(&mut fields);
        fields.0
    })
}

/// The text values of [`VERBATIM`] as their variables hold them.
struct VerbatimEnv;

impl Provider for VerbatimEnv {
    fn metadata(&self) -> Metadata {
        Metadata::named("IMAGEHUB_ environment variable")
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        let mut dict = Dict::new();
        for (name, key) in VERBATIM {
            let var = format!("IMAGEHUB_{name}");
            if let Some(value) = std::env::var_os(&var) {
                let value = value.into_string().map_err(|_| figment::Error::from(format!("{var} is not UTF-8")))?;
                dict.insert((*key).into(), Value::from(value));
            }
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// The `*_FILE` layer: secrets read from the files the environment names.
struct SecretFiles;

impl Provider for SecretFiles {
    fn metadata(&self) -> Metadata {
        Metadata::named("IMAGEHUB_*_FILE secret file")
    }

    fn data(&self) -> figment::Result<Map<Profile, Dict>> {
        let mut dict = Dict::new();
        for (name, key) in SECRET_FILES {
            let var = format!("IMAGEHUB_{name}_FILE");
            let Some(path) = std::env::var_os(&var).filter(|p| !p.is_empty()) else { continue };
            let text = std::fs::read_to_string(&path)
                .map_err(|e| figment::Error::from(format!("{var}: cannot read {}: {e}", Path::new(&path).display())))?;
            dict.insert((*key).into(), Value::from(text.trim().to_owned()));
        }
        Ok(Profile::Default.collect(dict))
    }
}

/// Options shared by every command that opens the database.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct StoreArgs {
    /// Directory for the embedded SQLite database (and the master key file).
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: `sqlite://PATH` or `postgres://USER@HOST/DB`; default: SQLite file `imagehub.db` in the data directory.
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Configuration file (default: ./imagehub.toml if it exists).
    #[arg(long, env = "IMAGEHUB_CONFIG", value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
}

/// Flags of `serve` (each overrides the same key from the file and the environment).
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<SocketAddr>,
    /// Log filter (e.g. `info`, `imagehub=debug`).
    #[arg(long, value_name = "FILTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_limit: Option<usize>,
    /// Lifetime of SCNet access-key login tokens, in seconds.
    #[arg(long, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scnet_token_ttl: Option<i64>,
    /// Fixed offset from UTC of the times the SCNet face shows (`+08:00`, `UTC`).
    #[arg(long, value_name = "OFFSET")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scnet_time_offset: Option<String>,
    /// The URL clients reach the service at (behind a proxy), for `Location` headers and
    /// version links.
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
    #[command(flatten)]
    #[serde(flatten)]
    pub store: StoreArgs,
}

/// The resolved configuration (`Debug` leaves out the secrets and a URL's password).
#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub database: String,
    pub log: String,
    pub body_limit: usize,
    /// Offset from UTC, in seconds, of the SCNet face's times.
    pub scnet_utc_offset_secs: i32,
    /// Lifetime of SCNet login tokens, in seconds.
    pub scnet_token_ttl_secs: i64,
    pub identity_token_ttl_secs: i64,
    pub region: String,
    pub policy: imagehub_catalog::Policy,
    /// The master key (64 hex digits) that seals access-key secrets, if given directly.
    pub master_key: Option<Secret>,
    /// Where the master key is kept otherwise (created on first use).
    pub master_key_file: PathBuf,
    /// Admin token to create on start instead of generating one.
    pub bootstrap_token: Option<Secret>,
    /// The base URL of absolute links, checked, without a trailing `/`.
    pub public_url: Option<String>,
    /// The connection bounds.
    pub limits: imagehub_api::Limits,
    /// Where image data is kept (the filesystem blob store).
    pub blob_dir: PathBuf,
    /// Object storage for the image data instead (`s3://BUCKET[/PREFIX]`).
    pub blob_url: Option<String>,
    /// Largest image an upload may store, in bytes.
    pub image_size_cap: u64,
    /// Whether uploads are checked against their disk format.
    pub image_format_checks: bool,
    /// The most bytes one project's images may hold.
    pub project_storage_quota: Option<u64>,
    /// Hosts the web-download import may fetch from (none: the method is off).
    pub web_download_hosts: Vec<String>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("database", &without_password(&self.database))
            .field("log", &self.log)
            .field("body_limit", &self.body_limit)
            .field("scnet_utc_offset_secs", &self.scnet_utc_offset_secs)
            .field("scnet_token_ttl_secs", &self.scnet_token_ttl_secs)
            .field("identity_token_ttl_secs", &self.identity_token_ttl_secs)
            .field("region", &self.region)
            .field("policy", &self.policy)
            .field("master_key", &self.master_key)
            .field("master_key_file", &self.master_key_file)
            .field("bootstrap_token", &self.bootstrap_token)
            .field("public_url", &self.public_url)
            .field("limits", &self.limits)
            .field("blob_dir", &self.blob_dir)
            .field("blob_url", &self.blob_url)
            .field("image_size_cap", &self.image_size_cap)
            .field("image_format_checks", &self.image_format_checks)
            .field("project_storage_quota", &self.project_storage_quota)
            .field("web_download_hosts", &self.web_download_hosts)
            .finish()
    }
}

/// A database URL with its password, if it has one, replaced by `***`.
pub fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    match authority.rsplit_once('@').and_then(|(userinfo, _)| userinfo.split_once(':')) {
        Some((user, _)) => {
            let at = authority.rfind('@').unwrap_or(0);
            format!("{scheme}://{user}:***{}", &rest[at..])
        }
        None => url.to_owned(),
    }
}

/// The layers, merged (the file is required only when it was named).
fn figment(args: &ServeArgs) -> anyhow::Result<Figment> {
    let (file, required) = match &args.store.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    if required && !file.exists() {
        bail!("cannot read config file {}: it does not exist", file.display());
    }
    let env = Env::prefixed("IMAGEHUB_")
        .map(|k| {
            let k = k.as_str();
            ENV_NAMES.iter().find(|(env, _)| k.eq_ignore_ascii_case(env)).map_or(k, |(_, key)| key).to_owned().into()
        })
        // Keys arrive in the variables' case; they are lower-cased after.
        .filter(|k| {
            keys().iter().any(|key| k.as_str().eq_ignore_ascii_case(key))
                && !VERBATIM.iter().any(|(_, key)| k.as_str().eq_ignore_ascii_case(key))
        });
    Ok(Figment::from(Serialized::defaults(Settings::default()))
        .merge(Toml::file(file))
        .merge(env)
        .merge(VerbatimEnv)
        .merge(SecretFiles)
        .merge(Serialized::defaults(args)))
}

impl Config {
    /// Resolves the layers for `serve`.
    pub fn load(args: &ServeArgs) -> anyhow::Result<Self> {
        let s: Settings = figment(args)?.extract().map_err(|e| anyhow::anyhow!("configuration: {e}"))?;
        Self::from_settings(s)
    }

    /// Resolves only what the administrative commands need (the database).
    pub fn load_store(args: &StoreArgs) -> anyhow::Result<Self> {
        Self::load(&ServeArgs { store: args.clone(), ..ServeArgs::default() })
    }

    fn from_settings(s: Settings) -> anyhow::Result<Self> {
        if s.scnet_token_ttl < 1 {
            bail!("scnet_token_ttl must be at least 1 second");
        }
        if !(60..=30 * 86_400).contains(&s.identity_token_ttl) {
            bail!("identity_token_ttl must be 60 seconds to 30 days, not {}", s.identity_token_ttl);
        }
        if s.region.is_empty() || s.region.len() > 64 || s.region.chars().any(|c| c.is_control() || c == '"') {
            bail!("region must be 1 to 64 printable characters");
        }
        let rule = |key: &str, value: &str| {
            imagehub_catalog::PolicyRule::parse(value)
                .with_context(|| format!("{key} must be \"admin\" or \"member\", not {value:?}"))
        };
        let policy = imagehub_catalog::Policy {
            publicize: rule("publicize", &s.publicize)?,
            communitize: rule("communitize", &s.communitize)?,
        };
        if s.body_limit < 1024 {
            bail!("body_limit must be at least 1024 bytes");
        }
        let Some(scnet_utc_offset_secs) = imagehub_api::time::parse_offset(&s.scnet_time_offset) else {
            bail!("scnet_time_offset {:?} is not a fixed offset such as +08:00, -05:30 or UTC", s.scnet_time_offset);
        };
        for (key, secs) in [("header_timeout", s.header_timeout), ("body_timeout", s.body_timeout)] {
            if !(1..=3600).contains(&secs) {
                bail!("{key} must be 1 to 3600 seconds, not {secs}");
            }
        }
        if s.image_size_cap < 1 {
            bail!("image_size_cap must be at least 1 byte");
        }
        if s.max_connections < 1 {
            bail!("max_connections must be at least 1");
        }
        let public_url =
            s.public_url.as_deref().map(imagehub_api::parse_public_url).transpose().map_err(anyhow::Error::msg)?;
        let limits = imagehub_api::Limits {
            header_timeout: std::time::Duration::from_secs(s.header_timeout),
            body_timeout: std::time::Duration::from_secs(s.body_timeout),
            max_connections: s.max_connections,
            ..imagehub_api::Limits::default()
        };
        let database = match s.database {
            Some(url) => url.expose().to_owned(),
            None => format!("sqlite://{}", s.data_dir.join("imagehub.db").display()),
        };
        Ok(Self {
            bind: s.bind,
            database,
            log: s.log,
            body_limit: s.body_limit,
            scnet_utc_offset_secs,
            scnet_token_ttl_secs: s.scnet_token_ttl,
            identity_token_ttl_secs: s.identity_token_ttl,
            region: s.region,
            policy,
            master_key: s.master_key,
            master_key_file: s.master_key_file.unwrap_or_else(|| s.data_dir.join("master.key")),
            bootstrap_token: s.bootstrap_token,
            public_url,
            limits,
            blob_dir: s.blob_dir.unwrap_or_else(|| s.data_dir.join("images")),
            blob_url: s.blob_url,
            image_size_cap: s.image_size_cap,
            image_format_checks: s.image_format_checks,
            project_storage_quota: s.project_storage_quota,
            web_download_hosts: s.web_download_hosts,
        })
    }
}

/// `imagehub config example`: every key, commented, with its default.
pub const EXAMPLE: &str = r#"# imagehub.toml — every key is optional; shown with its default.
# Precedence: this file < IMAGEHUB_* environment variables < IMAGEHUB_*_FILE secret files
# < command-line flags.

# Address to listen on.                         (IMAGEHUB_BIND, --bind)
# bind = "127.0.0.1:9292"

# Where the embedded database lives.            (IMAGEHUB_DATA_DIR, --data-dir)
# data_dir = "./data"

# Database URL; default: SQLite file imagehub.db in data_dir.
#                          (IMAGEHUB_DATABASE_URL or IMAGEHUB_DATABASE_URL_FILE, --database)
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

# Lifetime, in seconds, of the tokens a password login on the identity face (/v3)
# issues (60 to 2592000).                       (IMAGEHUB_IDENTITY_TOKEN_TTL)
# identity_token_ttl = 3600

# The region the identity face's service catalog names (clients match it against
# OS_REGION_NAME / region_name).                (IMAGEHUB_REGION)
# region = "RegionOne"

# Who may make an image public (Glance's publicize_image policy; ModelArts PUBLIC),
# on every face: "member" (members and administrators) or "admin" (administrators only).
#                                               (IMAGEHUB_PUBLICIZE)
# publicize = "member"

# Who may make an image community (Glance's communitize_image policy), likewise.
#                                               (IMAGEHUB_COMMUNITIZE)
# communitize = "member"

# The master key that seals access-key secrets at rest: 64 hex digits. Every node on one
# database needs the same one. Without it, the key lives in master_key_file (created with
# mode 0600 on first use).         (IMAGEHUB_MASTER_KEY; IMAGEHUB_MASTER_KEY_FILE)
# master_key = "…64 hex digits…"
# master_key_file = "./data/master.key"

# Admin token of the system project to create at start, instead of printing a
# generated one on first start. URL-safe characters only, 16 to 256 of them.
#                                 (IMAGEHUB_BOOTSTRAP_TOKEN or IMAGEHUB_BOOTSTRAP_TOKEN_FILE)
# bootstrap_token = "change-me-to-a-long-random-value"

# The URL clients reach the service at, when that is not the Host header they send
# (behind a reverse proxy or a shared cache): used for Location headers and the version
# document's links.                             (IMAGEHUB_PUBLIC_URL, --public-url)
# public_url = "https://images.example.com"

# Seconds a request's headers may take to arrive, counted from when the connection opened
# or the previous response went out: so also how long an idle keep-alive connection
# stays open.                                   (IMAGEHUB_HEADER_TIMEOUT)
# header_timeout = 30

# Seconds a request body may send nothing before it is cut off. (IMAGEHUB_BODY_TIMEOUT)
# body_timeout = 30

# Directory of the image data that Glance uploads store (one file per image). Several
# nodes on one PostgreSQL database must share it.   (IMAGEHUB_BLOB_DIR)
# blob_dir = "./data/images"

# Object storage for the image data instead of blob_dir: an S3-compatible bucket, with an
# optional prefix. Endpoint, region and credentials come from the standard AWS_*
# variables (AWS_ENDPOINT, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
# AWS_ALLOW_HTTP for a plain-http endpoint).        (IMAGEHUB_BLOB_URL)
# blob_url = "s3://imagehub-images/prod"

# Largest image an upload may store, in bytes (1 TiB).  (IMAGEHUB_IMAGE_SIZE_CAP)
# image_size_cap = 1099511627776

# Whether an upload's first bytes must be in its disk_format (qcow2, vmdk, vhd, vhdx, iso,
# raw) and name no other files (a qcow2 backing or data file, a vmdk descriptor's
# extents); refused uploads answer 415.          (IMAGEHUB_IMAGE_FORMAT_CHECKS)
# image_format_checks = true

# The most bytes one project's images may hold (data and staged bytes); an upload past it
# answers 413. Default: no limit.                  (IMAGEHUB_PROJECT_STORAGE_QUOTA)
# project_storage_quota = 1099511627776

# Hosts the web-download import may fetch images from ("host" or "host:port"); empty:
# the method is off. A host named by name must resolve to public addresses (never
# loopback, link-local or metadata ones); an address listed as such is allowed as it is.
# Redirects are followed to listed hosts only. (IMAGEHUB_WEB_DOWNLOAD_HOSTS)
# web_download_hosts = ["images.example.com", "mirror.example.org:8443"]

# Connections served at once; further ones wait in the listen backlog, and the log says
# so. Keep it below the open-file limit.        (IMAGEHUB_MAX_CONNECTIONS)
# max_connections = 4096
"#;

#[cfg(test)]
// figment's Jail closures return its (large) error type.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    /// Every key of the example file is a key, with the default shown.
    #[test]
    fn example_parses_and_every_key_is_known() {
        let uncommented: String = EXAMPLE
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let parsed: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::string(&uncommented))
            .extract()
            .unwrap();
        assert_eq!(parsed.bind, Settings::default().bind);
        assert_eq!(parsed.body_limit, Settings::default().body_limit);
        assert!(format!("{parsed:?}").contains("[redacted]"));
        for key in keys() {
            assert!(uncommented.contains(&format!("{key} = ")), "the example lacks {key}");
        }
    }

    #[test]
    fn layers_override_in_order_and_name_their_source() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("imagehub.toml", "bind = \"127.0.0.1:7000\"\nlog = \"debug\"\nbody_limit = 4096\n")?;
            jail.set_env("IMAGEHUB_LOG", "warn");
            jail.set_env("IMAGEHUB_DATABASE_URL", "postgres://u@h/db");
            jail.create_file("token", "chosen-token-0123456789\n")?;
            jail.set_env("IMAGEHUB_BOOTSTRAP_TOKEN_FILE", "token");
            // Variables of other programs (the tests', the client's) are not keys.
            jail.set_env("IMAGEHUB_TEST_POSTGRES", "postgres://elsewhere");
            let args = ServeArgs { bind: Some("127.0.0.1:8000".parse().unwrap()), ..ServeArgs::default() };
            let c = Config::load(&args).unwrap();
            assert_eq!(c.bind.to_string(), "127.0.0.1:8000", "a flag beats the file");
            assert_eq!(c.log, "warn", "the environment beats the file");
            assert_eq!(c.body_limit, 4096, "the file beats the default");
            assert_eq!(c.database, "postgres://u@h/db");
            assert_eq!(c.bootstrap_token.as_ref().map(Secret::expose), Some("chosen-token-0123456789"));
            // Text of digits stays text, leading zeros and all.
            let zeros = "0".repeat(64);
            jail.set_env("IMAGEHUB_MASTER_KEY", &zeros);
            jail.set_env("IMAGEHUB_BOOTSTRAP_TOKEN_FILE", "");
            jail.set_env("IMAGEHUB_BOOTSTRAP_TOKEN", "0123456789012345678901");
            let c = Config::load(&args).unwrap();
            assert_eq!(c.master_key.as_ref().map(Secret::expose), Some(zeros.as_str()));
            assert_eq!(c.bootstrap_token.as_ref().map(Secret::expose), Some("0123456789012345678901"));
            jail.set_env("IMAGEHUB_BODY_LIMIT", "lots");
            let e = Config::load(&args).unwrap_err().to_string();
            assert!(e.contains("IMAGEHUB_") && e.to_lowercase().contains("body_limit"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        assert_eq!(without_password("postgres://u:secret@h:5432/db?x=1"), "postgres://u:***@h:5432/db?x=1");
        assert_eq!(without_password("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(without_password("sqlite://./data/imagehub.db"), "sqlite://./data/imagehub.db");
    }

    #[test]
    fn defaults_fill_what_no_layer_gives() {
        figment::Jail::expect_with(|_| {
            let c = Config::load(&ServeArgs::default()).unwrap();
            assert_eq!(c.bind.to_string(), "127.0.0.1:9292");
            assert_eq!(c.database, "sqlite://./data/imagehub.db");
            assert_eq!(c.master_key_file, PathBuf::from("./data/master.key"));
            Ok(())
        });
    }

    #[test]
    fn unknown_file_keys_are_errors_that_name_the_file() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("x.toml", "bnd = \"127.0.0.1:7000\"\n")?;
            let args = StoreArgs { config: Some("x.toml".into()), ..StoreArgs::default() };
            let e = Config::load_store(&args).unwrap_err().to_string();
            assert!(e.contains("bnd") && e.contains("x.toml"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn identity_and_policy_settings_are_checked() {
        figment::Jail::expect_with(|jail| {
            let c = Config::load(&ServeArgs::default()).unwrap();
            assert_eq!((c.identity_token_ttl_secs, c.region.as_str()), (3600, "RegionOne"));
            assert_eq!(c.policy, imagehub_catalog::Policy::default());
            jail.set_env("IMAGEHUB_PUBLICIZE", "admin");
            jail.set_env("IMAGEHUB_IDENTITY_TOKEN_TTL", "600");
            let c = Config::load(&ServeArgs::default()).unwrap();
            assert_eq!(c.policy.publicize, imagehub_catalog::PolicyRule::Admin);
            assert_eq!(c.policy.communitize, imagehub_catalog::PolicyRule::Member);
            assert_eq!(c.identity_token_ttl_secs, 600);
            jail.set_env("IMAGEHUB_COMMUNITIZE", "owner");
            let e = Config::load(&ServeArgs::default()).unwrap_err().to_string();
            assert!(e.contains("communitize") && e.contains("\"admin\" or \"member\""), "{e}");
            jail.set_env("IMAGEHUB_COMMUNITIZE", "member");
            jail.set_env("IMAGEHUB_IDENTITY_TOKEN_TTL", "5");
            let e = Config::load(&ServeArgs::default()).unwrap_err().to_string();
            assert!(e.contains("identity_token_ttl"), "{e}");
            Ok(())
        });
    }
}
