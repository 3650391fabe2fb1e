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
//! The semantics are those of the SQL rendering (`sql/render.rs`) on SQLite (NULL sorts
//! first ascending; text compares bytewise; `LOWER` folds ASCII only); the contract suite
//! and a randomized comparison against the store keep the two equal.

mod groups;
mod lists;
mod parts;
mod predicates;
mod selections;
mod strings;

use std::cmp::Reverse;
use std::collections::HashMap;
use std::sync::Mutex;

use imagehub_catalog::{
    Arch, ContainerFormat, DiskFormat, GroupId, Image, ImageId, ImageKind, Member, MemberStatus, ServiceType, Status,
    Visibility,
};

use crate::hashing::IdHashing;

pub use self::groups::GroupRow;
use self::selections::{Move, Newest, Selections};
use self::strings::Strings;

type ByGroup<V> = HashMap<GroupId, V, IdHashing>;
type Sym = u32;
type Slot = u32;

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
    /// Every image but the community ones newest first: an administrator's view, less
    /// the few community images it sees only when asked.
    every_newest: Newest,
    /// The rows of those parts that pass a filter set, by filter set and
    /// [`selections::Part`], followed as rows come and go ([`Index::follow_selections`]).
    selections: Mutex<Selections>,
}

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
        self.every_newest.clear();
        self.forget_selections();
        self.community.clear();
        self.member_of.clear();
        self.groups.clear();
        // Room for half as many new rows again: a Vec that grows moves every row, and
        // under the index's write lock a write that grew a million rows held every read
        // for 145 ms. Room that no row uses yet costs address space, not memory.
        self.rows.reserve_exact(order.len() + order.len() / 2 + 1024);
        for row in order {
            let slot = Slot::try_from(self.rows.len()).unwrap_or(Slot::MAX);
            self.link(&row, slot);
            self.rows.push(Some(row));
        }
    }

    /// Enters a row's slot into the sets it belongs to.
    fn link(&mut self, row: &Row, slot: Slot) {
        let newest = (Reverse(row.created_at), Reverse(row.id), slot);
        self.owned_newest.entry(row.owner).or_default().insert(newest);
        match row.visibility {
            Visibility::Community => {
                self.community.insert(slot);
            }
            Visibility::Public => {
                self.public_newest.insert(newest);
                self.every_newest.insert(newest);
            }
            Visibility::Private | Visibility::Shared => {
                self.every_newest.insert(newest);
            }
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
        self.link(&row, slot);
        self.rows[slot as usize] = Some(row);
        self.follow_selections(slot, Move::In);
    }

    /// Forgets an image (no-op if unknown).
    pub fn remove(&mut self, id: ImageId) {
        let Some(slot) = self.slots.remove(&id) else { return };
        self.follow_selections(slot, Move::Out);
        let Some(row) = self.rows.get_mut(slot as usize).and_then(Option::take) else { return };
        let newest = (Reverse(row.created_at), Reverse(row.id), slot);
        if let Some(owned) = self.owned_newest.get_mut(&row.owner) {
            owned.remove(&newest);
            if owned.is_empty() {
                self.owned_newest.remove(&row.owner);
            }
        }
        self.public_newest.remove(&newest);
        self.every_newest.remove(&newest);
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

    /// Whether the index holds the image `id`.
    pub fn contains(&self, id: ImageId) -> bool {
        self.slots.contains_key(&id)
    }

    fn row(&self, slot: Slot) -> Option<&Row> {
        self.rows.get(slot as usize).and_then(Option::as_ref)
    }

    fn opt(&self, s: Option<Sym>) -> Option<&str> {
        s.map(|s| self.strings.get(s))
    }
}

#[cfg(test)]
mod tests {
    use imagehub_catalog::{
        AccessScope, Cmp, Filter, GroupQuery, GroupSortKey, ImageQuery, MemberRule, Millis, NumberField, PageRequest,
        ProjectId, SortDir, SortKey,
    };

    use super::groups::GroupAgg;
    use super::predicates::Test;
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

    /// A write reaches the kept selections in place: the selection an administrator's
    /// list made stays kept (the next list does not select again) and gains or loses
    /// the row, which the next page shows.
    #[test]
    fn kept_selections_follow_writes_in_place() {
        let mut index = Index::default();
        for n in 0..60u64 {
            let mut i = Image::blank(ImageId::new_random(), project(n % 3), Millis(n as i64));
            i.visibility = if n % 4 == 0 { Visibility::Public } else { Visibility::Private };
            index.put(&i, &[]);
        }
        let admin = AccessScope::for_tests(project(0), true, MemberRule::Any, false);
        let q = ImageQuery {
            filters: vec![],
            sort: vec![],
            page: PageRequest::Offset { offset: 0, limit: 10 },
            with_total: true,
        };
        let kept = |index: &Index| {
            let selections = index.selections.lock().unwrap();
            selections.by_filters.get(&q.filters).and_then(|p| p.get(&selections::Part::Every)).map(|s| s.slots.len())
        };
        assert_eq!(index.list(&admin, &q).unwrap().total, 60);
        assert_eq!(kept(&index), Some(60));
        let newest = Image::blank(ImageId::new_random(), project(1), Millis(1_000));
        index.put(&newest, &[]);
        assert_eq!(kept(&index), Some(61), "followed, not dropped");
        let page = index.list(&admin, &q).unwrap();
        assert_eq!((page.items[0], page.total), (newest.id, 61));
        index.remove(newest.id);
        assert_eq!(kept(&index), Some(60));
        assert_ne!(index.list(&admin, &q).unwrap().items[0], newest.id);
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
            vec![Filter::Visibility(vec![Visibility::Community])],
            vec![Filter::Visibility(vec![Visibility::Community, Visibility::Private])],
            vec![Filter::Owner(project(1))],
            vec![Filter::Owner(project(2)), Filter::Number(NumberField::Size, Cmp::Lt, 50)],
        ];
        for round in 0..400u64 {
            let members = if round % 2 == 0 { MemberRule::Any } else { MemberRule::Status(MemberStatus::Accepted) };
            // An administrator every third round, with and without community images.
            let access = AccessScope::for_tests(project(next(6)), round % 3 == 1, members, round % 5 < 2);
            let limit = 1 + next(50);
            let q = ImageQuery {
                filters: filters[next(filters.len() as u64) as usize].clone(),
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
            // A page of groups cut from kept orders is the page of all groups merged.
            let group_sorts = [
                vec![],
                vec![(GroupSortKey::Name, SortDir::Asc)],
                vec![(GroupSortKey::VersionCount, SortDir::Desc), (GroupSortKey::CreatedAt, SortDir::Asc)],
            ];
            let gq = GroupQuery {
                filters: q.filters.clone(),
                sort: group_sorts[next(3) as usize].clone(),
                offset: next(40),
                limit: 1 + next(20),
            };
            let (kept, merged) =
                (index.list_groups(&access, &gq), index.list_merged_groups(&access, &gq, &gq.effective_sort()));
            assert_eq!(
                (kept.items, kept.total, kept.has_more),
                (merged.items, merged.total, merged.has_more),
                "round {round}: {gq:?}"
            );
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
