//! The SQL of the audit log, for both backends. The log is only ever added to: the
//! migrations' triggers refuse changes and deletions, and the hash chain
//! ([`careloop_domain::audit`]) shows any made around them.

use careloop_domain::audit::{AuditEntry, AuditLink, GENESIS};

use crate::sql::{Bind, Check, Dialect, Step};
use crate::sql_work::step;

/// The columns every read of the log selects, in [`AuditLink`]'s order.
pub const AUDIT_COLUMNS: &str = "seq, at_us, actor, action, subject, hash";

/// The last entry's place and hash.
pub fn tail(dialect: Dialect, org: &str) -> Step {
    step(
        dialect,
        "SELECT seq, hash FROM audit_log WHERE org_id = ? ORDER BY seq DESC LIMIT 1",
        vec![Bind::Text(org.to_owned())],
        Check::Nothing,
    )
}

/// `entry` as the next link after the tail read (`None`: the log is empty). A tail
/// whose hash is not one (a row tampered with) is chained to as it is: verification
/// names that row.
pub fn next_link(tail: Option<(i64, Vec<u8>)>, entry: AuditEntry) -> AuditLink {
    let (seq, previous) = match tail {
        Some((seq, hash)) => (seq + 1, hash_of(hash)),
        None => (1, GENESIS),
    };
    AuditLink::after(seq, &previous, entry)
}

/// Fails as a conflict when another writer took the place first.
pub fn insert(dialect: Dialect, org: &str, link: &AuditLink) -> Step {
    step(
        dialect,
        &format!("INSERT INTO audit_log (org_id, {AUDIT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Int(link.seq),
            Bind::Int(link.entry.at_us),
            Bind::Text(link.entry.actor.clone()),
            Bind::Text(link.entry.action.clone()),
            Bind::Text(link.entry.subject.clone()),
            Bind::Bytes(link.hash.to_vec()),
        ],
        Check::ChangesOne,
    )
}

/// Up to `limit` entries after `after_seq`, in order.
pub fn page(dialect: Dialect, org: &str, after_seq: i64, limit: i64) -> Step {
    step(
        dialect,
        &format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE org_id = ? AND seq > ? ORDER BY seq LIMIT ?"
        ),
        vec![
            Bind::Text(org.to_owned()),
            Bind::Int(after_seq),
            Bind::Int(limit),
        ],
        Check::Nothing,
    )
}

/// A stored hash as the chain's type. One of another length (a row tampered with) is
/// read as a hash no entry has, so verification names its row.
pub fn hash_of(stored: Vec<u8>) -> [u8; 32] {
    stored.try_into().unwrap_or([0xff; 32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> AuditEntry {
        AuditEntry {
            at_us: 1,
            actor: "cli".into(),
            action: "patient.erase".into(),
            subject: "Patient/p1".into(),
        }
    }

    #[test]
    fn the_first_link_follows_the_genesis_and_the_next_its_tail() {
        let first = next_link(None, entry());
        assert_eq!(first.seq, 1);
        assert_eq!(first, AuditLink::after(1, &GENESIS, entry()));
        let second = next_link(Some((1, first.hash.to_vec())), entry());
        assert_eq!(second, AuditLink::after(2, &first.hash, entry()));
        assert_eq!(hash_of(vec![1, 2]), [0xff; 32]);
    }

    #[test]
    fn binds_match_placeholders() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            let link = next_link(None, entry());
            for step in [
                tail(dialect, "o"),
                insert(dialect, "o", &link),
                page(dialect, "o", 0, 10),
            ] {
                crate::sql::assert_binds_match(&step);
            }
        }
    }
}
