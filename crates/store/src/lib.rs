//! imagehub's persistence: implementations of [`imagehub_catalog::Store`] on SQLite
//! (embedded default) and PostgreSQL (several nodes on one database).
//!
//! The store is written once ([`SqlStore`]) over a [`Dialect`]; the catalog's query model
//! is rendered to SQL in one place ([`render`]) with sea-query.

mod dialect;
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
pub use postgres::PostgresStore;
pub use sql::{Explain, Explained, SqlStore};
pub use sqlite::SqliteStore;

/// Opens the store a database URL names: `postgres://…` / `postgresql://…`, or
/// `sqlite://PATH` / `sqlite:PATH` (created if missing).
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(url).await?));
    }
    let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) else {
        return Err(Error::invalid(format!(
            "unsupported database URL {url:?}: use sqlite://PATH or postgres://USER@HOST/DB"
        )));
    };
    Ok(Arc::new(SqliteStore::open(Path::new(path)).await?))
}
