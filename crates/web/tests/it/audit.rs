//! The audit log on both databases: entries appended by racing writers form one
//! unbroken chain, the database refuses to change or delete one, and an entry changed
//! past the database's guard is named by the verification.

use careloop_domain::OrgId;
use careloop_domain::audit::{self, AuditLink, Broken, GENESIS};

use crate::harness::{Db, TestApp};

crate::on_both_backends!(
    racing_writers_append_one_unbroken_chain,
    the_database_refuses_to_change_or_delete_an_entry,
    an_entry_changed_behind_the_guard_is_named,
);

async fn all(app: &TestApp) -> Vec<AuditLink> {
    app.store
        .audit_page(&OrgId::default_org(), 0, 1_000)
        .await
        .unwrap()
}

async fn appended(app: &TestApp, n: usize) {
    let org = OrgId::default_org();
    let writes = (0..n).map(|i| {
        let store = app.store.clone();
        let org = org.clone();
        tokio::spawn(async move {
            store
                .audit(
                    &org,
                    &format!("staff:s{}", i % 3),
                    "patient.read",
                    &format!("Patient/p{i}"),
                )
                .await
                .unwrap()
        })
    });
    for write in writes.collect::<Vec<_>>() {
        write.await.unwrap();
    }
}

async fn racing_writers_append_one_unbroken_chain(app: &TestApp) {
    assert_eq!(audit::verify(&all(app).await, GENESIS, 1), Ok((GENESIS, 1)));
    appended(app, 40).await;
    let links = all(app).await;
    assert_eq!(links.len(), 40);
    let (last, next) = audit::verify(&links, GENESIS, 1).unwrap();
    assert_eq!((last, next), (links[39].hash, 41));
    // Each write is there once, whatever order they landed in.
    let mut subjects: Vec<&str> = links.iter().map(|l| l.entry.subject.as_str()).collect();
    subjects.sort_unstable();
    subjects.dedup();
    assert_eq!(subjects.len(), 40);
    // Read a page at a time, it checks the same.
    let org = OrgId::default_org();
    let first = app.store.audit_page(&org, 0, 15).await.unwrap();
    let rest = app.store.audit_page(&org, 15, 1_000).await.unwrap();
    let (previous, next) = audit::verify(&first, GENESIS, 1).unwrap();
    assert_eq!(audit::verify(&rest, previous, next), Ok((last, 41)));
}

async fn the_database_refuses_to_change_or_delete_an_entry(app: &TestApp) {
    appended(app, 3).await;
    let before = all(app).await;
    for sql in [
        "UPDATE {schema}.audit_log SET actor = 'staff:nobody' WHERE seq = 2",
        "DELETE FROM {schema}.audit_log WHERE seq = 3",
    ] {
        let refused = app.raw_execute(sql).await.unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
    }
    if let Db::Postgres { .. } = app.db {
        let refused = app
            .raw_execute("TRUNCATE {schema}.audit_log")
            .await
            .unwrap_err();
        assert!(refused.to_string().contains("append-only"), "{refused}");
    }
    assert_eq!(all(app).await, before);
}

async fn an_entry_changed_behind_the_guard_is_named(app: &TestApp) {
    appended(app, 5).await;
    let drop_guard = match app.db {
        Db::Sqlite { .. } => "DROP TRIGGER audit_log_no_update",
        Db::Postgres { .. } => "DROP TRIGGER audit_log_no_change ON {schema}.audit_log",
    };
    app.raw_execute(drop_guard).await.unwrap();
    let changed = app
        .raw_execute("UPDATE {schema}.audit_log SET subject = 'Patient/other' WHERE seq = 4")
        .await
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(
        audit::verify(&all(app).await, GENESIS, 1),
        Err(Broken::Altered { seq: 4 })
    );
    // The chain goes on after it, and still names it.
    appended(app, 1).await;
    let links = all(app).await;
    assert_eq!(links.len(), 6);
    assert_eq!(
        audit::verify(&links, GENESIS, 1),
        Err(Broken::Altered { seq: 4 })
    );
}
