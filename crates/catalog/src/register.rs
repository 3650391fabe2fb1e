//! Registering a container image by its registry path.

use crate::error::{Error, Result};
use crate::image::{Arch, DevService, KvTag, Origin, ResourceCategory, ServiceType, Visibility};

/// A parsed `registry[:port]/namespace/name:tag` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryPath {
    pub registry: String,
    pub namespace: String,
    /// The repository below the namespace; may contain `/` for nested repositories.
    pub name: String,
    pub tag: String,
}

pub const REGISTRY_PATH_MIN: usize = 16;
pub const REGISTRY_PATH_MAX: usize = 2048;
pub const NAME_MAX: usize = 512;
pub const TAG_MAX: usize = 128;

fn is_path_component(s: &str) -> bool {
    // Registry repository components: lowercase letters, digits, '.', '_', '-'.
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
}

/// `host[:port]`: a DNS name (labels of letters, digits and inner `-`, joined by `.`), an
/// IPv4 address or a bracketed IPv6 address, with an optional port 1–65535.
fn is_registry_host(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some((v6, after)) = rest.split_once(']') else { return false };
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(port) => ("", Some(port)),
                None => return false,
            },
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    let port_ok = port.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 5
            && p.bytes().all(|b| b.is_ascii_digit())
            && (1..=65_535).contains(&p.parse::<u32>().unwrap_or(0))
    });
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let host_ok = s.starts_with('[') || (!host.is_empty() && host.len() <= 253 && host.split('.').all(label_ok));
    port_ok && host_ok
}

impl RegistryPath {
    pub fn parse(path: &str) -> Result<Self> {
        let len = path.chars().count();
        if !(REGISTRY_PATH_MIN..=REGISTRY_PATH_MAX).contains(&len) {
            return Err(Error::invalid(format!(
                "swr_path must be {REGISTRY_PATH_MIN} to {REGISTRY_PATH_MAX} characters long"
            )));
        }
        if path.chars().any(char::is_control) {
            return Err(Error::invalid("swr_path must not contain control characters"));
        }
        if path.contains('@') {
            return Err(Error::invalid("swr_path must name a tag (name:tag), not a digest"));
        }
        let mut parts = path.split('/');
        let registry = parts.next().unwrap_or_default();
        let rest: Vec<&str> = parts.collect();
        if !is_registry_host(registry) {
            return Err(Error::invalid(format!(
                "swr_path has an invalid registry host {registry:?}: a host name or IP address, \
                 optionally with a port 1-65535 (host:port)"
            )));
        }
        if rest.len() < 2 {
            return Err(Error::invalid(
                "swr_path must have the form registry[:port]/namespace/name:tag (namespace missing)",
            ));
        }
        let (last, middle) = rest.split_last().unwrap_or((&"", &[]));
        let Some((repo_last, tag)) = last.split_once(':') else {
            return Err(Error::invalid("swr_path must end in name:tag (tag missing)"));
        };
        let namespace = middle[0];
        let mut name_parts: Vec<&str> = middle[1..].to_vec();
        name_parts.push(repo_last);
        if !is_path_component(namespace) {
            return Err(Error::invalid(format!(
                "invalid namespace {namespace:?}: use lowercase letters, digits, '.', '_' and '-'"
            )));
        }
        if let Some(bad) = name_parts.iter().find(|p| !is_path_component(p)) {
            return Err(Error::invalid(format!(
                "invalid image name component {bad:?}: use lowercase letters, digits, '.', '_' and '-'"
            )));
        }
        let name = name_parts.join("/");
        if name.len() > NAME_MAX {
            return Err(Error::invalid(format!("image name longer than {NAME_MAX} characters")));
        }
        let tag_ok = !tag.is_empty()
            && tag.len() <= TAG_MAX
            && tag.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !tag_ok {
            return Err(Error::invalid(format!(
                "invalid tag {tag:?}: 1 to {TAG_MAX} of letters, digits, '.', '_' and '-'"
            )));
        }
        Ok(Self { registry: registry.to_owned(), namespace: namespace.to_owned(), name, tag: tag.to_owned() })
    }
}

/// What a client says when it registers a container image; unset fields take the
/// documented defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerRegistration {
    pub registry_path: String,
    pub arch: Option<Arch>,
    pub description: Option<String>,
    pub origin: Option<Origin>,
    pub resource_categories: Option<Vec<ResourceCategory>>,
    pub service_type: Option<ServiceType>,
    pub dev_services: Option<Vec<DevService>>,
    pub visibility: Option<Visibility>,
    pub workspace_id: Option<String>,
    pub flavor_type: Option<String>,
    pub kv_tags: Vec<KvTag>,
    pub read_me: Option<String>,
    pub accelerator_type: Option<String>,
    pub image_type: Option<String>,
    pub digest: Option<String>,
    pub size: Option<i64>,
    pub uploaded_by: Option<String>,
}

pub const DESCRIPTION_MAX: usize = 512;
pub const READ_ME_MAX: usize = 30_000;
pub const KV_TAGS_MAX: usize = 20;
pub const KV_KEY_MAX: usize = 128;
pub const KV_VALUE_MAX: usize = 255;

/// Checks key/value labels (used by register and UpdateImageGroup).
pub fn validate_kv_tags(tags: &[KvTag]) -> Result<()> {
    if tags.len() > KV_TAGS_MAX {
        return Err(Error::invalid(format!("at most {KV_TAGS_MAX} tags are allowed")));
    }
    for t in tags {
        if t.key.is_empty() || t.key.chars().count() > KV_KEY_MAX || t.value.chars().count() > KV_VALUE_MAX {
            return Err(Error::invalid(format!(
                "tag keys must be 1 to {KV_KEY_MAX} characters and values at most {KV_VALUE_MAX}"
            )));
        }
        if t.key.contains('\0') || t.value.contains('\0') {
            return Err(Error::invalid("tag keys and values must not contain NUL characters"));
        }
    }
    Ok(())
}

pub fn validate_read_me(read_me: &str) -> Result<()> {
    if read_me.chars().count() > READ_ME_MAX {
        return Err(Error::invalid(format!("read_me is longer than {READ_ME_MAX} characters")));
    }
    if read_me.contains('\0') {
        return Err(Error::invalid("read_me must not contain NUL characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_hosts_are_hosts_with_an_optional_port() {
        for good in ["swr.example.com", "localhost:5000", "10.0.0.1:443", "[::1]:5000", "[fd00::2]", "a-b.c:65535"] {
            assert!(is_registry_host(good), "{good}");
        }
        for bad in [
            "",
            ":5000",
            "host:",
            "host:0",
            "host:65536",
            "host:99999999",
            "host:5000:1",
            "-bad.com",
            "bad-.com",
            "a..b",
            "[::1",
            "[nope]:80",
            "[::1]x",
            "host:+80",
            "h\0st",
        ] {
            assert!(!is_registry_host(bad), "{bad:?}");
        }
        assert!(RegistryPath::parse("host:70000/ns/name:tag").unwrap_err().to_string().contains("1-65535"));
    }

    #[test]
    fn derives_namespace_name_and_tag() {
        let p = RegistryPath::parse("swr.example.com/ns/pytorch_1_8:train-1").unwrap();
        assert_eq!(p.registry, "swr.example.com");
        assert_eq!(p.namespace, "ns");
        assert_eq!(p.name, "pytorch_1_8");
        assert_eq!(p.tag, "train-1");
    }

    #[test]
    fn keeps_registry_port_and_nested_names() {
        let p = RegistryPath::parse("registry:5000/dcu/admin/base/jupyterlab:3.2.9-python3.8.3").unwrap();
        assert_eq!(p.registry, "registry:5000");
        assert_eq!(p.namespace, "dcu");
        assert_eq!(p.name, "admin/base/jupyterlab");
        assert_eq!(p.tag, "3.2.9-python3.8.3");
    }

    #[test]
    fn rejects_paths_without_tag_namespace_or_with_bad_characters() {
        for bad in [
            "swr.example.com/ns/pytorch_1_8",
            "swr.example.com/pytorch_1_8:train-1",
            "swr.example.com/ns/PyTorch:train-1",
            "swr.example.com/ns/pytorch:",
            "swr.example.com/ns/pytorch@sha256:abcd",
            "swr.example.com//pytorch:train-1",
            "short/a:b",
            "swr.example.com/ns/py torch:train-1",
        ] {
            assert!(RegistryPath::parse(bad).is_err(), "{bad} should be rejected");
        }
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn parse_never_panics(s in ".{0,300}") {
            let _ = RegistryPath::parse(&s);
        }

        #[test]
        fn valid_paths_round_trip(
            registry in "[a-z0-9]{1,10}(\\.[a-z]{2,5}){1,2}(:[1-9][0-9]{1,3})?",
            namespace in "[a-z0-9][a-z0-9._-]{0,20}",
            name in "[a-z0-9][a-z0-9._-]{0,20}(/[a-z0-9][a-z0-9._-]{0,10}){0,2}",
            tag in "[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}",
        ) {
            let path = format!("{registry}/{namespace}/{name}:{tag}");
            prop_assume!(path.len() >= REGISTRY_PATH_MIN);
            let p = RegistryPath::parse(&path).unwrap();
            prop_assert_eq!(p, RegistryPath { registry, namespace, name, tag });
        }

        #[test]
        fn paths_without_a_tag_are_rejected(
            namespace in "[a-z0-9]{1,20}",
            name in "[a-z0-9]{1,20}",
        ) {
            let path = format!("swr.example.com/{namespace}/{name}");
            prop_assert!(RegistryPath::parse(&path).is_err());
        }
    }
}
