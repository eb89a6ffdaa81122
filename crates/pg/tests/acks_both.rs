#![allow(clippy::unwrap_used)]
//! Acknowledged findings on both stores, with the same answers: SQLite in a temporary file and
//! PostgreSQL on a real server the test starts. A change is written with its audit record or
//! not at all; a second operator's acknowledgement of the same finding replaces the first.

use fleetwatch_core::actions::{Operator, record::Record};
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::{AckStore, HistoryRead};
use fleetwatch_core::model::acks::{Ack, DEFAULT_FOR};
use fleetwatch_core::model::findings::Kind;
use fleetwatch_pg::PgStore;
use fleetwatch_testkit::postgres::Postgres;

fn audit(action: &str) -> Record {
    let op = Operator {
        user: "ann".into(),
        ssh_from: None,
    };
    Record::new(action, "done", &op, action)
}

/// Acknowledges, re-acknowledges, ends; returns what each step left, for comparing stores.
fn scenario<S: AckStore + HistoryRead>(
    store: &mut S,
    read: &dyn Fn() -> Vec<Record>,
) -> Vec<String> {
    let mut seen = Vec::new();
    let a = Ack::new(Kind::Unbacked, "u-1", "ann", "CHG-1", 1000, DEFAULT_FOR).unwrap();
    store.put_ack(&a, &audit("ack")).unwrap();
    let b = Ack::new(
        Kind::Unbacked,
        "u-1",
        "bob",
        "CHG-2, mine now",
        2000,
        DEFAULT_FOR,
    )
    .unwrap();
    store.put_ack(&b, &audit("ack")).unwrap();
    let c = Ack::new(
        Kind::HostDown,
        "hv-3",
        "bob",
        "rack power work",
        3000,
        DEFAULT_FOR,
    )
    .unwrap();
    store.put_ack(&c, &audit("ack")).unwrap();
    let all = store.acks().unwrap();
    seen.push(format!("{all:?}"));
    assert_eq!(all.len(), 2, "one per kind and subject: {all:?}");
    assert_eq!(all[0], b, "the second replaced the first");
    assert!(
        store
            .end_ack(Kind::Unbacked, "u-1", &audit("unack"))
            .unwrap()
    );
    assert!(
        !store
            .end_ack(Kind::Unbacked, "u-1", &audit("unack"))
            .unwrap(),
        "gone already"
    );
    seen.push(format!("{:?}", store.acks().unwrap()));
    let actions: Vec<String> = read().iter().map(|r| r.action.clone()).collect();
    assert_eq!(
        actions,
        ["ack", "ack", "ack", "unack"],
        "an end that ended nothing is not audited"
    );
    seen.push(format!("{actions:?}"));
    seen
}

#[test]
fn both_stores_keep_the_same_acknowledgements_and_audit_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut sqlite = SqliteStore::open_rw(&path).unwrap();
    let a = scenario(&mut sqlite, &|| {
        SqliteStore::open_ro(&path).unwrap().audit().unwrap()
    });

    let pg = Postgres::start().unwrap();
    let url = pg.create_db("acks").unwrap();
    let mut store = PgStore::open_rw(&url, None).unwrap();
    let b = scenario(&mut store, &|| {
        PgStore::open_ro(&url, None).unwrap().audit().unwrap()
    });
    assert_eq!(a, b);
    // Another operator's reader sees them at once: the store is shared.
    let other = PgStore::open_ro(&url, None).unwrap();
    assert_eq!(other.acks().unwrap().len(), 1);
}
