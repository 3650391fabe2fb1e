//! `GET /v2/images` query parameters → catalog filters, sort, paging (spec/glance.md §5).

use imagehub_catalog::{
    Cmp, ContainerFormat, DiskFormat, Error, Filter, ImageId, MemberRule, MemberStatus, Millis, NameMatch, NumberField,
    ProjectId, SortDir, SortKey, Status, TimeField, View, Visibility, given_sort,
};

/// Default and largest page size.
pub const DEFAULT_LIMIT: u64 = 25;
pub const MAX_LIMIT: u64 = 1000;

/// What a list request asks for.
pub struct ListRequest {
    pub filters: Vec<Filter>,
    pub sort: Vec<(SortKey, SortDir)>,
    pub limit: u64,
    pub marker: Option<ImageId>,
    pub view: View,
}

fn bad(msg: impl Into<String>) -> Error {
    Error::invalid(msg)
}

/// Splits an `in:` list: commas separate, double quotes protect commas, `\"` escapes.
pub fn split_in_list(s: &str) -> Result<Vec<String>, Error> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut was_quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' if quoted => {
                quoted = false;
                if chars.peek().is_some_and(|n| *n != ',') {
                    return Err(bad("Invalid in-list: characters after a closing quote"));
                }
            }
            '"' if cur.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            '"' => return Err(bad("Invalid in-list: a quote inside an unquoted value")),
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                was_quoted = false;
            }
            c => cur.push(c),
        }
    }
    if quoted {
        return Err(bad("Invalid in-list: unterminated quote"));
    }
    out.push(cur);
    Ok(out)
}

/// `v`, `eq:v` or `in:a,b` → the values; any other `op:` is an error.
fn eq_or_in(value: &str) -> Result<Vec<String>, Error> {
    match value.split_once(':') {
        None => Ok(vec![value.to_owned()]),
        Some(("eq", v)) => Ok(vec![v.to_owned()]),
        Some(("in", v)) => split_in_list(v),
        Some((op, _)) => Err(bad(format!("Unable to filter by unknown operator '{op}'."))),
    }
}

/// `v`, `eq:v` or `in:a,b` of a closed word set (Glance's spelling); an unknown word is a
/// 400 naming the parameter.
fn words<W>(name: &str, value: &str, parse: fn(&str) -> Option<W>) -> Result<Vec<W>, Error> {
    eq_or_in(value)?.iter().map(|w| parse(w).ok_or_else(|| bad(format!("Invalid {name} value: {w}")))).collect()
}

fn integer(value: &str) -> Result<i64, Error> {
    value.parse().map_err(|_| bad(format!("Invalid value {value:?}: an integer is required.")))
}

fn range_value(value: &str) -> Result<i64, Error> {
    value.parse().map_err(|_| bad("Unable to filter on a range with a non-numeric value."))
}

/// Glance's rule for boolean query values (oslo's `bool_from_string`, strict): `1`, `t`,
/// `true`, `on`, `y`, `yes` and `0`, `f`, `false`, `off`, `n`, `no`, in any case, around
/// spaces; anything else is refused. openstacksdk sends `os_hidden=True`.
fn bool_param(name: &str, value: &str) -> Result<bool, Error> {
    const TRUE: [&str; 6] = ["1", "t", "true", "on", "y", "yes"];
    const FALSE: [&str; 6] = ["0", "f", "false", "off", "n", "no"];
    let v = value.trim();
    if TRUE.iter().any(|t| t.eq_ignore_ascii_case(v)) {
        Ok(true)
    } else if FALSE.iter().any(|f| f.eq_ignore_ascii_case(v)) {
        Ok(false)
    } else {
        Err(bad(format!(
            "Invalid value {value:?} for {name}: one of 1, t, true, on, y, yes or 0, f, false, off, n, no."
        )))
    }
}

use crate::time::parse_datetime as parse_time;

/// `[op:]time` → filters. Times have second precision in Glance, so `eq` matches the whole
/// second (a value copied from a response finds its image).
fn time_filter(name: &str, field: TimeField, value: &str) -> Result<Vec<Filter>, Error> {
    let (op, t) = match value.split_once(':') {
        Some((op @ ("gt" | "gte" | "lt" | "lte" | "eq" | "neq"), rest)) => (op, rest),
        Some((op, _)) if op.len() <= 4 && op.chars().all(|c| c.is_ascii_alphabetic()) => {
            return Err(bad(format!("Unable to filter by unknown operator '{op}'.")));
        }
        _ => ("eq", value),
    };
    let Some(t) = parse_time(t) else {
        return Err(bad(format!("Bad \"{name}\" query filter format. Use ISO 8601 DateTime notation.")));
    };
    let start = Millis(t.0 - t.0.rem_euclid(1000));
    let end = Millis(start.0 + 1000);
    let f = |cmp, at| Filter::Time(field, cmp, at);
    Ok(match op {
        "gt" => vec![f(Cmp::Gte, end)],
        "gte" => vec![f(Cmp::Gte, start)],
        "lt" => vec![f(Cmp::Lt, start)],
        "lte" => vec![f(Cmp::Lt, end)],
        "eq" => vec![f(Cmp::Gte, start), f(Cmp::Lt, end)],
        _ => vec![Filter::Any(vec![f(Cmp::Lt, start), f(Cmp::Gte, end)])],
    })
}

fn sort_key(k: &str) -> Result<SortKey, Error> {
    Ok(match k {
        "name" => SortKey::Name,
        "status" => SortKey::Status,
        "container_format" => SortKey::ContainerFormat,
        "disk_format" => SortKey::DiskFormat,
        "size" => SortKey::Size,
        "id" => SortKey::Id,
        "created_at" => SortKey::CreatedAt,
        "updated_at" => SortKey::UpdatedAt,
        other => {
            return Err(Error::UnsupportedSortKey(format!(
                "Invalid sort key: {other}. It must be one of the following: name, status, container_format, \
                 disk_format, size, id, created_at, updated_at."
            )));
        }
    })
}

fn sort_dir(d: &str) -> Result<SortDir, Error> {
    match d {
        "asc" => Ok(SortDir::Asc),
        "desc" => Ok(SortDir::Desc),
        other => Err(bad(format!("Invalid sort direction: {other}"))),
    }
}

fn parse_sort(pairs: &[(String, String)]) -> Result<Vec<(SortKey, SortDir)>, Error> {
    let all = |name: &str| pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect::<Vec<_>>();
    let new = all("sort");
    let keys = all("sort_key");
    let dirs = all("sort_dir");
    if !new.is_empty() && (!keys.is_empty() || !dirs.is_empty()) {
        return Err(bad("Old and new sorting syntax cannot be combined"));
    }
    let mut sort: Vec<(SortKey, SortDir)> = Vec::new();
    let mut single_dir = None;
    if !new.is_empty() {
        for item in new.iter().flat_map(|s| s.split(',')) {
            let (k, d) = match item.split_once(':') {
                Some((k, d)) => (k.trim(), sort_dir(d.trim())?),
                None => (item.trim(), SortDir::Desc),
            };
            sort.push((sort_key(k)?, d));
        }
    } else {
        let dirs: Vec<SortDir> = dirs.iter().map(|d| sort_dir(d)).collect::<Result<_, _>>()?;
        if dirs.len() > 1 && dirs.len() != keys.len() {
            return Err(bad("Number of sort dirs does not match the number of sort keys"));
        }
        if dirs.len() == 1 {
            single_dir = Some(dirs[0]);
        }
        for (n, k) in keys.iter().enumerate() {
            let d = if dirs.len() > 1 { dirs[n] } else { single_dir.unwrap_or(SortDir::Desc) };
            sort.push((sort_key(k)?, d));
        }
        if keys.is_empty() && dirs.len() == 1 {
            // A direction alone applies to the default key.
            sort.push((SortKey::CreatedAt, dirs[0]));
        }
    }
    let mut sort = given_sort(sort)?;
    // Glance appends created_at, then id, with the single given direction (else desc).
    let tie = single_dir.unwrap_or(SortDir::Desc);
    if !sort.iter().any(|(k, _)| *k == SortKey::CreatedAt) {
        sort.push((SortKey::CreatedAt, tie));
    }
    if !sort.iter().any(|(k, _)| *k == SortKey::Id) {
        sort.push((SortKey::Id, tie));
    }
    Ok(sort)
}

/// Parameters that may be given more than once.
const REPEATABLE: &[&str] = &["tag", "sort", "sort_key", "sort_dir"];

/// Parameters that are not filters.
const CONTROL: &[&str] = &["limit", "marker", "sort", "sort_key", "sort_dir", "visibility", "member_status"];

pub fn parse(pairs: &[(String, String)], viewer: &ProjectId) -> Result<ListRequest, Error> {
    let last = |name: &str| pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let limit = match last("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => {
            let n: i64 = v.parse().map_err(|_| bad("limit param must be an integer"))?;
            if n < 0 {
                return Err(bad("limit param must be positive"));
            }
            (n as u64).min(MAX_LIMIT)
        }
    };
    let marker = match last("marker") {
        None => None,
        Some(m) => Some(ImageId::parse(m).ok_or_else(|| bad(format!("No image found with ID {m}")))?),
    };
    let mut filters = Vec::new();
    let (mut community, mut visibility_filter) = (false, None);
    match last("visibility") {
        None => {}
        Some("all") => community = true,
        Some(v) => {
            let vis = Visibility::parse(v).ok_or_else(|| bad(format!("Invalid visibility value: {v}")))?;
            community = vis == Visibility::Community;
            visibility_filter = Some(vis);
        }
    }
    filters.extend(visibility_filter.map(|v| Filter::Visibility(vec![v])));
    let members = match last("member_status") {
        None => MemberRule::Status(MemberStatus::Accepted),
        Some("all") => MemberRule::Any,
        Some(s) => MemberRule::Status(MemberStatus::parse(s).ok_or_else(|| bad(format!("Invalid status: {s}")))?),
    };
    let mut hidden = Some(false);
    // Each parameter once, except tags (which must all match) and the sort parameters
    // (one per key, in order): a repeat would make the answer depend on the pairs'
    // order, which a signature does not cover (it sorts them).
    let mut seen = std::collections::HashSet::with_capacity(pairs.len());
    for (k, _) in pairs {
        if !REPEATABLE.contains(&k.as_str()) && !seen.insert(k.as_str()) {
            return Err(bad(format!("the parameter {k} is given more than once")));
        }
    }
    for (k, v) in pairs {
        let k = k.as_str();
        if CONTROL.contains(&k) {
            continue;
        }
        match k {
            "name" => filters.push(Filter::Name(NameMatch::AnyOf(eq_or_in(v)?))),
            "id" => filters.push(Filter::Id(
                eq_or_in(v)?
                    .iter()
                    .map(|id| ImageId::parse(id).ok_or_else(|| bad(format!("Invalid id value: {id} is not a UUID"))))
                    .collect::<Result<_, _>>()?,
            )),
            "status" => filters.push(Filter::Status(words(k, v, Status::parse)?)),
            "container_format" => filters.push(Filter::ContainerFormat(words(k, v, ContainerFormat::parse)?)),
            "disk_format" => filters.push(Filter::DiskFormat(words(k, v, DiskFormat::parse)?)),
            "owner" => filters.push(Filter::Owner(
                ProjectId::parse(v).ok_or_else(|| bad(format!("Invalid owner value: {v} is not a project id")))?,
            )),
            "checksum" => filters.push(Filter::Checksum(v.clone())),
            "os_hash_value" => filters.push(Filter::OsHashValue(v.clone())),
            "size" | "virtual_size" | "min_ram" | "min_disk" => {
                filters.push(Filter::Number(number_field(k), Cmp::Eq, integer(v)?));
            }
            "size_min" | "virtual_size_min" | "min_ram_min" | "min_disk_min" => {
                filters.push(Filter::Number(number_field(k.trim_end_matches("_min")), Cmp::Gte, range_value(v)?));
            }
            "size_max" | "virtual_size_max" | "min_ram_max" | "min_disk_max" => {
                filters.push(Filter::Number(number_field(k.trim_end_matches("_max")), Cmp::Lte, range_value(v)?));
            }
            "protected" => filters.push(Filter::Protected(bool_param("protected", v)?)),
            "os_hidden" => hidden = Some(bool_param("os_hidden", v)?),
            "tag" => filters.push(Filter::Tag(v.clone())),
            "created_at" => filters.extend(time_filter(k, TimeField::CreatedAt, v)?),
            "updated_at" => filters.extend(time_filter(k, TimeField::UpdatedAt, v)?),
            "changes-since" => return Err(bad("The \"changes-since\" filter is no longer available on v2.")),
            "__imagetype" => filters.extend(match v.as_str() {
                // IMS: public images of the system project, the caller's own, or shared with it.
                "gold" => vec![Filter::Owner(ProjectId::system()), Filter::Visibility(vec![Visibility::Public])],
                "private" => vec![Filter::Owner(viewer.clone())],
                "shared" => vec![Filter::Visibility(vec![Visibility::Shared]), Filter::MemberOf(viewer.clone())],
                other => return Err(bad(format!("Invalid __imagetype value: {other}: gold, private or shared"))),
            }),
            _ => filters.push(Filter::Property(k.to_owned(), v.clone())),
        }
    }
    filters.extend(hidden.map(Filter::Hidden));
    Ok(ListRequest { filters, sort: parse_sort(pairs)?, limit, marker, view: View { members, community } })
}

fn number_field(k: &str) -> NumberField {
    match k {
        "virtual_size" => NumberField::VirtualSize,
        "min_ram" => NumberField::MinRam,
        "min_disk" => NumberField::MinDisk,
        _ => NumberField::Size,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_lists_split_with_quotes() {
        assert_eq!(split_in_list("a,b").unwrap(), ["a", "b"]);
        assert_eq!(split_in_list(r#""c,d",e"#).unwrap(), ["c,d", "e"]);
        assert_eq!(split_in_list(r#""say \"hi\"",x"#).unwrap(), ["say \"hi\"", "x"]);
        assert!(split_in_list(r#""open,x"#).is_err());
        assert!(split_in_list(r#"a"b"#).is_err());
        assert!(split_in_list(r#""a"b,c"#).is_err());
    }

    fn q(s: &str) -> Vec<(String, String)> {
        s.split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    #[test]
    fn sort_syntaxes_and_errors() {
        let p = ProjectId::system();
        let s = |x| parse(&q(x), &p).map(|r| r.sort);
        assert_eq!(s("").unwrap(), [(SortKey::CreatedAt, SortDir::Desc), (SortKey::Id, SortDir::Desc)]);
        assert_eq!(
            s("sort=name:asc,status").unwrap(),
            [
                (SortKey::Name, SortDir::Asc),
                (SortKey::Status, SortDir::Desc),
                (SortKey::CreatedAt, SortDir::Desc),
                (SortKey::Id, SortDir::Desc)
            ]
        );
        assert_eq!(
            s("sort_key=name&sort_key=size&sort_dir=asc").unwrap(),
            [
                (SortKey::Name, SortDir::Asc),
                (SortKey::Size, SortDir::Asc),
                (SortKey::CreatedAt, SortDir::Asc),
                (SortKey::Id, SortDir::Asc)
            ]
        );
        assert!(s("sort_key=name&sort_key=size&sort_dir=asc&sort_dir=desc&sort_dir=asc").is_err());
        assert!(s("sort=name&sort_key=size").is_err());
        assert!(matches!(s("sort_key=bogus"), Err(Error::UnsupportedSortKey(_))));
        assert!(s("sort_dir=up").is_err());
    }

    #[test]
    fn filter_errors() {
        let p = ProjectId::system();
        for bad_query in [
            "limit=x",
            "limit=-1",
            "name=foo:bar",
            "name=in:\"a",
            "visibility=everyone",
            "member_status=maybe",
            "size_min=big",
            "protected=maybe",
            "os_hidden=yess",
            "created_at=lt:yesterday",
            "created_at=xx:2020-01-01T00:00:00Z",
            "changes-since=2020-01-01T00:00:00Z",
            "__imagetype=bronze",
            "size=ten",
            "status=bogus",
            "status=in:active,bogus",
            "disk_format=qcow3",
            "container_format=eq:Docker",
            "id=not-a-uuid",
            "owner=someone",
        ] {
            assert!(parse(&q(bad_query), &p).is_err(), "{bad_query} should be rejected");
        }
        let ok = parse(&q("name=eq:foo:bar&tag=a&tag=b&limit=5000&os_distro=ubuntu"), &p).unwrap();
        assert_eq!(ok.limit, MAX_LIMIT);
        assert!(ok.filters.contains(&Filter::Name(NameMatch::AnyOf(vec!["foo:bar".into()]))));
        assert!(ok.filters.contains(&Filter::Tag("a".into())) && ok.filters.contains(&Filter::Tag("b".into())));
        assert!(ok.filters.contains(&Filter::Property("os_distro".into(), "ubuntu".into())));
    }
}
