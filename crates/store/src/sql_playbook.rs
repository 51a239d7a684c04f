//! The SQL of the clinic's playbook (triage rules, FAQ answers), for both backends.

use crate::playbook::{PlaybookChange, PlaybookRow};
use crate::sql::{Bind, Check, Dialect, Step};
use crate::sql_work::step;

/// The columns every read of an entry selects, in [`PlaybookRow`]'s order.
pub const PLAYBOOK_COLUMNS: &str = "book, id, position, definition, updated_us";

/// Adds the entry; fails the batch when its id is taken.
pub fn insert(dialect: Dialect, org: &str, row: &PlaybookRow) -> Step {
    step(
        dialect,
        &format!(
            "INSERT INTO playbook_entries (org_id, {PLAYBOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(row.book.clone()),
            Bind::Text(row.id.clone()),
            Bind::Int(row.position),
            Bind::Text(row.definition.clone()),
            Bind::Int(row.updated_us),
        ],
        Check::ChangesOne,
    )
}

/// Rewrites what is given of an entry still there: its place, its definition, or
/// both; fails the batch when it is gone, so a change never brings a removed entry
/// back.
pub fn update(dialect: Dialect, org: &str, change: &PlaybookChange) -> Step {
    step(
        dialect,
        "UPDATE playbook_entries SET position = COALESCE(?, position), \
         definition = COALESCE(?, definition), updated_us = ? \
         WHERE org_id = ? AND book = ? AND id = ?",
        vec![
            Bind::OptInt(change.position),
            Bind::OptText(change.definition.clone()),
            Bind::Int(change.updated_us),
            Bind::Text(org.to_owned()),
            Bind::Text(change.book.to_owned()),
            Bind::Text(change.id.clone()),
        ],
        Check::ChangesOne,
    )
}

/// Removes the entry; fails the batch when it is not there.
pub fn remove(dialect: Dialect, org: &str, book: &str, id: &str) -> Step {
    step(
        dialect,
        "DELETE FROM playbook_entries WHERE org_id = ? AND book = ? AND id = ?",
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(book.to_owned()),
            Bind::Text(id.to_owned()),
        ],
        Check::ChangesOne,
    )
}

/// A book's entries, in order.
pub fn book(dialect: Dialect, org: &str, book: &str) -> Step {
    step(
        dialect,
        &format!(
            "SELECT {PLAYBOOK_COLUMNS} FROM playbook_entries WHERE org_id = ? AND book = ? \
             ORDER BY position, id"
        ),
        vec![Bind::Text(org.to_owned()), Bind::Text(book.to_owned())],
        Check::Nothing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::assert_binds_match;

    #[test]
    fn binds_match_placeholders() {
        let row = PlaybookRow {
            book: "triage".into(),
            id: "r".into(),
            position: 1,
            definition: "{}".into(),
            updated_us: 2,
        };
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            assert_binds_match(&insert(dialect, "o", &row));
            assert_binds_match(&update(
                dialect,
                "o",
                &PlaybookChange {
                    book: "triage",
                    id: "r".into(),
                    position: Some(2),
                    definition: None,
                    updated_us: 3,
                },
            ));
            assert_binds_match(&remove(dialect, "o", "triage", "r"));
            assert_binds_match(&book(dialect, "o", "triage"));
        }
    }
}
