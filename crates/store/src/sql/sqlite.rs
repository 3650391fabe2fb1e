//! The embedded backend: one SQLite file in WAL mode.
//!
//! Writes go through a pool of exactly one connection, so concurrent writers queue inside
//! the process instead of failing with `database is locked` (SQLite admits one writer at a
//! time anyway; queueing in the pool is fairer than retry loops and never surfaces a lock
//! error). `busy_timeout` covers other processes on the same file (e.g. `imagehub token
//! create` while the server runs). `synchronous=FULL` makes every acknowledged commit
//! durable before the 2xx is sent; concurrent single-image writes share a commit (the
//! store's writer, [`super::writer`]). Reads use a pool of read-only connections.

use std::path::Path;
use std::time::Duration;

use imagehub_catalog::{Error, Result};
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::SqlStore;

pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
    /// Opens (creating if needed) the database file and applies pending migrations.
    ///
    /// A file that exists but is empty, or is not an SQLite database, is refused with its
    /// path (it is never taken for a new catalog); so is one that cannot be written.
    pub async fn open(path: &Path) -> Result<Self> {
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0) {
            return Err(Error::Unavailable(format!(
                "{} is an empty file, not an imagehub database (a new catalog is never made over an \
                 existing file): restore it from a backup, or remove it to start a new catalog",
                path.display()
            )));
        }
        Self::open_file(path).await.map_err(|e| match e {
            Error::Unavailable(m) | Error::Internal(m) => Error::Unavailable(explain_open_failure(path, &m)),
            other => other,
        })
    }

    async fn open_file(path: &Path) -> Result<Self> {
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

/// What an open failure means for the operator, with the file's path.
fn explain_open_failure(path: &Path, message: &str) -> String {
    let p = path.display();
    if message.contains("file is not a database") || message.contains("malformed") {
        format!("{p} is not an SQLite database, or it is corrupt ({message}): restore it from a backup")
    } else if message.contains("readonly") || message.contains("read-only") || message.contains("unable to open") {
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        format!(
            "cannot write {p} ({message}): the file and its directory {} must be writable (SQLite keeps \
             its -wal and -shm files beside the database)",
            dir.display()
        )
    } else if message.contains(&p.to_string()) {
        message.to_owned()
    } else {
        format!("{p}: {message}")
    }
}
