//! What differs between the SQL backends: the query builder, session details, reading a
//! row's columns, the fastest bulk insert, and the migrations. Everything else is shared
//! in [`super::SqlStore`]. Values are bound by `sea-query-sqlx`; database errors become
//! catalog errors in one place, [`db_error`].

use imagehub_catalog::{Error, Result};
use sea_query::{Expr, ExprTrait, PostgresQueryBuilder, Query, SqliteQueryBuilder, Value, Values};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Database, Pool, Postgres, Row, Sqlite};

use super::migrate;

pub(crate) type BoxFuture<'c, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'c>>;

/// A backend. Its rows read their columns through [`Columns`], so the shared code needs no
/// bound beyond this trait.
pub trait Dialect: Database<Row: Columns> + Sized {
    /// Name used in messages ("sqlite", "postgres").
    const NAME: &'static str;
    /// Statement that makes a read transaction see one snapshot, where `BEGIN` alone does not.
    const SNAPSHOT: Option<&'static str>;
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

    /// SQL text and bound values of a statement, in this backend's syntax.
    fn build<S: SqlxBinder>(stmt: &S) -> (String, SqlxValues);

    /// Runs a statement; returns the rows it changed.
    fn execute<'c, S: SqlxBinder>(conn: &'c mut Self::Connection, stmt: &S) -> BoxFuture<'c, Result<u64>>;

    /// Runs a query; returns its rows.
    fn fetch<'c, S: SqlxBinder>(conn: &'c mut Self::Connection, stmt: &S) -> BoxFuture<'c, Result<Vec<Self::Row>>> {
        let (sql, values) = Self::build(stmt);
        Self::fetch_with(conn, sql, values)
    }

    /// Runs a query given as text with its bound values.
    fn fetch_with<'c>(
        conn: &'c mut Self::Connection,
        sql: String,
        values: SqlxValues,
    ) -> BoxFuture<'c, Result<Vec<Self::Row>>>;

    /// Runs SQL text without parameters (session settings, DDL read from the catalog).
    fn execute_sql<'c>(conn: &'c mut Self::Connection, sql: &'c str) -> BoxFuture<'c, Result<u64>>;

    /// Runs a parameterless query given as text.
    fn fetch_sql<'c>(conn: &'c mut Self::Connection, sql: &'c str) -> BoxFuture<'c, Result<Vec<Self::Row>>>;

    /// Writes `rows` (values in `columns` order) into `table` the fastest way the backend
    /// has: `COPY … FROM STDIN` on PostgreSQL, multi-row `INSERT`s elsewhere.
    fn bulk_insert<'c>(
        conn: &'c mut Self::Connection,
        table: &'static str,
        columns: Vec<&'static str>,
        rows: Vec<Vec<Value>>,
    ) -> BoxFuture<'c, Result<()>>;

    /// Applies this backend's pending migrations ([`migrate`]); returns the versions applied.
    fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<Vec<i64>>>;

    /// Takes the change clock's next version (its row stays locked until the commit) and
    /// lists `touched` under it: `(image id, group id)` pairs with one side each. Returns
    /// the clock after it. Here, two statements; a backend that can does it in one.
    fn advance_clock<'c>(
        conn: &'c mut Self::Connection,
        touched: Vec<(Option<String>, Option<String>)>,
    ) -> BoxFuture<'c, Result<Clock>> {
        Box::pin(async move {
            let rows = Self::fetch(
                &mut *conn,
                Query::update()
                    .table("change_clock")
                    .value("version", Expr::col("version").add(1))
                    .and_where(Expr::col("id").eq(1))
                    .returning(Query::returning().columns(["version", "kept_from", "keep"])),
            )
            .await?;
            let clock = Clock::of(&rows)?;
            for part in touched.chunks(4000) {
                let mut stmt = Query::insert();
                stmt.into_table("changes").columns(["version", "image_id", "group_id"]);
                for (image, group) in part {
                    stmt.values_panic([clock.version.into(), image.clone().into(), group.clone().into()]);
                }
                Self::execute(&mut *conn, &stmt).await?;
            }
            Ok(clock)
        })
    }
}

/// The change clock's row: the last version taken, the first one whose changes are kept,
/// and how many versions' changes are kept.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub version: i64,
    pub kept_from: i64,
    pub keep: i64,
}

impl Clock {
    /// The clock in `rows`, a query of its columns.
    pub fn of<R: Columns>(rows: &[R]) -> Result<Self> {
        let row = rows.first().ok_or_else(|| Error::Internal("the change clock row is missing".into()))?;
        Ok(Self { version: row.int("version")?, kept_from: row.int("kept_from")?, keep: row.int("keep")? })
    }
}

/// The columns of a row, by name or position; a value that is not of the asked type is
/// a corrupt row (`Internal`).
pub trait Columns {
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn int(&self, col: &str) -> Result<i64>;
    fn opt_int(&self, col: &str) -> Result<Option<i64>>;
    fn flag(&self, col: &str) -> Result<bool>;
    /// An integer by position (an aggregate's result).
    fn int_at(&self, i: usize) -> Result<i64>;
    /// Text by position.
    fn text_at(&self, i: usize) -> Result<String>;
    /// The text of the last column (a query plan line).
    fn last_text(&self) -> Result<String>;
}

fn corrupt(col: &str, e: sqlx::Error) -> Error {
    Error::Internal(format!("stored column {col} is unreadable: {e}"))
}

macro_rules! columns_of {
    ($row:ty) => {
        impl Columns for $row {
            fn text(&self, col: &str) -> Result<String> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn int(&self, col: &str) -> Result<i64> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn opt_int(&self, col: &str) -> Result<Option<i64>> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn flag(&self, col: &str) -> Result<bool> {
                self.try_get(col).map_err(|e| corrupt(col, e))
            }
            fn int_at(&self, i: usize) -> Result<i64> {
                self.try_get(i).map_err(|e| corrupt(&i.to_string(), e))
            }
            fn text_at(&self, i: usize) -> Result<String> {
                self.try_get(i).map_err(|e| corrupt(&i.to_string(), e))
            }
            fn last_text(&self) -> Result<String> {
                self.try_get(self.len().saturating_sub(1)).map_err(|e| corrupt("last", e))
            }
        }
    };
}

columns_of!(SqliteRow);
columns_of!(PgRow);

/// A database error as the catalog's. Contention and an unreachable or overloaded
/// database are `Unavailable` (the client may retry): SQLite's BUSY and LOCKED codes, and
/// PostgreSQL's serialization failure, deadlock, too many connections and shutdowns. A
/// unique violation is `Duplicate`; anything else is `Internal`.
pub fn db_error(e: sqlx::Error) -> Error {
    match &e {
        // The database's own words name tables and constraints: they go to the log, and
        // the catalog words the refusal for the client.
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            tracing::debug!(detail = d.message(), "unique violation");
            Error::Duplicate("a record with the same unique key exists".into())
        }
        sqlx::Error::Database(d)
            if matches!(
                d.code().as_deref(),
                Some("5" | "6" | "261" | "517" | "262" | "40001" | "40P01" | "53300" | "57P01" | "57P02" | "57P03")
            ) =>
        {
            Error::Unavailable(format!("database busy or unavailable: {}", d.message()))
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => Error::Unavailable(e.to_string()),
        _ => Error::Internal(format!("database: {e}")),
    }
}

/// `sqlx` results as catalog results ([`db_error`]).
pub trait DbResult<T> {
    fn db(self) -> Result<T>;
}

impl<T> DbResult<T> for std::result::Result<T, sqlx::Error> {
    fn db(self) -> Result<T> {
        self.map_err(db_error)
    }
}

/// Bind parameters one statement may carry on every backend (SQLite's default limit).
const MAX_PARAMETERS: usize = 32_766;

/// The statement running parts that read the same for every backend.
macro_rules! statements_of {
    ($builder:expr) => {
        fn build<S: SqlxBinder>(stmt: &S) -> (String, SqlxValues) {
            stmt.build_sqlx($builder)
        }

        fn execute<'c, S: SqlxBinder>(conn: &'c mut Self::Connection, stmt: &S) -> BoxFuture<'c, Result<u64>> {
            let (sql, values) = Self::build(stmt);
            Box::pin(async move { Ok(sqlx::query_with(&sql, values).execute(&mut *conn).await.db()?.rows_affected()) })
        }

        fn fetch_with<'c>(
            conn: &'c mut Self::Connection,
            sql: String,
            values: SqlxValues,
        ) -> BoxFuture<'c, Result<Vec<Self::Row>>> {
            Box::pin(async move { sqlx::query_with(&sql, values).fetch_all(&mut *conn).await.db() })
        }

        fn execute_sql<'c>(conn: &'c mut Self::Connection, sql: &'c str) -> BoxFuture<'c, Result<u64>> {
            Box::pin(async move { Ok(sqlx::query(sql).execute(&mut *conn).await.db()?.rows_affected()) })
        }

        fn fetch_sql<'c>(conn: &'c mut Self::Connection, sql: &'c str) -> BoxFuture<'c, Result<Vec<Self::Row>>> {
            Box::pin(async move { sqlx::query(sql).fetch_all(&mut *conn).await.db() })
        }

        fn migrate(pool: &Pool<Self>) -> BoxFuture<'_, Result<Vec<i64>>> {
            Box::pin(migrate::run(pool))
        }
    };
}

impl Dialect for Sqlite {
    const NAME: &'static str = "sqlite";
    // A deferred SQLite transaction reads one snapshot from its first read on.
    const SNAPSHOT: Option<&'static str> = None;
    // 0x10002: analyze every table whose statistics are missing or stale.
    const OPTIMIZE: &'static str = "PRAGMA optimize=0x10002";
    // Indexes SQLite makes for a primary key have no SQL.
    const SECONDARY_INDEXES: &'static str = "SELECT name, sql FROM sqlite_master WHERE type = 'index' \
        AND sql IS NOT NULL AND tbl_name IN ('images', 'image_tags', 'image_properties') ORDER BY name";
    const EXPLAIN: &'static str = "EXPLAIN QUERY PLAN";
    const EXPLAIN_SETUP: Option<&'static str> = None;
    // One server owns a SQLite file (see `open_for_serving`): it needs no feed.
    const CHANGE_FEED: bool = false;

    statements_of!(SqliteQueryBuilder);

    fn bulk_insert<'c>(
        conn: &'c mut Self::Connection,
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
                let values = SqlxValues(Values(chunk.into_iter().flatten().collect()));
                sqlx::query_with(&sql, values).execute(&mut *conn).await.db()?;
            }
            Ok(())
        })
    }
}

impl Dialect for Postgres {
    const NAME: &'static str = "postgres";
    const SNAPSHOT: Option<&'static str> = Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
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

    statements_of!(PostgresQueryBuilder);

    // One round trip instead of two: the clock's row is held from here to the commit,
    // and every batch of writes waits for it in turn.
    fn advance_clock<'c>(
        conn: &'c mut Self::Connection,
        touched: Vec<(Option<String>, Option<String>)>,
    ) -> BoxFuture<'c, Result<Clock>> {
        Box::pin(async move {
            let (images, groups): (Vec<_>, Vec<_>) = touched.into_iter().unzip();
            let rows = sqlx::query(
                "WITH clock AS (UPDATE change_clock SET version = version + 1 WHERE id = 1 \
                 RETURNING version, kept_from, keep), \
                 listed AS (INSERT INTO changes (version, image_id, group_id) \
                 SELECT clock.version, t.image_id, t.group_id FROM clock, \
                 UNNEST($1::text[], $2::text[]) AS t(image_id, group_id)) \
                 SELECT version, kept_from, keep FROM clock",
            )
            .bind(images)
            .bind(groups)
            .fetch_all(&mut *conn)
            .await
            .db()?;
            Clock::of(&rows)
        })
    }

    fn bulk_insert<'c>(
        conn: &'c mut Self::Connection,
        table: &'static str,
        columns: Vec<&'static str>,
        rows: Vec<Vec<Value>>,
    ) -> BoxFuture<'c, Result<()>> {
        Box::pin(async move {
            let mut copy = conn.copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", "))).await.db()?;
            let mut buf = String::with_capacity(1 << 20);
            for row in &rows {
                copy_text_row(&mut buf, row)?;
                if buf.len() >= 1 << 20 {
                    copy.send(std::mem::take(&mut buf).into_bytes()).await.db()?;
                }
            }
            if !buf.is_empty() {
                copy.send(buf.into_bytes()).await.db()?;
            }
            copy.finish().await.db()?;
            Ok(())
        })
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
