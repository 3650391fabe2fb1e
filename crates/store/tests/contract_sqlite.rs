//! The store contract on SQLite: a fresh database file per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;

use std::sync::Arc;

use imagehub_store::SqliteStore;

async fn fresh(_test: &str) -> Option<(contract::DynStore, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("test.db")).await.unwrap();
    Some((imagehub_catalog::Stores::all_in(Arc::new(store)), dir))
}

contract_suite!(fresh);

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let img = contract::full_image(&contract::project(1), "ns", "n", "t");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        imagehub_catalog::ImageStore::insert_image(&store, &img, None).await.unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(imagehub_catalog::ImageStore::get_image(&store, img.id).await.unwrap(), Some(img));
}
