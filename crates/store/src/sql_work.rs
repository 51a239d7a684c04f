//! The SQL of the engine's tables (enrollments, outbox), for both backends.
//!
//! Each table's columns are listed once, in its row type's order: the inserts, the
//! versioned updates and the reads are all written from that list.

use crate::sql::{Bind, Check, Column, Dialect, Step};
use crate::work::{EnrollmentQuery, EnrollmentRow, OutboxQuery, OutboxRow, RateTake, SentQuery};

/// The columns every enrollment read selects, in [`EnrollmentRow`]'s order.
pub const ENROLLMENT_COLUMNS: &str = "id, journey, appointment_id, patient_id, trigger_seq, event_seq, step, \
     wake_us, waiting, last_reply, ended, version, created_us, updated_us, lease_us";

/// The columns every outbox read selects, in [`OutboxRow`]'s order.
pub const OUTBOX_COLUMNS: &str = "id, idempotency_key, patient_id, channel, status, due_us, attempts, lease_us, provider_id, \
     error_code, reason, unknown_resends, version, created_us, updated_us, purpose, sent_us, about_id";

/// The outbox states a message waits in before a transport has it. The queries that
/// look for them name them as literals: on PostgreSQL `outbox_due` (migration 0010)
/// holds only these and the states of messages that went wrong, a partial index the
/// planner proves usable from a literal, not from a bound parameter's generic plan.
pub const QUEUED: &str = "queued";
pub const SENDING: &str = "sending";
pub const UNKNOWN: &str = "unknown";

pub(crate) fn step(dialect: Dialect, sql: &str, binds: Vec<Bind>, check: Check) -> Step {
    Step {
        sql: dialect.render(sql),
        binds,
        check,
    }
}

/// `?, ?, ?` for `n` values.
pub(crate) fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// `column IN (?, ...)` over `values`, or a condition that holds for no row when there
/// are none (`IN ()` is not SQL).
pub(crate) fn in_list(column: &str, values: &[String]) -> (String, Vec<Bind>) {
    if values.is_empty() {
        return ("1 = 0".to_owned(), Vec::new());
    }
    (
        format!("{column} IN ({})", placeholders(values.len())),
        values.iter().cloned().map(Bind::Text).collect(),
    )
}

/// `column` equal to one of `values`: `IN (?, …)` on SQLite (a condition no row meets
/// when there are none), and on PostgreSQL `= ANY` of one array, the same statement
/// (prepared and planned once) for any number of them.
pub(crate) fn any_of(dialect: Dialect, column: &str, values: Column) -> (String, Vec<Bind>) {
    match dialect {
        Dialect::Sqlite if values.is_empty() => ("1 = 0".to_owned(), Vec::new()),
        Dialect::Sqlite => (
            format!("{column} IN ({})", placeholders(values.len())),
            values.into_binds(),
        ),
        Dialect::Postgres => (
            format!("{column} = ANY (?::{})", values.sql_type()),
            vec![Bind::Column(values)],
        ),
    }
}

/// `INSERT INTO table (org_id, columns...)` of `id` and `values` (every column after
/// the id, in order).
fn insert(
    dialect: Dialect,
    table: &str,
    columns: &str,
    org: &str,
    id: &str,
    values: Vec<Bind>,
) -> Step {
    let mut binds = vec![Bind::Text(org.to_owned()), Bind::Text(id.to_owned())];
    binds.extend(values);
    step(
        dialect,
        &format!(
            "INSERT INTO {table} (org_id, {columns}) VALUES ({})",
            placeholders(binds.len())
        ),
        binds,
        Check::ChangesOne,
    )
}

/// Sets every column after the id to `values`, if the row is still at
/// `prev_version`; the batch fails with a conflict otherwise.
fn versioned_update(
    dialect: Dialect,
    table: &str,
    columns: &str,
    org: &str,
    id: &str,
    values: Vec<Bind>,
    prev_version: i64,
) -> Step {
    let assignments = columns
        .split(", ")
        .skip(1)
        .map(|c| format!("{c} = ?"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut binds = values;
    binds.extend([
        Bind::Text(org.to_owned()),
        Bind::Text(id.to_owned()),
        Bind::Int(prev_version),
    ]);
    step(
        dialect,
        &format!("UPDATE {table} SET {assignments} WHERE org_id = ? AND id = ? AND version = ?"),
        binds,
        Check::ChangesOne,
    )
}

pub fn enrollments(dialect: Dialect, org: &str, query: &EnrollmentQuery) -> Step {
    let org = Bind::Text(org.to_owned());
    let (filter, binds) = match query {
        EnrollmentQuery::OfAppointment(id) => (
            "appointment_id = ? ORDER BY created_us, id",
            vec![org, Bind::Text(id.clone())],
        ),
        EnrollmentQuery::ActiveOfPatient(id) => (
            "ended IS NULL AND patient_id = ? ORDER BY created_us, id",
            vec![org, Bind::Text(id.clone())],
        ),
        EnrollmentQuery::ById(id) => ("id = ?", vec![org, Bind::Text(id.clone())]),
        EnrollmentQuery::OfAppointments(ids) => {
            let (condition, id_binds) =
                any_of(dialect, "appointment_id", Column::Text(ids.clone()));
            let mut binds = vec![org];
            binds.extend(id_binds);
            return step(
                dialect,
                &format!(
                    "SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE org_id = ? AND {condition} \
                     ORDER BY created_us, id"
                ),
                binds,
                Check::Nothing,
            );
        }
    };
    step(
        dialect,
        &format!("SELECT {ENROLLMENT_COLUMNS} FROM enrollments WHERE org_id = ? AND {filter}"),
        binds,
        Check::Nothing,
    )
}

/// Every column after the id, in [`ENROLLMENT_COLUMNS`]' order.
pub(crate) fn enrollment_values(row: &EnrollmentRow) -> Vec<Bind> {
    vec![
        Bind::Text(row.journey.clone()),
        Bind::Text(row.appointment_id.clone()),
        Bind::Text(row.patient_id.clone()),
        Bind::Int(row.trigger_seq),
        Bind::Int(row.event_seq),
        Bind::Int(row.step),
        Bind::OptInt(row.wake_us),
        Bind::OptText(row.waiting.clone()),
        Bind::OptText(row.last_reply.clone()),
        Bind::OptText(row.ended.clone()),
        Bind::Int(row.version),
        Bind::Int(row.created_us),
        Bind::Int(row.updated_us),
        Bind::OptInt(row.lease_us),
    ]
}

/// What makes a claim pass over rows another claim is taking: PostgreSQL's row locks.
/// SQLite takes one writer at a time, so no two claims ever meet.
fn skip_locked(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
        Dialect::Sqlite => "",
    }
}

/// The rows a claim took, by primary key. As `id IN (SELECT id FROM due)` PostgreSQL
/// often joined the claimed ids against a scan of the whole table, costing a claim of a
/// hundred rows milliseconds that grow with the table; an array of ids is always looked
/// up in the key's index.
fn claimed(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Postgres => "id = ANY (ARRAY(SELECT id FROM due))",
        Dialect::Sqlite => "id IN (SELECT id FROM due)",
    }
}

/// Claims are written as a materialized `WITH`: as an `IN (SELECT … LIMIT … FOR UPDATE
/// SKIP LOCKED)` PostgreSQL may scan the subquery again for each row it updates, skip the
/// rows it just locked itself, and so take more rows than the limit.
///
/// Holds up to `limit` active enrollments whose wake time has come, earliest first,
/// until `lease_us`: a second timer round (another process on PostgreSQL) skips them
/// instead of planning the same moves and losing the race to write them. The hold
/// changes no version, so a reply or event that moves one meanwhile still wins.
pub fn claim_due_enrollments(
    dialect: Dialect,
    org: &str,
    now_us: i64,
    lease_us: i64,
    limit: i64,
) -> Step {
    let (lock, claimed) = (skip_locked(dialect), claimed(dialect));
    step(
        dialect,
        &format!(
            "WITH due AS MATERIALIZED (SELECT id FROM enrollments \
             WHERE org_id = ? AND ended IS NULL AND wake_us <= ? AND (lease_us IS NULL OR lease_us <= ?) \
             ORDER BY wake_us, id LIMIT ?{lock}) \
             UPDATE enrollments SET lease_us = ? WHERE org_id = ? AND {claimed} \
             RETURNING {ENROLLMENT_COLUMNS}"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Int(now_us),
            Bind::Int(now_us),
            Bind::Int(limit),
            Bind::Int(lease_us),
            Bind::Text(org.to_owned()),
        ],
        Check::Nothing,
    )
}

/// Fails with a conflict when this event already enrolled this patient in this
/// journey.
pub fn insert_enrollment(dialect: Dialect, org: &str, row: &EnrollmentRow) -> Step {
    let values = enrollment_values(row);
    insert(
        dialect,
        "enrollments",
        ENROLLMENT_COLUMNS,
        org,
        &row.id,
        values,
    )
}

pub fn update_enrollment(
    dialect: Dialect,
    org: &str,
    row: &EnrollmentRow,
    prev_version: i64,
) -> Step {
    let values = enrollment_values(row);
    versioned_update(
        dialect,
        "enrollments",
        ENROLLMENT_COLUMNS,
        org,
        &row.id,
        values,
        prev_version,
    )
}

/// Every column after the id, in [`OUTBOX_COLUMNS`]' order.
pub(crate) fn outbox_values(row: &OutboxRow) -> Vec<Bind> {
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
        Bind::OptText(row.purpose.clone()),
        Bind::OptInt(row.sent_us),
        Bind::OptText(row.about_id.clone()),
    ]
}

/// Fails with a conflict when a message with this idempotency key exists.
pub fn insert_outbox(dialect: Dialect, org: &str, row: &OutboxRow) -> Step {
    insert(
        dialect,
        "outbox",
        OUTBOX_COLUMNS,
        org,
        &row.id,
        outbox_values(row),
    )
}

pub fn update_outbox(dialect: Dialect, org: &str, row: &OutboxRow, prev_version: i64) -> Step {
    let values = outbox_values(row);
    versioned_update(
        dialect,
        "outbox",
        OUTBOX_COLUMNS,
        org,
        &row.id,
        values,
        prev_version,
    )
}

pub fn outbox(dialect: Dialect, org: &str, query: &OutboxQuery) -> Step {
    let mut binds = vec![Bind::Text(org.to_owned())];
    let filter = match query {
        OutboxQuery::ById(id) => {
            binds.push(Bind::Text(id.clone()));
            "id = ?".to_owned()
        }
        OutboxQuery::ByProviderId(id) => {
            binds.push(Bind::Text(id.clone()));
            "provider_id = ?".to_owned()
        }
        OutboxQuery::ByIds(ids) => {
            let (condition, values) = any_of(dialect, "id", Column::Text(ids.clone()));
            binds.extend(values);
            condition
        }
        OutboxQuery::InStatus {
            statuses,
            resent_only,
            limit,
        } => {
            let (condition, values) = in_list("status", statuses);
            binds.extend(values);
            binds.push(Bind::Int(*limit));
            let resent = if *resent_only {
                " AND unknown_resends > 0"
            } else {
                ""
            };
            format!("{condition}{resent} ORDER BY created_us, id LIMIT ?")
        }
        OutboxQuery::LatestOfPatients {
            patients,
            channel,
            limit,
        } => {
            let (condition, values) = any_of(dialect, "patient_id", Column::Text(patients.clone()));
            binds.extend(values);
            binds.push(Bind::Text(channel.clone()));
            binds.push(Bind::Int(*limit));
            format!("{condition} AND channel = ? ORDER BY created_us DESC, id DESC LIMIT ?")
        }
    };
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
    let (lock, claimed) = (skip_locked(dialect), claimed(dialect));
    step(
        dialect,
        &format!(
            "WITH due AS MATERIALIZED (SELECT id FROM outbox WHERE org_id = ? AND status = '{QUEUED}' AND due_us <= ? \
             ORDER BY due_us, id LIMIT ?{lock}) \
             UPDATE outbox SET status = '{SENDING}', lease_us = ?, attempts = attempts + 1, version = version + 1, updated_us = ?, sent_us = ? \
             WHERE org_id = ? AND {claimed} RETURNING {OUTBOX_COLUMNS}"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Int(now_us),
            Bind::Int(limit),
            Bind::Int(lease_us),
            Bind::Int(now_us),
            Bind::Int(now_us),
            Bind::Text(org.to_owned()),
        ],
        Check::Nothing,
    )
}

/// The outbox states of a message that went out or may have: what a frequency cap
/// counts.
const WENT_OUT: &str = "'sending', 'unknown', 'accepted', 'sent', 'delivered', 'read'";

/// Counts what a frequency cap holds against: see [`SentQuery`].
pub fn sent_counts(dialect: Dialect, org: &str, query: &SentQuery) -> Step {
    step(
        dialect,
        &format!(
            "SELECT COALESCE(SUM(CASE WHEN sent_us >= ? THEN 1 ELSE 0 END), 0), COUNT(*) FROM outbox \
             WHERE org_id = ? AND patient_id = ? AND channel = ? AND purpose IS NOT NULL AND sent_us >= ? \
             AND status IN ({WENT_OUT}) \
             AND (sent_us < ? OR (sent_us = ? AND (due_us < ? OR (due_us = ? AND id < ?))))"
        ),
        vec![
            Bind::Int(query.day_start_us),
            Bind::Text(org.to_owned()),
            Bind::Text(query.patient_id.clone()),
            Bind::Text(query.channel.clone()),
            Bind::Int(query.week_start_us),
            Bind::Int(query.before_us),
            Bind::Int(query.before_us),
            Bind::Int(query.before_due_us),
            Bind::Int(query.before_due_us),
            Bind::Text(query.before_id.clone()),
        ],
        Check::Nothing,
    )
}

/// Takes what it can of `take.wanted` messages from the sender's bucket, in one
/// statement after the bucket exists: the credit grows by the time since the last take,
/// up to the burst, and each granted message spends one interval. Every assignment reads
/// the row as it was, so `granted` and `credit_us` agree; the statement returns
/// `granted`.
pub fn take_send_rate(dialect: Dialect, org: &str, take: &RateTake, now_us: i64) -> [Step; 2] {
    let (min, max) = match dialect {
        Dialect::Sqlite => ("MIN", "MAX"),
        Dialect::Postgres => ("LEAST", "GREATEST"),
    };
    let available = format!("{min}(?, credit_us + {max}(0, ? - updated_us))");
    let granted = format!("{min}(?, {available} / ?)");
    let available_binds = || [Bind::Int(take.burst_us), Bind::Int(now_us)];
    let granted_binds = || {
        let mut binds = vec![Bind::Int(take.wanted)];
        binds.extend(available_binds());
        binds.push(Bind::Int(take.interval_us));
        binds
    };
    let mut binds = granted_binds();
    binds.extend(available_binds());
    binds.extend(granted_binds());
    binds.extend([
        Bind::Int(take.interval_us),
        Bind::Int(now_us),
        Bind::Text(org.to_owned()),
        Bind::Text(take.sender.clone()),
    ]);
    [
        step(
            dialect,
            "INSERT INTO send_rates (org_id, sender, credit_us, updated_us, granted) VALUES (?, ?, ?, ?, 0) \
             ON CONFLICT (org_id, sender) DO NOTHING",
            vec![
                Bind::Text(org.to_owned()),
                Bind::Text(take.sender.clone()),
                Bind::Int(take.burst_us),
                Bind::Int(now_us),
            ],
            Check::Nothing,
        ),
        step(
            dialect,
            &format!(
                "UPDATE send_rates SET granted = {granted}, credit_us = {available} - {granted} * ?, \
                 updated_us = {max}(updated_us, ?) WHERE org_id = ? AND sender = ? RETURNING granted"
            ),
            binds,
            Check::Nothing,
        ),
    ]
}

/// The two moves of messages whose sender went silent, run in this order in one
/// transaction: an unknown outcome whose wait for the provider's callback is over goes
/// back to the queue, counted; a lapsed claim becomes an unknown outcome that waits
/// until `wait_until_us` for the callback (from now, however long ago the sender died).
pub fn sweep_outbox(dialect: Dialect, org: &str, now_us: i64, wait_until_us: i64) -> [Step; 2] {
    let org = || Bind::Text(org.to_owned());
    [
        step(
            dialect,
            &format!(
                "UPDATE outbox SET status = '{QUEUED}', unknown_resends = unknown_resends + 1, version = version + 1, \
                 updated_us = ? WHERE org_id = ? AND status = '{UNKNOWN}' AND due_us <= ?"
            ),
            vec![Bind::Int(now_us), org(), Bind::Int(now_us)],
            Check::Nothing,
        ),
        step(
            dialect,
            &format!(
                "UPDATE outbox SET status = '{UNKNOWN}', due_us = ?, lease_us = NULL, version = version + 1, \
                 updated_us = ?, reason = 'sender-lost' WHERE org_id = ? AND status = '{SENDING}' AND lease_us <= ?"
            ),
            vec![
                Bind::Int(wait_until_us),
                Bind::Int(now_us),
                org(),
                Bind::Int(now_us),
            ],
            Check::Nothing,
        ),
    ]
}

/// Erasing a patient: their engine rows, whatever appointment or message they hang on,
/// and their conversation with everything that happened to it.
pub fn erase_patient_work(dialect: Dialect, org: &str, patient_id: &str) -> [Step; 5] {
    [
        "enrollments",
        "outbox",
        "conversations",
        "conversation_events",
        "message_words",
    ]
    .map(|table| {
        step(
            dialect,
            &format!("DELETE FROM {table} WHERE org_id = ? AND patient_id = ?"),
            vec![
                Bind::Text(org.to_owned()),
                Bind::Text(patient_id.to_owned()),
            ],
            Check::Nothing,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders_match(step: &Step) {
        assert_eq!(
            step.sql.matches('?').count(),
            step.binds.len(),
            "{}",
            step.sql
        );
        // Rendered for PostgreSQL, the numbers run from $1 to the last bind.
        let pg = Dialect::Postgres.render(&step.sql.replace('$', "?"));
        let n = step.binds.len();
        assert!(n == 0 || pg.contains(&format!("${n}")), "{pg}");
        assert!(!pg.contains(&format!("${}", n + 1)), "{pg}");
    }

    #[test]
    fn one_of_many_values_is_a_list_on_sqlite_and_one_array_on_postgres() {
        let ids = || Column::Text(vec!["a".into(), "b".into()]);
        assert_eq!(
            any_of(Dialect::Sqlite, "id", ids()),
            (
                "id IN (?, ?)".to_owned(),
                vec![Bind::Text("a".into()), Bind::Text("b".into())]
            )
        );
        assert_eq!(
            any_of(Dialect::Postgres, "id", ids()),
            ("id = ANY (?::text[])".to_owned(), vec![Bind::Column(ids())])
        );
        // `IN ()` is not SQL; an empty array is.
        assert_eq!(
            any_of(Dialect::Sqlite, "seq", Column::Int(Vec::new())),
            ("1 = 0".to_owned(), Vec::new())
        );
        assert_eq!(
            any_of(Dialect::Postgres, "seq", Column::Int(Vec::new())).0,
            "seq = ANY (?::bigint[])"
        );
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for seqs in [&[][..], &[1, 2, 3][..]] {
                let step = crate::sql::mark_events_handled(dialect, "org", seqs, 7);
                let placeholders = step.sql.matches(['?', '$']).count();
                assert_eq!(placeholders, step.binds.len(), "{}", step.sql);
            }
        }
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
            step: 0,
            wake_us: None,
            waiting: None,
            last_reply: None,
            ended: None,
            version: 1,
            created_us: 0,
            updated_us: 0,
            lease_us: None,
        };
        let outbox_row =
            OutboxRow::queued("o", "k".into(), "p", "sms", Some("transactional"), 0, 0);
        let d = Dialect::Sqlite;
        placeholders_match(&sent_counts(
            d,
            "o",
            &SentQuery {
                patient_id: "p".into(),
                channel: "sms".into(),
                day_start_us: 1,
                week_start_us: 0,
                before_us: 2,
                before_due_us: 1,
                before_id: "x".into(),
            },
        ));
        let take = RateTake {
            sender: "sms".into(),
            wanted: 3,
            interval_us: 10,
            burst_us: 100,
        };
        for step in take_send_rate(d, "o", &take, 5) {
            placeholders_match(&step);
        }
        placeholders_match(&insert_enrollment(d, "o", &enrollment));
        placeholders_match(&update_enrollment(d, "o", &enrollment, 1));
        placeholders_match(&insert_outbox(d, "o", &outbox_row));
        placeholders_match(&update_outbox(d, "o", &outbox_row, 1));
        placeholders_match(&claim_outbox(d, "o", 1, 2, 3));
        for s in sweep_outbox(d, "o", 1, 2)
            .into_iter()
            .chain(erase_patient_work(d, "o", "p"))
        {
            placeholders_match(&s);
        }
        placeholders_match(&claim_due_enrollments(d, "o", 1, 2, 3));
        for query in [
            EnrollmentQuery::OfAppointment("a".into()),
            EnrollmentQuery::ActiveOfPatient("p".into()),
            EnrollmentQuery::ById("e".into()),
            EnrollmentQuery::OfAppointments(vec!["a".into(), "b".into()]),
        ] {
            placeholders_match(&enrollments(d, "o", &query));
        }
        for query in [
            OutboxQuery::ById("x".into()),
            OutboxQuery::ByProviderId("x".into()),
            OutboxQuery::ByIds(vec!["x".into(), "y".into()]),
            OutboxQuery::ByIds(vec![]),
            OutboxQuery::InStatus {
                statuses: vec!["dead".into(), "failed".into()],
                resent_only: false,
                limit: 5,
            },
            OutboxQuery::InStatus {
                statuses: vec!["delivered".into()],
                resent_only: true,
                limit: 5,
            },
            OutboxQuery::InStatus {
                statuses: vec![],
                resent_only: false,
                limit: 5,
            },
        ] {
            placeholders_match(&outbox(d, "o", &query));
        }
        let empty = outbox(
            d,
            "o",
            &OutboxQuery::InStatus {
                statuses: vec![],
                resent_only: false,
                limit: 5,
            },
        );
        assert!(empty.sql.contains("1 = 0"), "{}", empty.sql);
    }
}
