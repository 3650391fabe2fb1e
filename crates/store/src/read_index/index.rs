//! The read index: an in-memory projection of the catalog that answers list, count and
//! group queries without visiting the database, so that their cost grows with what the
//! caller can see rather than with the catalog.
//!
//! It holds one compact row per image (words as enums, repeated strings interned, no
//! display-only fields) and the sets that a visibility rule is made of: each project's own
//! images, the public ones, the community ones, and per project the images it is a member
//! of. A query takes the parts of those sets that its [`AccessScope`] admits, evaluates
//! the filters on each row, counts, sorts and pages in memory. The records of a page are
//! then read from the store by id ([`crate::IndexedStore`]).
//!
//! The semantics are those of the SQL rendering in [`crate::render`] on SQLite (NULL sorts
//! first ascending; text compares bytewise; `LOWER` folds ASCII only); the contract suite
//! and a randomized comparison against the store keep the two equal.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use imagehub_catalog::{
    AccessPart, AccessScope, Arch, Cmp, ContainerFormat, DiskFormat, Filter, GroupId, GroupQuery, GroupSortKey, Image,
    ImageId, ImageKind, ImageQuery, Member, MemberRule, MemberStatus, NameMatch, NumberField, PageRequest, ServiceType,
    SortDir, SortKey, Status, TimeField, Visibility,
};

use crate::hashing::IdHashing;

type ByGroup<V> = HashMap<GroupId, V, IdHashing>;

type Sym = u32;
type Slot = u32;

/// Interned strings, with their ASCII-lower-cased form for substring matches.
#[derive(Default)]
struct Strings {
    ids: HashMap<Box<str>, Sym>,
    text: Vec<Box<str>>,
    lower: Vec<Option<Box<str>>>,
}

impl Strings {
    fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = Sym::try_from(self.text.len()).unwrap_or(Sym::MAX);
        self.ids.insert(s.into(), id);
        self.text.push(s.into());
        let lower = s.to_ascii_lowercase();
        self.lower.push((lower != s).then(|| lower.into()));
        id
    }

    fn get(&self, s: Sym) -> &str {
        self.text.get(s as usize).map_or("", |t| t)
    }

    fn lower(&self, s: Sym) -> &str {
        match self.lower.get(s as usize) {
            Some(Some(l)) => l,
            _ => self.get(s),
        }
    }
}

/// What the index keeps of an image: every attribute a filter or sort reads. The
/// attributes most lists test (access, kind, format, workspace, status, name, times)
/// fit in one cache line; the rest sits behind a pointer that a scan follows only
/// when a filter or sort needs it.
#[repr(align(64))]
struct Row {
    id: ImageId,
    created_at: i64,
    updated_at: i64,
    cold: Box<Cold>,
    owner: Sym,
    workspace: Sym,
    name: Option<Sym>,
    kind: ImageKind,
    visibility: Visibility,
    status: Status,
    container_format: Option<ContainerFormat>,
    disk_format: Option<DiskFormat>,
    protected: bool,
    hidden: bool,
}

// One cache line per row.
const _: () = assert!(std::mem::size_of::<Row>() == 64);

struct Cold {
    group: GroupId,
    namespace: Option<Sym>,
    tag: Option<Sym>,
    accelerator: Sym,
    app_type: Sym,
    arch: Option<Arch>,
    service_type: Option<ServiceType>,
    size: Option<i64>,
    virtual_size: Option<i64>,
    min_ram: i64,
    min_disk: i64,
    checksum: Option<Box<str>>,
    os_hash_value: Option<Box<str>>,
    tags: Box<[Sym]>,
    properties: Box<[(Sym, Sym)]>,
    members: Box<[(Sym, MemberStatus)]>,
}

/// One group's row over the images a caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub id: GroupId,
    pub owner: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub version_count: i64,
    pub created_min: i64,
    pub updated_max: i64,
}

/// A group's aggregate while a group list is computed (strings still interned).
#[derive(Clone)]
struct GroupAgg {
    id: GroupId,
    owner: Sym,
    namespace: Option<Sym>,
    name: Option<Sym>,
    version_count: i64,
    created_min: i64,
    updated_max: i64,
}

/// The `limit` items after the first `offset` under `cmp`, sorted, without sorting the
/// rest: `items` is partitioned at `offset`, then at `offset + limit`.
fn page_of<T>(items: &mut [T], offset: usize, limit: usize, cmp: impl Fn(&T, &T) -> Ordering) -> &mut [T] {
    if offset >= items.len() || limit == 0 {
        return &mut [];
    }
    if offset > 0 {
        // items[..offset] <= items[offset] <= items[offset + 1..]
        items.select_nth_unstable_by(offset, &cmp);
    }
    let tail = &mut items[offset..];
    if limit < tail.len() {
        tail.select_nth_unstable_by(limit, &cmp);
    }
    let end = limit.min(tail.len());
    let page = &mut tail[..end];
    page.sort_unstable_by(&cmp);
    page
}

/// A page of ids (or group rows), the total and whether more follow.
pub struct IndexPage<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub has_more: bool,
}

#[derive(Default)]
pub struct Index {
    strings: Strings,
    rows: Vec<Option<Row>>,
    free: Vec<Slot>,
    slots: HashMap<ImageId, Slot, IdHashing>,
    community: SlotSet,
    member_of: HashMap<Sym, SlotSet>,
    groups: ByGroup<SlotSet>,
    /// The public images newest first (the default order of every face), the part of
    /// a project's view that every project shares.
    public_newest: Newest,
    /// Each project's own images newest first.
    owned_newest: HashMap<Sym, Newest>,
    /// The rows of those two parts that pass a filter set, kept until a change reaches
    /// their part ([`Index::forget_selections_of`]): per filter set and part (`None`: the public images of every owner; a project:
    /// its own images).
    selections: Mutex<Selections>,
}

/// Kept [`Selection`]s by filter set and part, and how many slots they hold in all.
#[derive(Default)]
struct Selections {
    by_filters: HashMap<Vec<Filter>, HashMap<Option<Sym>, Arc<Selection>>>,
    slots: usize,
}

/// The kept selections are dropped together when they hold more slots than this
/// (4 bytes each); the next lists select again.
const SELECTION_SLOTS: usize = 8 << 20;

/// The rows of one part that pass a filter set, newest first, how many are public,
/// and, once a group list asked, their groups.
struct Selection {
    slots: Vec<Slot>,
    public: u64,
    groups: OnceLock<Vec<GroupAgg>>,
}

/// What a kept group aggregate counts for against [`SELECTION_SLOTS`] (its size in slots).
const GROUP_AGG_SLOTS: usize = std::mem::size_of::<GroupAgg>() / std::mem::size_of::<Slot>();

/// The default order of every face: newest first (then the greater id).
const NEWEST: [(SortKey, SortDir); 1] = [(SortKey::CreatedAt, SortDir::Desc)];

/// Rows in the default order, by slot.
type Newest = BTreeSet<(Reverse<i64>, Reverse<ImageId>, Slot)>;

/// A set of slots kept sorted, so that iterating it reads the rows in memory order.
#[derive(Default)]
struct SlotSet(Vec<Slot>);

impl SlotSet {
    fn insert(&mut self, slot: Slot) {
        if let Err(at) = self.0.binary_search(&slot) {
            self.0.insert(at, slot);
        }
    }

    fn remove(&mut self, slot: &Slot) {
        if let Ok(at) = self.0.binary_search(slot) {
            self.0.remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn clear(&mut self) {
        self.0.clear();
    }

    fn iter(&self) -> std::slice::Iter<'_, Slot> {
        self.0.iter()
    }
}

impl<'a> IntoIterator for &'a SlotSet {
    type Item = &'a Slot;
    type IntoIter = std::slice::Iter<'a, Slot>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

fn remove_from<K: std::hash::Hash + Eq, H: std::hash::BuildHasher>(
    map: &mut HashMap<K, SlotSet, H>,
    key: K,
    slot: Slot,
) {
    if let Some(set) = map.get_mut(&key) {
        set.remove(&slot);
        if set.is_empty() {
            map.remove(&key);
        }
    }
}

/// The parts of a list ([`AccessScope::parts`]) as the index holds them: the kept
/// selections of the viewer's own images and of the public ones, the scanned community
/// and shared sets, or every row (an administrator's view).
#[derive(Default)]
struct Parts {
    every: Option<AccessPart>,
    own: bool,
    public: bool,
    community: bool,
    shared: Option<MemberRule>,
}

impl Parts {
    fn of(access: &AccessScope, filters: &[Filter]) -> Self {
        let mut parts = Parts::default();
        for part in access.parts(filters) {
            match part {
                AccessPart::Every { .. } => parts.every = Some(part),
                AccessPart::Own => parts.own = true,
                AccessPart::Others(Visibility::Public) => parts.public = true,
                AccessPart::Others(Visibility::Community) => parts.community = true,
                AccessPart::SharedWith(rule) => parts.shared = Some(rule),
                // Private images are only ever the owner's (or in an administrator's part).
                AccessPart::Others(Visibility::Private | Visibility::Shared) => {}
            }
        }
        parts
    }
}

fn directed(o: Ordering, dir: SortDir) -> Ordering {
    match dir {
        SortDir::Asc => o,
        SortDir::Desc => o.reverse(),
    }
}

/// A filter compiled against the index: words as enums, strings resolved to their
/// interned symbols (a string the index never saw matches nothing), needles case-folded.
enum Test {
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

impl Strings {
    fn find(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    fn all_found(&self, values: &[String]) -> Vec<Sym> {
        values.iter().filter_map(|v| self.find(v)).collect()
    }
}

fn compile(st: &Strings, f: &Filter) -> Test {
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

/// The first sort key of a row as an integer, where it is one (NULL below every value).
fn leading_key(r: &Row, key: SortKey) -> Option<(bool, i64)> {
    match key {
        SortKey::CreatedAt => Some((true, r.created_at)),
        SortKey::UpdatedAt => Some((true, r.updated_at)),
        SortKey::Size => Some(r.cold.size.map_or((false, 0), |s| (true, s))),
        _ => None,
    }
}

/// Windows up to this size are kept while scanning (insertion into a sorted buffer);
/// larger ones (deep offsets) collect every hit and select.
const SCAN_WINDOW: usize = 512;

impl Index {
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Lays the rows out again so that a scan reads memory in order: the public images
    /// together, then each project's other images together, each run newest first
    /// (the sets iterate slots in ascending order). Called after a bulk build; later
    /// writes reuse freed slots or append.
    pub fn compact(&mut self) {
        let mut order: Vec<Row> = self.rows.drain(..).flatten().collect();
        // Newest first within a run: the default order of every face, so a first page
        // is complete after its first rows and later rows are rejected with one compare.
        order.sort_unstable_by_key(|r| {
            (r.visibility != Visibility::Public, r.owner, std::cmp::Reverse((r.created_at, r.id)))
        });
        self.free.clear();
        self.slots.clear();
        self.public_newest.clear();
        self.owned_newest.clear();
        self.forget_selections();
        self.community.clear();
        self.member_of.clear();
        self.groups.clear();
        self.rows.reserve_exact(order.len());
        for row in order {
            let slot = Slot::try_from(self.rows.len()).unwrap_or(Slot::MAX);
            self.link(&row, slot);
            self.rows.push(Some(row));
        }
    }

    /// Enters a row's slot into the sets it belongs to.
    fn link(&mut self, row: &Row, slot: Slot) {
        self.owned_newest.entry(row.owner).or_default().insert((Reverse(row.created_at), Reverse(row.id), slot));
        match row.visibility {
            Visibility::Public => {
                self.public_newest.insert((Reverse(row.created_at), Reverse(row.id), slot));
            }
            Visibility::Community => {
                self.community.insert(slot);
            }
            Visibility::Private | Visibility::Shared => {}
        }
        for &(m, _) in row.cold.members.iter() {
            self.member_of.entry(m).or_default().insert(slot);
        }
        self.groups.entry(row.cold.group).or_default().insert(slot);
        self.slots.insert(row.id, slot);
    }

    /// Puts (or replaces) an image with its memberships.
    pub fn put(&mut self, image: &Image, members: &[Member]) {
        self.remove(image.id);
        let s = &mut self.strings;
        let row = Row {
            id: image.id,
            created_at: image.created_at.0,
            updated_at: image.updated_at.0,
            cold: Box::new(Cold {
                group: image.group_id(),
                namespace: image.namespace.as_deref().map(|n| s.intern(n)),
                tag: image.tag.as_deref().map(|t| s.intern(t)),
                accelerator: s.intern(&image.accelerator()),
                app_type: s.intern(image.app_type()),
                arch: image.arch,
                service_type: image.service_type,
                size: image.size,
                virtual_size: image.virtual_size,
                min_ram: image.min_ram,
                min_disk: image.min_disk,
                checksum: image.checksum.as_deref().map(Into::into),
                os_hash_value: image.os_hash_value.as_deref().map(Into::into),
                tags: image.tags.iter().map(|t| s.intern(t)).collect(),
                properties: image.properties.iter().map(|(k, v)| (s.intern(k), s.intern(v))).collect(),
                members: members
                    .iter()
                    .filter(|m| m.image_id == image.id)
                    .map(|m| (s.intern(m.member.as_str()), m.status))
                    .collect(),
            }),
            owner: s.intern(image.owner.as_str()),
            workspace: s.intern(&image.workspace_id),
            name: image.name.as_deref().map(|n| s.intern(n)),
            kind: image.kind,
            visibility: image.visibility,
            status: image.status,
            container_format: image.container_format,
            disk_format: image.disk_format,
            protected: image.protected,
            hidden: image.os_hidden,
        };
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.rows.push(None);
                Slot::try_from(self.rows.len() - 1).unwrap_or(Slot::MAX)
            }
        };
        self.forget_selections_of(row.owner, row.visibility);
        self.link(&row, slot);
        self.rows[slot as usize] = Some(row);
    }

    /// Forgets an image (no-op if unknown).
    pub fn remove(&mut self, id: ImageId) {
        let Some(slot) = self.slots.remove(&id) else { return };
        let Some(row) = self.rows.get_mut(slot as usize).and_then(Option::take) else { return };
        if let Some(newest) = self.owned_newest.get_mut(&row.owner) {
            newest.remove(&(Reverse(row.created_at), Reverse(row.id), slot));
            if newest.is_empty() {
                self.owned_newest.remove(&row.owner);
            }
        }
        self.public_newest.remove(&(Reverse(row.created_at), Reverse(row.id), slot));
        self.forget_selections_of(row.owner, row.visibility);
        self.community.remove(&slot);
        for &(m, _) in row.cold.members.iter() {
            remove_from(&mut self.member_of, m, slot);
        }
        remove_from(&mut self.groups, row.cold.group, slot);
        self.free.push(slot);
    }

    /// `project`'s membership status on an image, if it is a member.
    pub fn membership(&self, id: ImageId, project: &imagehub_catalog::ProjectId) -> Option<MemberStatus> {
        let p = self.strings.find(project.as_str())?;
        Self::member_status(self.slots.get(&id).and_then(|&s| self.row(s))?, p)
    }

    /// The ids of a group's images.
    pub fn group_members(&self, id: GroupId) -> Vec<ImageId> {
        self.groups
            .get(&id)
            .map_or_else(Vec::new, |set| set.iter().filter_map(|&s| self.row(s)).map(|r| r.id).collect())
    }

    fn row(&self, slot: Slot) -> Option<&Row> {
        self.rows.get(slot as usize).and_then(Option::as_ref)
    }

    /// Calls `f` with every row of a project's scanned parts that passes `tests`: the
    /// community images and the images shared with it, of other owners, as far as
    /// `parts` holds them (its own and the public images are selected from kept parts,
    /// [`Index::kept_parts`]).
    fn for_each_scanned<'a>(&'a self, viewer: Option<Sym>, parts: &Parts, tests: &[Test], mut f: impl FnMut(&'a Row)) {
        let mut f = |r: &'a Row| {
            if self.passes_all(r, tests) {
                f(r);
            }
        };
        let rows = |set: &'a SlotSet| set.iter().filter_map(|&s| self.row(s));
        if parts.community {
            rows(&self.community).filter(|r| Some(r.owner) != viewer).for_each(&mut f);
        }
        if let (Some(v), Some(rule)) = (viewer, parts.shared) {
            self.member_of
                .get(&v)
                .into_iter()
                .flat_map(rows)
                .filter(|r| {
                    let part = AccessPart::SharedWith(rule);
                    part.holds(r.owner == v, r.visibility, Self::member_status(r, v))
                })
                .for_each(&mut f);
        }
    }

    /// A project's kept parts under a filter set: the selections of its own images and of
    /// the public ones, as far as `parts` holds them (`None` for the own part when the
    /// project has no image). The public selection holds the project's own public images
    /// too.
    fn kept_parts(
        &self,
        viewer: Option<Sym>,
        parts: &Parts,
        filters: &[Filter],
        tests: &[Test],
    ) -> (Option<Arc<Selection>>, Option<Arc<Selection>>) {
        let passes = |r: &Row| self.passes_all(r, tests);
        let own = viewer
            .filter(|_| parts.own)
            .and_then(|v| Some(self.selection(filters, Some(v), self.owned_newest.get(&v)?, passes)));
        let public = parts.public.then(|| self.selection(filters, None, &self.public_newest, passes));
        (own, public)
    }

    /// The filters compiled; `None` when one of them can match nothing.
    fn compile_all(&self, filters: &[Filter]) -> Option<Vec<Test>> {
        let tests: Vec<Test> = filters.iter().map(|t| compile(&self.strings, t)).collect();
        (!tests.iter().any(|t| matches!(t, Test::Never))).then_some(tests)
    }

    fn passes_all(&self, r: &Row, tests: &[Test]) -> bool {
        tests.iter().all(|t| self.passes(r, t))
    }

    /// Calls `f` with every row `access` admits that passes every filter, each once, in
    /// no order: every row for an administrator; for a project, its scanned parts and its
    /// kept parts.
    fn for_each_selected<'a>(&'a self, access: &AccessScope, filters: &[Filter], mut f: impl FnMut(&'a Row)) {
        let Some(tests) = self.compile_all(filters) else { return };
        let parts = Parts::of(access, filters);
        let viewer = self.strings.find(access.viewer().as_str());
        if let Some(every) = parts.every {
            for r in self.rows.iter().flatten() {
                if every.holds(Some(r.owner) == viewer, r.visibility, None) && self.passes_all(r, &tests) {
                    f(r);
                }
            }
            return;
        }
        self.for_each_scanned(viewer, &parts, &tests, &mut f);
        let (own, public) = self.kept_parts(viewer, &parts, filters, &tests);
        for r in own.iter().flat_map(|s| s.slots.iter()).filter_map(|&s| self.row(s)) {
            f(r);
        }
        for r in public.iter().flat_map(|s| s.slots.iter()).filter_map(|&s| self.row(s)) {
            if Some(r.owner) != viewer {
                f(r);
            }
        }
    }

    /// The viewer's membership status on a row, if it is a member.
    fn member_status(r: &Row, viewer: Sym) -> Option<MemberStatus> {
        r.cold.members.iter().find(|(m, _)| *m == viewer).map(|(_, s)| *s)
    }

    /// [`AccessScope::admits`] on a row.
    fn admits(&self, access: &AccessScope, r: &Row) -> bool {
        let viewer = self.strings.find(access.viewer().as_str());
        let membership = match (r.visibility, viewer) {
            (Visibility::Shared, Some(v)) => Self::member_status(r, v),
            _ => None,
        };
        access.admits_facts(Some(r.owner) == viewer, r.visibility, membership)
    }

    fn opt(&self, s: Option<Sym>) -> Option<&str> {
        s.map(|s| self.strings.get(s))
    }

    /// Whether a row passes a compiled filter; a NULL never matches, as in SQL.
    fn passes(&self, r: &Row, t: &Test) -> bool {
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

    /// Order of two rows under a sort (NULL first ascending), then the id in the last
    /// key's direction.
    fn order(&self, a: &Row, b: &Row, sort: &[(SortKey, SortDir)]) -> Ordering {
        let st = &self.strings;
        for &(key, dir) in sort {
            let o = match key {
                SortKey::CreatedAt => a.created_at.cmp(&b.created_at),
                SortKey::UpdatedAt => a.updated_at.cmp(&b.updated_at),
                SortKey::Name => a.name.map(|s| st.get(s)).cmp(&b.name.map(|s| st.get(s))),
                SortKey::Tag => a.cold.tag.map(|s| st.get(s)).cmp(&b.cold.tag.map(|s| st.get(s))),
                SortKey::Size => a.cold.size.cmp(&b.cold.size),
                SortKey::Status => a.status.as_str().cmp(b.status.as_str()),
                SortKey::ContainerFormat => {
                    a.container_format.map(|c| c.as_str()).cmp(&b.container_format.map(|c| c.as_str()))
                }
                SortKey::DiskFormat => a.disk_format.map(|d| d.as_str()).cmp(&b.disk_format.map(|d| d.as_str())),
                SortKey::Id => a.id.cmp(&b.id),
            };
            if o != Ordering::Equal {
                return directed(o, dir);
            }
        }
        let last = sort.last().map_or(SortDir::Desc, |s| s.1);
        directed(a.id.cmp(&b.id), last)
    }

    /// A page of image ids; `None` if the marker is unknown. A project's lists in the
    /// default order are cut from kept selections ([`Index::list_newest_first`]); every
    /// other list scans what the caller may see.
    pub fn list(&self, access: &AccessScope, q: &ImageQuery) -> Option<IndexPage<ImageId>> {
        // Glance spells the same order with its id tie-break.
        let sort = q.effective_sort();
        if !access.is_admin() && (sort == NEWEST || sort == [NEWEST[0], (SortKey::Id, SortDir::Desc)]) {
            return self.list_newest_first(access, q);
        }
        self.list_scanning(access, q, SCAN_WINDOW)
    }

    fn forget_selections(&mut self) {
        if let Ok(selections) = self.selections.get_mut() {
            *selections = Selections::default();
        }
    }

    /// Forgets the kept selections of the parts a row of `owner` and visibility `v`
    /// belongs to, as it comes or goes: its owner's own part and, for a public row, the
    /// public part. A selection holds only rows of its part and its filters look at
    /// nothing but the row, so every other selection stays true. (A group aggregate
    /// computed from a selection already forgotten may still count against the budget
    /// until the next full drop: the budget only errs on the early side.)
    fn forget_selections_of(&mut self, owner: Sym, v: Visibility) {
        let Ok(kept) = self.selections.get_mut() else { return };
        let parts = [Some(Some(owner)), (v == Visibility::Public).then_some(None)];
        let mut freed = 0;
        kept.by_filters.retain(|_, by_part| {
            for part in parts.iter().flatten() {
                if let Some(gone) = by_part.remove(part) {
                    freed += gone.slots.len() + gone.groups.get().map_or(0, |g| g.len() * GROUP_AGG_SLOTS);
                }
            }
            !by_part.is_empty()
        });
        kept.slots = kept.slots.saturating_sub(freed);
    }

    /// Keeps `r` if it is among the first `window` rows under `cmp` (`kept` is sorted).
    fn offer<'a>(kept: &mut Vec<&'a Row>, r: &'a Row, window: usize, cmp: impl Fn(&Row, &Row) -> Ordering) {
        if kept.len() == window {
            match kept.last() {
                Some(worst) if cmp(r, worst) == Ordering::Less => {
                    kept.pop();
                }
                _ => return,
            }
        }
        let at = kept.partition_point(|k| cmp(k, r) == Ordering::Less);
        kept.insert(at, r);
    }

    /// The rows of `part` that pass `passes`, newest first: from [`Index::selections`]
    /// under `filters` and `key`, or selected now and kept there.
    fn selection(
        &self,
        filters: &[Filter],
        key: Option<Sym>,
        part: &Newest,
        passes: impl Fn(&Row) -> bool,
    ) -> Arc<Selection> {
        let kept = |s: &Selections| s.by_filters.get(filters).and_then(|parts| parts.get(&key)).cloned();
        if let Some(known) = self.selections.lock().ok().and_then(|s| kept(&s)) {
            return known;
        }
        let mut public = 0u64;
        let slots: Vec<Slot> = part
            .iter()
            .filter_map(|&(_, _, slot)| self.row(slot).filter(|r| passes(r)).map(|r| (slot, r.visibility)))
            .map(|(slot, v)| {
                public += u64::from(v == Visibility::Public);
                slot
            })
            .collect();
        let selection = Arc::new(Selection { slots, public, groups: OnceLock::new() });
        if let Ok(mut kept) = self.selections.lock() {
            if kept.slots + selection.slots.len() > SELECTION_SLOTS {
                *kept = Selections::default();
            }
            kept.slots += selection.slots.len();
            kept.by_filters.entry(filters.to_vec()).or_default().insert(key, selection.clone());
        }
        selection
    }

    /// A project's list in the default order (newest first), at any offset or marker.
    /// The community and shared parts are scanned and sorted; the own and public parts
    /// are kept selections, in that order already, so a marker is found by bisection and
    /// the page is cut from the merge of the three, which stops after it. The total adds
    /// the parts' sizes; the caller's own public images, in both kept parts, are merged
    /// from the own part and counted once.
    fn list_newest_first(&self, access: &AccessScope, q: &ImageQuery) -> Option<IndexPage<ImageId>> {
        let (skip, marker) = match &q.page {
            PageRequest::Offset { offset, .. } => (usize::try_from(*offset).unwrap_or(usize::MAX), None),
            PageRequest::After { marker, .. } => (0, Some(self.slots.get(marker).and_then(|&s| self.row(s))?)),
        };
        let limit = usize::try_from(q.page.limit()).unwrap_or(usize::MAX);
        let Some(tests) = self.compile_all(&q.filters) else {
            return Some(IndexPage { items: Vec::new(), total: 0, has_more: false });
        };
        let cmp = |a: &Row, b: &Row| self.order(a, b, &NEWEST);
        let viewer = self.strings.find(access.viewer().as_str());
        let parts = Parts::of(access, &q.filters);
        let mut scanned = Vec::new();
        self.for_each_scanned(viewer, &parts, &tests, |r| scanned.push(r));
        scanned.sort_unstable_by(|a, b| cmp(a, b));
        let (own, public) = self.kept_parts(viewer, &parts, &q.filters, &tests);
        let (own_slots, own_public) = own.as_deref().map_or((&[][..], 0), |s| (&s.slots[..], s.public));
        let public_slots = public.as_deref().map_or(&[][..], |s| &s.slots[..]);
        let total = scanned.len() as u64
            + own_slots.len() as u64
            + public.as_ref().map_or(0, |_| (public_slots.len() as u64).saturating_sub(own_public));
        // Each part continues after the rows up to the marker (from its start, without one).
        let up_to_marker = |r: &Row| marker.is_some_and(|m| cmp(r, m) != Ordering::Greater);
        let slot_up_to_marker = |&s: &Slot| self.row(s).is_some_and(up_to_marker);
        let mut scanned = scanned[scanned.partition_point(|r| up_to_marker(r))..].iter().copied().peekable();
        let mut own =
            own_slots[own_slots.partition_point(slot_up_to_marker)..].iter().filter_map(|&s| self.row(s)).peekable();
        let mut public = public_slots[public_slots.partition_point(slot_up_to_marker)..]
            .iter()
            .filter_map(|&s| self.row(s))
            .filter(|r| Some(r.owner) != viewer)
            .peekable();
        let mut merged = std::iter::from_fn(|| {
            let heads = [scanned.peek().copied(), own.peek().copied(), public.peek().copied()];
            let (part, _) =
                heads.into_iter().enumerate().filter_map(|(i, r)| r.map(|r| (i, r))).min_by(|a, b| cmp(a.1, b.1))?;
            match part {
                0 => scanned.next(),
                1 => own.next(),
                _ => public.next(),
            }
        })
        .skip(skip);
        let items = merged.by_ref().take(limit).map(|r| r.id).collect();
        let has_more = merged.next().is_some();
        Some(IndexPage { items, total, has_more })
    }

    /// [`Index::list`], keeping windows up to `scan_window` while scanning.
    fn list_scanning(&self, access: &AccessScope, q: &ImageQuery, scan_window: usize) -> Option<IndexPage<ImageId>> {
        let sort = q.effective_sort();
        let (offset, marker) = match &q.page {
            PageRequest::Offset { offset, .. } => (usize::try_from(*offset).unwrap_or(usize::MAX), None),
            PageRequest::After { marker, .. } => (0, Some(self.slots.get(marker).and_then(|&s| self.row(s))?)),
        };
        let limit = usize::try_from(q.page.limit()).unwrap_or(usize::MAX);
        let window = offset.saturating_add(limit).saturating_add(1);
        // Most sorts lead with an integer key: compare it first, without the interner.
        let lead =
            sort.first().copied().filter(|(k, _)| matches!(k, SortKey::CreatedAt | SortKey::UpdatedAt | SortKey::Size));
        let cmp = |a: &Row, b: &Row| {
            if let Some((key, dir)) = lead {
                let o = leading_key(a, key).cmp(&leading_key(b, key));
                if o != Ordering::Equal {
                    return directed(o, dir);
                }
            }
            self.order(a, b, &sort)
        };
        let mut total = 0u64;
        let mut kept: Vec<&Row> = Vec::with_capacity(window.min(scan_window) + 1);
        self.for_each_selected(access, &q.filters, |r| {
            total += 1;
            if marker.is_some_and(|m| cmp(r, m) != Ordering::Greater) {
                return;
            }
            if window > scan_window {
                kept.push(r);
                return;
            }
            Self::offer(&mut kept, r, window, cmp);
        });
        let has_more = kept.len() > offset.saturating_add(limit);
        let items = if window > scan_window {
            page_of(&mut kept, offset, limit, |a, b| cmp(a, b)).iter().map(|r| r.id).collect()
        } else {
            kept.iter().skip(offset).take(limit).map(|r| r.id).collect()
        };
        Some(IndexPage { items, total, has_more })
    }

    /// Aggregates the rows `each` yields by group (owner, namespace and name as SQL's MIN:
    /// the smallest non-NULL value).
    fn group_aggs<'a>(&'a self, each: impl FnOnce(&mut dyn FnMut(&'a Row))) -> Vec<GroupAgg> {
        self.group_map(each).into_values().collect()
    }

    /// [`Index::group_aggs`], by group id.
    fn group_map<'a>(&'a self, each: impl FnOnce(&mut dyn FnMut(&'a Row))) -> ByGroup<GroupAgg> {
        let mut groups: ByGroup<GroupAgg> = ByGroup::default();
        each(&mut |r: &'a Row| {
            let one = GroupAgg {
                id: r.cold.group,
                owner: r.owner,
                namespace: r.cold.namespace,
                name: r.name,
                version_count: 1,
                created_min: r.created_at,
                updated_max: r.updated_at,
            };
            match groups.entry(r.cold.group) {
                std::collections::hash_map::Entry::Occupied(mut g) => self.absorb(g.get_mut(), &one),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(one);
                }
            }
        });
        groups
    }

    /// Adds the aggregate `other` of more rows of the same group to `g` (SQL's MIN for
    /// the strings: the smallest non-NULL value).
    fn absorb(&self, g: &mut GroupAgg, other: &GroupAgg) {
        let st = &self.strings;
        let smaller = |new: Option<Sym>, cur: Option<Sym>| match (new, cur) {
            (Some(n), Some(c)) => n != c && st.get(n) < st.get(c),
            (Some(_), None) => true,
            (None, _) => false,
        };
        g.version_count += other.version_count;
        g.created_min = g.created_min.min(other.created_min);
        g.updated_max = g.updated_max.max(other.updated_max);
        if smaller(Some(other.owner), Some(g.owner)) {
            g.owner = other.owner;
        }
        if smaller(other.namespace, g.namespace) {
            g.namespace = other.namespace;
        }
        if smaller(other.name, g.name) {
            g.name = other.name;
        }
    }

    /// The groups of a kept selection's rows, aggregated once (and counted against the
    /// kept selections' budget).
    fn selection_groups<'s>(&self, selection: &'s Selection) -> &'s [GroupAgg] {
        selection.groups.get_or_init(|| {
            let aggs = self.group_aggs(|f| selection.slots.iter().filter_map(|&s| self.row(s)).for_each(f));
            if let Ok(mut kept) = self.selections.lock() {
                kept.slots += aggs.len() * GROUP_AGG_SLOTS;
            }
            aggs
        })
    }

    /// The groups of the rows `access` admits that pass `filters`. For a project: the
    /// kept aggregates of its own part and of the public part (other owners' groups
    /// only: a group has one owner, and its own part holds all of its own groups' rows),
    /// a public group merged with what the scanned parts add to it.
    fn selected_groups(&self, access: &AccessScope, filters: &[Filter]) -> Vec<GroupAgg> {
        if access.is_admin() {
            return self.group_aggs(|f| self.for_each_selected(access, filters, f));
        }
        let Some(tests) = self.compile_all(filters) else { return Vec::new() };
        let viewer = self.strings.find(access.viewer().as_str());
        let parts = Parts::of(access, filters);
        let mut scanned = self.group_map(|f| self.for_each_scanned(viewer, &parts, &tests, f));
        let (own, public) = self.kept_parts(viewer, &parts, filters, &tests);
        let mut groups: Vec<GroupAgg> = own.as_deref().map_or_else(Vec::new, |s| self.selection_groups(s).to_vec());
        for g in public.as_deref().map_or(&[][..], |s| self.selection_groups(s)) {
            if Some(g.owner) == viewer {
                continue;
            }
            let mut g = g.clone();
            if let Some(more) = scanned.remove(&g.id) {
                self.absorb(&mut g, &more);
            }
            groups.push(g);
        }
        groups.extend(scanned.into_values());
        groups
    }

    fn group_row(&self, g: &GroupAgg) -> GroupRow {
        GroupRow {
            id: g.id,
            owner: self.strings.get(g.owner).to_owned(),
            namespace: self.opt(g.namespace).map(str::to_owned),
            name: self.opt(g.name).map(str::to_owned),
            version_count: g.version_count,
            created_min: g.created_min,
            updated_max: g.updated_max,
        }
    }

    /// A page of groups of the images `access` admits and the filters select.
    pub fn list_groups(&self, access: &AccessScope, q: &GroupQuery) -> IndexPage<GroupRow> {
        let mut groups = self.selected_groups(access, &q.filters);
        let sort = q.effective_sort();
        let last = sort.last().map_or(SortDir::Desc, |s| s.1);
        let offset = usize::try_from(q.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let cmp = |a: &GroupAgg, b: &GroupAgg| {
            for &(key, dir) in &sort {
                let o = match key {
                    GroupSortKey::CreatedAt => a.created_min.cmp(&b.created_min),
                    GroupSortKey::UpdatedAt => a.updated_max.cmp(&b.updated_max),
                    GroupSortKey::Name => self.opt(a.name).cmp(&self.opt(b.name)),
                    GroupSortKey::VersionCount => a.version_count.cmp(&b.version_count),
                };
                if o != Ordering::Equal {
                    return directed(o, dir);
                }
            }
            directed(a.id.cmp(&b.id), last)
        };
        let total = groups.len() as u64;
        let has_more = groups.len() > offset.saturating_add(limit);
        let items = page_of(&mut groups, offset, limit, cmp).iter().map(|g| self.group_row(g)).collect();
        IndexPage { items, total, has_more }
    }

    /// One group over the images `access` admits.
    pub fn get_group(&self, access: &AccessScope, id: GroupId) -> Option<GroupRow> {
        self.group_aggs(|f| {
            for r in self.groups.get(&id).into_iter().flatten().filter_map(|&s| self.row(s)) {
                if self.admits(access, r) {
                    f(r);
                }
            }
        })
        .pop()
        .map(|g| self.group_row(&g))
    }
}

#[cfg(test)]
mod tests {
    use imagehub_catalog::{Millis, ProjectId};

    use super::*;

    fn project(n: u64) -> ProjectId {
        ProjectId::parse(&format!("{n:032x}")).unwrap_or_else(ProjectId::system)
    }

    /// The rows `access` admits that pass the filters, by a walk of every row (no part,
    /// no kept selection).
    fn walked<'a>(index: &'a Index, access: &AccessScope, filters: &[Filter]) -> Vec<&'a Row> {
        let tests = index.compile_all(filters).unwrap_or_else(|| vec![Test::Never]);
        index.rows.iter().flatten().filter(|r| index.admits(access, r) && index.passes_all(r, &tests)).collect()
    }

    /// A page cut from [`walked`] rows sorted whole.
    fn walked_page(index: &Index, access: &AccessScope, q: &ImageQuery) -> (Vec<ImageId>, u64, bool) {
        let mut rows = walked(index, access, &q.filters);
        let sort = q.effective_sort();
        rows.sort_by(|a, b| index.order(a, b, &sort));
        let from = match &q.page {
            PageRequest::Offset { offset, .. } => *offset as usize,
            PageRequest::After { marker, .. } => {
                rows.iter().position(|r| r.id == *marker).map_or(rows.len(), |p| p + 1)
            }
        };
        let limit = q.page.limit() as usize;
        let page: Vec<ImageId> = rows.iter().skip(from).take(limit).map(|r| r.id).collect();
        (page, rows.len() as u64, rows.len() > from.saturating_add(limit))
    }

    /// Group aggregates as comparable tuples, sorted by group id.
    fn group_facts(index: &Index, mut groups: Vec<GroupAgg>) -> Vec<(GroupId, String, Option<String>, i64, i64, i64)> {
        groups.sort_by_key(|g| g.id);
        groups
            .iter()
            .map(|g| {
                let r = index.group_row(g);
                (r.id, r.owner, r.name, r.version_count, r.created_min, r.updated_max)
            })
            .collect()
    }

    /// Every way of cutting a page (merged from kept selections in the default order,
    /// kept while scanning, or collected and selected) gives the pages, totals and keyset
    /// pages of a plain walk of every row, at any offset, and the groups are that walk's
    /// groups; a change reaches the kept selections and their groups.
    #[test]
    fn merged_scanned_and_selected_pages_agree() {
        let mut index = Index::default();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let image = |k: u64, next: &mut dyn FnMut(u64) -> u64| {
            let mut i = Image::blank(ImageId::new_random(), project(next(5)), Millis(next(500) as i64));
            i.updated_at = Millis(next(50) as i64);
            i.visibility = Visibility::ALL[next(4) as usize];
            i.name = (next(6) != 0).then(|| format!("name-{}", next(40)));
            i.size = (next(3) != 0).then(|| next(100) as i64);
            i.tag = Some(format!("t{k}"));
            let members: Vec<Member> = (0..next(3))
                .map(|_| Member {
                    image_id: i.id,
                    member: project(next(5)),
                    status: MemberStatus::ALL[next(3) as usize],
                    created_at: i.created_at,
                    updated_at: i.created_at,
                })
                .collect();
            (i, members)
        };
        let mut ids = Vec::new();
        for k in 0..3000u64 {
            let (i, members) = image(k, &mut next);
            ids.push(i.id);
            index.put(&i, &members);
        }
        let sorts: [&[(SortKey, SortDir)]; 6] = [
            &[],
            &[(SortKey::Name, SortDir::Asc)],
            &[(SortKey::Size, SortDir::Desc), (SortKey::UpdatedAt, SortDir::Asc)],
            &[(SortKey::CreatedAt, SortDir::Desc)],
            &[(SortKey::CreatedAt, SortDir::Desc), (SortKey::Id, SortDir::Desc)],
            &[(SortKey::UpdatedAt, SortDir::Asc)],
        ];
        let filters = [
            vec![],
            vec![Filter::Visibility(vec![Visibility::Public])],
            vec![Filter::Visibility(vec![Visibility::Private, Visibility::Shared])],
            vec![Filter::Number(NumberField::Size, Cmp::Gte, 30)],
        ];
        for round in 0..200u64 {
            let members = if round % 2 == 0 { MemberRule::Any } else { MemberRule::Status(MemberStatus::Accepted) };
            let access = AccessScope::for_tests(project(next(6)), round % 7 == 0, members, round % 3 == 0);
            let limit = 1 + next(50);
            let q = ImageQuery {
                filters: filters[next(4) as usize].clone(),
                sort: sorts[next(6) as usize].to_vec(),
                page: PageRequest::Offset { offset: next(1600), limit },
                with_total: true,
            };
            let a = index.list(&access, &q).unwrap();
            assert_eq!(
                (a.items.clone(), a.total, a.has_more),
                walked_page(&index, &access, &q),
                "round {round}: {q:?}"
            );
            let groups = group_facts(&index, index.selected_groups(&access, &q.filters));
            let all =
                group_facts(&index, index.group_aggs(|f| walked(&index, &access, &q.filters).into_iter().for_each(f)));
            assert_eq!(groups, all, "round {round}: groups {q:?}");
            for window in [0, 4096] {
                let b = index.list_scanning(&access, &q, window).unwrap();
                assert_eq!((&a.items, a.total, a.has_more), (&b.items, b.total, b.has_more), "round {round}: {q:?}");
            }
            if round == 100 {
                // Laying the rows out again changes no answer.
                index.compact();
                let c = index.list(&access, &q).unwrap();
                assert_eq!((&a.items, a.total, a.has_more), (&c.items, c.total, c.has_more), "compacted");
            }
            if let Some(marker) = a.items.get(next(a.items.len().max(1) as u64) as usize) {
                let q = ImageQuery { page: PageRequest::After { marker: *marker, limit: 1 + next(600) }, ..q };
                let (a, b) = (index.list(&access, &q).unwrap(), index.list_scanning(&access, &q, 4096).unwrap());
                assert_eq!((&a.items, a.total, a.has_more), (&b.items, b.total, b.has_more), "round {round}: after");
                assert_eq!((a.items, a.total, a.has_more), walked_page(&index, &access, &q), "round {round}: after");
            }
            // A change between two lists: a new image, a changed one, a removed one.
            match round % 3 {
                0 => {
                    let (i, members) = image(10_000 + round, &mut next);
                    ids.push(i.id);
                    index.put(&i, &members);
                }
                1 => {
                    let (mut i, members) = image(20_000 + round, &mut next);
                    i.id = ids[next(ids.len() as u64) as usize];
                    index.put(&i, &members);
                }
                _ => index.remove(ids.swap_remove(next(ids.len() as u64) as usize)),
            }
        }
    }
}
