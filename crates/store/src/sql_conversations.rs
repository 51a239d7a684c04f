//! The SQL of conversations and their events, for both backends.

use crate::conversations::{ConversationEventRow, ConversationQuery, ConversationRow};
use crate::micros;
use crate::sql::{Bind, Check, Column, Dialect, Step};
use crate::sql_work::{any_of, placeholders, step};

/// The columns every read of a conversation selects, in [`ConversationRow`]'s order.
pub const CONVERSATION_COLUMNS: &str = "patient_id, state, snoozed_until_us, assignee, department, priority, tags, \
     waiting_since_us, due_us, escalations, last_channel, last_message_us, queue_us, key_id, preview, version, created_us, updated_us, opened_us";

/// The columns every read of an event selects, in [`ConversationEventRow`]'s order.
pub const EVENT_COLUMNS: &str = "id, patient_id, at_us, actor, kind, detail, key_id, note";

/// The columns an update sets: all but the key and the creation time.
const UPDATED: [&str; 17] = [
    "state",
    "snoozed_until_us",
    "assignee",
    "department",
    "priority",
    "tags",
    "waiting_since_us",
    "due_us",
    "escalations",
    "last_channel",
    "last_message_us",
    "queue_us",
    "key_id",
    "preview",
    "version",
    "updated_us",
    "opened_us",
];

fn updated_values(row: &ConversationRow) -> Vec<Bind> {
    vec![
        Bind::Text(row.state.clone()),
        Bind::OptInt(row.snoozed_until_us),
        Bind::OptText(row.assignee.clone()),
        Bind::OptText(row.department.clone()),
        Bind::Int(row.priority),
        Bind::Text(row.tags.clone()),
        Bind::OptInt(row.waiting_since_us),
        Bind::OptInt(row.due_us),
        Bind::Int(row.escalations),
        Bind::OptText(row.last_channel.clone()),
        Bind::Int(row.last_message_us),
        Bind::Int(row.queue_us),
        Bind::Text(row.key_id.clone()),
        Bind::Bytes(row.preview.clone()),
        Bind::Int(row.version),
        Bind::Int(row.updated_us),
        Bind::OptInt(row.opened_us),
    ]
}

/// Inserts a new conversation, or updates one still at `prev_version`; either changes
/// one row or fails the batch.
pub fn save(dialect: Dialect, org: &str, row: &ConversationRow, prev_version: Option<i64>) -> Step {
    match prev_version {
        None => {
            let mut binds = vec![
                Bind::Text(org.to_owned()),
                Bind::Text(row.patient_id.clone()),
                Bind::Int(row.created_us),
            ];
            binds.extend(updated_values(row));
            step(
                dialect,
                &format!(
                    "INSERT INTO conversations (org_id, patient_id, created_us, {}) VALUES ({})",
                    UPDATED.join(", "),
                    placeholders(binds.len())
                ),
                binds,
                Check::ChangesOne,
            )
        }
        Some(prev) => {
            let mut binds = updated_values(row);
            binds.extend([
                Bind::Text(org.to_owned()),
                Bind::Text(row.patient_id.clone()),
                Bind::Int(prev),
            ]);
            let set = UPDATED.map(|c| format!("{c} = ?")).join(", ");
            step(
                dialect,
                &format!(
                    "UPDATE conversations SET {set} WHERE org_id = ? AND patient_id = ? AND version = ?"
                ),
                binds,
                Check::ChangesOne,
            )
        }
    }
}

pub fn insert_event(dialect: Dialect, org: &str, row: &ConversationEventRow) -> Step {
    step(
        dialect,
        &format!(
            "INSERT INTO conversation_events (org_id, {EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(row.id.clone()),
            Bind::Text(row.patient_id.clone()),
            Bind::Int(row.at_us),
            Bind::Text(row.actor.clone()),
            Bind::Text(row.kind.clone()),
            Bind::Text(row.detail.clone()),
            Bind::OptText(row.key_id.clone()),
            // Empty without a note: one type of bind for both databases.
            Bind::Bytes(row.note.clone().unwrap_or_default()),
        ],
        Check::ChangesOne,
    )
}

pub fn conversation(dialect: Dialect, org: &str, patient_id: &str) -> Step {
    step(
        dialect,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE org_id = ? AND patient_id = ?"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(patient_id.to_owned()),
        ],
        Check::Nothing,
    )
}

pub fn events(dialect: Dialect, org: &str, patient_id: &str) -> Step {
    step(
        dialect,
        &format!(
            "SELECT {EVENT_COLUMNS} FROM conversation_events WHERE org_id = ? AND patient_id = ? ORDER BY at_us, id"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(patient_id.to_owned()),
        ],
        Check::Nothing,
    )
}

/// The `WHERE` clause of a queue, and its binds.
fn queue_filter(dialect: Dialect, org: &str, query: &ConversationQuery) -> (String, Vec<Bind>) {
    let mut clauses = vec!["org_id = ?".to_owned()];
    let mut binds = vec![Bind::Text(org.to_owned())];
    // One value is compared with `=`: PostgreSQL then walks an index in the queue's
    // order, where `= ANY` of an array made it sort every matching row.
    let mut any = |column: &str, mut values: Vec<String>, clauses: &mut Vec<String>| {
        if values.len() == 1
            && let Some(value) = values.pop()
        {
            clauses.push(format!("{column} = ?"));
            binds.push(Bind::Text(value));
            return;
        }
        let (clause, b) = any_of(dialect, column, Column::Text(values));
        clauses.push(clause);
        binds.extend(b);
    };
    if !query.states.is_empty() {
        any(
            "state",
            query.states.iter().map(|s| (*s).to_owned()).collect(),
            &mut clauses,
        );
    }
    if let Some(departments) = &query.departments {
        let mut inner = Vec::new();
        if !departments.is_empty() || !query.unrouted {
            any("department", departments.clone(), &mut inner);
        }
        if query.unrouted {
            inner.push("department IS NULL".to_owned());
        }
        clauses.push(format!("({})", inner.join(" OR ")));
    }
    if let Some(patients) = &query.patients {
        any("patient_id", patients.clone(), &mut clauses);
    }
    match &query.assignee {
        Some(Some(id)) => {
            clauses.push("assignee = ?".to_owned());
            binds.push(Bind::Text(id.clone()));
        }
        Some(None) => clauses.push("assignee IS NULL".to_owned()),
        None => {}
    }
    if let Some(priority) = query.priority {
        clauses.push("priority = ?".to_owned());
        binds.push(Bind::Int(priority.rank()));
    }
    if let Some(channel) = &query.channel {
        clauses.push("last_channel = ?".to_owned());
        binds.push(Bind::Text(channel.clone()));
    }
    if let Some(due_by) = query.due_by {
        clauses.push("due_us <= ?".to_owned());
        binds.push(Bind::Int(micros(due_by)));
    }
    (clauses.join(" AND "), binds)
}

/// A page of a queue: most urgent first, then the longest waiting (a conversation no one
/// waits on after those that do), then the latest.
pub fn queue(dialect: Dialect, org: &str, query: &ConversationQuery) -> Step {
    let (filter, mut binds) = queue_filter(dialect, org, query);
    binds.extend([Bind::Int(query.limit), Bind::Int(query.offset)]);
    step(
        dialect,
        &format!(
            "SELECT {CONVERSATION_COLUMNS} FROM conversations WHERE {filter} \
             ORDER BY priority, queue_us, patient_id \
             LIMIT ? OFFSET ?"
        ),
        binds,
        Check::Nothing,
    )
}

pub fn count(dialect: Dialect, org: &str, query: &ConversationQuery) -> Step {
    let (filter, binds) = queue_filter(dialect, org, query);
    step(
        dialect,
        &format!("SELECT COUNT(*) FROM conversations WHERE {filter}"),
        binds,
        Check::Nothing,
    )
}

/// The conversations still open (open, pending, snoozed) by department and priority:
/// how many, and how many of them are overdue at `now_us`.
pub fn open_counts(dialect: Dialect, org: &str, now_us: i64) -> Step {
    step(
        dialect,
        "SELECT department, priority, COUNT(*), \
         COALESCE(SUM(CASE WHEN due_us IS NOT NULL AND due_us <= ? THEN 1 ELSE 0 END), 0) \
         FROM conversations WHERE org_id = ? AND state IN ('open', 'pending', 'snoozed') \
         GROUP BY department, priority",
        vec![Bind::Int(now_us), Bind::Text(org.to_owned())],
        Check::Nothing,
    )
}

/// The details of the events of `kind` since `since_us`, newest first, at most `limit`.
pub fn details_since(dialect: Dialect, org: &str, kind: &str, since_us: i64, limit: i64) -> Step {
    step(
        dialect,
        "SELECT detail FROM conversation_events WHERE org_id = ? AND kind = ? AND at_us >= ? \
         ORDER BY at_us DESC LIMIT ?",
        vec![
            Bind::Text(org.to_owned()),
            Bind::Text(kind.to_owned()),
            Bind::Int(since_us),
            Bind::Int(limit),
        ],
        Check::Nothing,
    )
}

/// Records that the patient wrote each word (by its blind index); a word they wrote
/// before is there already.
pub fn insert_words(
    dialect: Dialect,
    org: &str,
    patient_id: &str,
    hashes: &[Vec<u8>],
) -> Option<Step> {
    if hashes.is_empty() {
        return None;
    }
    let mut binds = Vec::with_capacity(hashes.len() * 3);
    for hash in hashes {
        binds.extend([
            Bind::Text(org.to_owned()),
            Bind::Bytes(hash.clone()),
            Bind::Text(patient_id.to_owned()),
        ]);
    }
    Some(step(
        dialect,
        &format!(
            "INSERT INTO message_words (org_id, word_hash, patient_id) VALUES {} \
             ON CONFLICT DO NOTHING",
            vec!["(?, ?, ?)"; hashes.len()].join(", ")
        ),
        binds,
        Check::Nothing,
    ))
}

/// The patients who wrote every one of these words (blind indexes), at most `limit`.
pub fn writers(dialect: Dialect, org: &str, hashes: &[Vec<u8>], limit: i64) -> Step {
    let mut binds = vec![Bind::Text(org.to_owned())];
    binds.extend(hashes.iter().cloned().map(Bind::Bytes));
    binds.extend([
        Bind::Int(i64::try_from(hashes.len()).unwrap_or(i64::MAX)),
        Bind::Int(limit),
    ]);
    step(
        dialect,
        &format!(
            "SELECT patient_id FROM message_words WHERE org_id = ? AND word_hash IN ({}) \
             GROUP BY patient_id HAVING COUNT(*) = ? ORDER BY patient_id LIMIT ?",
            placeholders(hashes.len().max(1))
        ),
        binds,
        Check::Nothing,
    )
}

/// The channel every process of one schema listens on for saved conversations:
/// `careloop_inbox_` and the schema's name, so that deployments (and tests) sharing a
/// database hear only their own.
pub const INBOX_CHANNEL: &str = "careloop_inbox_";

/// On PostgreSQL, tells every listening process, when the batch commits, that the
/// patient's conversation changed; SQLite has one process, which the store tells itself.
pub fn notify(dialect: Dialect, patient_id: &str) -> Option<Step> {
    (dialect == Dialect::Postgres).then(|| {
        step(
            dialect,
            &format!("SELECT pg_notify('{INBOX_CHANNEL}' || current_schema(), ?)"),
            vec![Bind::Text(patient_id.to_owned())],
            Check::Nothing,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use careloop_domain::business_hours::Priority;

    #[test]
    fn binds_match_placeholders() {
        let row = ConversationRow {
            patient_id: "p".into(),
            state: "open".into(),
            snoozed_until_us: None,
            assignee: None,
            department: Some("nursing".into()),
            priority: 0,
            tags: String::new(),
            waiting_since_us: Some(1),
            opened_us: Some(1),
            due_us: Some(2),
            escalations: 0,
            last_channel: Some("sms".into()),
            last_message_us: 1,
            queue_us: 1,
            key_id: "k".into(),
            preview: vec![1],
            version: 1,
            created_us: 1,
            updated_us: 1,
        };
        let event = ConversationEventRow {
            id: "e".into(),
            patient_id: "p".into(),
            at_us: 1,
            actor: "careloop".into(),
            kind: "triage".into(),
            detail: "{}".into(),
            key_id: None,
            note: None,
        };
        let full = ConversationQuery {
            states: vec!["open", "pending"],
            departments: Some(vec!["nursing".into(), "billing".into()]),
            unrouted: true,
            assignee: Some(Some("s".into())),
            priority: Some(Priority::Urgent),
            channel: Some("sms".into()),
            patients: Some(vec!["p".into()]),
            due_by: Some(jiff::Timestamp::UNIX_EPOCH),
            limit: 50,
            offset: 0,
        };
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let mut steps = vec![
                save(dialect, "o", &row, None),
                save(dialect, "o", &row, Some(1)),
                insert_event(dialect, "o", &event),
                conversation(dialect, "o", "p"),
                events(dialect, "o", "p"),
                queue(dialect, "o", &full),
                queue(dialect, "o", &ConversationQuery::default()),
                count(dialect, "o", &full),
            ];
            steps.extend(notify(dialect, "p"));
            for step in steps {
                crate::sql::assert_binds_match(&step);
            }
        }
    }
}
