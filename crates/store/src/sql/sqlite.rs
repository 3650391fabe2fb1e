//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go through a pool of exactly one connection, so concurrent writers queue inside
//! the process instead of failing with `database is locked` (SQLite admits one writer at a
//! time anyway; queueing in the pool is fairer than retry loops and never surfaces a lock
//! error). `busy_timeout` covers other processes on the same file (e.g. `imagehub token
//! create` while the server runs). `synchronous=FULL` makes every acknowledged commit
//! durable before the 2xx is sent. Reads use a pool of read-only connections.

use std::path::Path;
use std::time::Duration;

use imagehub_catalog::{Error, Result};
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::SqlStore;

pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        // The writer keeps 64 MiB of pages (SQLite's default is 2 MiB): inserts land all
        // over the images table's indexes, and a bulk load of a million images spent
        // most of its time re-reading index pages.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(base.clone().create_if_missing(true).pragma("cache_size", "-65536"))
            .await
            .map_err(|e| Error::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        let readers = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(base.read_only(true));
        let store = Self::from_pools(writer, readers);
        store.migrate().await?;
        store.optimize().await?;
        Ok(store)
    }
}
