//! Group lists: rows aggregated by group (owner, namespace and name as SQL's MIN, the
//! count, the earliest creation and the latest update). A project's groups are its own
//! selection's groups, plus the public selection's groups of other owners (a group has
//! one owner), each merged with what the scanned community and shared rows add; only
//! those rows are aggregated per request.

use std::cmp::Ordering;

use imagehub_catalog::{AccessScope, Filter, GroupId, GroupQuery, GroupSortKey, SortDir};

use super::lists::{directed, page_of};
use super::parts::Parts;
use super::selections::{GROUP_AGG_SLOTS, Selection};
use super::{ByGroup, Index, IndexPage, Row, Sym};

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
pub(super) struct GroupAgg {
    pub(super) id: GroupId,
    pub(super) owner: Sym,
    pub(super) namespace: Option<Sym>,
    pub(super) name: Option<Sym>,
    pub(super) version_count: i64,
    pub(super) created_min: i64,
    pub(super) updated_max: i64,
}

impl Index {
    /// Aggregates the rows `each` yields by group (owner, namespace and name as SQL's MIN:
    /// the smallest non-NULL value).
    pub(super) fn group_aggs<'a>(&'a self, each: impl FnOnce(&mut dyn FnMut(&'a Row))) -> Vec<GroupAgg> {
        self.group_map(each).into_values().collect()
    }

    /// [`Index::group_aggs`], by group id.
    pub(super) fn group_map<'a>(&'a self, each: impl FnOnce(&mut dyn FnMut(&'a Row))) -> ByGroup<GroupAgg> {
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
    pub(super) fn absorb(&self, g: &mut GroupAgg, other: &GroupAgg) {
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
    pub(super) fn selection_groups<'s>(&self, selection: &'s Selection) -> &'s [GroupAgg] {
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
    pub(super) fn selected_groups(&self, access: &AccessScope, filters: &[Filter]) -> Vec<GroupAgg> {
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

    pub(super) fn group_row(&self, g: &GroupAgg) -> GroupRow {
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

    /// One group over the images `access` admits that pass `filters`.
    pub fn get_group(&self, access: &AccessScope, id: GroupId, filters: &[Filter]) -> Option<GroupRow> {
        let tests = self.compile_all(filters)?;
        self.group_aggs(|f| {
            for r in self.groups.get(&id).into_iter().flatten().filter_map(|&s| self.row(s)) {
                if self.admits(access, r) && self.passes_all(r, &tests) {
                    f(r);
                }
            }
        })
        .pop()
        .map(|g| self.group_row(&g))
    }
}
