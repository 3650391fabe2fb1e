//! Schema migrations, embedded in the binary and applied in order at start-up (and by
//! `imagehub migrate`). Each runs in its own transaction with its version row.

/// A migration: version and SQL (statements separated by `;` at line ends).
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const SQLITE: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("migrations/sqlite/0001_initial.sql") },
    Migration { version: 2, name: "effective_types", sql: include_str!("migrations/sqlite/0002_effective_types.sql") },
    Migration {
        version: 3,
        name: "members_tags_properties",
        sql: include_str!("migrations/sqlite/0003_members_tags_properties.sql"),
    },
    Migration { version: 4, name: "access_keys", sql: include_str!("migrations/sqlite/0004_access_keys.sql") },
    Migration { version: 5, name: "change_feed", sql: include_str!("migrations/sqlite/0005_change_feed.sql") },
];

pub const POSTGRES: &[Migration] = &[
    Migration { version: 1, name: "initial", sql: include_str!("migrations/postgres/0001_initial.sql") },
    Migration {
        version: 2,
        name: "effective_types",
        sql: include_str!("migrations/postgres/0002_effective_types.sql"),
    },
    Migration {
        version: 3,
        name: "members_tags_properties",
        sql: include_str!("migrations/postgres/0003_members_tags_properties.sql"),
    },
    Migration { version: 4, name: "access_keys", sql: include_str!("migrations/postgres/0004_access_keys.sql") },
    Migration { version: 5, name: "change_feed", sql: include_str!("migrations/postgres/0005_change_feed.sql") },
];

/// The table that records applied migrations (the same DDL on every backend).
pub const LEDGER_DDL: &str = "CREATE TABLE IF NOT EXISTS schema_migrations \
    (version BIGINT NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// Splits a migration into statements (comments dropped; no `;` inside string literals
/// in our migrations).
pub fn statements(sql: &str) -> impl Iterator<Item = String> + '_ {
    sql.split(";\n")
        .map(|chunk| {
            chunk
                .lines()
                .map(|l| l.split("--").next().unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n")
                .trim()
                .trim_end_matches(';')
                .to_owned()
        })
        .filter(|s| !s.is_empty())
}
