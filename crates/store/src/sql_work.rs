//! The SQL of the engine's tables (enrollments, outbox), for both backends.

use crate::sql::{Bind, Check, Dialect, Step};
use crate::work::{EnrollmentQuery, EnrollmentRow, OutboxQuery, OutboxRow};

/// The columns every enrollment read selects, in [`EnrollmentRow`]'s order.
pub const ENROLLMENT_COLUMNS: &str = "id, journey, appointment_id, patient_id, trigger_seq, event_seq, generation, step, active, \
     wake_us, waiting, last_reply, effects, ended, version, created_us, updated_us";

/// The columns every outbox read selects, in [`OutboxRow`]'s order.
pub const OUTBOX_COLUMNS: &str = "id, idempotency_key, patient_id, channel, status, due_us, attempts, lease_us, provider_id, \
     error_code, reason, unknown_resends, version, created_us, updated_us";

/// The outbox states a message waits in before a transport has it.
pub const QUEUED: &str = "queued";
pub const SENDING: &str = "sending";
pub const UNKNOWN: &str = "unknown";

fn step(dialect: Dialect, sql: &str, binds: Vec<Bind>, check: Check) -> Step {
    Step {
        sql: dialect.render(sql),
        binds,
        check,
    }
}

pub fn enrollments(dialect: Dialect, org: &str, query: &EnrollmentQuery) -> Step {
    let org = Bind::Text(org.to_owned());
    let (filter, binds) = match query {
        EnrollmentQuery::Due { now_us, limit } => (
            "active AND wake_us <= ? ORDER BY wake_us, id LIMIT ?",
            vec![org, Bind::Int(*now_us), Bind::Int(*limit)],
        ),
        EnrollmentQuery::OfAppointment(id) => (
            "appointment_id = ? ORDER BY created_us, id",
            vec![org, Bind::Text(id.clone())],
        ),
        EnrollmentQuery::ActiveOfPatient(id) => (
            "active AND patient_id = ? ORDER BY created_us, id",
            vec![org, Bind::Text(id.clone())],
        ),
        EnrollmentQuery::ById(id) => ("id = ?", vec![org, Bind::Text(id.clone())]),
    };
    step(
        dialect,
        &format!("SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE org_id = ? AND {filter}"),
        binds,
        Check::Nothing,
    )
}

fn enrollment_values(row: &EnrollmentRow) -> Vec<Bind> {
    vec![
        Bind::Text(row.journey.clone()),
        Bind::Text(row.appointment_id.clone()),
        Bind::Text(row.patient_id.clone()),
        Bind::Int(row.trigger_seq),
        Bind::Int(row.event_seq),
        Bind::Int(row.generation),
        Bind::Int(row.step),
        Bind::Bool(row.active),
        Bind::OptInt(row.wake_us),
        Bind::OptText(row.waiting.clone()),
        Bind::OptText(row.last_reply.clone()),
        Bind::Int(row.effects),
        Bind::OptText(row.ended.clone()),
        Bind::Int(row.version),
        Bind::Int(row.created_us),
        Bind::Int(row.updated_us),
    ]
}

/// Enrolls unless this event already enrolled the patient in this journey.
pub fn insert_enrollment(dialect: Dialect, org: &str, row: &EnrollmentRow) -> Step {
    let mut binds = vec![Bind::Text(org.to_owned()), Bind::Text(row.id.clone())];
    binds.extend(enrollment_values(row));
    step(
        dialect,
        &format!(
            "INSERT INTO enrollments (org_id, {ENROLLMENT_COLUMNS}) VALUES ({}) \
             ON CONFLICT (org_id, id) DO NOTHING",
            vec!["?"; binds.len()].join(", ")
        ),
        binds,
        Check::Nothing,
    )
}

/// Writes a new state, if nobody else has since `prev_version`.
pub fn update_enrollment(
    dialect: Dialect,
    org: &str,
    row: &EnrollmentRow,
    prev_version: i64,
) -> Step {
    let assignments = ENROLLMENT_COLUMNS
        .split(", ")
        .skip(1)
        .map(|c| format!("{c} = ?"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut binds = enrollment_values(row);
    binds.extend([
        Bind::Text(org.to_owned()),
        Bind::Text(row.id.clone()),
        Bind::Int(prev_version),
    ]);
    step(
        dialect,
        &format!(
            "UPDATE enrollments SET {assignments} WHERE org_id = ? AND id = ? AND version = ?"
        ),
        binds,
        Check::ChangesOne,
    )
}

fn outbox_values(row: &OutboxRow) -> Vec<Bind> {
    vec![
        Bind::Text(row.idempotency_key.clone()),
        Bind::Text(row.patient_id.clone()),
        Bind::Text(row.channel.clone()),
        Bind::Text(row.status.clone()),
        Bind::Int(row.due_us),
        Bind::Int(row.attempts),
        Bind::OptInt(row.lease_us),
        Bind::OptText(row.provider_id.clone()),
        Bind::OptText(row.error_code.clone()),
        Bind::OptText(row.reason.clone()),
        Bind::Int(row.unknown_resends),
        Bind::Int(row.version),
        Bind::Int(row.created_us),
        Bind::Int(row.updated_us),
    ]
}

/// Fails with a conflict when a message with this idempotency key exists.
pub fn insert_outbox(dialect: Dialect, org: &str, row: &OutboxRow) -> Step {
    let mut binds = vec![Bind::Text(org.to_owned()), Bind::Text(row.id.clone())];
    binds.extend(outbox_values(row));
    step(
        dialect,
        &format!(
            "INSERT INTO outbox (org_id, {OUTBOX_COLUMNS}) VALUES ({})",
            vec!["?"; binds.len()].join(", ")
        ),
        binds,
        Check::ChangesOne,
    )
}

pub fn update_outbox(dialect: Dialect, org: &str, row: &OutboxRow, prev_version: i64) -> Step {
    let assignments = OUTBOX_COLUMNS
        .split(", ")
        .skip(1)
        .map(|c| format!("{c} = ?"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut binds = outbox_values(row);
    binds.extend([
        Bind::Text(org.to_owned()),
        Bind::Text(row.id.clone()),
        Bind::Int(prev_version),
    ]);
    step(
        dialect,
        &format!("UPDATE outbox SET {assignments} WHERE org_id = ? AND id = ? AND version = ?"),
        binds,
        Check::ChangesOne,
    )
}

pub fn outbox(dialect: Dialect, org: &str, query: &OutboxQuery) -> Step {
    let org = Bind::Text(org.to_owned());
    let (filter, binds) = match query {
        OutboxQuery::ById(id) => ("id = ?".to_owned(), vec![org, Bind::Text(id.clone())]),
        OutboxQuery::ByProviderId(id) => (
            "provider_id = ?".to_owned(),
            vec![org, Bind::Text(id.clone())],
        ),
        OutboxQuery::InStatus { statuses, limit } => {
            let mut binds = vec![org];
            binds.extend(statuses.iter().cloned().map(Bind::Text));
            binds.push(Bind::Int(*limit));
            (
                format!(
                    "status IN ({}) ORDER BY created_us, id LIMIT ?",
                    vec!["?"; statuses.len().max(1)].join(", ")
                ),
                binds,
            )
        }
        OutboxQuery::OfPatient(id) => (
            "patient_id = ? ORDER BY created_us, id".to_owned(),
            vec![org, Bind::Text(id.clone())],
        ),
    };
    let mut binds = binds;
    if matches!(query, OutboxQuery::InStatus { statuses, .. } if statuses.is_empty()) {
        // `IN ()` is not SQL: match nothing.
        binds.insert(1, Bind::Text(String::new()));
    }
    step(
        dialect,
        &format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE org_id = ? AND {filter}"),
        binds,
        Check::Nothing,
    )
}

/// Claims up to `limit` due messages for one sender until `lease_us`. On PostgreSQL rows
/// another sender is claiming are skipped, not waited for, so senders on many nodes
/// share the queue; SQLite runs one write at a time anyway.
pub fn claim_outbox(dialect: Dialect, org: &str, now_us: i64, lease_us: i64, limit: i64) -> Step {
    let lock = match dialect {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    };
    step(
        dialect,
        &format!(
            "UPDATE outbox SET status = '{SENDING}', lease_us = ?, attempts = attempts + 1, version = version + 1, updated_us = ? \
             WHERE org_id = ? AND id IN (SELECT id FROM outbox WHERE org_id = ? AND status = '{QUEUED}' AND due_us <= ? \
             ORDER BY due_us, id LIMIT ?{lock}) RETURNING {OUTBOX_COLUMNS}"
        ),
        vec![
            Bind::Int(lease_us),
            Bind::Int(now_us),
            Bind::Text(org.to_owned()),
            Bind::Text(org.to_owned()),
            Bind::Int(now_us),
            Bind::Int(limit),
        ],
        Check::Nothing,
    )
}

/// The two moves of messages whose sender went silent: a lapsed claim becomes an unknown
/// outcome that waits `grace_us` for the provider's callback; an unknown outcome whose
/// wait is over goes back to the queue, counted.
pub fn sweep_outbox(dialect: Dialect, org: &str, now_us: i64, grace_us: i64) -> [Step; 2] {
    let org = || Bind::Text(org.to_owned());
    [
        step(
            dialect,
            &format!(
                "UPDATE outbox SET status = '{UNKNOWN}', due_us = lease_us + ?, lease_us = NULL, version = version + 1, \
                 updated_us = ?, reason = 'sender-lost' WHERE org_id = ? AND status = '{SENDING}' AND lease_us <= ?"
            ),
            vec![
                Bind::Int(grace_us),
                Bind::Int(now_us),
                org(),
                Bind::Int(now_us),
            ],
            Check::Nothing,
        ),
        step(
            dialect,
            &format!(
                "UPDATE outbox SET status = '{QUEUED}', unknown_resends = unknown_resends + 1, version = version + 1, \
                 updated_us = ? WHERE org_id = ? AND status = '{UNKNOWN}' AND due_us <= ?"
            ),
            vec![Bind::Int(now_us), org(), Bind::Int(now_us)],
            Check::Nothing,
        ),
    ]
}

pub fn outbox_counts(dialect: Dialect, org: &str) -> Step {
    step(
        dialect,
        "SELECT status, COUNT(*) FROM outbox WHERE org_id = ? GROUP BY status ORDER BY status",
        vec![Bind::Text(org.to_owned())],
        Check::Nothing,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders_match(step: &Step) {
        let sql = Dialect::Sqlite.render(&step.sql);
        assert_eq!(sql.matches('?').count(), step.binds.len(), "{sql}");
    }

    #[test]
    fn binds_match_placeholders() {
        let enrollment = EnrollmentRow {
            id: "e".into(),
            journey: "j".into(),
            appointment_id: "a".into(),
            patient_id: "p".into(),
            trigger_seq: 1,
            event_seq: 1,
            generation: 0,
            step: 0,
            active: true,
            wake_us: None,
            waiting: None,
            last_reply: None,
            effects: 0,
            ended: None,
            version: 1,
            created_us: 0,
            updated_us: 0,
        };
        let outbox_row = OutboxRow {
            id: "o".into(),
            idempotency_key: "k".into(),
            patient_id: "p".into(),
            channel: "sms".into(),
            status: QUEUED.into(),
            due_us: 0,
            attempts: 0,
            lease_us: None,
            provider_id: None,
            error_code: None,
            reason: None,
            unknown_resends: 0,
            version: 1,
            created_us: 0,
            updated_us: 0,
        };
        let d = Dialect::Sqlite;
        placeholders_match(&insert_enrollment(d, "o", &enrollment));
        placeholders_match(&update_enrollment(d, "o", &enrollment, 1));
        placeholders_match(&insert_outbox(d, "o", &outbox_row));
        placeholders_match(&update_outbox(d, "o", &outbox_row, 1));
        placeholders_match(&claim_outbox(d, "o", 1, 2, 3));
        for s in sweep_outbox(d, "o", 1, 2) {
            placeholders_match(&s);
        }
        for query in [
            EnrollmentQuery::Due {
                now_us: 1,
                limit: 2,
            },
            EnrollmentQuery::OfAppointment("a".into()),
            EnrollmentQuery::ActiveOfPatient("p".into()),
            EnrollmentQuery::ById("e".into()),
        ] {
            placeholders_match(&enrollments(d, "o", &query));
        }
        for query in [
            OutboxQuery::ById("x".into()),
            OutboxQuery::ByProviderId("x".into()),
            OutboxQuery::InStatus {
                statuses: vec!["dead".into(), "failed".into()],
                limit: 5,
            },
            OutboxQuery::InStatus {
                statuses: vec![],
                limit: 5,
            },
            OutboxQuery::OfPatient("p".into()),
        ] {
            placeholders_match(&outbox(d, "o", &query));
        }
    }
}
