//! imagehub's persistence: implementations of [`imagehub_catalog::Store`] on SQLite
//! (embedded default) and PostgreSQL (several nodes on one database).
//!
//! The store is written once ([`SqlStore`]) over a [`Dialect`]; the catalog's query model
//! is rendered to SQL in one place ([`render`]) with sea-query.

mod dialect;
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
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(url).await?));
    }
    let Some(path) = sqlite_path(url) else {
        return Err(Error::invalid(format!(
            "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
        )));
    };
    Ok(Arc::new(SqliteStore::open(Path::new(path)).await?))
}

/// The store a server runs on: [`open`], with the read index ([`IndexedStore`]) in front
/// of SQLite, whose file one server process owns. PostgreSQL is shared by several nodes
/// and is queried directly.
///
/// A second server on the same SQLite file would not see the first one's writes in its
/// index, so a server holds an exclusive lock on `<file>.serve-lock` while it runs; a
/// second one is refused with a clear error.
pub async fn open_for_serving(url: &str) -> Result<Arc<dyn Store>> {
    let Some(path) = sqlite_path(url) else {
        return open(url).await;
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
