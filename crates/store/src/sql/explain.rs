//! Query plans of the list shapes, for tests and the benchmark (`EXPLAIN QUERY PLAN` on
//! SQLite, `EXPLAIN` on PostgreSQL): every list, count and group query must be index-backed.

use async_trait::async_trait;
use imagehub_catalog::{AccessScope, GroupQuery, Image, ImageQuery, Result};
use sea_query_sqlx::SqlxBinder;

use super::dialect::{Columns, DbResult, Dialect};
use super::{SqlStore, render};

/// Which query [`Explain::explain`] shows.
pub enum Explained<'a> {
    List(&'a AccessScope, &'a ImageQuery),
    /// A list's page after a marker record (keyset paging).
    ListAfter(&'a AccessScope, &'a ImageQuery, &'a Image),
    Count(&'a AccessScope, &'a ImageQuery),
    Groups(&'a AccessScope, &'a GroupQuery),
}

/// Query plans, for tests and the benchmark.
#[async_trait]
pub trait Explain: Send + Sync {
    /// The plan lines (`EXPLAIN QUERY PLAN` details on SQLite, `EXPLAIN` lines on
    /// PostgreSQL) of a list's page query, its count query, or a group list's page and
    /// count queries.
    async fn explain(&self, shape: Explained<'_>) -> Result<Vec<String>>;
}

impl<DB: Dialect> SqlStore<DB> {
    async fn explain_rows<S: SqlxBinder>(&self, stmt: &S) -> Result<Vec<String>> {
        let (sql, values) = DB::build(stmt);
        let mut tx = self.readers.begin().await.db()?;
        if let Some(setup) = DB::EXPLAIN_SETUP {
            DB::execute_sql(&mut tx, setup).await?;
        }
        let rows = DB::fetch_with(&mut tx, format!("{} {sql}", DB::EXPLAIN), values).await?;
        tx.rollback().await.db()?;
        rows.iter().map(Columns::last_text).collect()
    }
}

#[async_trait]
impl<DB: Dialect> Explain for SqlStore<DB> {
    async fn explain(&self, shape: Explained<'_>) -> Result<Vec<String>> {
        match shape {
            Explained::List(access, q) => self.explain_rows(&render::list_images(access, q, None)).await,
            Explained::ListAfter(access, q, marker) => {
                self.explain_rows(&render::list_images(access, q, Some(marker))).await
            }
            Explained::Count(access, q) => self.explain_rows(&render::count_images(access, &q.filters)).await,
            Explained::Groups(access, q) => {
                let mut plan = self.explain_rows(&render::list_groups(access, q)).await?;
                plan.extend(self.explain_rows(&render::count_groups(access, &q.filters)).await?);
                Ok(plan)
            }
        }
    }
}
