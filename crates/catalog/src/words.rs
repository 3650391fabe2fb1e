//! Closed vocabularies of the catalog. Each word set is stored in the database by its
//! catalog word (`as_str`); faces translate these to their own spellings.

/// Declares a closed enum with its catalog words.
macro_rules! word_enum {
    ($(#[$m:meta])* $vis:vis enum $name:ident { $($variant:ident => $word:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The catalog word (what the store persists).
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            /// Parses the catalog word exactly.
            pub fn parse(word: &str) -> Option<Self> {
                match word { $($word => Some($name::$variant),)+ _ => None }
            }

            /// Parses the catalog word ignoring ASCII case (faces that spell it in capitals).
            pub fn parse_ignore_case(word: &str) -> Option<Self> {
                Self::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(word))
            }
        }

        impl From<$name> for &'static str {
            fn from(w: $name) -> &'static str {
                w.as_str()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use word_enum;
