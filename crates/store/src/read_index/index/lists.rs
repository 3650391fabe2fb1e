//! Pages of images. The default order (newest first, what every face asks for unless
//! told otherwise; Glance spells it `created_at desc, id desc`) is cut, at any offset or
//! marker, from the merge of the kept selections with the sorted scanned rows, which
//! stops right after the page; a marker is found in each part by bisection. Other
//! orders scan what the caller may see, keeping windows up to [`SCAN_WINDOW`] rows in a
//! sorted buffer and cutting deeper pages with two selections.

use std::cmp::Ordering;

use imagehub_catalog::{AccessScope, ImageId, ImageQuery, PageRequest, SortDir, SortKey};

use super::parts::{Kept, Parts};
use super::{Index, IndexPage, Row, Slot};

/// The `limit` items after the first `offset` under `cmp`, sorted, without sorting the
/// rest: `items` is partitioned at `offset`, then at `offset + limit`.
pub(super) fn page_of<T>(items: &mut [T], offset: usize, limit: usize, cmp: impl Fn(&T, &T) -> Ordering) -> &mut [T] {
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

/// The default order of every face: newest first (then the greater id).
pub(super) const NEWEST: [(SortKey, SortDir); 1] = [(SortKey::CreatedAt, SortDir::Desc)];

pub(super) fn directed(o: Ordering, dir: SortDir) -> Ordering {
    match dir {
        SortDir::Asc => o,
        SortDir::Desc => o.reverse(),
    }
}

/// The first sort key of a row as an integer, where it is one (NULL below every value).
pub(super) fn leading_key(r: &Row, key: SortKey) -> Option<(bool, i64)> {
    match key {
        SortKey::CreatedAt => Some((true, r.created_at)),
        SortKey::UpdatedAt => Some((true, r.updated_at)),
        SortKey::Size => Some(r.cold.size.map_or((false, 0), |s| (true, s))),
        _ => None,
    }
}

/// Pages of a newest-first list that start up to this many rows down are cut by walking
/// the merge; deeper ones start at a row found by bisection ([`Index::nth_merged`]).
const WALKED_SKIP: usize = 128;

/// Windows up to this size are kept while scanning (insertion into a sorted buffer);
/// larger ones (deep offsets) collect every hit and select.
pub(super) const SCAN_WINDOW: usize = 512;

impl Index {
    /// Order of two rows under a sort (NULL first ascending), then the id in the last
    /// key's direction.
    pub(super) fn order(&self, a: &Row, b: &Row, sort: &[(SortKey, SortDir)]) -> Ordering {
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

    /// A page of image ids; `None` if the marker is unknown. Lists in the default order
    /// are cut from kept selections ([`Index::list_newest_first`]); every other list
    /// walks what the caller may see (kept selections and scanned parts).
    pub fn list(&self, access: &AccessScope, q: &ImageQuery) -> Option<IndexPage<ImageId>> {
        // Glance spells the same order with its id tie-break.
        let sort = q.effective_sort();
        if sort == NEWEST || sort == [NEWEST[0], (SortKey::Id, SortDir::Desc)] {
            return self.list_newest_first(access, q);
        }
        self.list_scanning(access, q, SCAN_WINDOW)
    }

    /// Keeps `r` if it is among the first `window` rows under `cmp` (`kept` is sorted).
    pub(super) fn offer<'a>(kept: &mut Vec<&'a Row>, r: &'a Row, window: usize, cmp: impl Fn(&Row, &Row) -> Ordering) {
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

    /// A list in the default order (newest first), at any offset or marker. The
    /// community and shared parts are scanned and sorted; the own and the others' parts
    /// (public, or for an administrator every non-community image) are kept selections,
    /// in that order already (read from their ends), so a marker is found by bisection
    /// and the page is cut from
    /// the merge of the three, which stops after it. The total adds the parts' sizes; the
    /// caller's own public images, in both kept parts of a project, are merged from the
    /// own part and counted once.
    pub(super) fn list_newest_first(&self, access: &AccessScope, q: &ImageQuery) -> Option<IndexPage<ImageId>> {
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
        let kept = self.kept_parts(viewer, &parts, &q.filters, &tests);
        let own_slots = kept.own.as_deref().map_or(&[][..], |s| &s.slots[..]);
        let other_slots = kept.others.as_deref().map_or(&[][..], |s| &s.slots[..]);
        let total = scanned.len() as u64 + kept.total();
        // A deep page starts at its first row, found by bisection ([`Index::nth_merged`])
        // instead of a walk of the rows before it.
        let start = match marker {
            None if skip > WALKED_SKIP => {
                let Some(first) = self.nth_merged(skip, &scanned, own_slots, other_slots, &kept) else {
                    return Some(IndexPage { items: Vec::new(), total, has_more: false });
                };
                Some(first)
            }
            _ => None,
        };
        let skip = if start.is_some() { 0 } else { skip };
        // Each part continues after the rows up to the marker, or before the deep page's
        // first row (from its start, without either); a kept part holds its rows oldest
        // first, and is read from its end.
        let up_to_marker = |r: &Row| match (marker, start) {
            (Some(m), _) => cmp(r, m) != Ordering::Greater,
            (None, Some(first)) => cmp(r, first) == Ordering::Less,
            (None, None) => false,
        };
        let mut scanned = scanned[scanned.partition_point(|r| up_to_marker(r))..].iter().copied().peekable();
        let mut own = self.newest_first_after(own_slots, up_to_marker).peekable();
        let mut public =
            self.newest_first_after(other_slots, up_to_marker).filter(|r| !kept.skips(r, viewer)).peekable();
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

    /// The row `n` rows down the merge of a newest-first list's parts (`scanned`, sorted,
    /// and the kept `own` and `others`, oldest first, the viewer's rows of `others` left out
    /// where `kept` repeats them), or `None` if the merge is not longer than `n`. How many
    /// rows of the merge come before a row is the sum of its parts' counts, each a
    /// bisection (the left-out rows are the own part's public ones, counted from its
    /// blocks), and grows down each part, so each part is bisected for the row with `n`
    /// rows before it.
    fn nth_merged<'a>(
        &'a self,
        n: usize,
        scanned: &[&'a Row],
        own: &'a [Slot],
        others: &'a [Slot],
        kept: &Kept,
    ) -> Option<&'a Row> {
        let cmp = |a: &Row, b: &Row| self.order(a, b, &NEWEST);
        // The rows of a kept part that come before `x` (newer), at its end.
        let newer_in = |slots: &[Slot], x: &Row| {
            slots.len() - slots.partition_point(|&s| self.row(s).is_none_or(|r| cmp(r, x) != Ordering::Less))
        };
        // The own part's public rows are in the others' part too, if there is one.
        let repeated = kept.own.as_deref().filter(|_| kept.others_repeat_own && kept.others.is_some());
        let before = |x: &Row| {
            let in_own = newer_in(own, x);
            let mut count = scanned.partition_point(|r| cmp(r, x) == Ordering::Less) + in_own + newer_in(others, x);
            if let Some(own_part) = repeated {
                let public_newer = own_part.public - own_part.public_before(self, own.len() - in_own);
                count = count.saturating_sub(usize::try_from(public_newer).unwrap_or(usize::MAX));
            }
            count
        };
        // The first row of a part (newest first, `at(i)`) with at least `n` rows before
        // it; the one if exactly `n`.
        let find = |len: usize, at: &dyn Fn(usize) -> Option<&'a Row>| -> Option<&'a Row> {
            let (mut lo, mut hi) = (0, len);
            while lo < hi {
                let mid = lo + (hi - lo) / 2;
                match at(mid) {
                    Some(r) if before(r) < n => lo = mid + 1,
                    _ => hi = mid,
                }
            }
            at(lo).filter(|r| before(r) == n)
        };
        let kept_at =
            |slots: &'a [Slot]| move |i: usize| slots.len().checked_sub(i + 1).and_then(|k| self.row(slots[k]));
        find(scanned.len(), &|i| scanned.get(i).copied())
            .or_else(|| find(own.len(), &kept_at(own)))
            .or_else(|| find(others.len(), &kept_at(others)))
    }

    /// The rows of a kept selection's `slots` (oldest first) after those `up_to_marker`
    /// says are not, newest first: the older rows are found by bisection.
    fn newest_first_after<'s>(
        &'s self,
        slots: &'s [Slot],
        up_to_marker: impl Fn(&Row) -> bool,
    ) -> impl Iterator<Item = &'s Row> + 's {
        let older = slots.partition_point(|&s| self.row(s).is_none_or(|r| !up_to_marker(r)));
        slots[..older].iter().rev().filter_map(|&s| self.row(s))
    }

    /// [`Index::list`], keeping windows up to `scan_window` while scanning.
    pub(super) fn list_scanning(
        &self,
        access: &AccessScope,
        q: &ImageQuery,
        scan_window: usize,
    ) -> Option<IndexPage<ImageId>> {
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
}
