//! The store contract on PostgreSQL: a fresh database per test (see `imagehub_store::testing`).

use std::sync::Arc;

use imagehub_store::PostgresStore;
use imagehub_store::testing::PgDatabase;

async fn fresh(test: &str) -> Option<(crate::contract::DynStore, PgDatabase)> {
    let db = PgDatabase::create(test).await?;
    let store = PostgresStore::connect(&db.url).await.unwrap();
    Some((imagehub_catalog::Stores::all_in(Arc::new(store)), db))
}

contract_suite!(fresh);

#[tokio::test]
async fn concurrent_starts_migrate_once() {
    let Some(db) = PgDatabase::create("concurrent_starts_migrate_once").await else { return };
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { PostgresStore::connect(&url).await })
        })
        .collect();
    for s in starts {
        s.await.unwrap().unwrap();
    }
    let store = PostgresStore::connect(&db.url).await.unwrap();
    assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
}
