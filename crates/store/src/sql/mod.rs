//! The SQL store, written once for every backend ([`Dialect`]): it implements the
//! catalog's three ports, [`imagehub_catalog::ImageStore`] (`images`),
//! [`imagehub_catalog::CredentialStore`] and [`imagehub_catalog::SettingStore`]
//! (`credentials`). Every statement is built with sea-query; the query model becomes SQL
//! in one place, [`render`]. On PostgreSQL every write also records what it touched in the
//! change feed (`feed`), which the read indexes of all nodes follow.

mod credentials;
pub mod dialect;
mod explain;
mod feed;
mod identity;
mod images;
mod migrate;
pub mod postgres;
mod render;
mod row;
pub mod sqlite;
mod writer;

use std::sync::Arc;

use imagehub_catalog::{Error, ImageId, Result};
use sea_query::{Query, SelectStatement};
use sea_query_sqlx::SqlxBinder;
use sqlx::{Pool, Transaction};

use self::dialect::{Columns, DbResult, Dialect};
pub use self::explain::{Explain, Explained};
pub use self::writer::WriteStats;

/// A catalog store on a SQL database: a pool for writes and one for reads (the same pool
/// where the backend has no reason to split them). Single-image writes go through one
/// writer task per store, which commits concurrent writes together ([`writer`]).
pub struct SqlStore<DB: Dialect> {
    pub(crate) writer: Pool<DB>,
    pub(crate) readers: Pool<DB>,
    writes: Arc<writer::Writer<DB>>,
}

impl<DB: Dialect> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self { writer: self.writer.clone(), readers: self.readers.clone(), writes: self.writes.clone() }
    }
}

/// `items` cut to `limit`, and whether there were more.
fn split_page<T>(mut items: Vec<T>, limit: u64) -> (Vec<T>, bool) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = items.len() > limit;
    items.truncate(limit);
    (items, more)
}

fn corrupt(what: &str, value: &str) -> Error {
    Error::Internal(format!("stored {what} is unreadable: {value:?}"))
}

impl<DB: Dialect> SqlStore<DB> {
    pub(crate) fn from_pools(writer: Pool<DB>, readers: Pool<DB>) -> Self {
        Self { writer, readers, writes: writer::Writer::new() }
    }

    /// Runs a statement on a connection; returns the rows it changed.
    async fn exec<S: SqlxBinder>(conn: &mut DB::Connection, stmt: &S) -> Result<u64> {
        DB::execute(conn, stmt).await
    }

    async fn rows<S: SqlxBinder>(conn: &mut DB::Connection, stmt: &S) -> Result<Vec<DB::Row>> {
        DB::fetch(conn, stmt).await
    }

    /// The first column of a one-row aggregate (`COUNT`).
    async fn count<S: SqlxBinder>(conn: &mut DB::Connection, stmt: &S) -> Result<u64> {
        let rows = Self::rows(conn, stmt).await?;
        let n = rows.first().map(|r| r.int_at(0)).transpose()?.unwrap_or(0);
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// `SELECT <every record column> FROM images`.
    fn select_images() -> SelectStatement {
        Query::select().columns(render::IMAGE_COLUMNS.iter().copied()).from(render::IMAGES).to_owned()
    }

    /// The rows `query` selects for `ids`, asked 500 ids at a time (`query` gets a chunk's
    /// ids as text), each parsed with `parse`.
    async fn rows_for_ids<T>(
        &self,
        ids: &[ImageId],
        query: impl Fn(Vec<String>) -> SelectStatement,
        parse: impl Fn(&DB::Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let mut conn = self.readers.acquire().await.db()?;
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let rows = Self::rows(&mut conn, &query(chunk.iter().map(ToString::to_string).collect())).await?;
            for r in &rows {
                out.push(parse(r)?);
            }
        }
        Ok(out)
    }

    async fn write_tx(&self) -> Result<Transaction<'static, DB>> {
        self.writer.begin().await.db()
    }

    /// A read-only transaction that sees one snapshot (page and count agree).
    async fn read_tx(&self) -> Result<Transaction<'static, DB>> {
        let mut tx = self.readers.begin().await.db()?;
        if let Some(stmt) = DB::SNAPSHOT {
            DB::execute_sql(&mut tx, stmt).await?;
        }
        Ok(tx)
    }

    /// Applies pending migrations; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>> {
        DB::migrate(&self.writer).await
    }

    /// Refreshes the planner's statistics ([`Dialect::OPTIMIZE`]).
    pub async fn optimize(&self) -> Result<()> {
        let mut conn = self.writer.acquire().await.db()?;
        DB::execute_sql(&mut conn, DB::OPTIMIZE).await?;
        Ok(())
    }
}
