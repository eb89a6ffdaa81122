#![allow(clippy::unwrap_used)]
//! The PostgreSQL store's schema on a real server the test starts (Debian's postgresql, a
//! cluster in a temporary folder on 127.0.0.1, stopped at the end).

use fleetwatch_pg::{ConnectError, SchemaError, VERSION, connect, migrate};
use fleetwatch_testkit::postgres::Postgres;

#[test]
fn a_new_database_is_migrated_once_even_by_two_at_once_and_a_newer_one_is_refused() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("race").unwrap();
    // Two recorders starting together: both succeed, one schema.
    let racers: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let (mut c, _) = connect(&url, None).unwrap();
                migrate(&mut c).map_err(|e| format!("{e:?}"))
            })
        })
        .collect();
    for r in racers {
        r.join().unwrap().unwrap();
    }
    let (mut c, name) = connect(&url, None).unwrap();
    assert_eq!(name, format!("fleet@127.0.0.1:{}/race", pg.port()));
    assert_eq!(fleetwatch_pg::schema::version(&mut c).unwrap(), VERSION);
    let rows: i64 = c
        .query_one("SELECT COUNT(*) FROM fleetwatch_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
    // Again: nothing to do.
    migrate(&mut c).unwrap();

    // Written by a newer fleetwatch: refused, and left as it was.
    c.execute(
        "UPDATE fleetwatch_schema SET version = $1",
        &[&(VERSION + 1)],
    )
    .unwrap();
    match migrate(&mut c) {
        Err(SchemaError::Newer { found }) => assert_eq!(found, VERSION + 1),
        other => panic!("a newer schema was not refused: {other:?}"),
    }
    assert_eq!(fleetwatch_pg::schema::version(&mut c).unwrap(), VERSION + 1);

    // A database that is not there is named, with the server's word.
    let e = connect(&pg.url("nosuchdb"), None).err().expect("connected");
    let said = e.to_string();
    assert!(matches!(e, ConnectError::Connect { .. }), "{said}");
    assert!(
        said.contains("/nosuchdb") && said.contains("does not exist"),
        "{said}"
    );
}

#[test]
fn a_server_that_is_not_there_is_named_and_does_not_hang() {
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = connect(&format!("postgresql://fleet@127.0.0.1:{port}/fleet"), None)
        .err()
        .expect("connected");
    let said = e.to_string();
    assert!(said.contains(&format!("127.0.0.1:{port}/fleet")), "{said}");
}

#[test]
fn a_password_in_the_url_or_a_bad_url_is_refused_by_name() {
    let e = connect("postgresql://fleet:s3cret@127.0.0.1:1/fleet", None)
        .err()
        .expect("connected");
    let said = e.to_string();
    assert!(matches!(e, ConnectError::PasswordInUrl { .. }), "{said}");
    assert!(
        !said.contains("s3cret"),
        "the message repeats the secret: {said}"
    );
    let e = connect("mysql://x@y/z", None).err().expect("connected");
    assert!(e.to_string().contains("mysql://x@y/z"), "{e}");
}

#[test]
fn a_password_file_others_can_read_is_refused_by_name() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile_dir();
    let f = dir.join("pw");
    std::fs::write(&f, "s3cret\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    let e = connect("postgresql://fleet@127.0.0.1:1/fleet", Some(&f))
        .err()
        .expect("connected");
    let said = e.to_string();
    assert!(said.contains("pw") && said.contains("chmod 600"), "{said}");
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("fleetwatch-pg-test-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_version_1_database_is_brought_forward_keeping_its_leases() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("old").unwrap();
    let (mut c, _) = connect(&url, None).unwrap();
    fleetwatch_pg::schema::migrate_to(&mut c, 1).unwrap();
    assert_eq!(fleetwatch_pg::schema::version(&mut c).unwrap(), 1);
    // What a version 1 recorder left: a lease row without its renewal pace.
    c.execute(
        "INSERT INTO leases (host, holder, pid, hostname, heartbeat) VALUES ('hv-1', 'old', 7, 'mgmt', 1000)",
        &[],
    )
    .unwrap();
    migrate(&mut c).unwrap();
    assert_eq!(fleetwatch_pg::schema::version(&mut c).unwrap(), VERSION);
    let row = c
        .query_one(
            "SELECT holder, renew_ms FROM leases WHERE host = 'hv-1'",
            &[],
        )
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "old");
    // It renewed at the only pace version 1 knew.
    assert_eq!(row.get::<_, i64>(1), 5_000);
    let live: i64 = c
        .query_one("SELECT COUNT(*) FROM live_hosts", &[])
        .unwrap()
        .get(0);
    assert_eq!(live, 0);
}
