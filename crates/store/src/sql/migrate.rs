//! Schema migrations, embedded in the binary and applied at start (and by `imagehub
//! migrate`) with sqlx's migrator: each migration runs whole in its own transaction, is
//! recorded with its checksum in `_sqlx_migrations` (a migration edited after it was
//! applied is refused), and on PostgreSQL the run holds an advisory lock, so nodes that
//! start together apply each migration once.
//!
//! The migrations are given to the migrator from `include_str!` rather than through the
//! `sqlx::migrate!` macro, which would build sqlx's drivers (SQLite's C source among
//! them) a second time, for the proc macro; the checksums and the lock are the same.
//!
//! Databases made before this ledger recorded their migrations in `schema_migrations`;
//! those are adopted: their versions are entered in the new ledger (with the embedded
//! checksums) and the old table is dropped, in one transaction.

use std::borrow::Cow;

use imagehub_catalog::{Error, Result};
use sea_query::{OnConflict, Query};
use sqlx::migrate::{Migrate, MigrateError, Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{Connection, Pool};

use super::dialect::{Columns, DbResult, Dialect, db_error};

/// A migration: version, name, and its SQL for each backend.
struct Embedded {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! embedded {
    ($($version:literal $name:literal),* $(,)?) => {
        &[$(Embedded {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("migrations/sqlite/000", $version, "_", $name, ".sql")),
            postgres: include_str!(concat!("migrations/postgres/000", $version, "_", $name, ".sql")),
        }),*]
    };
}

const MIGRATIONS: &[Embedded] = embedded![
    1 "initial",
    2 "effective_types",
    3 "members_tags_properties",
    4 "access_keys",
    5 "change_feed",
    6 "token_lifecycle",
    7 "identity",
];

/// The embedded migrations of one backend (its [`Dialect::NAME`]), as sqlx's migrator
/// takes them.
#[derive(Debug)]
struct Source(&'static str);

impl MigrationSource<'static> for Source {
    fn resolve(
        self,
    ) -> super::dialect::BoxFuture<'static, std::result::Result<Vec<Migration>, sqlx::error::BoxDynError>> {
        let migrations = MIGRATIONS
            .iter()
            .map(|m| {
                let sql = if self.0 == "postgres" { m.postgres } else { m.sqlite };
                Migration::new(m.version, Cow::Borrowed(m.name), MigrationType::Simple, Cow::Borrowed(sql), false)
            })
            .collect();
        Box::pin(async move { Ok(migrations) })
    }
}

fn migrate_error(e: MigrateError) -> Error {
    match e {
        MigrateError::Execute(e) => db_error(e),
        other => Error::Internal(format!("migrating the database: {other}")),
    }
}

/// Applies pending migrations to `pool`'s database; returns the versions applied.
pub async fn run<DB>(pool: &Pool<DB>) -> Result<Vec<i64>>
where
    DB: Dialect,
    DB::Connection: Migrate,
{
    let migrator = Migrator::new(Source(<DB as Dialect>::NAME)).await.map_err(migrate_error)?;
    let before = {
        let mut conn = pool.acquire().await.db()?;
        conn.lock().await.map_err(migrate_error)?;
        let applied = async {
            adopt_old_ledger::<DB>(&mut conn, &migrator).await?;
            conn.ensure_migrations_table().await.map_err(migrate_error)?;
            conn.list_applied_migrations().await.map_err(migrate_error)
        }
        .await;
        conn.unlock().await.map_err(migrate_error)?;
        applied?
    };
    migrator.run(pool).await.map_err(migrate_error)?;
    Ok(migrator.iter().map(|m| m.version).filter(|v| !before.iter().any(|b| b.version == *v)).collect())
}

/// Enters the versions a database recorded in the old `schema_migrations` table into
/// sqlx's ledger, and drops the old table (one transaction); nothing when there is none.
/// The caller holds the migration lock.
async fn adopt_old_ledger<DB>(conn: &mut DB::Connection, migrator: &Migrator) -> Result<()>
where
    DB: Dialect,
    DB::Connection: Migrate,
{
    let exists = DB::fetch_sql(
        &mut *conn,
        if <DB as Dialect>::NAME == "postgres" {
            "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() \
             AND table_name = 'schema_migrations'"
        } else {
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        },
    )
    .await?;
    if exists.is_empty() {
        return Ok(());
    }
    conn.ensure_migrations_table().await.map_err(migrate_error)?;
    let mut tx = conn.begin().await.db()?;
    let old = DB::fetch_sql(&mut *tx, "SELECT version FROM schema_migrations").await?;
    for row in &old {
        let version = row.int("version")?;
        let Some(m) = migrator.iter().find(|m| m.version == version) else {
            return Err(Error::Internal(format!(
                "the database has migration {version}, which this build does not know"
            )));
        };
        DB::execute(
            &mut *tx,
            Query::insert()
                .into_table("_sqlx_migrations")
                .columns(["version", "description", "success", "checksum", "execution_time"])
                .values_panic([
                    m.version.into(),
                    m.description.to_string().into(),
                    true.into(),
                    m.checksum.to_vec().into(),
                    0i64.into(),
                ])
                .on_conflict(OnConflict::column("version").do_nothing().to_owned()),
        )
        .await?;
    }
    DB::execute_sql(&mut *tx, "DROP TABLE schema_migrations").await?;
    tx.commit().await.db()?;
    tracing::info!(versions = old.len(), "adopted the old migration ledger");
    Ok(())
}
