//! imagehub's persistence: the catalog's ports ([`Stores`]) on SQLite (embedded default)
//! and PostgreSQL (several nodes on one database), in two subsystems:
//!
//! - `sql`: the SQL store ([`SqlStore`]), written once over a [`Dialect`]; the catalog's
//!   query model becomes SQL in one place (`sql/render.rs`), with sea-query; migrations;
//!   the SQL side of the change feed;
//! - `read_index`: [`IndexedStore`], which answers lists, counts and groups from memory
//!   and follows the writes (its own, or the change feed of [`feed`]).

mod feed;
mod hashing;
mod read_index;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;

use std::path::Path;
use std::sync::Arc;

use imagehub_catalog::{Error, Result, Stores};

pub use feed::{ChangeFeed, Changes};
pub use read_index::IndexedStore;
pub use sql::dialect::Dialect;
pub use sql::postgres::PostgresStore;
pub use sql::sqlite::SqliteStore;
pub use sql::{Explain, Explained, SqlStore, WriteStats};

/// The file a `sqlite://PATH` / `sqlite:PATH` URL names; `None` for other URLs.
pub fn sqlite_path(url: &str) -> Option<&str> {
    url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))
}

/// Whether the database a URL names holds an imagehub catalog already: for SQLite, the
/// file exists; for PostgreSQL, the database has imagehub's tables. Administrative
/// commands refuse to make a catalog where none was asked for.
pub async fn catalog_exists(url: &str) -> Result<bool> {
    match sqlite_path(url) {
        Some(path) => Ok(Path::new(path).exists()),
        None => PostgresStore::has_catalog(url).await,
    }
}

/// Opens the stores a database URL names: `postgres://…` / `postgresql://…`, or
/// `sqlite://PATH` / `sqlite:PATH` (created if missing).
pub async fn open(url: &str) -> Result<Stores> {
    match sqlite_path(url) {
        Some(path) => Ok(Stores::all_in(Arc::new(SqliteStore::open(Path::new(path)).await?))),
        None => Ok(Stores::all_in(Arc::new(PostgresStore::connect(url).await?))),
    }
}

/// The stores a server runs on: [`open`]'s, with the read index ([`IndexedStore`]) in
/// front of the images.
///
/// On PostgreSQL, shared by several nodes, the index follows the database's change feed
/// ([`feed`]). On SQLite the index follows this process's own writes, so one server owns
/// the file: it holds an exclusive lock on `<file>.serve-lock` while it runs, and a second
/// one is refused with a clear error.
pub async fn open_for_serving(url: &str) -> Result<Stores> {
    let Some(path) = sqlite_path(url) else {
        let shared = Arc::new(PostgresStore::connect(url).await?);
        let indexed = Arc::new(IndexedStore::following(shared.clone(), shared.clone()).await?);
        indexed.spawn_follower();
        return Ok(Stores { images: indexed, ..Stores::all_in(shared) });
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
    let store = Arc::new(SqliteStore::open(Path::new(path)).await?);
    let indexed = IndexedStore::build(store.clone()).await?.holding(lock);
    Ok(Stores { images: Arc::new(indexed), ..Stores::all_in(store) })
}
