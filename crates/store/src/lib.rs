//! imagehub's persistence: implementations of [`imagehub_catalog::Store`] on SQLite
//! (embedded default) and PostgreSQL (several nodes on one database).
//!
//! The store is written once ([`SqlStore`]) over a [`Dialect`]; the catalog's query model
//! is rendered to SQL in one place ([`render`]) with sea-query.

mod dialect;
mod feed;
mod hashing;
mod index;
mod indexed;
mod migrations;
mod postgres;
pub mod render;
mod row;
mod sql;
mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::Path;
use std::sync::Arc;

use imagehub_catalog::{Error, Result, Store};

pub use dialect::Dialect;
pub use feed::{ChangeFeed, Changes};
pub use indexed::IndexedStore;
pub use postgres::PostgresStore;
pub use sql::{Explain, Explained, SqlStore};
pub use sqlite::SqliteStore;

/// The file a `sqlite://PATH` / `sqlite:PATH` URL names; `None` for other URLs.
pub fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))
}

/// Opens the store a database URL names: `postgres://…` / `postgresql://…`, or
/// `sqlite://PATH` / `sqlite:PATH` (created if missing).
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    match sqlite_path(url) {
        Some(path) => Ok(Arc::new(SqliteStore::open(Path::new(path)).await?)),
        None => Ok(Arc::new(PostgresStore::connect(url).await?)),
    }
}

/// The store a server runs on: [`open`] with the read index ([`IndexedStore`]) in front.
///
/// On PostgreSQL, shared by several nodes, the index follows the database's change feed
/// ([`feed`]). On SQLite the index follows this process's own writes, so one server owns
/// the file: it holds an exclusive lock on `<file>.serve-lock` while it runs, and a second
/// one is refused with a clear error.
pub async fn open_for_serving(url: &str) -> Result<Arc<dyn Store>> {
    let Some(path) = sqlite_path(url) else {
        let shared = Arc::new(PostgresStore::connect(url).await?);
        let store = Arc::new(IndexedStore::following(shared.clone(), shared).await?);
        store.spawn_follower();
        return Ok(store);
    };
    let lock_path = format!("{path}.serve-lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::Unavailable(format!("cannot open {lock_path}: {e}")))?;
    if lock.try_lock().is_err() {
        return Err(Error::Unavailable(format!(
            "another imagehub server is running on {path} (it holds {lock_path}); \
             run one server per SQLite file, or use PostgreSQL for several"
        )));
    }
    let store = open(url).await?;
    Ok(Arc::new(IndexedStore::build(store).await?.holding(lock)))
}
