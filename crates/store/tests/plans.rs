//! Query plans on both backends: the list, count and group shapes the faces send must
//! reach `images` through an index, never a full scan (`SCAN images` on SQLite,
//! `Seq Scan on images` on PostgreSQL).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;

use imagehub_catalog::{
    AccessScope, ContainerFormat, Filter, GroupQuery, GroupSortKey, ImageKind, ImageQuery, PageRequest, ServiceType,
    SortDir, SortKey, Store, TextMatch,
};
use imagehub_store::testing::PgDatabase;
use imagehub_store::{Explain, Explained, PostgresStore, SqliteStore};

fn modelarts_filters(kind: Option<ImageKind>, extra: Vec<Filter>) -> Vec<Filter> {
    let mut f = vec![Filter::ContainerFormat(ContainerFormat::Docker)];
    f.extend(kind.map(Filter::Kind));
    f.push(Filter::Workspace("0".into()));
    f.extend(extra);
    f
}

/// Whether a plan line reads the whole images table.
fn full_scan(line: &str) -> bool {
    let l = line.trim_start().trim_start_matches("->").trim_start();
    l.starts_with("SCAN images") || l.starts_with("Seq Scan on images")
}

fn uses_index(line: &str) -> bool {
    line.contains("USING INDEX")
        || line.contains("USING COVERING INDEX")
        || line.contains("Index Scan")
        || line.contains("Index Only Scan")
        || line.contains("Bitmap Index Scan")
}

fn assert_indexed(backend: &str, label: &str, plan: &[String]) {
    println!("[{backend}] {label}:\n  {}", plan.join("\n  "));
    assert!(!plan.iter().any(|l| full_scan(l)), "[{backend}] {label}: full scan of images in {plan:#?}");
    assert!(plan.iter().any(|l| uses_index(l)), "[{backend}] {label}: no index used in {plan:#?}");
}

type Shape = (&'static str, AccessScope, Vec<Filter>, Vec<(SortKey, SortDir)>);

fn list_shapes() -> Vec<Shape> {
    let project = AccessScope::project(contract::project(1));
    vec![
        (
            "ListImage default (BUILD_IN, create_at desc)",
            project.clone(),
            modelarts_filters(Some(ImageKind::BuiltIn), vec![]),
            vec![],
        ),
        ("ListImage DEDICATED", project.clone(), modelarts_filters(Some(ImageKind::Dedicated), vec![]), vec![]),
        (
            "ListImage name fuzzy + type + sort_key",
            project.clone(),
            modelarts_filters(Some(ImageKind::Dedicated), vec![Filter::Name(TextMatch::Contains("torch".into()))]),
            vec![(SortKey::UpdatedAt, SortDir::Asc), (SortKey::Name, SortDir::Asc)],
        ),
        (
            "ListImage exact name + namespace + service_type",
            project.clone(),
            modelarts_filters(
                Some(ImageKind::Dedicated),
                vec![
                    Filter::Name(TextMatch::Exact("pytorch".into())),
                    Filter::Namespace("ns1".into()),
                    Filter::ServiceType(ServiceType::Train),
                ],
            ),
            vec![],
        ),
        ("ListImage as admin", AccessScope::everything(), modelarts_filters(Some(ImageKind::BuiltIn), vec![]), vec![]),
    ]
}

async fn check_plans(backend: &str, store: &(impl Store + Explain)) {
    // A catalog with a realistic spread, so the planner has something to weigh.
    let mut rng = contract::Rng::new(3);
    for i in contract::random_catalog(&mut rng, 2000) {
        store.insert_image(&i, None).await.unwrap();
    }
    for (label, access, filters, sort) in list_shapes() {
        let q = ImageQuery { filters, sort, page: PageRequest::Offset { offset: 0, limit: 200 }, with_total: true };
        assert_indexed(
            backend,
            &format!("{label} / page"),
            &store.explain(Explained::List(&access, &q)).await.unwrap(),
        );
        assert_indexed(
            backend,
            &format!("{label} / count"),
            &store.explain(Explained::Count(&access, &q)).await.unwrap(),
        );
    }
    let project = AccessScope::project(contract::project(1));
    for (label, access, kind) in [
        ("ListImageGroup (all types)", project.clone(), None),
        ("ListImageGroup DEDICATED", project.clone(), Some(ImageKind::Dedicated)),
        ("ListImageGroup as admin", AccessScope::everything(), Some(ImageKind::BuiltIn)),
    ] {
        let q = GroupQuery {
            filters: modelarts_filters(kind, vec![]),
            sort: vec![(GroupSortKey::UpdatedAt, SortDir::Desc)],
            offset: 0,
            limit: 200,
        };
        assert_indexed(backend, label, &store.explain(Explained::Groups(&access, &q)).await.unwrap());
    }
}

#[tokio::test]
async fn sqlite_list_count_and_group_shapes_use_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("plans.db")).await.unwrap();
    check_plans("sqlite", &store).await;
}

#[tokio::test]
async fn postgres_list_count_and_group_shapes_use_indexes() {
    let Some(db) = PgDatabase::create("postgres_list_count_and_group_shapes_use_indexes").await else { return };
    let store = PostgresStore::connect(&db.url).await.unwrap();
    check_plans("postgres", &store).await;
}
