//! Interned strings: a row keeps a symbol for each repeated string (owners, names,
//! tags, property keys and values), with the ASCII-lower-cased form a substring match
//! needs. A string the index never saw matches nothing.

use std::collections::HashMap;

use super::Sym;

/// Interned strings, with their ASCII-lower-cased form for substring matches.
#[derive(Default)]
pub(super) struct Strings {
    pub(super) ids: HashMap<Box<str>, Sym>,
    pub(super) text: Vec<Box<str>>,
    pub(super) lower: Vec<Option<Box<str>>>,
}

impl Strings {
    pub(super) fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = Sym::try_from(self.text.len()).unwrap_or(Sym::MAX);
        self.ids.insert(s.into(), id);
        self.text.push(s.into());
        let lower = s.to_ascii_lowercase();
        self.lower.push((lower != s).then(|| lower.into()));
        id
    }

    pub(super) fn get(&self, s: Sym) -> &str {
        self.text.get(s as usize).map_or("", |t| t)
    }

    pub(super) fn lower(&self, s: Sym) -> &str {
        match self.lower.get(s as usize) {
            Some(Some(l)) => l,
            _ => self.get(s),
        }
    }
}

impl Strings {
    pub(super) fn find(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    pub(super) fn all_found(&self, values: &[String]) -> Vec<Sym> {
        values.iter().filter_map(|v| self.find(v)).collect()
    }
}
