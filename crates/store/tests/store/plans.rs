//! Query plans on both backends: the list, count and group shapes the faces send must
//! reach `images` through an index, never a full scan (`SCAN images` on SQLite,
//! `Seq Scan on images` on PostgreSQL).

use imagehub_catalog::{
    Accelerator, AccessScope, AppType, Cmp, DiskFormat, Filter, GroupQuery, GroupSortKey, ImageKind, ImageQuery,
    ImageStore, Listing, MemberRule, Millis, NameMatch, Needle, NumberField, PageRequest, ProjectId, ServiceType,
    SortDir, SortKey, Status, TimeField, View, Visibility,
};
use imagehub_store::testing::PgDatabase;
use imagehub_store::{Explain, Explained, PostgresStore, SqliteStore};

/// What a listing policy and a face's own filters make, in the order the catalog puts them.
fn listed(listing: Listing, extra: Vec<Filter>) -> Vec<Filter> {
    let mut f = listing.filters(&crate::contract::project(1));
    f.extend(extra);
    f
}

fn modelarts_filters(kind: Option<ImageKind>, extra: Vec<Filter>) -> Vec<Filter> {
    let mut f = Listing::Containers.filters(&crate::contract::project(1));
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
    let project = AccessScope::project(crate::contract::project(1));
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
            modelarts_filters(
                Some(ImageKind::Dedicated),
                vec![Filter::Name(NameMatch::Contains(Needle::new("torch")))],
            ),
            vec![(SortKey::UpdatedAt, SortDir::Asc), (SortKey::Name, SortDir::Asc)],
        ),
        (
            "ListImage exact name + namespace + service_type",
            project.clone(),
            modelarts_filters(
                Some(ImageKind::Dedicated),
                vec![
                    Filter::Name(NameMatch::AnyOf(vec!["pytorch".into()])),
                    Filter::Namespace("ns1".into()),
                    Filter::ServiceType(ServiceType::Train),
                ],
            ),
            vec![],
        ),
        ("ListImage as admin", AccessScope::everything(), modelarts_filters(Some(ImageKind::BuiltIn), vec![]), vec![]),
        ("Glance default list", glance_access(false), glance_filters(vec![]), vec![]),
        (
            "Glance list, visibility + disk_format + status",
            glance_access(false),
            glance_filters(vec![
                Filter::Visibility(vec![Visibility::Private]),
                Filter::DiskFormat(vec![DiskFormat::Raw]),
                Filter::Status(vec![Status::Active]),
            ]),
            vec![],
        ),
        (
            "Glance list, visibility=all, member_status=all, sort by name",
            glance_access(true).with_view(View { members: MemberRule::Any, community: true }),
            glance_filters(vec![]),
            vec![(SortKey::Name, SortDir::Asc)],
        ),
        (
            "Glance list, tag + property",
            glance_access(false),
            glance_filters(vec![Filter::Tag("gold".into()), Filter::Property("os_distro".into(), "ubuntu".into())]),
            vec![],
        ),
        (
            "Glance list, __imagetype=shared",
            glance_access(false),
            glance_filters(vec![
                Filter::Visibility(vec![Visibility::Shared]),
                Filter::MemberOf(crate::contract::project(1)),
            ]),
            vec![],
        ),
        (
            "Glance list, __imagetype=gold",
            glance_access(false),
            glance_filters(vec![Filter::Owner(ProjectId::system()), Filter::Visibility(vec![Visibility::Public])]),
            vec![],
        ),
        (
            "Glance list, size range + created_at",
            glance_access(false),
            glance_filters(vec![
                Filter::Number(NumberField::Size, Cmp::Gte, 1),
                Filter::Time(TimeField::CreatedAt, Cmp::Gt, Millis(1_010)),
            ]),
            vec![(SortKey::Size, SortDir::Desc)],
        ),
        (
            "SCNet instance-service images",
            project.clone(),
            listed(
                Listing::Containers,
                vec![
                    Filter::Accelerator(Accelerator::parse("gpu").unwrap()),
                    Filter::AppType(AppType::parse("JupyterLab").unwrap()),
                ],
            ),
            vec![],
        ),
        (
            "SCNet image/images, public, fuzzy version",
            project.clone(),
            listed(Listing::PublicContainers, vec![Filter::Version(Needle::new("torch"))]),
            vec![(SortKey::CreatedAt, SortDir::Desc)],
        ),
        (
            "SCNet image/images, private",
            project.clone(),
            listed(Listing::OwnUnpublishedContainers, vec![]),
            vec![(SortKey::UpdatedAt, SortDir::Asc)],
        ),
    ]
}

/// Glance's access: the caller's default view, or `visibility=all` (community included).
fn glance_access(community: bool) -> AccessScope {
    AccessScope::project(crate::contract::project(1)).with_view(View { community, ..View::DEFAULT })
}

/// The filters every Glance list carries (listed statuses, not hidden), plus `extra`.
fn glance_filters(extra: Vec<Filter>) -> Vec<Filter> {
    let mut f = listed(Listing::Images, extra);
    f.push(Filter::Hidden(false));
    f
}

async fn check_plans(backend: &str, store: &(impl ImageStore + Explain)) {
    // A catalog with a realistic spread, so the planner has something to weigh.
    let mut rng = crate::contract::Rng::new(3);
    for i in crate::contract::random_catalog(&mut rng, 2000) {
        store.insert_image(&i, None).await.unwrap();
    }
    let marker = store
        .list_images(
            &AccessScope::everything(),
            &ImageQuery {
                filters: vec![],
                sort: vec![],
                page: PageRequest::Offset { offset: 500, limit: 1 },
                with_total: false,
            },
        )
        .await
        .unwrap()
        .items
        .remove(0);
    for (label, access, filters, sort) in list_shapes() {
        let q = ImageQuery { filters, sort, page: PageRequest::Offset { offset: 0, limit: 200 }, with_total: true };
        assert_indexed(
            backend,
            &format!("{label} / page after a marker"),
            &store.explain(Explained::ListAfter(&access, &q, &marker)).await.unwrap(),
        );
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
    let project = AccessScope::project(crate::contract::project(1));
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
