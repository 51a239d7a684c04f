//! A batch of writes as few statements as possible. The engine writes a hundred
//! messages at a time, and a statement per row (with a round trip to the database each)
//! used to cost more than the rows themselves: rows of one kind now go in one
//! multi-row `INSERT`, or one `UPDATE … FROM (VALUES …)` that still checks every row's
//! version.
//!
//! Rows are written table by table in an order that satisfies every foreign key (keys,
//! resources, their terms, events, enrollments, outbox); a batch that needs its own
//! order (a conditional create, an erasure) or changes one row twice runs statement by
//! statement as written.

use std::collections::HashSet;

use crate::backend::{HashedTerm, Row, WriteOp};
use crate::sql::{self, Bind, Check, Column, Dialect, Step};
use crate::sql_work::{self, ENROLLMENT_COLUMNS, OUTBOX_COLUMNS};

/// Binds per statement at most, well under SQLite's and PostgreSQL's limits.
const MAX_BINDS: usize = 8_000;

/// The statements of a whole batch, in an order that keeps every foreign key.
pub fn write_steps(dialect: Dialect, org: &str, ops: &[WriteOp]) -> Vec<Step> {
    if ops.len() < 2 || !groupable(ops) {
        return ops
            .iter()
            .flat_map(|op| sql::write_plan(dialect, org, op))
            .collect();
    }
    let mut keys = Vec::new();
    let mut inserts = Vec::new();
    let mut updates: Vec<(&Row, i64)> = Vec::new();
    let mut terms: Vec<(&Row, &[HashedTerm])> = Vec::new();
    let mut events = Vec::new();
    let mut enrolled = Vec::new();
    let mut enrollment_updates = Vec::new();
    let mut queued = Vec::new();
    let mut outbox_updates = Vec::new();
    let mut handled: Vec<i64> = Vec::new();
    let mut handled_at = 0;
    for op in ops {
        match op {
            WriteOp::InsertKey {
                key_id,
                wrapped,
                created_us,
            } => keys.push(key_values(org, key_id, wrapped, *created_us)),
            WriteOp::Insert { row, terms: t } => {
                inserts.push(resource_values(org, row));
                terms.push((row, t));
            }
            WriteOp::Update {
                row,
                prev_version,
                terms: t,
            } => {
                updates.push((row, *prev_version));
                terms.push((row, t));
            }
            WriteOp::AppendEvent {
                name,
                resource_type,
                resource_id,
                version,
                created_us,
            } => events.push(event_values(
                org,
                name,
                resource_type,
                resource_id,
                *version,
                *created_us,
            )),
            WriteOp::InsertEnrollment(row) => {
                let mut binds = vec![Bind::Text(org.to_owned()), Bind::Text(row.id.clone())];
                binds.extend(sql_work::enrollment_values(row));
                enrolled.push(binds);
            }
            WriteOp::UpdateEnrollment { row, prev_version } => enrollment_updates.push(Versioned {
                key: vec![Bind::Text(row.id.clone())],
                values: sql_work::enrollment_values(row),
                prev_version: *prev_version,
            }),
            WriteOp::InsertOutbox(row) => {
                let mut binds = vec![Bind::Text(org.to_owned()), Bind::Text(row.id.clone())];
                binds.extend(sql_work::outbox_values(row));
                queued.push(binds);
            }
            WriteOp::UpdateOutbox { row, prev_version } => outbox_updates.push(Versioned {
                key: vec![Bind::Text(row.id.clone())],
                values: sql_work::outbox_values(row),
                prev_version: *prev_version,
            }),
            WriteOp::MarkEventsHandled { seqs, handled_us } => {
                handled.extend(seqs);
                handled_at = *handled_us;
            }
            // `groupable` let no other kind through.
            _ => return Vec::new(),
        }
    }
    let mut steps = Vec::new();
    steps.extend(insert_rows(dialect, "data_keys", KEY_COLUMNS, keys));
    steps.extend(insert_rows(dialect, "resources", RESOURCE_COLUMNS, inserts));
    let resource_updates = updates
        .iter()
        .map(|(row, prev_version)| Versioned {
            key: vec![
                Bind::Text(row.resource_type.clone()),
                Bind::Text(row.id.clone()),
            ],
            values: sql::row_values(row),
            prev_version: *prev_version,
        })
        .collect();
    steps.extend(update_rows(
        dialect,
        org,
        &Table {
            name: "resources",
            key: &["resource_type", "id"],
            columns: &[
                "version_id",
                "last_updated_us",
                "deleted",
                "key_id",
                "body",
                "start_us",
                "end_us",
            ],
            version: "version_id",
        },
        resource_updates,
    ));
    steps.extend(delete_terms(
        dialect,
        org,
        updates.iter().map(|(row, _)| *row),
    ));
    steps.extend(insert_terms(dialect, org, &terms));
    steps.extend(insert_rows(dialect, "events", EVENT_COLUMNS, events));
    let enrollment_columns: Vec<&str> = ENROLLMENT_COLUMNS.split(", ").collect();
    steps.extend(insert_rows(
        dialect,
        "enrollments",
        &format!("org_id, {ENROLLMENT_COLUMNS}"),
        enrolled,
    ));
    steps.extend(update_rows(
        dialect,
        org,
        &Table {
            name: "enrollments",
            key: &["id"],
            columns: &enrollment_columns[1..],
            version: "version",
        },
        enrollment_updates,
    ));
    let outbox_columns: Vec<&str> = OUTBOX_COLUMNS.split(", ").collect();
    steps.extend(insert_rows(
        dialect,
        "outbox",
        &format!("org_id, {OUTBOX_COLUMNS}"),
        queued,
    ));
    steps.extend(update_rows(
        dialect,
        org,
        &Table {
            name: "outbox",
            key: &["id"],
            columns: &outbox_columns[1..],
            version: "version",
        },
        outbox_updates,
    ));
    if !handled.is_empty() {
        steps.push(sql::mark_events_handled(dialect, org, &handled, handled_at));
    }
    steps
}

/// The columns of a new data key, in [`key_values`]' order.
pub(crate) const KEY_COLUMNS: &str = "org_id, id, wrapped, created_us";
/// The columns of a new resource row, in [`resource_values`]' order.
pub(crate) const RESOURCE_COLUMNS: &str = "org_id, resource_type, id, version_id, last_updated_us, deleted, key_id, body, start_us, end_us, created_us";
/// The columns of a new event, in [`event_values`]' order.
pub(crate) const EVENT_COLUMNS: &str =
    "org_id, name, resource_type, resource_id, resource_version, created_us";

pub(crate) fn key_values(org: &str, key_id: &str, wrapped: &[u8], created_us: i64) -> Vec<Bind> {
    vec![
        Bind::Text(org.to_owned()),
        Bind::Text(key_id.to_owned()),
        Bind::Bytes(wrapped.to_vec()),
        Bind::Int(created_us),
    ]
}

pub(crate) fn resource_values(org: &str, row: &Row) -> Vec<Bind> {
    let mut binds = sql::org_type_id(org, row);
    binds.extend(sql::row_values(row));
    binds.push(Bind::Int(row.created_us));
    binds
}

pub(crate) fn event_values(
    org: &str,
    name: &str,
    resource_type: &str,
    resource_id: &str,
    version: i64,
    created_us: i64,
) -> Vec<Bind> {
    vec![
        Bind::Text(org.to_owned()),
        Bind::Text(name.to_owned()),
        Bind::Text(resource_type.to_owned()),
        Bind::Text(resource_id.to_owned()),
        Bind::Int(version),
        Bind::Int(created_us),
    ]
}

/// Whether every write may be grouped with its kind: only plain inserts and versioned
/// updates, each row changed once.
fn groupable(ops: &[WriteOp]) -> bool {
    let mut seen = HashSet::new();
    ops.iter().all(|op| match op {
        WriteOp::Insert { row, .. } | WriteOp::Update { row, .. } => {
            seen.insert(("r", row.resource_type.as_str(), row.id.as_str()))
        }
        WriteOp::InsertEnrollment(row) | WriteOp::UpdateEnrollment { row, .. } => {
            seen.insert(("e", "", row.id.as_str()))
        }
        WriteOp::InsertOutbox(row) | WriteOp::UpdateOutbox { row, .. } => {
            seen.insert(("o", "", row.id.as_str()))
        }
        WriteOp::InsertKey { key_id, .. } => seen.insert(("k", "", key_id.as_str())),
        WriteOp::AppendEvent { .. } | WriteOp::MarkEventsHandled { .. } => true,
        // Conversations are written a row at a time, after the messages they tell of.
        WriteOp::RequireNone(_)
        | WriteOp::EnsureOrg { .. }
        | WriteOp::ErasePatient { .. }
        | WriteOp::SaveConversation { .. }
        | WriteOp::InsertConversationEvent(_)
        | WriteOp::AddPlaybookEntry(_)
        | WriteOp::ChangePlaybookEntry(_)
        | WriteOp::InsertWords { .. }
        | WriteOp::RemovePlaybookEntry { .. } => false,
    })
}

/// Rows per statement for rows of `width` values.
fn chunk_rows(width: usize) -> usize {
    (MAX_BINDS / width.max(1)).max(1)
}

/// `INSERT INTO table (columns) VALUES (…), (…)`, every row required to go in. On
/// PostgreSQL the rows go in as one array a column (`SELECT * FROM UNNEST (…)`): one
/// statement text whatever the number of rows, so it is prepared and planned once.
pub(crate) fn insert_rows(
    dialect: Dialect,
    table: &str,
    columns: &str,
    rows: Vec<Vec<Bind>>,
) -> Vec<Step> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Vec::new();
    };
    let rows = match dialect {
        Dialect::Postgres => match Column::of_rows(rows) {
            Ok(arrays) => {
                return vec![Step {
                    sql: dialect.render(&format!(
                        "INSERT INTO {table} ({columns}) SELECT * FROM UNNEST ({})",
                        casts(&arrays)
                    )),
                    check: Check::Changes(count(arrays.first().map_or(0, Column::len))),
                    binds: arrays.into_iter().map(Bind::Column).collect(),
                }];
            }
            Err(rows) => rows,
        },
        Dialect::Sqlite => rows,
    };
    let tuple = format!("({})", sql_work::placeholders(width));
    rows.chunks(chunk_rows(width))
        .map(|chunk| Step {
            sql: dialect.render(&format!(
                "INSERT INTO {table} ({columns}) VALUES {}",
                vec![tuple.as_str(); chunk.len()].join(", ")
            )),
            binds: chunk.concat(),
            check: Check::Changes(count(chunk.len())),
        })
        .collect()
}

/// `?::text[], ?::bigint[], …`: a placeholder for each array, cast to its type.
fn casts(arrays: &[Column]) -> String {
    arrays
        .iter()
        .map(|array| format!("?::{}", array.sql_type()))
        .collect::<Vec<_>>()
        .join(", ")
}

struct Table<'a> {
    name: &'a str,
    /// The key columns after `org_id`.
    key: &'a [&'a str],
    /// The columns set, in the order of [`Versioned::values`].
    columns: &'a [&'a str],
    /// The column `prev_version` is checked against.
    version: &'a str,
}

/// One row's new values, to be written only if it is still at `prev_version`.
struct Versioned {
    key: Vec<Bind>,
    values: Vec<Bind>,
    prev_version: i64,
}

/// `UPDATE table SET … FROM (VALUES …) AS v WHERE key = v.key AND version = v.prev`: every
/// row must match, so one that moved on meanwhile fails the batch with a conflict.
fn update_rows(dialect: Dialect, org: &str, table: &Table<'_>, rows: Vec<Versioned>) -> Vec<Step> {
    if rows.is_empty() {
        return Vec::new();
    }
    // A VALUES list names its columns column1, column2, … on both databases.
    let keys = table.key.len();
    let set = table
        .columns
        .iter()
        .enumerate()
        .map(|(n, column)| format!("{column} = v.column{}", keys + n + 1))
        .collect::<Vec<_>>()
        .join(", ");
    let width = keys + table.columns.len() + 1;
    let mut matches = table
        .key
        .iter()
        .enumerate()
        .map(|(n, column)| format!("{}.{column} = v.column{}", table.name, n + 1))
        .collect::<Vec<_>>();
    matches.push(format!(
        "{}.{} = v.column{width}",
        table.name, table.version
    ));
    let tuple = format!("({})", sql_work::placeholders(width));
    let rows: Vec<Vec<Bind>> = rows
        .into_iter()
        .map(|row| {
            let mut binds = row.key;
            binds.extend(row.values);
            binds.push(Bind::Int(row.prev_version));
            binds
        })
        .collect();
    let rows = match dialect {
        Dialect::Postgres => match Column::of_rows(rows) {
            Ok(arrays) => return vec![update_arrays(org, table, &set, &matches, arrays)],
            Err(rows) => rows,
        },
        Dialect::Sqlite => rows,
    };
    // Room for each row's key a second time, in the key lists below.
    rows.chunks(chunk_rows(width + keys))
        .map(|chunk| {
            let mut binds = chunk.concat();
            binds.push(Bind::Text(org.to_owned()));
            let keys_listed = list_keys(table, chunk, &mut binds);
            Step {
                sql: dialect.render(&format!(
                    "UPDATE {name} SET {set} FROM (VALUES {values}) AS v WHERE {matches} AND {name}.org_id = ?{keys_listed}",
                    name = table.name,
                    values = vec![tuple.as_str(); chunk.len()].join(", "),
                    matches = matches.join(" AND "),
                )),
                binds,
                check: Check::Changes(count(chunk.len())),
            }
        })
        .collect()
}

/// [`update_rows`] on PostgreSQL: `UPDATE … FROM UNNEST (…) AS v (column1, …)`, one
/// array a column, with each key column's array again as `= ANY` for the primary key's
/// index (see [`list_keys`]).
fn update_arrays(
    org: &str,
    table: &Table<'_>,
    set: &str,
    matches: &[String],
    arrays: Vec<Column>,
) -> Step {
    let rows = arrays.first().map_or(0, Column::len);
    let names = (1..=arrays.len())
        .map(|n| format!("column{n}"))
        .collect::<Vec<_>>()
        .join(", ");
    let casts = casts(&arrays);
    let keys_listed: String = table
        .key
        .iter()
        .zip(&arrays)
        .map(|(column, array)| {
            format!(
                " AND {}.{column} = ANY (?::{})",
                table.name,
                array.sql_type()
            )
        })
        .collect();
    let keys: Vec<Bind> = arrays
        .iter()
        .take(table.key.len())
        .cloned()
        .map(Bind::Column)
        .collect();
    let mut binds: Vec<Bind> = arrays.into_iter().map(Bind::Column).collect();
    binds.push(Bind::Text(org.to_owned()));
    binds.extend(keys);
    Step {
        sql: Dialect::Postgres.render(&format!(
            "UPDATE {name} SET {set} FROM UNNEST ({casts}) AS v ({names}) WHERE {matches} AND {name}.org_id = ?{keys_listed}",
            name = table.name,
            matches = matches.join(" AND "),
        )),
        binds,
        check: Check::Changes(count(rows)),
    }
}

/// ` AND key IN (…)` for each key column, over the distinct values of a chunk's rows
/// (which start with their key), with the values appended to `binds`. The match on
/// `v` alone says the same, but leaves PostgreSQL to guess how many rows it joins: it
/// often hashed the VALUES against a scan of the organization's whole table, a cost
/// that grows with the table. Lists of keys are looked up in the primary key's index.
fn list_keys(table: &Table<'_>, chunk: &[Vec<Bind>], binds: &mut Vec<Bind>) -> String {
    let mut sql = String::new();
    for (n, column) in table.key.iter().enumerate() {
        let mut values: Vec<&Bind> = Vec::with_capacity(chunk.len());
        for row in chunk {
            if let Some(value) = row.get(n)
                && !values.contains(&value)
            {
                values.push(value);
            }
        }
        sql.push_str(&format!(
            " AND {}.{column} IN ({})",
            table.name,
            sql_work::placeholders(values.len())
        ));
        binds.extend(values.into_iter().cloned());
    }
    sql
}

/// Removes the terms of the rows updated, which are written again: one statement per
/// resource type, found through the owner index.
pub(crate) fn delete_terms<'a>(
    dialect: Dialect,
    org: &str,
    rows: impl Iterator<Item = &'a Row>,
) -> Vec<Step> {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for row in rows {
        let resource_type = row.resource_type.as_str();
        match groups.iter_mut().find(|(t, _)| *t == resource_type) {
            Some((_, ids)) => ids.push(row.id.clone()),
            None => groups.push((resource_type, vec![row.id.clone()])),
        }
    }
    let by_owner = dialect.indexed_by("resource_terms_by_owner");
    groups
        .into_iter()
        .flat_map(|(resource_type, ids)| {
            ids.chunks(MAX_BINDS)
                .map(|chunk| {
                    let (condition, ids) =
                        sql_work::any_of(dialect, "resource_id", Column::Text(chunk.to_vec()));
                    let mut binds = vec![
                        Bind::Text(org.to_owned()),
                        Bind::Text(resource_type.to_owned()),
                    ];
                    binds.extend(ids);
                    Step {
                        sql: dialect.render(&format!(
                            "DELETE FROM resource_terms{by_owner} WHERE org_id = ? AND resource_type = ? AND {condition}"
                        )),
                        binds,
                        check: Check::Nothing,
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The terms of every row written: one statement for a batch's, not one a term.
pub(crate) fn insert_terms(
    dialect: Dialect,
    org: &str,
    rows: &[(&Row, &[HashedTerm])],
) -> Vec<Step> {
    let rows: Vec<Vec<Bind>> = rows
        .iter()
        .flat_map(|(row, terms)| {
            terms.iter().map(|term| {
                let mut binds = sql::org_type_id(org, row);
                binds.push(Bind::Text(term.param.to_owned()));
                binds.push(Bind::Bytes(term.hash.clone()));
                binds
            })
        })
        .collect();
    insert_rows(
        dialect,
        "resource_terms",
        "org_id, resource_type, resource_id, param, hash",
        rows,
    )
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::work::OutboxRow;

    fn row(id: &str) -> Row {
        Row {
            resource_type: "Communication".into(),
            id: id.into(),
            version: 2,
            created_us: 1,
            last_updated_us: 2,
            deleted: false,
            key_id: None,
            body: b"{}".to_vec(),
            start_us: None,
            end_us: None,
        }
    }

    fn outbox(id: &str) -> OutboxRow {
        OutboxRow::queued(
            id,
            format!("key-{id}"),
            "p",
            "sms",
            Some("transactional"),
            1,
            1,
        )
    }

    fn term() -> HashedTerm {
        HashedTerm {
            param: "patient",
            hash: vec![1, 2],
        }
    }

    fn settle(id: &str) -> [WriteOp; 2] {
        [
            WriteOp::Update {
                row: row(id),
                prev_version: 1,
                terms: vec![term()],
            },
            WriteOp::UpdateOutbox {
                row: outbox(id),
                prev_version: 0,
            },
        ]
    }

    #[test]
    fn rows_of_a_kind_share_a_statement_that_checks_each() {
        let ops: Vec<WriteOp> = ["a", "b", "c"].into_iter().flat_map(settle).collect();
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let steps = write_steps(dialect, "org", &ops);
            let kinds: Vec<&str> = steps
                .iter()
                .map(|s| s.sql.split(" (").next().unwrap_or_default())
                .collect();
            // On PostgreSQL each column of the rows is one array.
            let (from, one_of) = match dialect {
                Dialect::Sqlite => ("FROM", "IN"),
                Dialect::Postgres => ("FROM UNNEST", "= ANY"),
            };
            assert_eq!(
                kinds,
                [
                    &format!("UPDATE resources SET version_id = v.column3, last_updated_us = v.column4, deleted = v.column5, key_id = v.column6, body = v.column7, start_us = v.column8, end_us = v.column9 {from}"),
                    &format!(
                        "DELETE FROM resource_terms{} WHERE org_id = ? AND resource_type = ? AND resource_id {one_of}",
                        dialect.indexed_by("resource_terms_by_owner")
                    ),
                    "INSERT INTO resource_terms",
                    &format!("UPDATE outbox SET idempotency_key = v.column2, patient_id = v.column3, channel = v.column4, status = v.column5, due_us = v.column6, attempts = v.column7, lease_us = v.column8, provider_id = v.column9, error_code = v.column10, reason = v.column11, unknown_resends = v.column12, version = v.column13, created_us = v.column14, updated_us = v.column15, purpose = v.column16, sent_us = v.column17, about_id = v.column18 {from}"),
                ]
                .map(|k| dialect.render(k)),
            );
            assert_eq!(steps[0].check, Check::Changes(3));
            assert_eq!(steps[3].check, Check::Changes(3));
            for step in &steps {
                let placeholders = match dialect {
                    Dialect::Sqlite => step.sql.matches('?').count(),
                    Dialect::Postgres => step.sql.matches('$').count(),
                };
                assert_eq!(placeholders, step.binds.len(), "{}", step.sql);
            }
        }
    }

    #[test]
    fn a_row_changed_twice_or_a_conditional_write_keeps_the_order_written() {
        let mut twice: Vec<WriteOp> = settle("a").into();
        twice.extend(settle("a"));
        assert_eq!(write_steps(Dialect::Sqlite, "org", &twice).len(), 8);
        let mut erase: Vec<WriteOp> = settle("a").into();
        erase.extend(settle("b"));
        erase.push(WriteOp::EnsureOrg {
            name: "x".into(),
            created_us: 1,
        });
        let steps = write_steps(Dialect::Sqlite, "org", &erase);
        assert_eq!(steps.len(), 9);
        assert!(
            steps[0]
                .sql
                .starts_with("UPDATE resources SET version_id = ?")
        );
    }

    #[test]
    fn large_batches_are_split_under_the_bind_limit() {
        let ops: Vec<WriteOp> = (0..1_000)
            .map(|n| WriteOp::InsertOutbox(outbox(&n.to_string())))
            .collect();
        let steps = write_steps(Dialect::Sqlite, "org", &ops);
        assert!(steps.len() > 1);
        assert!(steps.iter().all(|s| s.binds.len() <= MAX_BINDS));
        let rows: u64 = steps
            .iter()
            .map(|s| match s.check {
                Check::Changes(n) => n,
                _ => 0,
            })
            .sum();
        assert_eq!(rows, 1_000);
    }

    #[test]
    fn postgres_binds_a_column_of_rows_as_one_array() {
        let inserts: Vec<WriteOp> = (0..1_000)
            .map(|n| WriteOp::InsertOutbox(outbox(&n.to_string())))
            .collect();
        let updates: Vec<WriteOp> = (0..1_000)
            .map(|n| WriteOp::UpdateOutbox {
                row: outbox(&n.to_string()),
                prev_version: 1,
            })
            .collect();
        // An update binds its rows' key, values and versions, the organization, and the key
        // again for the primary key's index.
        for (ops, columns) in [(inserts, 19), (updates, 19 + 1 + 1)] {
            let steps = write_steps(Dialect::Postgres, "org", &ops);
            assert_eq!(steps.len(), 1, "{:?}", steps.first().map(|s| &s.sql));
            let step = &steps[0];
            assert!(
                step.sql
                    .contains("UNNEST ($1::text[], $2::text[], $3::text[]"),
                "{}",
                step.sql
            );
            assert_eq!(step.check, Check::Changes(1_000));
            assert_eq!(step.sql.matches('$').count(), step.binds.len());
            assert_eq!(step.binds.len(), columns);
            for bind in &step.binds {
                if let Bind::Column(column) = bind {
                    assert_eq!(column.len(), 1_000);
                }
            }
        }
        // The same text for any number of rows: prepared once.
        let one = write_steps(
            Dialect::Postgres,
            "org",
            &[
                WriteOp::InsertOutbox(outbox("x")),
                WriteOp::InsertOutbox(outbox("y")),
            ],
        );
        let many = write_steps(
            Dialect::Postgres,
            "org",
            &[
                WriteOp::InsertOutbox(outbox("x")),
                WriteOp::InsertOutbox(outbox("y")),
                WriteOp::InsertOutbox(outbox("z")),
            ],
        );
        assert_eq!(one[0].sql, many[0].sql);
    }
}
