//! Filters compiled against the index ([`Test`]): words as enums, strings resolved to
//! their interned symbols, needles built once per query; and their evaluation on a row
//! (a NULL never matches, as in SQL).

use imagehub_catalog::{
    Arch, Cmp, ContainerFormat, DiskFormat, Filter, GroupId, ImageId, ImageKind, NameMatch, NumberField, ServiceType,
    Status, TimeField, Visibility,
};

use super::strings::Strings;
use super::{Index, Row, Sym};

/// A filter compiled against the index: words as enums, strings resolved to their
/// interned symbols (a string the index never saw matches nothing), needles case-folded.
pub(super) enum Test {
    Never,
    Kind(ImageKind),
    NameIn(Vec<Sym>),
    /// A case-folded needle, its searcher built once per query.
    NameContains(Box<memchr::memmem::Finder<'static>>),
    Namespace(Sym),
    ServiceType(ServiceType),
    Workspace(Sym),
    Arch(Arch),
    ContainerFormatIn(Vec<ContainerFormat>),
    DiskFormatIn(Vec<DiskFormat>),
    OwnerIn(Vec<Sym>),
    Group(GroupId),
    Accelerator(Sym),
    AppType(Sym),
    Visibility(Vec<Visibility>),
    StatusIn(Vec<Status>),
    Version(String),
    IdIn(Vec<ImageId>),
    Checksum(String),
    OsHashValue(String),
    Number(NumberField, Cmp, i64),
    Time(TimeField, Cmp, i64),
    Protected(bool),
    Hidden(bool),
    Tag(Sym),
    Property(Sym, Sym),
    MemberOf(Sym),
    Any(Vec<Test>),
}

pub(super) fn compile(st: &Strings, f: &Filter) -> Test {
    let sym = |s: &str, make: fn(Sym) -> Test| st.find(s).map_or(Test::Never, make);
    match f {
        Filter::Kind(k) => Test::Kind(*k),
        Filter::Name(NameMatch::AnyOf(names)) => Test::NameIn(st.all_found(names)),
        Filter::Name(NameMatch::Contains(n)) => {
            Test::NameContains(Box::new(memchr::memmem::Finder::new(n.as_str().as_bytes()).into_owned()))
        }
        Filter::Namespace(n) => sym(n, Test::Namespace),
        Filter::ServiceType(s) => Test::ServiceType(*s),
        Filter::Workspace(w) => sym(w, Test::Workspace),
        Filter::Arch(a) => Test::Arch(*a),
        Filter::ContainerFormat(cs) => Test::ContainerFormatIn(cs.clone()),
        Filter::DiskFormat(ds) => Test::DiskFormatIn(ds.clone()),
        Filter::Status(ss) => Test::StatusIn(ss.clone()),
        Filter::Id(ids) => Test::IdIn(ids.clone()),
        Filter::Owner(p) => Test::OwnerIn(st.find(p.as_str()).into_iter().collect()),
        Filter::Group(g) => Test::Group(*g),
        Filter::Accelerator(a) => sym(a.as_str(), Test::Accelerator),
        Filter::AppType(t) => sym(t.as_str(), Test::AppType),
        Filter::Visibility(vs) => Test::Visibility(vs.clone()),
        Filter::Version(t) => Test::Version(t.as_str().to_owned()),
        Filter::Checksum(c) => Test::Checksum(c.clone()),
        Filter::OsHashValue(h) => Test::OsHashValue(h.clone()),
        Filter::Number(field, cmp, v) => Test::Number(*field, *cmp, *v),
        Filter::Time(field, cmp, t) => Test::Time(*field, *cmp, t.0),
        Filter::Protected(b) => Test::Protected(*b),
        Filter::Hidden(b) => Test::Hidden(*b),
        Filter::Tag(t) => sym(t, Test::Tag),
        Filter::Property(k, v) => match (st.find(k), st.find(v)) {
            (Some(k), Some(v)) => Test::Property(k, v),
            _ => Test::Never,
        },
        Filter::MemberOf(p) => sym(p.as_str(), Test::MemberOf),
        Filter::Any(fs) => Test::Any(fs.iter().map(|f| compile(st, f)).collect()),
    }
}

impl Index {
    /// The filters compiled; `None` when one of them can match nothing.
    pub(super) fn compile_all(&self, filters: &[Filter]) -> Option<Vec<Test>> {
        let tests: Vec<Test> = filters.iter().map(|t| compile(&self.strings, t)).collect();
        (!tests.iter().any(|t| matches!(t, Test::Never))).then_some(tests)
    }

    pub(super) fn passes_all(&self, r: &Row, tests: &[Test]) -> bool {
        tests.iter().all(|t| self.passes(r, t))
    }

    /// Whether a row passes a compiled filter; a NULL never matches, as in SQL.
    pub(super) fn passes(&self, r: &Row, t: &Test) -> bool {
        let st = &self.strings;
        match t {
            Test::Never => false,
            Test::Kind(k) => r.kind == *k,
            Test::NameIn(names) => r.name.is_some_and(|n| names.contains(&n)),
            Test::NameContains(n) => r.name.is_some_and(|s| n.find(st.lower(s).as_bytes()).is_some()),
            Test::Namespace(n) => r.cold.namespace == Some(*n),
            Test::ServiceType(s) => r.cold.service_type == Some(*s),
            Test::Workspace(w) => r.workspace == *w,
            Test::Arch(a) => r.cold.arch == Some(*a),
            Test::ContainerFormatIn(cs) => r.container_format.is_some_and(|c| cs.contains(&c)),
            Test::DiskFormatIn(ds) => r.disk_format.is_some_and(|d| ds.contains(&d)),
            Test::OwnerIn(owners) => owners.contains(&r.owner),
            Test::Group(g) => r.cold.group == *g,
            Test::Accelerator(a) => r.cold.accelerator == *a,
            Test::AppType(t) => r.cold.app_type == *t,
            Test::Visibility(vs) => vs.contains(&r.visibility),
            Test::StatusIn(ss) => ss.contains(&r.status),
            Test::Version(t) => {
                let name = r.name.map_or("", |s| st.lower(s));
                let tag = r.cold.tag.map_or("", |s| st.lower(s));
                format!("{name}:{tag}").contains(t.as_str())
            }
            Test::IdIn(ids) => ids.contains(&r.id),
            Test::Checksum(v) => r.cold.checksum.as_deref() == Some(v.as_str()),
            Test::OsHashValue(v) => r.cold.os_hash_value.as_deref() == Some(v.as_str()),
            Test::Number(field, cmp, v) => {
                let value = match field {
                    NumberField::Size => r.cold.size,
                    NumberField::VirtualSize => r.cold.virtual_size,
                    NumberField::MinRam => Some(r.cold.min_ram),
                    NumberField::MinDisk => Some(r.cold.min_disk),
                };
                value.is_some_and(|x| cmp.holds(x, *v))
            }
            Test::Time(field, cmp, t) => {
                let value = match field {
                    TimeField::CreatedAt => r.created_at,
                    TimeField::UpdatedAt => r.updated_at,
                };
                cmp.holds(value, *t)
            }
            Test::Protected(b) => r.protected == *b,
            Test::Hidden(b) => r.hidden == *b,
            Test::Tag(t) => r.cold.tags.contains(t),
            Test::Property(k, v) => r.cold.properties.contains(&(*k, *v)),
            Test::MemberOf(p) => r.cold.members.iter().any(|(m, _)| m == p),
            Test::Any(ts) => ts.iter().any(|t| self.passes(r, t)),
        }
    }
}
