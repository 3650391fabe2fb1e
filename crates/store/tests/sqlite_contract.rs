//! The store contract on SQLite: a fresh database file per test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;

use std::sync::Arc;

use imagehub_store::SqliteStore;

async fn fresh() -> (contract::DynStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("test.db")).await.unwrap();
    (Arc::new(store), dir)
}

macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            let (store, _dir) = fresh().await;
            contract::$name(store).await;
        }
    )*};
}

contract_tests!(
    insert_get_roundtrip,
    duplicate_registry_key_is_rejected,
    insert_if_absent_is_idempotent,
    delete_removes_the_image,
    tokens_and_settings,
    list_matches_oracle,
    keyset_paging_matches_oracle,
    unknown_marker_is_invalid,
    groups_match_oracle,
    group_paging_and_meta,
    concurrent_duplicate_registers,
);

#[tokio::test]
async fn reopening_keeps_data_and_migrations_are_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("test.db");
    let img = contract::full_image(&contract::project(1), "ns", "n", "t");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        imagehub_catalog::Store::insert_image(&store, &img, None).await.unwrap();
    }
    let store = SqliteStore::open(&path).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
    assert_eq!(imagehub_catalog::Store::get_image(&store, img.id).await.unwrap(), Some(img));
}
