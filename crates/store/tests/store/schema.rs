//! The SQLite and PostgreSQL schemas cannot drift: same tables, same columns in the same
//! order, same nullability, and types that map (TEXT↔text, INTEGER↔bigint|boolean).
//! (sqlx's migration ledger, `_sqlx_migrations`, is sqlx's own and left out.)

use std::collections::BTreeMap;

use imagehub_catalog::ImageStore;
use imagehub_store::testing::PgDatabase;
use imagehub_store::{PostgresStore, SqliteStore};
use sqlx::{Connection, Row};

/// table → [(column, type, nullable)]
type Schema = BTreeMap<String, Vec<(String, String, bool)>>;

async fn sqlite_schema(path: &std::path::Path) -> Schema {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
             AND name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut out = Schema::new();
    for t in tables {
        let rows = sqlx::query(&format!("PRAGMA table_info({t})")).fetch_all(&mut c).await.unwrap();
        let cols = rows
            .iter()
            .map(|r| {
                let notnull: i64 = r.get("notnull");
                let pk: i64 = r.get("pk");
                (r.get::<String, _>("name"), r.get::<String, _>("type").to_uppercase(), notnull == 0 && pk == 0)
            })
            .collect();
        out.insert(t, cols);
    }
    out
}

async fn postgres_schema(url: &str) -> Schema {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, is_nullable::text AS n \
         FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> '_sqlx_migrations' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut c)
    .await
    .unwrap();
    let mut out = Schema::new();
    for r in rows {
        out.entry(r.get("t")).or_default().push((r.get("c"), r.get("ty"), r.get::<String, _>("n") == "YES"));
    }
    out
}

fn types_map(sqlite: &str, postgres: &str) -> bool {
    matches!((sqlite, postgres), ("TEXT", "text") | ("INTEGER" | "BIGINT", "bigint") | ("INTEGER", "boolean"))
}

#[tokio::test]
async fn sqlite_and_postgres_schemas_match() {
    let Some(db) = PgDatabase::create("sqlite_and_postgres_schemas_match").await else { return };
    PostgresStore::connect(&db.url).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("schema.db");
    SqliteStore::open(&path).await.unwrap();
    let lite = sqlite_schema(&path).await;
    let pg = postgres_schema(&db.url).await;
    assert_eq!(lite.keys().collect::<Vec<_>>(), pg.keys().collect::<Vec<_>>(), "tables differ");
    for (table, lcols) in &lite {
        let pcols = &pg[table];
        let names = |v: &Vec<(String, String, bool)>| v.iter().map(|c| c.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(lcols), names(pcols), "columns of {table} differ");
        for (l, p) in lcols.iter().zip(pcols) {
            assert!(types_map(&l.1, &p.1), "{table}.{}: sqlite {} vs postgres {}", l.0, l.1, p.1);
            assert_eq!(l.2, p.2, "{table}.{}: nullability differs", l.0);
        }
    }
    assert!(lite["images"].len() > 30);
}

/// Every index of the database, as (name, definition).
async fn sqlite_indexes(path: &std::path::Path) -> Vec<(String, Option<String>)> {
    let mut c = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query_as("SELECT name, sql FROM sqlite_master WHERE type = 'index' ORDER BY name")
        .fetch_all(&mut c)
        .await
        .unwrap()
}

async fn postgres_indexes(url: &str) -> Vec<(String, Option<String>)> {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query_as(
        "SELECT indexname::text, indexdef::text FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname",
    )
    .fetch_all(&mut c)
    .await
    .unwrap()
}

/// A bulk load into an empty catalog drops the image tables' secondary indexes and builds
/// them again: after a load, and after one that failed, every index is as the migrations
/// made it.
#[tokio::test]
async fn a_bulk_load_leaves_every_index_as_it_was() {
    let mut rng = crate::contract::Rng::new(7);
    let mut images = crate::contract::random_catalog(&mut rng, 300);
    images[0].kind = imagehub_catalog::ImageKind::Dedicated;
    images[0].name = Some("twin".into());
    images[0].tag = Some("twin".into());
    // The same registry key twice: the load fails when the unique index is built.
    let mut clash = images.clone();
    clash.push(imagehub_catalog::Image { id: imagehub_catalog::ImageId::new_random(), ..images[0].clone() });

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("load.db");
    let store = SqliteStore::open(&path).await.unwrap();
    let before = sqlite_indexes(&path).await;
    assert!(before.iter().any(|(n, _)| n == "images_registry_key"), "{before:?}");
    assert!(store.load_images(&mut crate::contract::batches(&clash)).await.is_err());
    assert_eq!(sqlite_indexes(&path).await, before);
    assert_eq!(store.load_images(&mut crate::contract::batches(&images)).await.unwrap(), 300);
    assert_eq!(sqlite_indexes(&path).await, before);

    let Some(db) = PgDatabase::create("a_bulk_load_leaves_every_index_as_it_was").await else { return };
    let store = PostgresStore::connect(&db.url).await.unwrap();
    let before = postgres_indexes(&db.url).await;
    assert!(before.iter().any(|(n, _)| n == "images_registry_key"), "{before:?}");
    assert!(store.load_images(&mut crate::contract::batches(&clash)).await.is_err());
    assert_eq!(postgres_indexes(&db.url).await, before);
    assert_eq!(store.load_images(&mut crate::contract::batches(&images)).await.unwrap(), 300);
    assert_eq!(postgres_indexes(&db.url).await, before);
}
