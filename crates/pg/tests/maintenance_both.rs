#![allow(clippy::unwrap_used)]
//! Hosts in maintenance on both stores, with the same answers: SQLite in a temporary file and
//! PostgreSQL on a real server the test starts. What an evacuation moved away survives the
//! process (a new connection reads it), a VM back home leaves the list, a second evacuation of
//! the same host replaces the first, and a row whose VMs cannot be read is an error naming the
//! host, never an empty list a return would act on.

use fleetwatch_core::actions::evacuate::Move;
use fleetwatch_core::actions::maintenance::Maintenance;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::{HistoryRead, MaintenanceStore};
use fleetwatch_pg::PgStore;
use fleetwatch_testkit::postgres::Postgres;

fn mv(vm: &str, to: &str) -> Move {
    Move {
        vm: vm.into(),
        uuid: format!("u-{vm}"),
        from: "hv1".into(),
        to: to.into(),
        memory_bytes: 2 << 30,
    }
}

/// Evacuates hv1 and hv3, brings one VM back, ends hv3's; what a fresh reader saw each time.
fn scenario<S: MaintenanceStore>(
    store: &mut S,
    read: &dyn Fn() -> Vec<Maintenance>,
) -> Vec<String> {
    let mut seen = Vec::new();
    let mut m = Maintenance::new("hv1", "ann", 1000);
    store.put_maintenance(&m).unwrap();
    m.left(mv("web", "hv2"));
    store.put_maintenance(&m).unwrap();
    m.left(mv("db \"primary\"", "hv3"));
    store.put_maintenance(&m).unwrap();
    let other = Maintenance::new("hv3", "bob", 2000);
    store.put_maintenance(&other).unwrap();
    let now = read();
    assert_eq!(now, vec![m.clone(), other.clone()], "oldest first, whole");
    seen.push(format!("{now:?}"));
    m.back("u-web");
    store.put_maintenance(&m).unwrap();
    let now = read();
    assert_eq!(now[0].away, vec![mv("db \"primary\"", "hv3")]);
    assert!(store.end_maintenance("hv3").unwrap());
    assert!(!store.end_maintenance("hv3").unwrap(), "gone already");
    let now = read();
    assert_eq!(now, vec![m.clone()]);
    seen.push(format!("{now:?}"));
    // Evacuated again by someone else: theirs now.
    let again = Maintenance::new("hv1", "carol", 3000);
    store.put_maintenance(&again).unwrap();
    assert_eq!(read(), vec![again]);
    seen
}

#[test]
fn both_stores_keep_the_same_hosts_in_maintenance() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.db");
    let mut sqlite = SqliteStore::open_rw(&path).unwrap();
    let a = scenario(&mut sqlite, &|| {
        SqliteStore::open_ro(&path).unwrap().maintenance().unwrap()
    });
    // A row spoiled by hand: named, not read as nothing away.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute(
        "UPDATE maintenance SET away = '[{\"vm\":' WHERE host = 'hv1'",
        [],
    )
    .unwrap();
    let e = SqliteStore::open_ro(&path)
        .unwrap()
        .maintenance()
        .unwrap_err();
    assert!(
        e.to_string().contains("maintenance") && e.to_string().contains("\"hv1\""),
        "{e}"
    );

    let pg = Postgres::start().unwrap();
    let url = pg.create_db("maint").unwrap();
    let mut store = PgStore::open_rw(&url, None).unwrap();
    let b = scenario(&mut store, &|| {
        PgStore::open_ro(&url, None).unwrap().maintenance().unwrap()
    });
    assert_eq!(a, b);
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.execute("UPDATE maintenance SET away = 'no' WHERE host = 'hv1'", &[])
        .unwrap();
    let e = PgStore::open_ro(&url, None)
        .unwrap()
        .maintenance()
        .unwrap_err();
    assert!(e.to_string().contains("\"hv1\""), "{e}");
}
