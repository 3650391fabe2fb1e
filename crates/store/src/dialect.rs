//! What differs between the SQL backends: the query builder, how sea-query's values are
//! bound, how database errors map to catalog errors, and session details. Everything else
//! is shared in [`crate::sql::SqlStore`].

use imagehub_catalog::{Error, Result};
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder, Value, Values};
use sqlx::{Arguments, Database, Postgres, Sqlite};

use crate::migrations::{self, Migration};

pub trait Dialect: Database {
    /// Name used in messages ("sqlite", "postgres").
    const NAME: &'static str;
    /// This backend's schema migrations.
    const MIGRATIONS: &'static [Migration];
    /// Statement that makes a read transaction see one snapshot, where `BEGIN` alone does not.
    const SNAPSHOT: Option<&'static str>;
    /// Statements run around migrations so that concurrent starts do not race.
    const MIGRATION_LOCK: Option<(&'static str, &'static str)>;
    /// Refreshes the planner's statistics (run at open and after bulk loads): without them
    /// a planner cannot tell that `kind = 'dedicated'` matches most rows while a project's
    /// own images are few, and walks the wrong index.
    const OPTIMIZE: &'static str;
    /// Lists the secondary indexes of the tables a bulk load writes (`images`,
    /// `image_tags`, `image_properties`) as (name, statement that creates it): those a
    /// load into a small catalog drops and builds again after the rows. Indexes that
    /// back a primary key are not among them.
    const SECONDARY_INDEXES: &'static str;
    /// The statement prefix that shows a query's plan.
    const EXPLAIN: &'static str;
    /// Run (in the explaining transaction) before `EXPLAIN`.
    const EXPLAIN_SETUP: Option<&'static str>;
    /// Whether writes are recorded in the change feed ([`crate::feed`]): where several
    /// nodes share the database and each keeps a read index.
    const CHANGE_FEED: bool;

    /// SQL text and values of a statement, in this backend's syntax.
    fn build<S: QueryStatementWriter>(stmt: &S) -> (String, Values);

    /// sea-query values as this backend's bind arguments.
    fn arguments<'q>(values: Values) -> Result<<Self as Database>::Arguments<'q>>;

    /// Maps a database error to the catalog's error.
    fn map_error(e: sqlx::Error) -> Error;

    /// Rows a statement changed.
    fn rows_affected(r: &<Self as Database>::QueryResult) -> u64;

    /// Writes `rows` (values in `columns` order) into `table` the fastest way the backend
    /// has: `COPY … FROM STDIN` on PostgreSQL, multi-row `INSERT`s elsewhere.
    fn bulk_insert<'c>(
        conn: &'c mut <Self as Database>::Connection,
        table: &'static str,
        columns: Vec<&'static str>,
        rows: Vec<Vec<Value>>,
    ) -> BoxFuture<'c, Result<()>>;
}

type BoxFuture<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'c>>;

/// Bind parameters one statement may carry on every backend (SQLite's default limit).
const MAX_PARAMETERS: usize = 32_766;

fn bind_all<'q, DB: Database>(values: Values) -> Result<DB::Arguments<'q>>
where
    Option<bool>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i64>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<i32>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    Option<String>: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
{
    let mut a = DB::Arguments::<'q>::default();
    for v in values.0 {
        let r = match v {
            Value::Bool(b) => a.add(b),
            Value::BigInt(i) => a.add(i),
            Value::Int(i) => a.add(i),
            Value::BigUnsigned(u) => a.add(u.map(|u| i64::try_from(u).unwrap_or(i64::MAX))),
            Value::String(s) => a.add(s),
            other => return Err(Error::Internal(format!("unsupported SQL value {other:?}"))),
        };
        r.map_err(|e| Error::Internal(format!("bind: {e}")))?;
    }
    Ok(a)
}

/// Errors every backend reports the same way.
fn common_error(e: sqlx::Error, name: &str) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Error::Duplicate(d.message().to_owned()),
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => Error::Unavailable(e.to_string()),
        _ => Error::Internal(format!("{name}: {e}")),
    }
}

impl Dialect for Sqlite {
    const NAME: &'static str = "sqlite";
    const MIGRATIONS: &'static [Migration] = migrations::SQLITE;
    // A deferred SQLite transaction reads one snapshot from its first read on.
    const SNAPSHOT: Option<&'static str> = None;
    // Migrations run on the single writer connection; other processes wait on busy_timeout.
    const MIGRATION_LOCK: Option<(&'static str, &'static str)> = None;
    // 0x10002: analyze every table whose statistics are missing or stale.
    const OPTIMIZE: &'static str = "PRAGMA optimize=0x10002";
    // Indexes SQLite makes for a primary key have no SQL.
    const SECONDARY_INDEXES: &'static str = "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
        AND sql IS NOT NULL AND tbl_name IN ('images', 'image_tags', 'image_properties') ORDER BY name";
    const EXPLAIN: &'static str = "EXPLAIN QUERY PLAN";
    const EXPLAIN_SETUP: Option<&'static str> = None;
    // One server owns a SQLite file (see `open_for_serving`): it needs no feed.
    const CHANGE_FEED: bool = false;

    fn build<S: QueryStatementWriter>(stmt: &S) -> (String, Values) {
        stmt.build(SqliteQueryBuilder)
    }

    fn arguments<'q>(values: Values) -> Result<<Self as Database>::Arguments<'q>> {
        bind_all::<Sqlite>(values)
    }

    fn rows_affected(r: &<Self as Database>::QueryResult) -> u64 {
        r.rows_affected()
    }

    fn bulk_insert<'c>(
        conn: &'c mut <Self as Database>::Connection,
        table: &'static str,
        columns: Vec<&'static str>,
        rows: Vec<Vec<Value>>,
    ) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            // The statement is written here, not built with sea_query: the values move
            // into the arguments uncopied, and every full chunk has the same text (one
            // prepared statement). Building it was the loader's critical path.
            let per = (MAX_PARAMETERS / columns.len().max(1)).max(1);
            let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
            let head = format!("INSERT INTO \"{table}\" ({}) VALUES ", quoted.join(", "));
            let tuple = format!("({})", vec!["?"; columns.len()].join(", "));
            let mut rows = rows.into_iter().peekable();
            while rows.peek().is_some() {
                let chunk: Vec<Vec<Value>> = rows.by_ref().take(per).collect();
                let sql = format!("{head}{}", vec![tuple.as_str(); chunk.len()].join(", "));
                let values = Values(chunk.into_iter().flatten().collect());
                sqlx::query_with(&sql, Self::arguments(values)?).execute(&mut *conn).await.map_err(Self::map_error)?;
            }
            Ok(())
        })
    }

    fn map_error(e: sqlx::Error) -> Error {
        match &e {
            // SQLITE_BUSY, SQLITE_LOCKED and their extended codes: contention, retryable.
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("5" | "6" | "261" | "517" | "262")) => {
                Error::Unavailable(format!("database busy: {}", d.message()))
            }
            _ => common_error(e, <Self as Dialect>::NAME),
        }
    }
}

impl Dialect for Postgres {
    const NAME: &'static str = "postgres";
    const MIGRATIONS: &'static [Migration] = migrations::POSTGRES;
    const SNAPSHOT: Option<&'static str> = Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
    // A transaction-independent advisory lock (key: "imagehub" in ASCII).
    const MIGRATION_LOCK: Option<(&'static str, &'static str)> =
        Some(("SELECT pg_advisory_lock(7596285439495612770)", "SELECT pg_advisory_unlock(7596285439495612770)"));
    const OPTIMIZE: &'static str = "ANALYZE images, image_members, image_tags, image_properties";
    const SECONDARY_INDEXES: &'static str = "SELECT i.indexname::text, i.indexdef::text FROM pg_indexes i \
        WHERE i.schemaname = current_schema() AND i.tablename IN ('images', 'image_tags', 'image_properties') \
        AND NOT EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace \
        WHERE n.nspname = current_schema() AND c.conname = i.indexname) ORDER BY 1";
    const EXPLAIN: &'static str = "EXPLAIN";
    // Small test tables make a sequential scan the cheapest plan whatever the indexes;
    // with it priced out, a `Seq Scan` in the plan means no index can answer the query.
    const EXPLAIN_SETUP: Option<&'static str> = Some("SET LOCAL enable_seqscan = off");
    const CHANGE_FEED: bool = true;

    fn build<S: QueryStatementWriter>(stmt: &S) -> (String, Values) {
        stmt.build(PostgresQueryBuilder)
    }

    fn arguments<'q>(values: Values) -> Result<<Self as Database>::Arguments<'q>> {
        bind_all::<Postgres>(values)
    }

    fn rows_affected(r: &<Self as Database>::QueryResult) -> u64 {
        r.rows_affected()
    }

    fn bulk_insert<'c>(
        conn: &'c mut <Self as Database>::Connection,
        table: &'static str,
        columns: Vec<&'static str>,
        rows: Vec<Vec<Value>>,
    ) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            let mut copy = conn
                .copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", ")))
                .await
                .map_err(Self::map_error)?;
            let mut buf = String::with_capacity(1 << 20);
            for row in &rows {
                copy_text_row(&mut buf, row)?;
                if buf.len() >= 1 << 20 {
                    copy.send(std::mem::take(&mut buf).into_bytes()).await.map_err(Self::map_error)?;
                }
            }
            if !buf.is_empty() {
                copy.send(buf.into_bytes()).await.map_err(Self::map_error)?;
            }
            copy.finish().await.map_err(Self::map_error)?;
            Ok(())
        })
    }

    fn map_error(e: sqlx::Error) -> Error {
        match &e {
            // serialization_failure, deadlock_detected, too_many_connections, cannot_connect_now,
            // admin/crash shutdown: transient, retryable.
            sqlx::Error::Database(d)
                if matches!(d.code().as_deref(), Some("40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03")) =>
            {
                Error::Unavailable(format!("database unavailable: {}", d.message()))
            }
            _ => common_error(e, <Self as Dialect>::NAME),
        }
    }
}

/// One row in `COPY`'s text format: tab-separated, `\N` for NULL, backslash escapes.
fn copy_text_row(out: &mut String, row: &[Value]) -> Result<()> {
    use std::fmt::Write;
    for (n, v) in row.iter().enumerate() {
        if n > 0 {
            out.push('\t');
        }
        match v {
            Value::String(None) | Value::BigInt(None) | Value::Int(None) | Value::Bool(None) => out.push_str("\\N"),
            Value::String(Some(s)) => {
                for c in s.chars() {
                    match c {
                        '\\' => out.push_str("\\\\"),
                        '\t' => out.push_str("\\t"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            }
            Value::BigInt(Some(i)) => write!(out, "{i}").map_err(|e| Error::Internal(e.to_string()))?,
            Value::Int(Some(i)) => write!(out, "{i}").map_err(|e| Error::Internal(e.to_string()))?,
            Value::Bool(Some(b)) => out.push(if *b { 't' } else { 'f' }),
            other => return Err(Error::Internal(format!("unsupported SQL value {other:?}"))),
        }
    }
    out.push('\n');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_reads_specially() {
        let mut out = String::new();
        let row = [
            Value::String(Some("a\tb\nc\\d\re".into())),
            Value::String(None),
            Value::BigInt(Some(-7)),
            Value::Bool(Some(true)),
            Value::Bool(Some(false)),
            Value::String(Some("\\N".into())),
        ];
        copy_text_row(&mut out, &row).unwrap();
        assert_eq!(out, "a\\tb\\nc\\\\d\\re\t\\N\t-7\tt\tf\t\\\\N\n");
    }
}
