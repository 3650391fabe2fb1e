//! Identifiers, parsed at the edge.

use std::fmt;
use uuid::Uuid;

/// An image id: a UUID, rendered hyphenated and lowercase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageId(Uuid);

impl ImageId {
    /// A fresh random id.
    pub fn new_random() -> Self {
        Self(Uuid::new_v4())
    }

    /// Parses a UUID in any of its usual spellings (hyphenated or 32 hex digits).
    pub fn parse(s: &str) -> Option<Self> {
        if s.len() != 36 && s.len() != 32 {
            return None;
        }
        Uuid::try_parse(s).ok().map(Self)
    }

    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }

    /// 32 lowercase hex digits, no dashes (the SCNet spelling).
    pub fn simple(&self) -> String {
        self.0.simple().to_string()
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A project (tenant) id: 32 lowercase hexadecimal characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectId(String);

impl ProjectId {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = s.len() == 32 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self(s.to_owned()))
    }

    /// The project that owns the built-in (preset) images.
    pub fn system() -> Self {
        Self(SYSTEM_PROJECT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of the system project, owner of the built-in images and of the bootstrap token.
pub const SYSTEM_PROJECT: &str = "00000000000000000000000000000000";

impl fmt::Display for ProjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of an image group: derived from (owner, namespace, name), so a group needs
/// no row of its own to exist and every node computes the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(Uuid);

/// Namespace for the v5 UUIDs of groups (a fixed random UUID, never change it).
const GROUP_NAMESPACE: Uuid = Uuid::from_u128(0x6b1e_3f52_8a0c_4d8e_9b53_0e7c_2a41_d9f0);

impl GroupId {
    pub fn derive(owner: &ProjectId, namespace: Option<&str>, name: Option<&str>) -> Self {
        // Length-prefixed, so no choice of namespace and name can collide with another.
        let ns = namespace.unwrap_or("");
        let key = format!("{}:{}:{}:{}", owner.as_str(), ns.len(), ns, name.unwrap_or(""));
        Self(Uuid::new_v5(&GROUP_NAMESPACE, key.as_bytes()))
    }

    pub fn parse(s: &str) -> Option<Self> {
        ImageId::parse(s).map(|id| Self(id.0))
    }
}

impl fmt::Display for GroupId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// Ids serialize as their display form (hyphenated, lowercase), without allocating.
fn serialize_uuid<S: serde::Serializer>(u: &Uuid, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(u.hyphenated().encode_lower(&mut Uuid::encode_buffer()))
}

impl serde::Serialize for ImageId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_uuid(&self.0, s)
    }
}

impl serde::Serialize for GroupId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_uuid(&self.0, s)
    }
}

impl From<Uuid> for ImageId {
    fn from(u: Uuid) -> Self {
        Self(u)
    }
}

/// A point in time: UTC milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Millis(pub i64);

impl Millis {
    pub fn now() -> Self {
        let d = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Self(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_ids_are_32_lowercase_hex() {
        assert!(ProjectId::parse("0123456789abcdef0123456789abcdef").is_some());
        assert!(ProjectId::parse("0123456789ABCDEF0123456789abcdef").is_none());
        assert!(ProjectId::parse("0123456789abcdef0123456789abcde").is_none());
        assert!(ProjectId::parse("0123456789abcdef0123456789abcdeg").is_none());
    }

    #[test]
    fn image_ids_accept_hyphenated_and_simple() {
        let a = ImageId::parse("e1a07296-22a8-4f05-8bc8-e936c8e54099").unwrap();
        let b = ImageId::parse("e1a0729622a84f058bc8e936c8e54099").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "e1a07296-22a8-4f05-8bc8-e936c8e54099");
        assert_eq!(a.simple(), "e1a0729622a84f058bc8e936c8e54099");
        assert!(ImageId::parse("{e1a07296-22a8-4f05-8bc8-e936c8e54099}").is_none());
        assert!(ImageId::parse("not-a-uuid").is_none());
    }

    #[test]
    fn group_ids_are_stable_and_distinct() {
        let p = ProjectId::parse("0123456789abcdef0123456789abcdef").unwrap();
        let a = GroupId::derive(&p, Some("ns"), Some("name"));
        assert_eq!(a, GroupId::derive(&p, Some("ns"), Some("name")));
        assert_ne!(a, GroupId::derive(&p, Some("ns"), Some("other")));
        assert_ne!(a, GroupId::derive(&ProjectId::system(), Some("ns"), Some("name")));
        // The separator keeps ("a/b", "c") apart from ("a", "b/c").
        assert_ne!(GroupId::derive(&p, Some("a\nb"), Some("c")), GroupId::derive(&p, Some("a"), Some("b\nc")));
    }
}
