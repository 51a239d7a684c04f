//! The SQL of staff accounts and departments, for both backends.

use crate::sql::{Bind, Check, Dialect, Step};
use crate::sql_work::step;
use crate::staff::{DepartmentRow, SavedReplyRow, SessionRow, StaffRow};

/// The columns every read of a department selects, in [`DepartmentRow`]'s order.
pub const DEPARTMENT_COLUMNS: &str = "id, name, on_call, created_us";

/// The columns every read of an account selects, in [`StaffRow`]'s order (its
/// departments aside).
pub const STAFF_COLUMNS: &str =
    "id, email, role, password_hash, failed_logins, locked_until_us, created_us, updated_us";

/// Fails as a conflict when the key is taken.
pub fn insert_department(dialect: Dialect, org: &str, row: &DepartmentRow) -> Step {
    step(
        dialect,
        &format!("INSERT INTO departments (org_id, {DEPARTMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?)"),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(row.id.clone()),
            Bind::Text(row.name.clone()),
            Bind::OptText(row.on_call.clone()),
            Bind::Int(row.created_us),
        ],
        Check::ChangesOne,
    )
}

pub fn departments(dialect: Dialect, org: &str) -> Step {
    step(
        dialect,
        &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE org_id = ? ORDER BY id"),
        vec![Bind::Text(org.to_owned())],
        Check::Nothing,
    )
}

/// The account, then one row per department it belongs to; fails as a conflict when
/// the email is taken, or a department is not there.
pub fn insert_staff(dialect: Dialect, org: &str, row: &StaffRow) -> Vec<Step> {
    let mut steps = vec![step(
        dialect,
        &format!("INSERT INTO staff (org_id, {STAFF_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(row.id.clone()),
            Bind::Text(row.email.clone()),
            Bind::Text(row.role.clone()),
            Bind::Text(row.password_hash.clone()),
            Bind::Int(row.failed_logins),
            Bind::OptInt(row.locked_until_us),
            Bind::Int(row.created_us),
            Bind::Int(row.updated_us),
        ],
        Check::ChangesOne,
    )];
    steps.extend(row.departments.iter().map(|department| {
        step(
            dialect,
            "INSERT INTO staff_departments (org_id, staff_id, department) VALUES (?, ?, ?)",
            vec![
                Bind::Text(org.to_owned()),
                Bind::Text(row.id.clone()),
                Bind::Text(department.clone()),
            ],
            Check::ChangesOne,
        )
    }));
    steps
}

/// The account with this (lower-cased) email.
pub fn staff_by_email(dialect: Dialect, org: &str, email: &str) -> Step {
    step(
        dialect,
        &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE org_id = ? AND email = ?"),
        vec![Bind::Text(org.to_owned()), Bind::Text(email.to_owned())],
        Check::Nothing,
    )
}

/// The departments of an account, in order.
pub fn memberships(dialect: Dialect, org: &str, staff_id: &str) -> Step {
    step(
        dialect,
        "SELECT department FROM staff_departments WHERE org_id = ? AND staff_id = ? ORDER BY department",
        vec![Bind::Text(org.to_owned()), Bind::Text(staff_id.to_owned())],
        Check::Nothing,
    )
}

/// Every account, by email.
pub fn all_staff(dialect: Dialect, org: &str) -> Step {
    step(
        dialect,
        &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE org_id = ? ORDER BY email"),
        vec![Bind::Text(org.to_owned())],
        Check::Nothing,
    )
}

/// Every membership: account and department.
pub fn all_memberships(dialect: Dialect, org: &str) -> Step {
    step(
        dialect,
        "SELECT staff_id, department FROM staff_departments WHERE org_id = ? ORDER BY department",
        vec![Bind::Text(org.to_owned())],
        Check::Nothing,
    )
}

/// The account with this id.
pub fn staff_by_id(dialect: Dialect, org: &str, id: &str) -> Step {
    step(
        dialect,
        &format!("SELECT {STAFF_COLUMNS} FROM staff WHERE org_id = ? AND id = ?"),
        vec![Bind::Text(org.to_owned()), Bind::Text(id.to_owned())],
        Check::Nothing,
    )
}

/// Records an account's failed logins in a row and its lock (both reset by a good
/// login).
pub fn set_failures(
    dialect: Dialect,
    org: &str,
    staff_id: &str,
    failures: i64,
    locked_until_us: Option<i64>,
    now_us: i64,
) -> Step {
    step(
        dialect,
        "UPDATE staff SET failed_logins = ?, locked_until_us = ?, updated_us = ? WHERE org_id = ? AND id = ?",
        vec![
            Bind::Int(failures),
            Bind::OptInt(locked_until_us),
            Bind::Int(now_us),
            Bind::Text(org.to_owned()),
            Bind::Text(staff_id.to_owned()),
        ],
        Check::ChangesOne,
    )
}

pub const SESSION_COLUMNS: &str = "token_hash, staff_id, csrf, created_us, expires_us";

pub fn insert_session(dialect: Dialect, org: &str, row: &SessionRow) -> Step {
    step(
        dialect,
        &format!(
            "INSERT INTO staff_sessions (org_id, {SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Bytes(row.token_hash.clone()),
            Bind::Text(row.staff_id.clone()),
            Bind::Text(row.csrf.clone()),
            Bind::Int(row.created_us),
            Bind::Int(row.expires_us),
        ],
        Check::ChangesOne,
    )
}

/// The session of this token hash, if it has not expired by `now_us`.
pub fn session(dialect: Dialect, org: &str, token_hash: &[u8], now_us: i64) -> Step {
    step(
        dialect,
        &format!(
            "SELECT {SESSION_COLUMNS} FROM staff_sessions WHERE org_id = ? AND token_hash = ? AND expires_us > ?"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Bytes(token_hash.to_vec()),
            Bind::Int(now_us),
        ],
        Check::Nothing,
    )
}

/// Ends a session, and with it every session that expired by `now_us`.
pub fn delete_session(dialect: Dialect, org: &str, token_hash: &[u8], now_us: i64) -> Step {
    step(
        dialect,
        "DELETE FROM staff_sessions WHERE org_id = ? AND (token_hash = ? OR expires_us <= ?)",
        vec![
            Bind::Text(org.to_owned()),
            Bind::Bytes(token_hash.to_vec()),
            Bind::Int(now_us),
        ],
        Check::Nothing,
    )
}

/// The columns every read of a saved reply selects, in [`SavedReplyRow`]'s order.
pub const SAVED_REPLY_COLUMNS: &str = "id, department, title, body, created_us";

/// Fails as a conflict when the department is not there.
pub fn insert_saved_reply(dialect: Dialect, org: &str, row: &SavedReplyRow) -> Step {
    step(
        dialect,
        &format!(
            "INSERT INTO saved_replies (org_id, {SAVED_REPLY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(row.id.clone()),
            Bind::OptText(row.department.clone()),
            Bind::Text(row.title.clone()),
            Bind::Text(row.body.clone()),
            Bind::Int(row.created_us),
        ],
        Check::ChangesOne,
    )
}

/// Every saved reply, by title.
pub fn saved_replies(dialect: Dialect, org: &str) -> Step {
    step(
        dialect,
        &format!(
            "SELECT {SAVED_REPLY_COLUMNS} FROM saved_replies WHERE org_id = ? ORDER BY title, id"
        ),
        vec![Bind::Text(org.to_owned())],
        Check::Nothing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_match_placeholders() {
        let department = DepartmentRow {
            id: "nursing".into(),
            name: "Nursing".into(),
            on_call: None,
            created_us: 1,
        };
        let staff = StaffRow {
            id: "s1".into(),
            email: "ana@clinic.example".into(),
            role: "agent".into(),
            password_hash: "$argon2id$…".into(),
            failed_logins: 0,
            locked_until_us: None,
            created_us: 1,
            updated_us: 1,
            departments: vec!["nursing".into(), "front-desk".into()],
        };
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let mut steps = vec![
                insert_department(dialect, "o", &department),
                departments(dialect, "o"),
                staff_by_email(dialect, "o", "a"),
                memberships(dialect, "o", "s1"),
                all_staff(dialect, "o"),
                all_memberships(dialect, "o"),
                saved_replies(dialect, "o"),
                insert_saved_reply(
                    dialect,
                    "o",
                    &SavedReplyRow {
                        id: "r".into(),
                        department: None,
                        title: "t".into(),
                        body: "b".into(),
                        created_us: 1,
                    },
                ),
            ];
            steps.extend(insert_staff(dialect, "o", &staff));
            let session_row = SessionRow {
                token_hash: vec![1],
                staff_id: "s1".into(),
                csrf: "c".into(),
                created_us: 1,
                expires_us: 2,
            };
            steps.extend([
                staff_by_id(dialect, "o", "s1"),
                set_failures(dialect, "o", "s1", 1, None, 1),
                insert_session(dialect, "o", &session_row),
                session(dialect, "o", &[1], 1),
                delete_session(dialect, "o", &[1], 1),
            ]);
            assert_eq!(steps.len(), 16);
            for step in steps {
                crate::sql::assert_binds_match(&step);
            }
        }
    }
}
