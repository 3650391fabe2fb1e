//! Query plans on SQLite: the list, count and group shapes the faces send must reach
//! `images` through an index (`SEARCH … USING INDEX`), never a full `SCAN images`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;

use imagehub_catalog::{
    AccessScope, ContainerFormat, Filter, GroupQuery, GroupSortKey, ImageKind, ImageQuery, PageRequest, ServiceType,
    SortDir, SortKey, Store, TextMatch,
};
use imagehub_store::SqliteStore;

fn modelarts_filters(kind: Option<ImageKind>, extra: Vec<Filter>) -> Vec<Filter> {
    let mut f = vec![Filter::ContainerFormat(ContainerFormat::Docker)];
    f.extend(kind.map(Filter::Kind));
    f.push(Filter::Workspace("0".into()));
    f.extend(extra);
    f
}

fn assert_indexed(label: &str, plan: &[String]) {
    println!("{label}:\n  {}", plan.join("\n  "));
    for line in plan {
        let scans_images = line.starts_with("SCAN images") || line.contains("SCAN images ");
        assert!(!scans_images, "{label}: full scan of images in plan {plan:#?}");
    }
    assert!(
        plan.iter().any(|l| l.contains("USING INDEX")
            || l.contains("USING COVERING INDEX")
            || l.contains("INTEGER PRIMARY KEY")),
        "{label}: no index used in plan {plan:#?}"
    );
}

#[tokio::test]
async fn list_count_and_group_shapes_use_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("plans.db")).await.unwrap();
    // A catalog with a realistic spread, so the planner has something to weigh.
    let mut rng = contract::Rng::new(3);
    for i in contract::random_catalog(&mut rng, 2000) {
        store.insert_image(&i, None).await.unwrap();
    }
    let project = AccessScope::Project(contract::project(1));
    type Shape = (&'static str, AccessScope, Vec<Filter>, Vec<(SortKey, SortDir)>);
    let shapes: Vec<Shape> = vec![
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
        ("ListImage as admin", AccessScope::Everything, modelarts_filters(Some(ImageKind::BuiltIn), vec![]), vec![]),
    ];
    for (label, access, filters, sort) in shapes {
        let q = ImageQuery { filters, sort, page: PageRequest::Offset { offset: 0, limit: 200 }, with_total: true };
        assert_indexed(&format!("{label} / page"), &store.explain_list(&access, &q).await.unwrap());
        assert_indexed(&format!("{label} / count"), &store.explain_count(&access, &q).await.unwrap());
    }
    for (label, access, kind) in [
        ("ListImageGroup (all types)", project.clone(), None),
        ("ListImageGroup DEDICATED", project.clone(), Some(ImageKind::Dedicated)),
        ("ListImageGroup as admin", AccessScope::Everything, Some(ImageKind::BuiltIn)),
    ] {
        let q = GroupQuery {
            filters: modelarts_filters(kind, vec![]),
            sort: vec![(GroupSortKey::UpdatedAt, SortDir::Desc)],
            offset: 0,
            limit: 200,
        };
        assert_indexed(label, &store.explain_groups(&access, &q).await.unwrap());
    }
}
