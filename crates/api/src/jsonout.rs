//! JSON written straight into the response buffer, for the shapes a list page repeats.
//!
//! A page of 20 images is 8–24 KB of JSON made of a few hundred keys and values.
//! serde_json escapes every key (even a constant one) and every value byte by byte, and
//! that was the largest part of a ModelArts list request's own CPU at a million images.
//! Here keys are constants written as they are, and a value is copied whole unless it
//! holds a byte JSON escapes. The bytes are the ones serde_json writes for the same
//! values; the tests compare them.

/// Writes one JSON object; keys are written in the order they are given, and the caller
/// gives them in the order the face's shape has them.
pub struct Object<'a> {
    out: &'a mut Vec<u8>,
    empty: bool,
}

impl<'a> Object<'a> {
    pub fn new(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Self { out, empty: true }
    }

    /// Writes `"key":` (after a comma unless it is the first key); the value is next.
    pub fn key(&mut self, key: &'static str) -> &mut Vec<u8> {
        debug_assert!(!needs_escape(key), "keys are written unescaped");
        if !self.empty {
            self.out.push(b',');
        }
        self.empty = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self.out
    }

    pub fn str(&mut self, key: &'static str, value: &str) -> &mut Self {
        string(self.key(key), value);
        self
    }

    /// Leaves the key out when there is no value.
    pub fn opt_str(&mut self, key: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value {
            self.str(key, v);
        }
        self
    }

    pub fn int(&mut self, key: &'static str, value: impl itoa::Integer) -> &mut Self {
        let out = self.key(key);
        out.extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
        self
    }

    /// Leaves the key out when there is no value.
    pub fn opt_int(&mut self, key: &'static str, value: Option<impl itoa::Integer>) -> &mut Self {
        if let Some(v) = value {
            self.int(key, v);
        }
        self
    }

    /// A value written by `write` (a nested object or array).
    pub fn with(&mut self, key: &'static str, write: impl FnOnce(&mut Vec<u8>)) -> &mut Self {
        write(self.key(key));
        self
    }

    pub fn end(self) {
        self.out.push(b'}');
    }
}

/// Writes `items` as a JSON array, each with `write`.
pub fn array<T>(out: &mut Vec<u8>, items: impl IntoIterator<Item = T>, mut write: impl FnMut(&mut Vec<u8>, T)) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// A byte JSON strings must escape: a quote, a backslash or a control character.
fn escaped(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

fn needs_escape(s: &str) -> bool {
    s.bytes().any(escaped)
}

/// Writes `s` as a JSON string, escaped as serde_json escapes it: `\"`, `\\`, the short
/// forms `\b \t \n \f \r`, and `\u00XX` (lowercase) for the other control characters.
/// Everything else, `/` and non-ASCII included, is copied as it is.
pub fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    // Most values escape nothing; a fold (no early exit) is checked many bytes at a time.
    if !bytes.iter().fold(false, |any, &b| any | escaped(b)) {
        out.extend_from_slice(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if !escaped(b) {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        start = i + 1;
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Writes a catalog word in capitals (the words are ASCII letters and underscores).
pub fn upper(out: &mut Vec<u8>, word: &str) {
    debug_assert!(!needs_escape(word));
    out.push(b'"');
    out.extend(word.bytes().map(|b| b.to_ascii_uppercase()));
    out.push(b'"');
}

/// Writes a UUID in its hyphenated lowercase form.
pub fn uuid(out: &mut Vec<u8>, id: &uuid::Uuid) {
    uuid_between(out, "", id, "");
}

/// Writes a string made of `before`, a UUID in its hyphenated lowercase form and `after`
/// (constants that need no escaping, such as `/v2/images/` and `/file`).
pub fn uuid_between(out: &mut Vec<u8>, before: &str, id: &uuid::Uuid, after: &str) {
    debug_assert!(!needs_escape(before) && !needs_escape(after));
    out.push(b'"');
    out.extend_from_slice(before.as_bytes());
    out.extend_from_slice(id.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()).as_bytes());
    out.extend_from_slice(after.as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let every_ascii: String = (0u8..0x80).map(char::from).collect();
        for s in [
            "",
            "plain",
            "quote \" and backslash \\ and slash /",
            "tab\tline\nreturn\r",
            "名前 ünïcödé \u{2028} \u{10ffff}",
            "\u{0}\u{1f}\u{7f}",
            every_ascii.as_str(),
        ] {
            assert_eq!(written(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    #[test]
    fn objects_have_their_keys_in_order_and_leave_absent_values_out() {
        let mut out = Vec::new();
        let mut o = Object::new(&mut out);
        o.str("a", "x\"y")
            .opt_str("b", None)
            .int("c", -3i64)
            .opt_int("d", None::<i64>)
            .with("g", |out| array(out, [1u8, 2], |out, n| out.push(b'0' + n)));
        o.end();
        let expected = serde_json::json!({"a": "x\"y", "c": -3, "g": [1, 2]});
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&expected).unwrap());
    }

    #[test]
    fn words_and_uuids() {
        let mut out = Vec::new();
        upper(&mut out, "dev_env");
        uuid(&mut out, &uuid::Uuid::from_u128(0x0123_4567_89ab_cdef_0123_4567_89ab_cdef));
        assert_eq!(String::from_utf8(out).unwrap(), "\"DEV_ENV\"\"01234567-89ab-cdef-0123-456789abcdef\"");
    }
}
