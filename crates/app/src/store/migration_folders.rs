//! The two migration folders must not drift apart: SQLite and PostgreSQL
//! run the same schema history, so both hold the same file names.
//!
//! The rule for contents: a migration is byte-for-byte the same in both
//! folders, unless it needs SQL that only one backend understands. Those are
//! listed in `DIFFER` with the reason; every other file must stay identical,
//! and a listed file that has become identical must leave the list.

use std::collections::BTreeMap;
use std::path::Path;

/// Migrations whose SQL has to differ between the backends, and why.
const DIFFER: &[(&str, &str)] = &[
    (
        "0002_audit_log.sql",
        "AUTOINCREMENT vs BIGSERIAL; SQLite triggers vs a PL/pgSQL function",
    ),
    ("0010_site.sql", "AUTOINCREMENT vs BIGSERIAL"),
    (
        "0015_calendar_feeds.sql",
        "INTEGER vs BIGINT: PostgreSQL's INTEGER is 32-bit, the code binds i64",
    ),
];

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
        let same = *text == postgres[file];
        assert!(
            same != differs,
            "{file}: {}",
            if differs {
                "is now identical in both folders; remove it from DIFFER"
            } else {
                "differs between sqlite/ and postgres/; make it identical or list it in DIFFER with why"
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
