//! The store contract on SQLite: a fresh database file per test.

use std::sync::Arc;

use imagehub_store::SqliteStore;

async fn fresh(_test: &str) -> Option<(crate::contract::DynStore, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("test.db")).await.unwrap();
    Some((imagehub_catalog::Stores::all_in(Arc::new(store)), dir))
}

contract_suite!(fresh);

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let img = crate::contract::full_image(&crate::contract::project(1), "ns", "n", "t");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        imagehub_catalog::ImageStore::insert_image(&store, &img, None).await.unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(imagehub_catalog::ImageStore::get_image(&store, img.id).await.unwrap(), Some(img));
}

/// A database made before migrations were recorded by sqlx (in `schema_migrations`) is
/// adopted: its migrations are not applied again, later ones are, the old ledger goes, its
/// data stays.
#[tokio::test]
async fn databases_with_the_old_migration_ledger_are_adopted() {
    use sqlx::Connection;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let img = crate::contract::full_image(&crate::contract::project(1), "ns", "n", "t");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        imagehub_catalog::ImageStore::insert_image(&store, &img, None).await.unwrap();
    }
    let url = format!("sqlite://{}", path.display());
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    for sql in [
        "DROP TABLE _sqlx_migrations",
        // Back to the schema of migration 5, the last one the old ledger knew.
        "DROP TABLE projects",
        "DROP TABLE users",
        "DROP TABLE role_assignments",
        "DROP INDEX tokens_user_id",
        "ALTER TABLE tokens DROP COLUMN user_id",
        "DROP INDEX tokens_id",
        "DROP INDEX tokens_issued_by",
        "ALTER TABLE tokens DROP COLUMN id",
        "ALTER TABLE tokens DROP COLUMN revoked_at",
        "ALTER TABLE tokens DROP COLUMN issued_by",
        "ALTER TABLE tokens DROP COLUMN last_used_at",
        "CREATE TABLE schema_migrations (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        "INSERT INTO schema_migrations VALUES (1, 'initial', 0), (2, 'effective_types', 0), \
         (3, 'members_tags_properties', 0), (4, 'access_keys', 0), (5, 'change_feed', 0)",
    ] {
        sqlx::query(sql).execute(&mut c).await.unwrap();
    }
    drop(c);
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(imagehub_catalog::ImageStore::get_image(&store, img.id).await.unwrap(), Some(img));
    let mut c = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let recorded: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success").fetch_one(&mut c).await.unwrap();
    assert_eq!(recorded, 7, "the five adopted and the two applied since");
    let old: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'")
        .fetch_one(&mut c)
        .await
        .unwrap();
    assert_eq!(old, 0, "the old ledger is dropped");
}

/// Concurrent writes share commits (one fsync for a batch), and each is there after its
/// answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("test.db")).await.unwrap());
    let p = crate::contract::project(3);
    let tasks: Vec<_> = (0..64)
        .map(|n| {
            let (store, img) = (store.clone(), crate::contract::full_image(&p, "ns", &format!("n{n}"), "1"));
            tokio::spawn(async move {
                imagehub_catalog::ImageStore::insert_image(store.as_ref(), &img, None).await.unwrap();
                assert!(imagehub_catalog::ImageStore::get_image(store.as_ref(), img.id).await.unwrap().is_some());
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let stats = store.write_stats();
    assert_eq!(stats.writes, 64);
    assert!(stats.commits < stats.writes, "64 concurrent writes took {} commits", stats.commits);
}
