//! The SQL both backends run, written once. Statements are written with `?` placeholders
//! and numbered (`$1`, `$2`, ...) for PostgreSQL by [`Dialect::render`]; the schemas in
//! each backend's migrations agree on every name used here.

use crate::Sort;
use crate::backend::{HashedSearch, Row, WriteOp};
use crate::{sql_batch, sql_conversations, sql_playbook, sql_work};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn render(self, sql: &str) -> String {
        match self {
            Self::Sqlite => sql.to_owned(),
            Self::Postgres => {
                let mut out = String::with_capacity(sql.len() + 16);
                let mut n = 0;
                for c in sql.chars() {
                    if c == '?' {
                        n += 1;
                        out.push('$');
                        out.push_str(&n.to_string());
                    } else {
                        out.push(c);
                    }
                }
                out
            }
        }
    }

    /// What makes a statement on `table` look rows up through `index`, where the
    /// dialect's planner would otherwise pick worse: SQLite, without statistics, takes
    /// the longest key it can match a prefix of, even to walk every row of a type.
    pub fn indexed_by(self, index: &str) -> String {
        match self {
            Self::Sqlite => format!(" INDEXED BY {index}"),
            Self::Postgres => String::new(),
        }
    }
}

/// A value bound to a placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bind {
    Text(String),
    OptText(Option<String>),
    Bytes(Vec<u8>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    /// A column of values, bound as one array (PostgreSQL only).
    Column(Column),
}

/// The values of one column over many rows: an array bound to one placeholder, so that a
/// statement over any number of rows has one text, prepared once per connection and
/// planned once, where a list of placeholders made a new statement of every length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    Text(Vec<String>),
    OptText(Vec<Option<String>>),
    Bytes(Vec<Vec<u8>>),
    Int(Vec<i64>),
    OptInt(Vec<Option<i64>>),
    Bool(Vec<bool>),
}

impl Column {
    /// How many values the column holds.
    pub fn len(&self) -> usize {
        match self {
            Self::Text(v) => v.len(),
            Self::OptText(v) => v.len(),
            Self::Bytes(v) => v.len(),
            Self::Int(v) => v.len(),
            Self::OptInt(v) => v.len(),
            Self::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One value a row, each its own placeholder's (SQLite's lists).
    pub fn into_binds(self) -> Vec<Bind> {
        match self {
            Self::Text(v) => v.into_iter().map(Bind::Text).collect(),
            Self::OptText(v) => v.into_iter().map(Bind::OptText).collect(),
            Self::Bytes(v) => v.into_iter().map(Bind::Bytes).collect(),
            Self::Int(v) => v.into_iter().map(Bind::Int).collect(),
            Self::OptInt(v) => v.into_iter().map(Bind::OptInt).collect(),
            Self::Bool(v) => v.into_iter().map(Bind::Bool).collect(),
        }
    }

    /// The array type the placeholder is cast to.
    pub fn sql_type(&self) -> &'static str {
        match self {
            Self::Text(_) | Self::OptText(_) => "text[]",
            Self::Bytes(_) => "bytea[]",
            Self::Int(_) | Self::OptInt(_) => "bigint[]",
            Self::Bool(_) => "boolean[]",
        }
    }

    /// An empty column for values like `bind`; `None` for a column itself.
    fn like(bind: &Bind, rows: usize) -> Option<Self> {
        Some(match bind {
            Bind::Text(_) => Self::Text(Vec::with_capacity(rows)),
            Bind::OptText(_) => Self::OptText(Vec::with_capacity(rows)),
            Bind::Bytes(_) => Self::Bytes(Vec::with_capacity(rows)),
            Bind::Int(_) => Self::Int(Vec::with_capacity(rows)),
            Bind::OptInt(_) => Self::OptInt(Vec::with_capacity(rows)),
            Bind::Bool(_) => Self::Bool(Vec::with_capacity(rows)),
            Bind::Column(_) => return None,
        })
    }

    /// Whether `bind` is a value of the column's kind.
    fn fits(&self, bind: &Bind) -> bool {
        matches!(
            (self, bind),
            (Self::Text(_), Bind::Text(_))
                | (Self::OptText(_), Bind::OptText(_))
                | (Self::Bytes(_), Bind::Bytes(_))
                | (Self::Int(_), Bind::Int(_))
                | (Self::OptInt(_), Bind::OptInt(_))
                | (Self::Bool(_), Bind::Bool(_))
        )
    }

    /// Adds `bind`, which [`Self::fits`].
    fn push(&mut self, bind: Bind) {
        match (self, bind) {
            (Self::Text(values), Bind::Text(v)) => values.push(v),
            (Self::OptText(values), Bind::OptText(v)) => values.push(v),
            (Self::Bytes(values), Bind::Bytes(v)) => values.push(v),
            (Self::Int(values), Bind::Int(v)) => values.push(v),
            (Self::OptInt(values), Bind::OptInt(v)) => values.push(v),
            (Self::Bool(values), Bind::Bool(v)) => values.push(v),
            _ => {}
        }
    }

    /// The columns of `rows`, moved out of them; the rows as they were when they are
    /// not all of the same width and kinds of value (or hold a column already).
    pub fn of_rows(rows: Vec<Vec<Bind>>) -> Result<Vec<Self>, Vec<Vec<Bind>>> {
        let Some(mut columns) = rows.first().and_then(|first| {
            first
                .iter()
                .map(|bind| Self::like(bind, rows.len()))
                .collect::<Option<Vec<_>>>()
        }) else {
            return Err(rows);
        };
        let fits = rows.iter().all(|row| {
            row.len() == columns.len()
                && row
                    .iter()
                    .zip(&columns)
                    .all(|(bind, column)| column.fits(bind))
        });
        if !fits {
            return Err(rows);
        }
        for row in rows {
            for (column, bind) in columns.iter_mut().zip(row) {
                column.push(bind);
            }
        }
        Ok(columns)
    }
}

/// One statement of a write plan.
#[derive(Clone, Debug)]
pub struct Step {
    pub sql: String,
    pub binds: Vec<Bind>,
    pub check: Check,
}

/// What a step must find for the batch to go on; otherwise it fails with a conflict.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Check {
    Nothing,
    /// Exactly one row changed.
    ChangesOne,
    /// Exactly this many rows changed.
    Changes(u64),
    /// The statement is a `SELECT COUNT(*)` that counts zero.
    CountsZero,
}

/// The columns every row read selects, in [`Row`]'s order.
pub const ROW_COLUMNS: &str = "resource_type, id, version_id, created_us, last_updated_us, deleted, key_id, body, start_us, end_us";

pub const PING: &str = "SELECT 1";

/// The heads of the rows of one type with these ids.
pub fn heads(dialect: Dialect, org: &str, resource_type: &str, ids: &[String]) -> Step {
    let (condition, id_binds) = sql_work::any_of(dialect, "id", Column::Text(ids.to_vec()));
    let mut binds = vec![
        Bind::Text(org.to_owned()),
        Bind::Text(resource_type.to_owned()),
    ];
    binds.extend(id_binds);
    step(
        dialect,
        &format!(
            "SELECT id, version_id, deleted, key_id, created_us, last_updated_us FROM resources \
             WHERE org_id = ? AND resource_type = ? AND {condition}"
        ),
        binds,
        false,
    )
}

pub fn fetch() -> String {
    format!("SELECT {ROW_COLUMNS} FROM resources WHERE org_id = ? AND resource_type = ? AND id = ?")
}

pub const UNHANDLED_EVENTS: &str = "SELECT seq, name, resource_type, resource_id, resource_version, created_us FROM events \
     WHERE org_id = ? AND handled_us IS NULL ORDER BY seq LIMIT ?";

/// Marks the events whose sequence numbers are bound after the first two values.
pub fn mark_events_handled(dialect: Dialect, org: &str, seqs: &[i64], handled_us: i64) -> Step {
    let mut binds = vec![Bind::Int(handled_us), Bind::Text(org.to_owned())];
    let (condition, seq_binds) = sql_work::any_of(dialect, "seq", Column::Int(seqs.to_vec()));
    binds.extend(seq_binds);
    step(
        dialect,
        &format!("UPDATE events SET handled_us = ? WHERE org_id = ? AND {condition}"),
        binds,
        false,
    )
}

/// The wrapped data keys with these ids, each with its id.
pub fn wrapped_keys(dialect: Dialect, org: &str, key_ids: &[String]) -> Step {
    let (condition, id_binds) = sql_work::any_of(dialect, "id", Column::Text(key_ids.to_vec()));
    let mut binds = vec![Bind::Text(org.to_owned())];
    binds.extend(id_binds);
    step(
        dialect,
        &format!("SELECT id, wrapped FROM data_keys WHERE org_id = ? AND {condition}"),
        binds,
        false,
    )
}

fn step(dialect: Dialect, sql: &str, binds: Vec<Bind>, changes_one: bool) -> Step {
    Step {
        sql: dialect.render(sql),
        binds,
        check: if changes_one {
            Check::ChangesOne
        } else {
            Check::Nothing
        },
    }
}

pub(crate) fn org_type_id(org: &str, row: &Row) -> Vec<Bind> {
    vec![
        Bind::Text(org.to_owned()),
        Bind::Text(row.resource_type.clone()),
        Bind::Text(row.id.clone()),
    ]
}

/// The statements that carry out one write, in order.
pub fn write_plan(dialect: Dialect, org: &str, op: &WriteOp) -> Vec<Step> {
    let org_bind = || Bind::Text(org.to_owned());
    match op {
        WriteOp::RequireNone(search) => {
            let (filter, binds) = search_filter(dialect, org, search);
            let mut steps = Vec::new();
            if dialect == Dialect::Postgres {
                // Under READ COMMITTED two transactions could both count zero; this lock,
                // held to commit, makes conditional creates of a type take turns. SQLite's
                // BEGIN IMMEDIATE already does.
                steps.push(step(
                    dialect,
                    "SELECT pg_advisory_xact_lock(hashtext(?))",
                    vec![Bind::Text(format!(
                        "careloop/conditional-create/{org}/{}",
                        search.resource_type
                    ))],
                    false,
                ));
            }
            steps.push(Step {
                sql: dialect.render(&format!("SELECT COUNT(*) FROM resources r WHERE {filter}")),
                binds,
                check: Check::CountsZero,
            });
            steps
        }
        WriteOp::EnsureOrg { name, created_us } => vec![step(
            dialect,
            "INSERT INTO organizations (id, name, created_us) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
            vec![org_bind(), Bind::Text(name.clone()), Bind::Int(*created_us)],
            false,
        )],
        WriteOp::AppendEvent {
            name,
            resource_type,
            resource_id,
            version,
            created_us,
        } => sql_batch::insert_rows(
            dialect,
            "events",
            sql_batch::EVENT_COLUMNS,
            vec![sql_batch::event_values(
                org,
                name,
                resource_type,
                resource_id,
                *version,
                *created_us,
            )],
        ),
        WriteOp::InsertKey {
            key_id,
            wrapped,
            created_us,
        } => sql_batch::insert_rows(
            dialect,
            "data_keys",
            sql_batch::KEY_COLUMNS,
            vec![sql_batch::key_values(org, key_id, wrapped, *created_us)],
        ),
        WriteOp::Insert { row, terms } => {
            let mut steps = sql_batch::insert_rows(
                dialect,
                "resources",
                sql_batch::RESOURCE_COLUMNS,
                vec![sql_batch::resource_values(org, row)],
            );
            steps.extend(sql_batch::insert_terms(dialect, org, &[(row, terms)]));
            steps
        }
        WriteOp::Update {
            row,
            prev_version,
            terms,
        } => {
            let mut binds = row_values(row);
            binds.extend(org_type_id(org, row));
            binds.push(Bind::Int(*prev_version));
            let mut steps = vec![step(
                dialect,
                "UPDATE resources SET version_id = ?, last_updated_us = ?, deleted = ?, key_id = ?, body = ?, start_us = ?, end_us = ? \
                     WHERE org_id = ? AND resource_type = ? AND id = ? AND version_id = ?",
                binds,
                true,
            )];
            steps.extend(sql_batch::delete_terms(dialect, org, std::iter::once(row)));
            steps.extend(sql_batch::insert_terms(dialect, org, &[(row, terms)]));
            steps
        }
        WriteOp::InsertEnrollment(row) => vec![sql_work::insert_enrollment(dialect, org, row)],
        WriteOp::UpdateEnrollment { row, prev_version } => {
            vec![sql_work::update_enrollment(
                dialect,
                org,
                row,
                *prev_version,
            )]
        }
        WriteOp::InsertOutbox(row) => vec![sql_work::insert_outbox(dialect, org, row)],
        WriteOp::MarkEventsHandled { seqs, handled_us } => {
            vec![mark_events_handled(dialect, org, seqs, *handled_us)]
        }
        WriteOp::UpdateOutbox { row, prev_version } => {
            vec![sql_work::update_outbox(dialect, org, row, *prev_version)]
        }
        WriteOp::SaveConversation { row, prev_version } => {
            let mut steps = vec![sql_conversations::save(dialect, org, row, *prev_version)];
            steps.extend(sql_conversations::notify(dialect, &row.patient_id));
            steps
        }
        WriteOp::InsertConversationEvent(row) => {
            vec![sql_conversations::insert_event(dialect, org, row)]
        }
        WriteOp::AddPlaybookEntry(row) => vec![sql_playbook::insert(dialect, org, row)],
        WriteOp::ChangePlaybookEntry(change) => vec![sql_playbook::update(dialect, org, change)],
        WriteOp::InsertWords { patient_id, hashes } => {
            sql_conversations::insert_words(dialect, org, patient_id, hashes)
                .into_iter()
                .collect()
        }
        WriteOp::RemovePlaybookEntry { book, id } => {
            vec![sql_playbook::remove(dialect, org, book, id)]
        }
        WriteOp::ErasePatient {
            patient_id,
            key_id,
            references,
        } => {
            // Terms are deleted with their rows, by the store: PostgreSQL's schema has no
            // foreign key to cascade them (migration 0008). The rows that name the patient
            // go first, found through their terms, whose own terms then follow.
            let mut steps = Vec::new();
            for r in references {
                let named = "SELECT resource_id FROM resource_terms \
                             WHERE org_id = ? AND resource_type = ? AND param = ? AND hash = ?";
                let binds = || {
                    vec![
                        org_bind(),
                        Bind::Text(r.resource_type.to_owned()),
                        org_bind(),
                        Bind::Text(r.resource_type.to_owned()),
                        Bind::Text(r.param.to_owned()),
                        Bind::Bytes(r.hash.clone()),
                    ]
                };
                steps.push(step(
                    dialect,
                    &format!(
                        "DELETE FROM resources WHERE org_id = ? AND resource_type = ? AND id IN ({named})"
                    ),
                    binds(),
                    false,
                ));
                steps.push(step(
                    dialect,
                    &format!(
                        "DELETE FROM resource_terms WHERE org_id = ? AND resource_type = ? AND resource_id IN ({named})"
                    ),
                    binds(),
                    false,
                ));
            }
            steps.extend(sql_work::erase_patient_work(dialect, org, patient_id));
            let binds = || vec![org_bind(), Bind::Text(key_id.clone())];
            steps.push(step(
                dialect,
                "DELETE FROM resource_terms WHERE (org_id, resource_type, resource_id) IN \
                 (SELECT org_id, resource_type, id FROM resources WHERE org_id = ? AND key_id = ?)",
                binds(),
                false,
            ));
            steps.push(step(
                dialect,
                "DELETE FROM resources WHERE org_id = ? AND key_id = ?",
                binds(),
                false,
            ));
            steps.push(step(
                dialect,
                "DELETE FROM data_keys WHERE org_id = ? AND id = ?",
                binds(),
                true,
            ));
            steps
        }
    }
}

pub(crate) fn row_values(row: &Row) -> Vec<Bind> {
    vec![
        Bind::Int(row.version),
        Bind::Int(row.last_updated_us),
        Bind::Bool(row.deleted),
        Bind::OptText(row.key_id.clone()),
        Bind::Bytes(row.body.clone()),
        Bind::OptInt(row.start_us),
        Bind::OptInt(row.end_us),
    ]
}

/// The `WHERE` clause of a search over `resources r`, and its binds.
fn search_filter(dialect: Dialect, org: &str, search: &HashedSearch) -> (String, Vec<Bind>) {
    let mut filter = String::from("r.org_id = ? AND r.resource_type = ? AND r.deleted = ?");
    let mut binds = vec![
        Bind::Text(org.to_owned()),
        Bind::Text(search.resource_type.to_owned()),
        Bind::Bool(false),
    ];
    // Driven by the term index: each filter is an uncorrelated id list, which both
    // databases answer from the primary key of resource_terms (and, for messages
    // careloop sends, from the outbox: one list, so that the planner still joins it to
    // resources by id rather than testing every resource against two).
    for one in &search.terms {
        let sent = one.or_sent.as_ref().filter(|s| !s.any_of.is_empty());
        if one.any_of.is_empty() && sent.is_none() {
            filter.push_str(" AND 1 = 0");
            continue;
        }
        let mut lists = Vec::with_capacity(2);
        if !one.any_of.is_empty() {
            let alternatives = vec!["(t.param = ? AND t.hash = ?)"; one.any_of.len()].join(" OR ");
            lists.push(format!(
                "SELECT t.resource_id FROM resource_terms t WHERE t.org_id = ? AND t.resource_type = ? AND ({alternatives})"
            ));
            binds.push(Bind::Text(org.to_owned()));
            binds.push(Bind::Text(search.resource_type.to_owned()));
            for (param, hash) in &one.any_of {
                binds.push(Bind::Text((*param).to_owned()));
                binds.push(Bind::Bytes(hash.clone()));
            }
        }
        if let Some(sent) = sent {
            let column = format!("o.{}", sent.column.name());
            let (condition, values) =
                sql_work::any_of(dialect, &column, Column::Text(sent.any_of.clone()));
            lists.push(format!(
                "SELECT o.id FROM outbox o WHERE o.org_id = ? AND {condition}"
            ));
            binds.push(Bind::Text(org.to_owned()));
            binds.extend(values);
        }
        filter.push_str(&format!(" AND r.id IN ({})", lists.join(" UNION ALL ")));
    }
    if !search.ids.is_empty() {
        let (condition, ids) = sql_work::any_of(dialect, "r.id", Column::Text(search.ids.clone()));
        filter.push_str(&format!(" AND {condition}"));
        binds.extend(ids);
    }
    if let Some(from) = search.start_from_us {
        filter.push_str(" AND r.start_us >= ?");
        binds.push(Bind::Int(from));
    }
    if let Some(before) = search.start_before_us {
        filter.push_str(" AND r.start_us < ?");
        binds.push(Bind::Int(before));
    }
    (filter, binds)
}

/// The page query and the count query of a search.
pub fn search(dialect: Dialect, org: &str, search: &HashedSearch) -> (Step, Step) {
    let columns = ROW_COLUMNS
        .split(", ")
        .map(|c| format!("r.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    search_page(dialect, org, search, &columns)
}

/// The ids of a search's page, in its order: for a caller that needs no more.
pub fn search_ids(dialect: Dialect, org: &str, search: &HashedSearch) -> Step {
    search_page(dialect, org, search, "r.id").0
}

fn search_page(dialect: Dialect, org: &str, search: &HashedSearch, columns: &str) -> (Step, Step) {
    let (filter, binds) = search_filter(dialect, org, search);
    // A search by ids must look the ids up, not walk the whole type in the sort's index
    // and filter (SQLite's choice, which made reading a batch's rows cost a scan):
    // sorting by an expression keeps the index out of it.
    let unindexed = if search.ids.is_empty() { "" } else { " + 0" };
    let order = match search.sort {
        Sort::Created => format!("r.created_us{unindexed}, r.id"),
        Sort::Newest => format!("r.created_us{unindexed} DESC, r.id DESC"),
        // NULLs sort first on SQLite and last on PostgreSQL; put them last on both.
        Sort::Start => format!("(r.start_us IS NULL), r.start_us{unindexed}, r.id"),
    };
    let mut page_binds = binds.clone();
    page_binds.push(Bind::Int(search.limit));
    page_binds.push(Bind::Int(search.offset));
    let page = step(
        dialect,
        &format!(
            "SELECT {columns} FROM resources r WHERE {filter} ORDER BY {order} LIMIT ? OFFSET ?"
        ),
        page_binds,
        false,
    );
    let count = step(
        dialect,
        &format!("SELECT COUNT(*) FROM resources r WHERE {filter}"),
        binds,
        false,
    );
    (page, count)
}

/// Checks that a step, rendered for either database, has a placeholder for each bind.
#[cfg(test)]
pub(crate) fn assert_binds_match(step: &Step) {
    let placeholders = match step.sql.matches('?').count() {
        0 => step.sql.matches('$').count(),
        n => n,
    };
    assert_eq!(placeholders, step.binds.len(), "{}", step.sql);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::HashedFilter;
    use crate::model::{OutboxColumn, SentFilter};

    #[test]
    fn postgres_placeholders_are_numbered() {
        assert_eq!(
            Dialect::Postgres.render("SELECT ? WHERE a = ? AND b = ?"),
            "SELECT $1 WHERE a = $2 AND b = $3"
        );
        assert_eq!(Dialect::Sqlite.render("a = ?"), "a = ?");
    }

    #[test]
    fn search_binds_match_placeholders() {
        let query = HashedSearch {
            resource_type: "Appointment",
            terms: vec![
                HashedFilter {
                    any_of: vec![("patient", vec![1]), ("actor", vec![2])],
                    or_sent: Some(SentFilter {
                        column: OutboxColumn::Patient,
                        any_of: vec!["p".into()],
                    }),
                },
                HashedFilter::default(),
            ],
            ids: vec!["a".into(), "b".into()],
            start_from_us: Some(1),
            start_before_us: Some(2),
            sort: Sort::Start,
            limit: 10,
            offset: 0,
        };
        let (page, count) = search(Dialect::Sqlite, "default", &query);
        assert_eq!(page.sql.matches('?').count(), page.binds.len());
        assert_eq!(count.sql.matches('?').count(), count.binds.len());
    }
}
