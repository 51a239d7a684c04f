//! The SQL of staff accounts and departments, for both backends.

use crate::sql::{Bind, Check, Dialect, Step};
use crate::sql_work::step;
use crate::staff::{DepartmentRow, StaffRow};

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
            ];
            steps.extend(insert_staff(dialect, "o", &staff));
            assert_eq!(steps.len(), 7);
            for step in steps {
                let placeholders = match dialect {
                    Dialect::Sqlite => step.sql.matches('?').count(),
                    Dialect::Postgres => step.sql.matches('$').count(),
                };
                assert_eq!(placeholders, step.binds.len(), "{}", step.sql);
            }
        }
    }
}
