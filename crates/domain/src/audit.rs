//! The audit log's hash chain. Each entry's hash covers the entry and the hash of the one
//! before it, so an entry changed, removed or slipped in after it was written breaks the
//! chain from that entry on, and [`verify`] names the first one that does not hold.
//!
//! Entries name who did what to which record (`Patient/…`), never what the record says.

use sha2::{Digest, Sha256};

/// The hash the first entry of a chain links to.
pub const GENESIS: [u8; 32] = [0; 32];

/// What happened, as written to the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// When, in microseconds since the Unix epoch.
    pub at_us: i64,
    /// Who: `staff:<id>`, `token:<name>`, `cli`.
    pub actor: String,
    /// What: `patient.read`, `patient.erase`, `conversation.read`, …
    pub action: String,
    /// To which record: `Patient/123`.
    pub subject: String,
}

/// An entry at its place in the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditLink {
    /// Its place: 1 for the first entry, then one more each.
    pub seq: i64,
    pub entry: AuditEntry,
    /// [`link_hash`] of the entry and the hash before it.
    pub hash: [u8; 32],
}

impl AuditLink {
    /// `entry` written after the entry at `seq - 1`, whose hash was `previous`.
    pub fn after(seq: i64, previous: &[u8; 32], entry: AuditEntry) -> Self {
        let hash = link_hash(previous, seq, &entry);
        Self { seq, entry, hash }
    }
}

/// The hash of the entry at `seq` written after one whose hash was `previous`. Every
/// field is length-prefixed, so no two different entries hash alike by shifting text
/// from one field to the next.
pub fn link_hash(previous: &[u8; 32], seq: i64, entry: &AuditEntry) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(seq.to_be_bytes());
    hasher.update(entry.at_us.to_be_bytes());
    for field in [&entry.actor, &entry.action, &entry.subject] {
        let length = u64::try_from(field.len()).unwrap_or(u64::MAX);
        hasher.update(length.to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().into()
}

/// Why a chain does not hold at an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("audit entry {seq} does not match its hash: it was changed after it was written")]
    Altered { seq: i64 },
    #[error("audit entry {expected} is missing (the next one found is {found})")]
    Missing { expected: i64, found: i64 },
}

/// Checks a chain link by link, in order; `previous` is the hash before the first link
/// given and `next_seq` its place ([`GENESIS`] and 1 for a whole chain), so a long chain
/// can be checked a page at a time. Returns the state to go on from after the page.
pub fn verify<'a>(
    links: impl IntoIterator<Item = &'a AuditLink>,
    mut previous: [u8; 32],
    mut next_seq: i64,
) -> Result<([u8; 32], i64), Broken> {
    for link in links {
        if link.seq != next_seq {
            return Err(Broken::Missing {
                expected: next_seq,
                found: link.seq,
            });
        }
        if link_hash(&previous, link.seq, &link.entry) != link.hash {
            return Err(Broken::Altered { seq: link.seq });
        }
        previous = link.hash;
        next_seq += 1;
    }
    Ok((previous, next_seq))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(n: i64) -> AuditEntry {
        AuditEntry {
            at_us: 1_700_000_000_000_000 + n,
            actor: "staff:nurse-1".into(),
            action: "patient.read".into(),
            subject: format!("Patient/p{n}"),
        }
    }

    fn chain(n: i64) -> Vec<AuditLink> {
        let mut links: Vec<AuditLink> = Vec::new();
        for seq in 1..=n {
            let previous = links.last().map_or(GENESIS, |l| l.hash);
            links.push(AuditLink::after(seq, &previous, entry(seq)));
        }
        links
    }

    #[test]
    fn a_chain_as_written_holds_and_can_be_checked_in_pages() {
        let links = chain(10);
        assert_eq!(
            verify(&links, GENESIS, 1),
            Ok((links[9].hash, 11)),
            "all at once"
        );
        let (previous, next) = verify(&links[..4], GENESIS, 1).unwrap();
        assert_eq!(verify(&links[4..], previous, next), Ok((links[9].hash, 11)));
        assert_eq!(
            verify(&[], GENESIS, 1),
            Ok((GENESIS, 1)),
            "an empty log holds"
        );
    }

    #[test]
    fn a_changed_entry_is_named() {
        let mut links = chain(5);
        links[2].entry.subject = "Patient/someone-else".into();
        assert_eq!(verify(&links, GENESIS, 1), Err(Broken::Altered { seq: 3 }));
        // Rewriting its hash too only moves the break to the next entry.
        links[2].hash = link_hash(&links[1].hash, 3, &links[2].entry);
        assert_eq!(verify(&links, GENESIS, 1), Err(Broken::Altered { seq: 4 }));
    }

    #[test]
    fn a_removed_entry_is_named() {
        let mut links = chain(5);
        links.remove(1);
        assert_eq!(
            verify(&links, GENESIS, 1),
            Err(Broken::Missing {
                expected: 2,
                found: 3
            })
        );
    }

    #[test]
    fn text_moved_between_fields_changes_the_hash() {
        let a = AuditEntry {
            actor: "staff:a".into(),
            action: "bpatient.read".into(),
            ..entry(1)
        };
        let b = AuditEntry {
            actor: "staff:ab".into(),
            action: "patient.read".into(),
            ..entry(1)
        };
        assert_ne!(link_hash(&GENESIS, 1, &a), link_hash(&GENESIS, 1, &b));
    }

    proptest! {
        #[test]
        fn any_change_to_any_entry_breaks_the_chain_there(
            n in 1i64..20,
            at in 0usize..20,
            field in 0u8..4,
        ) {
            let mut links = chain(n);
            let at = at % links.len();
            match field {
                0 => links[at].entry.at_us += 1,
                1 => links[at].entry.actor.push('x'),
                2 => links[at].entry.action.push('x'),
                _ => links[at].entry.subject.push('x'),
            }
            let seq = links[at].seq;
            prop_assert_eq!(verify(&links, GENESIS, 1), Err(Broken::Altered { seq }));
        }
    }
}
