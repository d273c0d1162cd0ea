//! The two migration folders must not drift apart: SQLite and PostgreSQL
//! run the same schema history, so both hold the same file names.
//!
//! The rule for contents: a migration says the same in both folders, spelled
//! for each backend only where their types differ. PostgreSQL writes
//! `BIGINT` where SQLite writes `INTEGER` (PostgreSQL's `INTEGER` is 32-bit
//! and the code binds i64), and `BIGSERIAL PRIMARY KEY` for SQLite's
//! `INTEGER PRIMARY KEY AUTOINCREMENT`. With those two mapped, every file
//! must be identical, except the few in `DIFFER` that need SQL only one
//! backend understands; a listed file that no longer differs must leave the
//! list.

use std::collections::BTreeMap;
use std::path::Path;

/// Migrations whose SQL differs beyond the type spellings, and why.
const DIFFER: &[(&str, &str)] = &[(
    "0002_audit_log.sql",
    "append-only: SQLite triggers vs a PL/pgSQL trigger function",
)];

/// The PostgreSQL spellings of the shared types, written the SQLite way.
fn as_sqlite(sql: &str) -> String {
    sql.replace("BIGSERIAL PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT")
        .replace("BIGINT", "INTEGER")
}

fn read_folder(name: &str) -> BTreeMap<String, String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(name);
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("directory entry").path();
            let file = path.file_name().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("migration is text");
            (file, text)
        })
        .collect()
}

#[test]
fn both_folders_hold_the_same_migrations() {
    let sqlite = read_folder("sqlite");
    let postgres = read_folder("postgres");
    assert!(!sqlite.is_empty());
    assert_eq!(
        sqlite.keys().collect::<Vec<_>>(),
        postgres.keys().collect::<Vec<_>>(),
        "every migration needs a file in both folders"
    );
    for (file, text) in &sqlite {
        let differs = DIFFER.iter().any(|(name, _)| name == file);
        let same = as_sqlite(text) == as_sqlite(&postgres[file]);
        assert!(
            same != differs,
            "{file}: {}",
            if differs {
                "now differs only in type spellings; remove it from DIFFER"
            } else {
                "differs between sqlite/ and postgres/ beyond INTEGER/BIGINT and \
                 AUTOINCREMENT/BIGSERIAL; make it the same or list it in DIFFER with why"
            }
        );
    }
    for (name, _) in DIFFER {
        assert!(
            sqlite.contains_key(*name),
            "DIFFER names a missing file {name}"
        );
    }
}
