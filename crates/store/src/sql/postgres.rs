//! The multi-node backend: PostgreSQL. Any number of imagehub processes may share one
//! database; each keeps its read index current through the change feed ([`crate::feed`]),
//! so a write through one node is visible to the next read through any other.

use std::str::FromStr;
use std::time::Duration;

use imagehub_catalog::{Error, Result};
use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::SqlStore;

pub type PostgresStore = SqlStore<Postgres>;

/// Connections per process. Two cores and a handful of processes per database: enough to
/// keep PostgreSQL busy without queueing, well under its default `max_connections`.
const POOL_SIZE: u32 = 10;

impl SqlStore<Postgres> {
    /// Connects to `postgres://…` and applies pending migrations (serialised across nodes
    /// by an advisory lock); another kind of URL is refused clearly.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = options(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            // A ping before every query doubled the round trips of each one (the read
            // index's freshness check most of all); a connection that broke fails its
            // query instead, which is answered 503 and dropped from the pool.
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        let store = Self::from_pools(pool.clone(), pool);
        store.migrate().await?;
        store.optimize().await?;
        Ok(store)
    }

    /// Whether the database has imagehub's tables (without creating them).
    pub async fn has_catalog(url: &str) -> Result<bool> {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect_with(&options(url)?)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot connect to PostgreSQL: {e}")))?;
        let found: bool = sqlx::query_scalar("SELECT to_regclass('images') IS NOT NULL")
            .fetch_one(&mut c)
            .await
            .map_err(|e| Error::Unavailable(format!("cannot read the PostgreSQL catalog: {e}")))?;
        let _ = c.close().await;
        Ok(found)
    }
}

fn options(url: &str) -> Result<PgConnectOptions> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err(Error::invalid(format!(
            "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
        )));
    }
    Ok(PgConnectOptions::from_str(url)
        .map_err(|e| Error::invalid(format!("bad PostgreSQL URL: {e}")))?
        .application_name("imagehub"))
}
