//! The one place where the catalog's query model becomes SQL. Backends only choose the
//! query builder; filters, visibility, sort, keyset and paging are rendered here.

use imagehub_catalog::{
    AccessPart, AccessScope, Cmp, Filter, GroupQuery, GroupSortKey, Image, ImageQuery, MemberRule, NameMatch,
    NumberField, SortDir, SortKey, TimeField, Visibility,
};
use sea_query::{
    Alias, Asterisk, Cond, Condition, Expr, ExprTrait, Func, LikeExpr, NullOrdering, Order, Query, SelectStatement,
    UnionType, Value,
};

pub const IMAGES: &str = "images";

/// Every column of `images`, in the order [`crate::row`] reads them.
pub const IMAGE_COLUMNS: &[&str] = &[
    "id",
    "owner",
    "workspace_id",
    "group_id",
    "kind",
    "name",
    "namespace",
    "tag",
    "registry_path",
    "digest",
    "arch",
    "origin",
    "service_type",
    "dev_services",
    "resource_categories",
    "accelerator_type",
    "image_type",
    "status",
    "status_message",
    "size",
    "virtual_size",
    "visibility",
    "protected",
    "os_hidden",
    "container_format",
    "disk_format",
    "min_ram",
    "min_disk",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "tags",
    "kv_tags",
    "properties",
    "description",
    "flavor_type",
    "uploaded_by",
    "created_at",
    "updated_at",
];

/// Columns derived from the record on every write (the store keeps them for indexing;
/// they are never read back).
pub const DERIVED_COLUMNS: &[&str] = &["accelerator", "app_type"];

/// Column, and whether it can be NULL, of a sort key.
fn sort_column(key: SortKey) -> (&'static str, bool) {
    match key {
        SortKey::CreatedAt => ("created_at", false),
        SortKey::UpdatedAt => ("updated_at", false),
        SortKey::Name => ("name", true),
        SortKey::Tag => ("tag", true),
        SortKey::Size => ("size", true),
        SortKey::Status => ("status", false),
        SortKey::ContainerFormat => ("container_format", true),
        SortKey::DiskFormat => ("disk_format", true),
        SortKey::Id => ("id", false),
    }
}

/// The value of a sort key in a record (for keyset paging).
pub fn sort_value(image: &Image, key: SortKey) -> Value {
    match key {
        SortKey::CreatedAt => Value::BigInt(Some(image.created_at.0)),
        SortKey::UpdatedAt => Value::BigInt(Some(image.updated_at.0)),
        SortKey::Name => Value::String(image.name.clone()),
        SortKey::Tag => Value::String(image.tag.clone()),
        SortKey::Size => Value::BigInt(image.size),
        SortKey::Status => Value::String(Some(image.status.as_str().to_owned())),
        SortKey::ContainerFormat => Value::String(image.container_format.map(|c| c.as_str().to_owned())),
        SortKey::DiskFormat => Value::String(image.disk_format.map(|d| d.as_str().to_owned())),
        SortKey::Id => Value::String(Some(image.id.to_string())),
    }
}

fn order(dir: SortDir) -> Order {
    match dir {
        SortDir::Asc => Order::Asc,
        SortDir::Desc => Order::Desc,
    }
}

/// `id IN (SELECT image_id FROM <table> WHERE …)`.
fn id_in(table: &'static str, cond: Condition) -> Expr {
    Expr::col("id").in_subquery(Query::select().column("image_id").from(table).cond_where(cond).to_owned())
}

/// The condition of one access part ([`AccessPart`]): the viewer's own images
/// (`owner`), other projects' images of a visibility (`visibility`), the shared images
/// the viewer is a member of (`image_members`), or an administrator's everything.
fn part_cond(viewer: &str, part: AccessPart) -> Condition {
    let others =
        |v: Visibility| Cond::all().add(Expr::col("visibility").eq(v.as_str())).add(Expr::col("owner").ne(viewer));
    match part {
        AccessPart::Own => Cond::all().add(Expr::col("owner").eq(viewer)),
        AccessPart::Others(v) => others(v),
        AccessPart::SharedWith(rule) => {
            let mut member = Cond::all().add(Expr::col("member").eq(viewer));
            if let MemberRule::Status(status) = rule {
                member = member.add(Expr::col("status").eq(status.as_str()));
            }
            others(Visibility::Shared).add(id_in("image_members", member))
        }
        AccessPart::Every { community: true } => Cond::all(),
        AccessPart::Every { community: false } => Cond::all().add(
            Cond::any()
                .add(Expr::col("visibility").ne(Visibility::Community.as_str()))
                .add(Expr::col("owner").eq(viewer)),
        ),
    }
}

/// The WHERE of each disjoint part of a list ([`AccessScope::parts`]): the part's
/// condition AND every filter. None when the filters exclude everything `access` admits.
fn where_parts(access: &AccessScope, filters: &[Filter]) -> Vec<Condition> {
    let viewer = access.viewer().as_str();
    access
        .parts(filters)
        .into_iter()
        .map(|part| filters.iter().fold(part_cond(viewer, part), |c, f| c.add(filter_cond(f))))
        .collect()
}

/// The rows a list is made of, as a select without columns for the caller to finish:
/// `FROM images WHERE <part>` for a single part; otherwise each part's
/// `SELECT <columns> FROM images WHERE <part>`, finished by `shape` (its own ordering and
/// limit) and wrapped so that they stay its own, merged with `UNION ALL` into a derived
/// table `v`.
fn parts_source(
    mut parts: Vec<Condition>,
    columns: &[&'static str],
    shape: impl Fn(&mut SelectStatement),
) -> SelectStatement {
    if parts.len() == 1 {
        let mut stmt = Query::select();
        stmt.from(IMAGES).cond_where(parts.remove(0));
        return stmt;
    }
    let mut selects = parts.into_iter().enumerate().map(|(n, cond)| {
        let mut part = Query::select();
        part.columns(columns.iter().copied()).from(IMAGES).cond_where(cond);
        shape(&mut part);
        let mut wrapped = Query::select();
        wrapped.column(Asterisk).from_subquery(part, Alias::new(format!("p{n}")));
        wrapped
    });
    let mut union = selects.next().unwrap_or_else(|| {
        // Nothing admitted: a select of no rows with the same columns.
        let mut none = Query::select();
        none.columns(columns.iter().copied()).from(IMAGES).and_where(Expr::cust("1 = 0"));
        none
    });
    for s in selects {
        union.union(UnionType::All, s);
    }
    let mut outer = Query::select();
    outer.from_subquery(union, Alias::new("v"));
    outer
}

/// A row count as the databases take it (signed 64 bits: a larger one means as many).
fn bound(n: u64) -> u64 {
    Ord::min(n, i64::MAX as u64)
}

/// Escapes LIKE wildcards so user text matches literally.
fn like_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn filter_cond(f: &Filter) -> Condition {
    match f {
        Filter::Any(fs) => fs.iter().fold(Cond::any(), |c, f| c.add(filter_cond(f))),
        other => Cond::all().add(filter_expr(other)),
    }
}

fn filter_expr(f: &Filter) -> Expr {
    // One value is an equality (what the indexes' plans are checked with), more an IN.
    let any_of = |col: &'static str, mut values: Vec<String>| match values.len() {
        1 => Expr::col(col).eq(values.remove(0)),
        _ => Expr::col(col).is_in(values),
    };
    let words = |col, words: Vec<&'static str>| any_of(col, words.into_iter().map(str::to_owned).collect());
    match f {
        Filter::Kind(k) => Expr::col("kind").eq(k.as_str()),
        Filter::Name(NameMatch::AnyOf(names)) => any_of("name", names.clone()),
        Filter::Name(NameMatch::Contains(n)) => Expr::expr(Func::lower(Expr::col("name")))
            .like(LikeExpr::new(format!("%{}%", like_literal(n.as_str()))).escape('\\')),
        Filter::Namespace(n) => Expr::col("namespace").eq(n.as_str()),
        Filter::ServiceType(s) => Expr::col("service_type").eq(s.as_str()),
        Filter::Workspace(w) => Expr::col("workspace_id").eq(w.as_str()),
        Filter::Arch(a) => Expr::col("arch").eq(a.as_str()),
        Filter::ContainerFormat(cs) => words("container_format", cs.iter().map(|c| c.as_str()).collect()),
        Filter::DiskFormat(ds) => words("disk_format", ds.iter().map(|d| d.as_str()).collect()),
        Filter::Status(ss) => words("status", ss.iter().map(|s| s.as_str()).collect()),
        Filter::Id(ids) => any_of("id", ids.iter().map(ToString::to_string).collect()),
        Filter::Owner(p) => Expr::col("owner").eq(p.as_str()),
        Filter::Group(g) => Expr::col("group_id").eq(g.to_string()),
        Filter::Accelerator(a) => Expr::col("accelerator").eq(a.as_str()),
        Filter::AppType(t) => Expr::col("app_type").eq(t.as_str()),
        Filter::Visibility(vs) => Expr::col("visibility").is_in(vs.iter().map(|v| v.as_str())),
        Filter::Version(text) => Expr::cust("LOWER(COALESCE(name, '') || ':' || COALESCE(tag, ''))")
            .like(LikeExpr::new(format!("%{}%", like_literal(text.as_str()))).escape('\\')),
        Filter::Checksum(c) => Expr::col("checksum").eq(c.as_str()),
        Filter::OsHashValue(h) => Expr::col("os_hash_value").eq(h.as_str()),
        Filter::Number(field, cmp, v) => compare(number_column(*field), *cmp, Value::BigInt(Some(*v))),
        Filter::Time(field, cmp, t) => {
            let col = match field {
                TimeField::CreatedAt => "created_at",
                TimeField::UpdatedAt => "updated_at",
            };
            compare(col, *cmp, Value::BigInt(Some(t.0)))
        }
        Filter::Protected(b) => Expr::col("protected").eq(*b),
        Filter::Hidden(b) => Expr::col("os_hidden").eq(*b),
        Filter::Tag(t) => id_in("image_tags", Cond::all().add(Expr::col("tag").eq(t.as_str()))),
        Filter::Property(k, v) => id_in(
            "image_properties",
            Cond::all().add(Expr::col("key").eq(k.as_str())).add(Expr::col("value").eq(v.as_str())),
        ),
        Filter::MemberOf(p) => id_in("image_members", Cond::all().add(Expr::col("member").eq(p.as_str()))),
        // Rendered by filter_cond.
        Filter::Any(_) => Expr::cust("1 = 1"),
    }
}

fn number_column(f: NumberField) -> &'static str {
    match f {
        NumberField::Size => "size",
        NumberField::VirtualSize => "virtual_size",
        NumberField::MinRam => "min_ram",
        NumberField::MinDisk => "min_disk",
    }
}

fn compare(col: &'static str, cmp: Cmp, v: Value) -> Expr {
    let c = Expr::col(col);
    match cmp {
        Cmp::Eq => c.eq(v),
        Cmp::Neq => c.ne(v),
        Cmp::Gt => c.gt(v),
        Cmp::Gte => c.gte(v),
        Cmp::Lt => c.lt(v),
        Cmp::Lte => c.lte(v),
    }
}

/// Orders by `expr`; where it can be NULL, NULL sorts as the smallest value on every
/// backend (PostgreSQL would put it last ascending).
fn order_by(stmt: &mut SelectStatement, expr: Expr, dir: SortDir, nullable: bool) {
    if nullable {
        let nulls = if dir == SortDir::Asc { NullOrdering::First } else { NullOrdering::Last };
        stmt.order_by_expr_with_nulls(expr, order(dir), nulls);
    } else {
        stmt.order_by_expr(expr, order(dir));
    }
}

fn order_images(stmt: &mut SelectStatement, sort: &[(SortKey, SortDir)]) {
    for &(key, dir) in sort {
        let (col, nullable) = sort_column(key);
        order_by(stmt, Expr::col(col), dir, nullable);
    }
    let last_dir = sort.last().map_or(SortDir::Desc, |s| s.1);
    stmt.order_by("id", order(last_dir));
}

/// A page of a list: each access part's first `offset + limit + 1` rows in sort order
/// (each through its own index), merged, sorted, and cut to `limit + 1` rows after
/// `offset`. With `marker` (the marker record), the rows strictly after it instead of an
/// offset.
pub fn list_images(access: &AccessScope, q: &ImageQuery, marker: Option<&Image>) -> SelectStatement {
    let sort = q.effective_sort();
    let mut parts = where_parts(access, &q.filters);
    if let Some(m) = marker {
        parts = parts.into_iter().map(|p| p.add(after_marker(&sort, m))).collect();
    }
    let offset = match q.page {
        imagehub_catalog::PageRequest::Offset { offset, .. } => offset,
        imagehub_catalog::PageRequest::After { .. } => 0,
    };
    let window = q.page.limit().saturating_add(1);
    let mut stmt = parts_source(parts, IMAGE_COLUMNS, |part| {
        order_images(part, &sort);
        part.limit(bound(offset.saturating_add(window)));
    });
    stmt.columns(IMAGE_COLUMNS.iter().copied());
    order_images(&mut stmt, &sort);
    stmt.limit(bound(window));
    if offset > 0 {
        stmt.offset(bound(offset));
    }
    stmt
}

/// `SELECT COUNT(*)` of a list: over the one part, or over the union of the parts.
pub fn count_images(access: &AccessScope, filters: &[Filter]) -> SelectStatement {
    let mut stmt = parts_source(where_parts(access, filters), &["id"], |_| {});
    stmt.expr(Func::count(Expr::col("id")));
    stmt
}

/// Rows strictly after `marker` in `sort` order (then id), with NULL as the smallest value.
fn after_marker(sort: &[(SortKey, SortDir)], marker: &Image) -> Condition {
    let last_dir = sort.last().map_or(SortDir::Desc, |s| s.1);
    let id = marker.id.to_string();
    let mut tail: Condition = Cond::all().add(match last_dir {
        SortDir::Asc => Expr::col("id").gt(id),
        SortDir::Desc => Expr::col("id").lt(id),
    });
    for &(key, dir) in sort.iter().rev() {
        let (col, _) = sort_column(key);
        let v = sort_value(marker, key);
        let is_null = matches!(v, Value::String(None) | Value::BigInt(None));
        let (strictly_after, equal): (Option<Expr>, Expr) = match (dir, is_null) {
            (SortDir::Asc, true) => (Some(Expr::col(col).is_not_null()), Expr::col(col).is_null()),
            (SortDir::Asc, false) => (Some(Expr::col(col).gt(v.clone())), Expr::col(col).eq(v)),
            (SortDir::Desc, true) => (None, Expr::col(col).is_null()),
            (SortDir::Desc, false) => {
                (Some(Expr::col(col).lt(v.clone()).or(Expr::col(col).is_null())), Expr::col(col).eq(v))
            }
        };
        let mut any = Cond::any();
        if let Some(s) = strictly_after {
            any = any.add(s);
        }
        tail = any.add(Cond::all().add(equal).add(tail));
    }
    tail
}

/// Column, and whether it can be NULL, of a group sort key (over the grouped rows).
fn group_sort_column(key: GroupSortKey) -> (&'static str, bool) {
    match key {
        GroupSortKey::CreatedAt => ("created_min", false),
        GroupSortKey::UpdatedAt => ("updated_max", false),
        GroupSortKey::Name => ("group_name", true),
        GroupSortKey::VersionCount => ("version_count", false),
    }
}

/// The columns a group row is computed from.
const GROUP_SOURCE_COLUMNS: &[&str] = &["id", "group_id", "owner", "namespace", "name", "created_at", "updated_at"];

/// The admitted, selected images a group list is computed from: `images` itself for one
/// access part, the union of the parts' rows otherwise.
fn group_source(access: &AccessScope, filters: &[Filter]) -> SelectStatement {
    parts_source(where_parts(access, filters), GROUP_SOURCE_COLUMNS, |_| {})
}

/// One row per group of admitted, selected images:
/// `group_id, owner, namespace, name, version_count, created_min, updated_max`.
pub fn list_groups(access: &AccessScope, q: &GroupQuery) -> SelectStatement {
    let mut stmt = group_rows(group_source(access, &q.filters));
    for (key, dir) in q.effective_sort() {
        let (col, nullable) = group_sort_column(key);
        order_by(&mut stmt, Expr::col(col), dir, nullable);
    }
    let last_dir = q.effective_sort().last().map_or(SortDir::Desc, |s| s.1);
    stmt.order_by("group_id", order(last_dir));
    stmt.limit(bound(q.limit.saturating_add(1)));
    if q.offset > 0 {
        stmt.offset(bound(q.offset));
    }
    stmt
}

fn group_rows(mut source: SelectStatement) -> SelectStatement {
    source
        .column("group_id")
        .expr_as(Func::min(Expr::col("owner")), "group_owner")
        .expr_as(Func::min(Expr::col("namespace")), "group_namespace")
        .expr_as(Func::min(Expr::col("name")), "group_name")
        .expr_as(Func::count(Expr::col("id")), "version_count")
        .expr_as(Func::min(Expr::col("created_at")), "created_min")
        .expr_as(Func::max(Expr::col("updated_at")), "updated_max")
        .group_by_col("group_id");
    source
}

/// One group's row, as `access` sees it.
pub fn get_group(access: &AccessScope, group: &imagehub_catalog::GroupId, filters: &[Filter]) -> SelectStatement {
    let mut all = vec![Filter::Group(*group)];
    all.extend_from_slice(filters);
    group_rows(group_source(access, &all))
}

/// The condition of the images of `group` that pass `filters` (no access rule: what a
/// write takes).
pub fn group_images(group: &imagehub_catalog::GroupId, filters: &[Filter]) -> Condition {
    filters.iter().fold(Cond::all().add(Expr::col("group_id").eq(group.to_string())), |c, f| c.add(filter_cond(f)))
}

/// `SELECT COUNT(DISTINCT group_id) …`.
pub fn count_groups(access: &AccessScope, filters: &[Filter]) -> SelectStatement {
    let mut stmt = group_source(access, filters);
    stmt.expr(Func::count_distinct(Expr::col("group_id")));
    stmt
}
