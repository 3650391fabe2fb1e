//! The read index (`IndexedStore`): the whole store contract, and a randomized sequence of
//! registers, updates, deletes, shares and group deletes after which every list, count,
//! keyset page and group answer equals the one the SQL store computes, before and after a
//! rebuild (a restart). On SQLite the index follows its own writes; on PostgreSQL two
//! nodes follow the change feed, and the one that did not write must answer the same.

use std::sync::Arc;

use crate::contract::{DynStore, Rng, project, random_access, random_catalog, random_filters, random_sort};
use imagehub_catalog::{
    AccessScope, ContainerFormat, Filter, GroupMeta, GroupQuery, GroupSortKey, Image, ImageKind, ImageQuery,
    ImageStore, Member, MemberRule, MemberStatus, Millis, PageRequest, SortDir, Status, Stores, View, Visibility,
};
use imagehub_store::testing::PgDatabase;
use imagehub_store::{IndexedStore, PostgresStore, SqliteStore};

/// An image store alone (the SQL one, or the read index in front of it).
type Images = Arc<dyn ImageStore>;

async fn fresh(_test: &str) -> Option<(DynStore, tempfile::TempDir)> {
    let dir = tempfile::tempdir().unwrap();
    let sql = Arc::new(SqliteStore::open(&dir.path().join("test.db")).await.unwrap());
    let indexed = Arc::new(IndexedStore::build(sql.clone()).await.unwrap());
    Some((Stores { images: indexed, ..Stores::all_in(sql) }, dir))
}

contract_suite!(fresh);

/// A node on `url` whose index follows the change feed (as `imagehub serve` on PostgreSQL).
async fn node(url: &str) -> Arc<IndexedStore> {
    let pg = Arc::new(PostgresStore::connect(url).await.unwrap());
    Arc::new(IndexedStore::following(pg.clone(), pg).await.unwrap())
}

mod following {
    use super::*;

    async fn fresh(test: &str) -> Option<(DynStore, PgDatabase)> {
        let db = PgDatabase::create(test).await?;
        let sql = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
        Some((Stores { images: node(&db.url).await, ..Stores::all_in(sql) }, db))
    }

    contract_suite!(fresh);
}

fn ids(v: &[Arc<Image>]) -> Vec<String> {
    v.iter().map(|i| i.id.to_string()).collect()
}

/// Random queries answered by `indexed` and by `sql` must be equal; so must a few fixed
/// ones, asked again after every batch of writes (anything the index keeps per query
/// must follow the writes).
async fn same_answers(indexed: &dyn ImageStore, sql: &dyn ImageStore, rng: &mut Rng, known: &[Image], step: usize) {
    for filters in
        [vec![], vec![Filter::Kind(ImageKind::Dedicated)], vec![Filter::ContainerFormat(vec![ContainerFormat::Docker])]]
    {
        // Six projects, and two administrators (in a project's path, with and without
        // community images): their kept selections must follow the writes too.
        for viewer in 0..8 {
            let access = match viewer {
                0..6 => AccessScope::project(project(viewer)),
                6 => AccessScope::project(project(1)).as_admin(true),
                _ => AccessScope::project(project(2))
                    .as_admin(true)
                    .with_view(View { members: MemberRule::Any, community: true }),
            };
            let q = ImageQuery {
                filters: filters.clone(),
                sort: vec![],
                page: PageRequest::Offset { offset: 0, limit: 10 },
                with_total: true,
            };
            let (a, b) = (indexed.list_images(&access, &q).await.unwrap(), sql.list_images(&access, &q).await.unwrap());
            assert_eq!(ids(&a.items), ids(&b.items), "step {step}: fixed {access:?} {q:?}");
            assert_eq!((a.total, a.has_more), (b.total, b.has_more), "step {step}: fixed {access:?} {q:?}");
        }
    }
    for round in 0..25 {
        let access = random_access(rng);
        let limit = 1 + rng.below(25);
        let mut q = ImageQuery {
            filters: random_filters(rng, known),
            sort: random_sort(rng),
            page: PageRequest::Offset { offset: rng.below(40), limit },
            with_total: true,
        };
        let a = indexed.list_images(&access, &q).await.unwrap();
        let b = sql.list_images(&access, &q).await.unwrap();
        let at = format!("step {step} round {round}: {access:?} {q:?}");
        assert_eq!(ids(&a.items), ids(&b.items), "{at}");
        assert_eq!(a.items, b.items, "{at}: records");
        assert_eq!((a.total, a.has_more), (b.total, b.has_more), "{at}: total, has_more");
        if let Some(marker) = b.items.get(b.items.len() / 2) {
            q.page = PageRequest::After { marker: marker.id, limit };
            let a = indexed.list_images(&access, &q).await.unwrap();
            let b = sql.list_images(&access, &q).await.unwrap();
            assert_eq!(ids(&a.items), ids(&b.items), "{at}: after marker");
            assert_eq!((a.total, a.has_more), (b.total, b.has_more), "{at}: after marker");
        }
        let keys = [GroupSortKey::CreatedAt, GroupSortKey::UpdatedAt, GroupSortKey::Name, GroupSortKey::VersionCount];
        let dir = if rng.below(2) == 0 { SortDir::Asc } else { SortDir::Desc };
        let g = GroupQuery {
            filters: random_filters(rng, known),
            sort: (0..rng.below(3)).map(|_| (*rng.pick(&keys), dir)).collect(),
            offset: rng.below(10),
            limit: 1 + rng.below(20),
        };
        let a = indexed.list_groups(&access, &g).await.unwrap();
        let b = sql.list_groups(&access, &g).await.unwrap();
        assert_eq!(a, b, "step {step} round {round}: groups {access:?} {g:?}");
        if !known.is_empty() {
            let id = rng.pick(known).group_id();
            let a = indexed.get_group(&access, id, &[]).await.unwrap();
            let b = sql.get_group(&access, id, &[]).await.unwrap();
            assert_eq!(a, b, "step {step} round {round}: group {id}");
        }
    }
}

/// One random change to `image` (visibility, name, tags, status, times, …).
fn mutate(rng: &mut Rng, image: &mut Image) {
    match rng.below(6) {
        0 => image.visibility = *rng.pick(Visibility::ALL),
        1 => image.name = Some(rng.pick(&["pytorch", "tensorflow", "Mind_Spore", "jupyter%lab"]).to_string()),
        2 => {
            let t = rng.pick(&["a", "b", "c"]).to_string();
            if !image.tags.remove(&t) {
                image.tags.insert(t);
            }
        }
        3 => image.status = *rng.pick(&[Status::Active, Status::Deactivated, Status::Queued]),
        4 => image.updated_at = Millis(image.updated_at.0 + rng.below(10) as i64),
        _ => {
            image.os_hidden = !image.os_hidden;
            image.size = (rng.below(2) == 0).then(|| rng.below(5) as i64);
        }
    }
}

/// Applies a random sequence of `steps` writes through `indexed` and compares, every 25
/// steps, each of `readers` with `sql` (and, after each write, the written image as
/// every reader shows it). Returns every image registered.
async fn random_writes(
    indexed: &dyn ImageStore,
    readers: &[&dyn ImageStore],
    sql: &dyn ImageStore,
    rng: &mut Rng,
    steps: usize,
) -> Vec<Image> {
    let mut pool = random_catalog(rng, 400).into_iter();
    let mut known: Vec<Image> = Vec::new();
    for step in 0..steps {
        let pick = (!known.is_empty()).then(|| rng.below(known.len() as u64) as usize);
        // The image this step writes (or whose members or group it writes).
        let mut touched = pick.map(|k| known[k].id);
        match (rng.below(12), pick) {
            (0..=4, _) | (_, None) => {
                if let Some(image) = pool.next() {
                    // A duplicate registry key is refused; the index must not show it either.
                    let read_me = (rng.below(4) == 0).then(|| format!("read me {step}"));
                    let _ = indexed.insert_image(&image, read_me.as_deref()).await;
                    touched = Some(image.id);
                    known.push(image);
                }
            }
            (5 | 6, Some(k)) => {
                let mut image = known[k].clone();
                mutate(rng, &mut image);
                if indexed.update_image(&image).await.is_ok() {
                    known[k] = image;
                }
            }
            (7, Some(k)) => {
                indexed.delete_image(known[k].id).await.unwrap();
            }
            (8 | 9, Some(k)) => {
                let member = Member {
                    image_id: known[k].id,
                    member: project(rng.below(6) as u8),
                    status: MemberStatus::Pending,
                    created_at: Millis(1),
                    updated_at: Millis(1),
                };
                let _ = indexed.add_member(&member).await;
            }
            (10, Some(k)) => {
                let members = sql.list_members(known[k].id).await.unwrap();
                if let Some(m) = members.first() {
                    if rng.below(3) == 0 {
                        indexed.delete_member(m.image_id, &m.member).await.unwrap();
                    } else {
                        let m = Member { status: *rng.pick(MemberStatus::ALL), ..m.clone() };
                        indexed.update_member(&m).await.unwrap();
                    }
                }
            }
            (_, Some(k)) => {
                let group = known[k].group_id();
                if rng.below(2) == 0 {
                    let meta = GroupMeta { read_me: Some(format!("step {step}")), kv_tags: vec![] };
                    indexed.put_group_meta(group, &meta).await.unwrap();
                } else {
                    indexed.delete_group(group, &[]).await.unwrap();
                }
            }
        }
        if let Some(id) = touched {
            // The record, and the list that selects it by id (an answer of the index).
            let expected = sql.get_image(id).await.unwrap();
            let q = ImageQuery {
                filters: vec![Filter::Id(vec![id])],
                sort: vec![],
                page: PageRequest::Offset { offset: 0, limit: 5 },
                with_total: true,
            };
            let everything = AccessScope::everything();
            let listed = sql.list_images(&everything, &q).await.unwrap();
            for (n, reader) in readers.iter().enumerate() {
                let at = format!("step {step}: reader {n} after a write of {id}");
                assert_eq!(reader.get_image(id).await.unwrap(), expected, "{at}");
                let page = reader.list_images(&everything, &q).await.unwrap();
                assert_eq!((page.items, page.total), (listed.items.clone(), listed.total), "{at}: listed");
            }
        }
        if step % 25 == 24 {
            for reader in readers {
                same_answers(*reader, sql, rng, &known, step).await;
            }
        }
    }
    known
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_writes_keep_the_index_equal_to_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let sql: Images = Arc::new(SqliteStore::open(&dir.path().join("test.db")).await.unwrap());
    let indexed = IndexedStore::build(sql.clone()).await.unwrap();
    let mut rng = Rng::new(2027);
    let known = random_writes(&indexed, &[&indexed], sql.as_ref(), &mut rng, 500).await;
    assert!(indexed.indexed() > 50, "the sequence left too few images to compare: {}", indexed.indexed());
    // A restart rebuilds the index from the store: the answers stay the same.
    let rebuilt = IndexedStore::build(sql.clone()).await.unwrap();
    assert_eq!(rebuilt.indexed(), indexed.indexed());
    same_answers(&rebuilt, sql.as_ref(), &mut rng, &known, 500).await;
    same_answers(&rebuilt, &indexed, &mut rng, &known, 501).await;
}

/// Two nodes on one PostgreSQL database: every write goes through the first, and the
/// second, which learns of them only through the change feed, answers as the database
/// does after each write and every 25 steps; so does a node started afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_node_follows_the_change_feed() {
    let Some(db) = PgDatabase::create("a_second_node_follows_the_change_feed").await else { return };
    let sql: Images = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let (a, b) = (node(&db.url).await, node(&db.url).await);
    let mut rng = Rng::new(2028);
    let known = random_writes(a.as_ref(), &[a.as_ref(), b.as_ref()], sql.as_ref(), &mut rng, 300).await;
    assert!(b.indexed() > 30, "the sequence left too few images to compare: {}", b.indexed());
    let c = node(&db.url).await;
    same_answers(c.as_ref(), sql.as_ref(), &mut rng, &known, 300).await;
    same_answers(b.as_ref(), c.as_ref(), &mut rng, &known, 301).await;
}

/// A node further behind than the changes the database keeps rebuilds its index, and
/// the database keeps no more than about `keep` versions of changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_the_kept_changes_rebuilds() {
    let Some(db) = PgDatabase::create("a_node_behind_the_kept_changes_rebuilds").await else { return };
    let sql: Images = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let (a, b) = (node(&db.url).await, node(&db.url).await);
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    sqlx::query("UPDATE change_clock SET keep = 10").execute(&mut conn).await.unwrap();
    let mut rng = Rng::new(77);
    let catalog = random_catalog(&mut rng, 60);
    for image in &catalog {
        let _ = a.insert_image(image, None).await;
    }
    for image in catalog.iter().step_by(3) {
        a.delete_image(image.id).await.unwrap();
    }
    let (kept_from, kept): (i64, i64) =
        sqlx::query_as("SELECT kept_from, (SELECT count(DISTINCT version) FROM changes) FROM change_clock")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert!(kept_from > 50, "changes were not pruned: kept from version {kept_from}");
    assert!(kept <= 11, "{kept} versions of changes kept, at most 11 expected");
    // b has read nothing since it started at version 0: the changes it misses are gone.
    same_answers(b.as_ref(), sql.as_ref(), &mut rng, &catalog, 0).await;
    assert_eq!(b.indexed(), a.indexed());
}

/// Writers and readers at once, spread over `nodes`: readers never get another
/// project's private image, and when the writers stop, every node answers exactly as the
/// SQL store.
async fn concurrent_writes(nodes: &[Images], sql: &dyn ImageStore) {
    let mut rng = Rng::new(4242);
    let all = random_catalog(&mut rng, 600);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
    let mut tasks = Vec::new();
    for w in 0..4u64 {
        let node = nodes[w as usize % nodes.len()].clone();
        let mine = all.iter().skip(w as usize).step_by(4).cloned().collect::<Vec<_>>();
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(w + 1);
            for mut image in mine.into_iter().cycle() {
                if std::time::Instant::now() > until {
                    break;
                }
                match rng.below(4) {
                    0 => {
                        let _ = node.insert_image(&image, None).await;
                    }
                    1 => {
                        image.visibility = *rng.pick(Visibility::ALL);
                        let _ = node.update_image(&image).await;
                    }
                    2 => {
                        let _ = node.delete_group(image.group_id(), &[]).await;
                    }
                    _ => {
                        let _ = node.delete_image(image.id).await;
                    }
                }
            }
        }));
    }
    for r in 0..4u8 {
        let node = nodes[(r as usize + 1) % nodes.len()].clone();
        tasks.push(tokio::spawn(async move {
            let access = AccessScope::project(project(r));
            while std::time::Instant::now() < until {
                let q = ImageQuery {
                    filters: vec![],
                    sort: vec![],
                    page: PageRequest::Offset { offset: 0, limit: 50 },
                    with_total: true,
                };
                for i in node.list_images(&access, &q).await.unwrap().items {
                    assert!(
                        i.owner == *access.viewer() || i.visibility != Visibility::Private,
                        "{:?} saw {}'s private image {}",
                        access.viewer(),
                        i.owner,
                        i.id
                    );
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for node in nodes {
        same_answers(node.as_ref(), sql, &mut rng, &all, 0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_converge_and_never_leak() {
    let dir = tempfile::tempdir().unwrap();
    let sql: Images = Arc::new(SqliteStore::open(&dir.path().join("test.db")).await.unwrap());
    let indexed: Images = Arc::new(IndexedStore::build(sql.clone()).await.unwrap());
    concurrent_writes(&[indexed], sql.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writes_on_two_nodes_converge_and_never_leak() {
    let Some(db) = PgDatabase::create("concurrent_writes_on_two_nodes_converge_and_never_leak").await else { return };
    let sql: Images = Arc::new(PostgresStore::connect(&db.url).await.unwrap());
    let nodes: Vec<Images> = vec![node(&db.url).await, node(&db.url).await];
    concurrent_writes(&nodes, sql.as_ref()).await;
}

/// A node whose reads never stop (so it always has a catch-up that started moments ago)
/// still shows every write another node has answered, in its very next read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_node_shows_every_write_answered_elsewhere() {
    let Some(db) = PgDatabase::create("a_busy_node_shows_every_write_answered_elsewhere").await else { return };
    let (a, b) = (node(&db.url).await, node(&db.url).await);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let busy = {
        let (b, stop) = (b.clone(), stop.clone());
        tokio::spawn(async move {
            let q = ImageQuery {
                filters: vec![],
                sort: vec![],
                page: PageRequest::Offset { offset: 0, limit: 1 },
                with_total: true,
            };
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                b.list_images(&AccessScope::project(project(1)), &q).await.unwrap();
            }
        })
    };
    let mut rng = Rng::new(9);
    for (n, mut image) in random_catalog(&mut rng, 200).into_iter().enumerate() {
        let owner = imagehub_catalog::ProjectId::parse(&format!("{:032x}", 1_000 + n)).unwrap();
        image.owner = owner.clone();
        image.visibility = Visibility::Private;
        a.insert_image(&image, None).await.unwrap();
        let q = ImageQuery {
            filters: vec![],
            sort: vec![],
            page: PageRequest::Offset { offset: 0, limit: 10 },
            with_total: true,
        };
        let seen = b.list_images(&AccessScope::project(owner), &q).await.unwrap();
        assert_eq!(ids(&seen.items), vec![image.id.to_string()], "write {n} answered by a, not shown by b");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.await.unwrap();
}

/// The boundary of the kept changes: a node whose next needed version was pruned (and
/// only that one) rebuilds instead of applying the changes that are left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_missing_one_pruned_version_rebuilds() {
    let Some(db) = PgDatabase::create("a_node_missing_one_pruned_version_rebuilds").await else { return };
    let (a, b) = (node(&db.url).await, node(&db.url).await);
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    let mut rng = Rng::new(5);
    let images = random_catalog(&mut rng, 3);
    let everything = AccessScope::everything();
    let q = ImageQuery {
        filters: vec![],
        sort: vec![(imagehub_catalog::SortKey::Id, SortDir::Asc)],
        page: PageRequest::Offset { offset: 0, limit: 10 },
        with_total: true,
    };
    a.insert_image(&images[0], None).await.unwrap();
    assert_eq!(b.list_images(&everything, &q).await.unwrap().total, Some(1));
    let (seen,): (i64,) = sqlx::query_as("SELECT version FROM change_clock").fetch_one(&mut conn).await.unwrap();
    a.insert_image(&images[1], None).await.unwrap();
    a.insert_image(&images[2], None).await.unwrap();
    // The changes of version seen + 1 are gone; those of seen + 2 are kept.
    sqlx::query("DELETE FROM changes WHERE version <= $1").bind(seen + 1).execute(&mut conn).await.unwrap();
    sqlx::query("UPDATE change_clock SET kept_from = $1").bind(seen + 2).execute(&mut conn).await.unwrap();
    let mut expected: Vec<String> = images.iter().map(|i| i.id.to_string()).collect();
    expected.sort();
    let page = b.list_images(&everything, &q).await.unwrap();
    assert_eq!(ids(&page.items), expected);
}
