//! ModelArts list query parameters → catalog filters, sort and paging.

use imagehub_catalog::{Error, Filter, GroupSortKey, NameMatch, Needle, SortDir, SortKey, given_sort};

use super::ModelArts;
use super::words;
use crate::face::QueryPairs;

/// Default page size (the catalog refuses more than [`imagehub_catalog::MAX_PAGE`]).
pub const DEFAULT_LIMIT: u64 = 200;

pub type Query = QueryPairs<ModelArts>;

/// What ListImage and ListImageGroup share.
pub struct ListParams {
    pub filters: Vec<Filter>,
    pub offset: u64,
    pub limit: u64,
    pub sort_keys: Vec<String>,
    pub dir: SortDir,
}

fn uint(q: &Query, name: &str, default: u64) -> Result<u64, Error> {
    match q.get(name)? {
        None => Ok(default),
        Some(v) => {
            v.parse::<u64>().map_err(|_| Error::invalid(format!("{name} must be a non-negative integer, got {v:?}")))
        }
    }
}

fn boolean(q: &Query, name: &str, default: bool) -> Result<bool, Error> {
    match q.get(name)? {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(Error::invalid(format!("{name} must be true or false, got {v:?}"))),
    }
}

/// Image names: lowercase letters, digits, '.', '_', '-'; at most 512 characters.
fn image_name(v: &str) -> Result<String, Error> {
    let ok = !v.is_empty()
        && v.len() <= 512
        && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(Error::invalid(format!("invalid name {v:?}: 1 to 512 of lowercase letters, digits, '.', '_' and '-'")))
    }
}

/// Parses the parameters both lists take. `default_type` is ListImage's BUILD_IN default.
pub fn parse(q: &Query, default_type: Option<imagehub_catalog::ImageKind>) -> Result<ListParams, Error> {
    let mut filters = Vec::new();
    let limit = uint(q, "limit", DEFAULT_LIMIT)?;
    let offset = uint(q, "offset", 0)?;
    if let Some(name) = q.get("name")? {
        let name = image_name(name)?;
        filters.push(Filter::Name(if boolean(q, "name_fuzzy_match", true)? {
            NameMatch::Contains(Needle::new(&name))
        } else {
            NameMatch::AnyOf(vec![name])
        }));
    } else {
        boolean(q, "name_fuzzy_match", true)?;
    }
    if let Some(ns) = q.get("namespace")? {
        filters.push(Filter::Namespace(ns.to_owned()));
    }
    let kind = q.get("type")?.map(words::parse_kind).transpose()?.or(default_type);
    if let Some(k) = kind {
        filters.push(Filter::Kind(k));
    }
    if let Some(s) = q.get("service_type")? {
        filters.push(Filter::ServiceType(words::parse_service_type(s)?));
    }
    let workspace = q.get("workspace_id")?.unwrap_or(imagehub_catalog::DEFAULT_WORKSPACE);
    filters.push(Filter::Workspace(workspace.to_owned()));
    if let Some(a) = q.get("arch")? {
        filters.push(Filter::Arch(words::parse_arch(a)?));
    }
    let dir = match q.get("sort_dir")? {
        None => SortDir::Desc,
        Some(d) if d.eq_ignore_ascii_case("asc") => SortDir::Asc,
        Some(d) if d.eq_ignore_ascii_case("desc") => SortDir::Desc,
        Some(d) => return Err(Error::invalid(format!("sort_dir must be ASC or DESC, got {d:?}"))),
    };
    let sort_keys = match q.get("sort_key")? {
        None => Vec::new(),
        Some(keys) => keys.split(',').map(|k| k.trim().to_owned()).collect(),
    };
    Ok(ListParams { filters, offset, limit, sort_keys, dir })
}

fn unsupported(key: &str, allowed: &str) -> Error {
    Error::UnsupportedSortKey(format!("sort_key {key:?} is not supported; use {allowed}"))
}

/// ListImage sort keys.
pub fn image_sort(p: &ListParams) -> Result<Vec<(SortKey, SortDir)>, Error> {
    let keys = p
        .sort_keys
        .iter()
        .map(|k| {
            let key = match k.as_str() {
                "create_at" | "createTime" => SortKey::CreatedAt,
                "update_at" | "updateTime" => SortKey::UpdatedAt,
                "name" => SortKey::Name,
                "tag" => SortKey::Tag,
                "size" => SortKey::Size,
                other => return Err(unsupported(other, "create_at, update_at, name, tag, size")),
            };
            Ok((key, p.dir))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut keys = given_sort(keys)?;
    if keys.is_empty() {
        keys.push((SortKey::CreatedAt, p.dir));
    }
    Ok(keys)
}

/// ListImageGroup sort keys (default update_at).
pub fn group_sort(p: &ListParams) -> Result<Vec<(GroupSortKey, SortDir)>, Error> {
    let keys = p
        .sort_keys
        .iter()
        .map(|k| {
            let key = match k.as_str() {
                "create_at" | "createTime" => GroupSortKey::CreatedAt,
                "update_at" | "updateTime" => GroupSortKey::UpdatedAt,
                "name" => GroupSortKey::Name,
                "version_count" => GroupSortKey::VersionCount,
                other => return Err(unsupported(other, "create_at, update_at, name, version_count")),
            };
            Ok((key, p.dir))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    let mut keys = given_sort(keys)?;
    if keys.is_empty() {
        keys.push((GroupSortKey::UpdatedAt, p.dir));
    }
    Ok(keys)
}
