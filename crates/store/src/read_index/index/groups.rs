//! Group lists: rows aggregated by group (owner, namespace and name as SQL's MIN, the
//! count, the earliest creation and the latest update). A list's groups are its kept
//! selections' groups (a project's own and the public ones of other owners, since a
//! group has one owner; an administrator's every non-community image and its own
//! community ones), each merged with what the scanned community and shared rows add;
//! only those rows are aggregated per request.

use std::cmp::Ordering;
use std::sync::Arc;

use imagehub_catalog::{AccessScope, Filter, GroupId, GroupQuery, GroupSortKey, SortDir};

use super::lists::{directed, page_of};
use super::parts::Parts;
use super::selections::{GROUP_AGG_SLOTS, GROUP_INDEX_SLOTS, Selection};
use super::{ByGroup, Index, IndexPage, Row, Sym};

/// Most own community groups an administrator's group list merges into the kept order
/// per request; beyond, it merges every group.
const MERGED_OWN_GROUPS: usize = 4096;

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
            self.merge_into(&mut groups, &one);
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

    /// The groups of the rows `access` admits that pass `filters`: the kept aggregates
    /// of the others' part (for a project, other owners' public groups only: a group has
    /// one owner, and its own part holds all of its own groups' rows) and of the own
    /// part, each merged with what the scanned parts add to it. An administrator's own
    /// part holds only its community images, whose groups may have rows in the others'
    /// part too: they are merged like the scanned ones.
    pub(super) fn selected_groups(&self, access: &AccessScope, filters: &[Filter]) -> Vec<GroupAgg> {
        let Some(tests) = self.compile_all(filters) else { return Vec::new() };
        let viewer = self.strings.find(access.viewer().as_str());
        let parts = Parts::of(access, filters);
        let mut more = self.group_map(|f| self.for_each_scanned(viewer, &parts, &tests, f));
        let kept = self.kept_parts(viewer, &parts, filters, &tests);
        let own = kept.own.as_deref().map_or(&[][..], |s| self.selection_groups(s));
        let mut groups: Vec<GroupAgg> = Vec::new();
        if kept.others_repeat_own {
            groups.extend_from_slice(own);
        } else {
            for g in own {
                self.merge_into(&mut more, g);
            }
        }
        for g in kept.others.as_deref().map_or(&[][..], |s| self.selection_groups(s)) {
            if kept.others_repeat_own && Some(g.owner) == viewer {
                continue;
            }
            let mut g = g.clone();
            if let Some(more) = more.remove(&g.id) {
                self.absorb(&mut g, &more);
            }
            groups.push(g);
        }
        groups.extend(more.into_values());
        groups
    }

    /// Adds `g` to its group's aggregate in `groups` (or enters it).
    fn merge_into(&self, groups: &mut ByGroup<GroupAgg>, g: &GroupAgg) {
        match groups.entry(g.id) {
            std::collections::hash_map::Entry::Occupied(mut e) => self.absorb(e.get_mut(), g),
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(g.clone());
            }
        }
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

    /// Order of two group aggregates under a sort, then the id in the last key's direction.
    fn group_order(&self, a: &GroupAgg, b: &GroupAgg, sort: &[(GroupSortKey, SortDir)]) -> Ordering {
        for &(key, dir) in sort {
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
        directed(a.id.cmp(&b.id), sort.last().map_or(SortDir::Desc, |s| s.1))
    }

    /// A kept selection's group `id`, found through an index of its groups built once
    /// (and counted against the budget).
    fn kept_group<'s>(&self, selection: &'s Selection, id: GroupId) -> Option<&'s GroupAgg> {
        let groups = self.selection_groups(selection);
        let index = selection.group_index.get_or_init(|| {
            let index: ByGroup<u32> =
                groups.iter().enumerate().map(|(n, g)| (g.id, u32::try_from(n).unwrap_or(u32::MAX))).collect();
            if let Ok(mut kept) = self.selections.lock() {
                kept.slots += index.len() * GROUP_INDEX_SLOTS;
            }
            index
        });
        index.get(&id).and_then(|&n| groups.get(n as usize))
    }

    /// A kept selection's groups in `sort`'s order (positions in [`Selection::groups`]),
    /// sorted once per order and kept with them (and counted against the budget).
    fn kept_group_order(&self, selection: &Selection, sort: &[(GroupSortKey, SortDir)]) -> Arc<[u32]> {
        let groups = self.selection_groups(selection);
        if let Some(known) = selection.group_orders.lock().ok().and_then(|o| o.get(sort).cloned()) {
            return known;
        }
        let mut order: Vec<u32> = (0..u32::try_from(groups.len()).unwrap_or(u32::MAX)).collect();
        order.sort_unstable_by(|&a, &b| self.group_order(&groups[a as usize], &groups[b as usize], sort));
        let order: Arc<[u32]> = order.into();
        if let Ok(mut orders) = selection.group_orders.lock() {
            orders.insert(sort.to_vec(), order.clone());
            if let Ok(mut kept) = self.selections.lock() {
                kept.slots += order.len();
            }
        }
        order
    }

    /// A page of groups cut from the kept orders of the kept parts' groups, when the
    /// list has no scanned part to merge into them: the merge of two sorted runs, which
    /// stops after the page (an administrator's own community groups, few, are merged
    /// with the rest of their group and sorted per request). `None` otherwise.
    fn list_kept_groups(
        &self,
        access: &AccessScope,
        q: &GroupQuery,
        sort: &[(GroupSortKey, SortDir)],
    ) -> Option<IndexPage<GroupRow>> {
        let Some(tests) = self.compile_all(&q.filters) else {
            return Some(IndexPage { items: Vec::new(), total: 0, has_more: false });
        };
        let viewer = self.strings.find(access.viewer().as_str());
        let parts = Parts::of(access, &q.filters);
        if parts.community || (parts.shared.is_some() && viewer.is_some_and(|v| self.member_of.contains_key(&v))) {
            return None;
        }
        let kept = self.kept_parts(viewer, &parts, &q.filters, &tests);
        let empty: Arc<[u32]> = Arc::from([]);
        // The first run: a project's own groups in their kept order; an administrator's
        // own community groups (few), each merged with the rest of its group in the
        // others' part, sorted now.
        let mut merged_own: Vec<GroupAgg> = Vec::new();
        let mut overlap = 0usize;
        let (own_groups, own_order) = match kept.own.as_deref() {
            Some(s) if kept.others_repeat_own => (self.selection_groups(s), self.kept_group_order(s, sort)),
            Some(s) => {
                let own = self.selection_groups(s);
                if own.len() > MERGED_OWN_GROUPS {
                    return None;
                }
                let others = kept.others.as_deref();
                for g in own {
                    let mut g = g.clone();
                    if let Some(rest) = others.and_then(|s| self.kept_group(s, g.id)) {
                        self.absorb(&mut g, rest);
                        overlap += 1;
                    }
                    merged_own.push(g);
                }
                merged_own.sort_unstable_by(|a, b| self.group_order(a, b, sort));
                (&[][..], empty.clone())
            }
            None => (&[][..], empty.clone()),
        };
        let merged_ids: ByGroup<()> = merged_own.iter().map(|g| (g.id, ())).collect();
        let (other_groups, other_order) = kept
            .others
            .as_deref()
            .map_or((&[][..], empty), |s| (self.selection_groups(s), self.kept_group_order(s, sort)));
        let skips = |g: &GroupAgg| {
            (kept.others_repeat_own && Some(g.owner) == viewer)
                || (!merged_ids.is_empty() && merged_ids.contains_key(&g.id))
        };
        let others_listed = if kept.others_repeat_own {
            other_groups.iter().filter(|g| !skips(g)).count()
        } else {
            other_groups.len() - overlap
        };
        let total = own_groups.len() + merged_own.len() + others_listed;
        let own_run: Vec<&GroupAgg> =
            own_order.iter().map(|&i| &own_groups[i as usize]).chain(merged_own.iter()).collect();
        let mut own_rows = own_run.into_iter().peekable();
        let mut other_rows = other_order.iter().map(|&i| &other_groups[i as usize]).filter(|g| !skips(g)).peekable();
        let mut merged = std::iter::from_fn(|| match (own_rows.peek(), other_rows.peek()) {
            (Some(a), Some(b)) if self.group_order(a, b, sort) != Ordering::Greater => own_rows.next(),
            (Some(_), None) => own_rows.next(),
            _ => other_rows.next(),
        })
        .skip(usize::try_from(q.offset).unwrap_or(usize::MAX));
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let items = merged.by_ref().take(limit).map(|g| self.group_row(g)).collect();
        let has_more = merged.next().is_some();
        Some(IndexPage { items, total: total as u64, has_more })
    }

    /// A page of groups of the images `access` admits and the filters select.
    pub fn list_groups(&self, access: &AccessScope, q: &GroupQuery) -> IndexPage<GroupRow> {
        let sort = q.effective_sort();
        if let Some(page) = self.list_kept_groups(access, q, &sort) {
            return page;
        }
        self.list_merged_groups(access, q, &sort)
    }

    /// [`Index::list_groups`] from every group the list selects, merged per request.
    pub(super) fn list_merged_groups(
        &self,
        access: &AccessScope,
        q: &GroupQuery,
        sort: &[(GroupSortKey, SortDir)],
    ) -> IndexPage<GroupRow> {
        let mut groups = self.selected_groups(access, &q.filters);
        let offset = usize::try_from(q.offset).unwrap_or(usize::MAX);
        let limit = usize::try_from(q.limit).unwrap_or(usize::MAX);
        let total = groups.len() as u64;
        let has_more = groups.len() > offset.saturating_add(limit);
        let items = page_of(&mut groups, offset, limit, |a, b| self.group_order(a, b, sort))
            .iter()
            .map(|g| self.group_row(g))
            .collect();
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
