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

/// Concurrent writes share commits and feed versions; a write that fails in a batch (a
/// taken registry key) fails alone and leaves no change behind, while every write that
/// was answered `Ok` is listed in the feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_feed_versions() {
    use imagehub_store::ChangeFeed;
    let Some(db) = PgDatabase::create("concurrent_writes_share_feed_versions").await else { return };
    let store = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let p = crate::contract::project(3);
    let before = store.version().await.unwrap();
    let tasks: Vec<_> = (0..96)
        .map(|n| {
            // Every third write takes the registry key of the one before it.
            let name = format!("n{}", n - usize::from(n % 3 == 2));
            let (store, img) = (store.clone(), crate::contract::full_image(&p, "ns", &name, "1"));
            tokio::spawn(async move {
                let r = imagehub_catalog::ImageStore::insert_image(store.as_ref(), &img, None).await;
                (img.id, r)
            })
        })
        .collect();
    let (mut written, mut refused) = (Vec::new(), 0);
    for t in tasks {
        match t.await.unwrap() {
            (id, Ok(())) => written.push(id),
            (_, Err(imagehub_catalog::Error::Duplicate(_))) => refused += 1,
            (_, Err(e)) => panic!("unexpected {e}"),
        }
    }
    assert_eq!((written.len(), refused), (64, 32));
    let stats = store.write_stats();
    assert_eq!(stats.writes, 96);
    let versions = store.version().await.unwrap() - before;
    assert!(versions < 64, "64 writes took {versions} feed versions");
    let mut changes = store.since(before).await.unwrap().unwrap().images;
    written.sort_unstable();
    changes.sort_unstable();
    assert_eq!(changes, written, "the feed lists exactly the writes that stood");
}
