//! The query model: filters as data, multi-key sort with an id tie-break, offset or
//! keyset (marker) paging and an optional total. Stores render it to SQL in one place.

use crate::error::{Error, Result};
use crate::ids::{GroupId, ImageId, Millis, ProjectId};
use crate::image::{
    Accelerator, AppType, Arch, ContainerFormat, DiskFormat, ImageKind, ServiceType, Status, Visibility,
};

/// How an image's name is matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum NameMatch {
    /// The name is one of these.
    AnyOf(Vec<String>),
    /// The name holds this text, case-insensitively.
    Contains(Needle),
}

/// Text to find inside a value, case-insensitively: lower-cased when it is made, so
/// stores compare it with the lower-cased value as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Needle(String);

impl Needle {
    pub fn new(text: &str) -> Self {
        Self(text.to_lowercase())
    }

    /// The lower-cased text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Integer columns that take equality and range filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NumberField {
    Size,
    VirtualSize,
    MinRam,
    MinDisk,
}

/// Time columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimeField {
    CreatedAt,
    UpdatedAt,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cmp {
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Cmp {
    /// Whether `a <cmp> b` holds.
    pub fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Cmp::Eq => a == b,
            Cmp::Neq => a != b,
            Cmp::Gt => a > b,
            Cmp::Gte => a >= b,
            Cmp::Lt => a < b,
            Cmp::Lte => a <= b,
        }
    }
}

/// One condition; a query's filters are ANDed. Values are typed and normalized when a
/// filter is made (words as enums, ids parsed, case folded where the match ignores it), so
/// stores compare them as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Filter {
    Kind(ImageKind),
    Name(NameMatch),
    Namespace(String),
    ServiceType(ServiceType),
    Workspace(String),
    Arch(Arch),
    /// Any of these container formats.
    ContainerFormat(Vec<ContainerFormat>),
    /// Any of these disk formats.
    DiskFormat(Vec<DiskFormat>),
    /// Any of these statuses.
    Status(Vec<Status>),
    /// Any of these ids.
    Id(Vec<ImageId>),
    Owner(ProjectId),
    Group(GroupId),
    /// The effective accelerator type ([`crate::Image::accelerator`]).
    Accelerator(Accelerator),
    /// The effective application type ([`crate::Image::app_type`]).
    AppType(AppType),
    /// Any of these visibilities.
    Visibility(Vec<Visibility>),
    /// `name:tag` holds this text (SCNet's fuzzy name-or-version match).
    Version(Needle),
    /// The MD5 checksum is exactly this.
    Checksum(String),
    /// The multihash value is exactly this.
    OsHashValue(String),
    Number(NumberField, Cmp, i64),
    Time(TimeField, Cmp, Millis),
    Protected(bool),
    Hidden(bool),
    /// Has this plain tag.
    Tag(String),
    /// Has this extra property with exactly this value.
    Property(String, String),
    /// Is shared with this project (a member row in any status).
    MemberOf(ProjectId),
    /// At least one of these holds.
    Any(Vec<Filter>),
}

/// Sortable image attributes. The id is always the last, implicit tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortKey {
    CreatedAt,
    UpdatedAt,
    Name,
    Tag,
    Size,
    Status,
    ContainerFormat,
    DiskFormat,
    Id,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortDir {
    Asc,
    Desc,
}

/// Which slice of the ordered result to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// Skip `offset` records.
    Offset { offset: u64, limit: u64 },
    /// The records strictly after `marker` in the sort order (keyset paging).
    After { marker: ImageId, limit: u64 },
}

impl PageRequest {
    pub fn limit(&self) -> u64 {
        match self {
            PageRequest::Offset { limit, .. } | PageRequest::After { limit, .. } => *limit,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageQuery {
    pub filters: Vec<Filter>,
    /// Sort keys in priority order; empty means created_at descending.
    pub sort: Vec<(SortKey, SortDir)>,
    pub page: PageRequest,
    /// Whether to count every matching record (costs a second query).
    pub with_total: bool,
}

/// Most sort keys a list may name (duplicates included: each is parsed and compared).
pub const MAX_SORT_KEYS: usize = 8;
/// Most values one filter may list (Glance's `in:` lists, SCNet's and ModelArts' lists).
pub const MAX_FILTER_VALUES: usize = 100;
/// Most tag filters one list may combine (an image has at most 128 tags).
pub const MAX_TAG_FILTERS: usize = 32;
/// Most extra-property filters one list may combine.
pub const MAX_PROPERTY_FILTERS: usize = 32;

/// The sort keys a client gave, in its order: at most [`MAX_SORT_KEYS`] (more is refused),
/// a repeated key dropped (the first one, with its direction, decides). A face calls this
/// on what the request named, before it adds its own tie-breaks.
pub fn given_sort<K: PartialEq + Copy>(given: Vec<(K, SortDir)>) -> Result<Vec<(K, SortDir)>> {
    if given.len() > MAX_SORT_KEYS {
        return Err(Error::invalid(format!("at most {MAX_SORT_KEYS} sort keys may be given ({} were)", given.len())));
    }
    let mut out: Vec<(K, SortDir)> = Vec::with_capacity(given.len());
    for (k, d) in given {
        if !out.iter().any(|(seen, _)| *seen == k) {
            out.push((k, d));
        }
    }
    Ok(out)
}

/// Refuses a list whose filters exceed the caps above: each value costs work on every
/// candidate record, so an unbounded number is an amplification a request must not buy.
fn check_caps(filters: &[Filter]) -> Result<()> {
    let (mut tags, mut properties) = (0, 0);
    for f in filters {
        let values = match f {
            Filter::ContainerFormat(v) => v.len(),
            Filter::DiskFormat(v) => v.len(),
            Filter::Status(v) => v.len(),
            Filter::Id(v) => v.len(),
            Filter::Visibility(v) => v.len(),
            Filter::Name(NameMatch::AnyOf(v)) => v.len(),
            Filter::Any(v) => v.len(),
            Filter::Tag(_) => {
                tags += 1;
                1
            }
            Filter::Property(..) => {
                properties += 1;
                1
            }
            _ => 1,
        };
        if values > MAX_FILTER_VALUES {
            return Err(Error::invalid(format!(
                "a filter may list at most {MAX_FILTER_VALUES} values ({values} were given)"
            )));
        }
    }
    if tags > MAX_TAG_FILTERS {
        return Err(Error::invalid(format!(
            "at most {MAX_TAG_FILTERS} tag filters may be combined ({tags} were given)"
        )));
    }
    if properties > MAX_PROPERTY_FILTERS {
        return Err(Error::invalid(format!(
            "at most {MAX_PROPERTY_FILTERS} property filters may be combined ({properties} were given)"
        )));
    }
    Ok(())
}

impl ImageQuery {
    /// Refuses filters over the caps ([`MAX_FILTER_VALUES`], [`MAX_TAG_FILTERS`],
    /// [`MAX_PROPERTY_FILTERS`]); sort keys are capped where a face reads them
    /// ([`given_sort`]).
    pub fn check_caps(&self) -> Result<()> {
        check_caps(&self.filters)
    }

    /// The effective sort: the given keys (or created_at desc), without duplicate keys.
    /// The store appends the id with the direction of the last key.
    pub fn effective_sort(&self) -> Vec<(SortKey, SortDir)> {
        let mut out: Vec<(SortKey, SortDir)> = Vec::new();
        for &(k, d) in &self.sort {
            if !out.iter().any(|(seen, _)| *seen == k) {
                out.push((k, d));
            }
        }
        if out.is_empty() {
            out.push((SortKey::CreatedAt, SortDir::Desc));
        }
        out
    }
}

/// Sortable group attributes. The group id is the implicit tie-break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GroupSortKey {
    /// Earliest creation among the group's images.
    CreatedAt,
    /// Latest update among the group's images.
    UpdatedAt,
    Name,
    VersionCount,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupQuery {
    /// Filters on the images a group is made of.
    pub filters: Vec<Filter>,
    pub sort: Vec<(GroupSortKey, SortDir)>,
    pub offset: u64,
    pub limit: u64,
}

impl GroupQuery {
    /// Refuses a query over the caps, as [`ImageQuery::check_caps`].
    pub fn check_caps(&self) -> Result<()> {
        check_caps(&self.filters)
    }

    pub fn effective_sort(&self) -> Vec<(GroupSortKey, SortDir)> {
        let mut out: Vec<(GroupSortKey, SortDir)> = Vec::new();
        for &(k, d) in &self.sort {
            if !out.iter().any(|(seen, _)| *seen == k) {
                out.push((k, d));
            }
        }
        if out.is_empty() {
            out.push((GroupSortKey::UpdatedAt, SortDir::Desc));
        }
        out
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Every matching record, when asked for.
    pub total: Option<u64>,
    /// Whether at least one more record follows this page.
    pub has_more: bool,
}
