//! A TUI watching through the shared store (`--store`): `fleetwatch record` writes a real
//! PostgreSQL the test starts, and the client's feed turns what it wrote back into the fleet
//! the collectors would have shown: every VM with its config and rates, hosts going stale when
//! their recorder dies, and hostile or broken rows cleaned or skipped, never a panic.
#![allow(clippy::unwrap_used)]

use fleetwatch::app::{apply, client};
use fleetwatch::ui::bindings::key_rules;
use fleetwatch_core::config::Config;
use fleetwatch_core::link::{LinkState, Mailbox, MailboxReceiver};
use fleetwatch_core::model::Fleet;
use fleetwatch_testkit::postgres::Postgres;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn node(dir: &Path, h: &str) -> String {
    let path = dir.join(format!("{h}.xml"));
    let n = h.bytes().map(u32::from).sum::<u32>() % 100;
    let dom = |i: u32| {
        format!(
            "<domain type='test'><name>{h}-vm{i}</name>\
             <uuid>0b0b0b0b-1111-4222-8333-4444444{n:03}{i:02}</uuid>\
             <memory unit='MiB'>1024</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os>\
             <devices><disk type='file' device='disk'><source file='/images/{h}-vm{i}.qcow2'/>\
             <target dev='vda'/></disk></devices></domain>"
        )
    };
    // One VM defined on both hosts (a split brain, or a migration's source copy): one batch
    // writes two configs of one UUID, which once failed every write of the live fleet.
    let both = "<domain type='test'><name>twice</name><uuid>0b0b0b0b-1111-4222-8333-999999999999</uuid>\
         <memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";
    let xml = format!(
        "<node><cpu><mhz>2000</mhz><model>x</model><nodes>1</nodes><sockets>1</sockets><cores>8</cores>\
         <threads>1</threads></cpu><memory>16777216</memory>{}{}{both}</node>",
        dom(1),
        dom(2)
    );
    std::fs::write(&path, xml).unwrap();
    path.display().to_string()
}

/// Messages until `ok` holds of the fleet they built, or 30 s.
fn until(rx: &mut MailboxReceiver, fleet: &mut Fleet, what: &str, ok: &dyn Fn(&Fleet) -> bool) {
    let end = Instant::now() + Duration::from_secs(30);
    while !ok(fleet) {
        assert!(Instant::now() < end, "{what}: not within 30 s");
        match rx.try_recv() {
            Some(m) => apply(fleet, m),
            None => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

#[test]
fn a_store_client_shows_what_the_recorder_sees_and_says_when_nobody_records() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("client").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let mut text = format!("[poll]\ninterval = \"1s\"\n\n[history]\nurl = {url:?}\n");
    for h in ["hv-1", "hv-2"] {
        let uri = node(data, h);
        text.push_str(&format!(
            "\n[[host]]\nname = \"{h}\"\nuri = \"test://{uri}\"\n"
        ));
    }
    let cfg_path = data.join("fleet.toml");
    std::fs::write(&cfg_path, &text).unwrap();
    let mut recorder = fleetwatch_testkit::reaped::Reaped::new(
        Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
            .env("XDG_DATA_HOME", data)
            .env("XDG_STATE_HOME", data)
            .arg("--config")
            .arg(&cfg_path)
            .arg("record")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );

    let mut config = Config::parse(&text, Some(&cfg_path), &key_rules()).unwrap();
    config.history.client = true;
    let (tx, mut rx) = Mailbox::new(config.hosts.len());
    let _acting = client::start(&config, tx).unwrap();
    let mut fleet = Fleet::new(&config.hosts);
    until(
        &mut rx,
        &mut fleet,
        "every VM, with its config and a CPU rate",
        &|f| {
            f.vms().count() == 5
                && f.hosts.iter().all(|h| h.vms.len() == 3)
                && f.vms()
                    .all(|v| v.config.is_some() && v.cpu_percent.is_some())
                && f.hosts.iter().all(|h| h.link == LinkState::Up)
        },
    );
    let vm = fleet.vms().find(|v| v.name == "hv-2-vm1").unwrap();
    assert_eq!(fleet.hosts[vm.host].name, "hv-2");
    let disk = &vm.config.as_ref().unwrap().disks[0];
    assert_eq!(disk.path, "/images/hv-2-vm1.qcow2");

    // The recorder dies: nothing renews its rows, and the client says so per host.
    recorder.kill().unwrap();
    recorder.wait().unwrap();
    until(&mut rx, &mut fleet, "hosts stale, the reason said", &|f| {
        f.hosts.iter().all(|h| {
            h.link == LinkState::Stale
                && h.error
                    .as_deref()
                    .is_some_and(|e| e.contains("no recorder has written this host"))
        })
    });

    // Someone with write access to the shared database writes hostile and broken rows.
    let (mut db, _) = fleetwatch_pg::connect(&url, None).unwrap();
    let sample: String = db
        .query_one("SELECT sample FROM live_hosts WHERE host = 'hv-1'", &[])
        .unwrap()
        .get(0);
    let mut doc: serde_json::Value = serde_json::from_str(&sample).unwrap();
    doc["domains"][0][1] = "\u{1b}]0;owned\u{7}evil\u{1b}[2J".into();
    // Newer than what the client has, or it would be taken for one it saw.
    let later = chrono::Utc::now() + chrono::Duration::seconds(5);
    doc["wall"] = later.to_rfc3339().into();
    let hostile = doc.to_string();
    db.execute(
        "UPDATE live_hosts SET seq = nextval('live_seq'), written = (extract(epoch FROM clock_timestamp()) * 1000)::bigint, sample = $1, error = $2 WHERE host = 'hv-1'",
        &[&hostile, &"\u{1b}[31mred\u{1b}[0m"],
    )
    .unwrap();
    db.execute(
        "UPDATE live_hosts SET seq = nextval('live_seq'), written = (extract(epoch FROM clock_timestamp()) * 1000)::bigint, sample = 'not a sample {' WHERE host = 'hv-2'",
        &[],
    )
    .unwrap();
    until(
        &mut rx,
        &mut fleet,
        "the hostile name shown cleaned",
        &|f| f.vms().any(|v| v.name.contains("evil")),
    );
    for v in fleet.vms() {
        assert!(
            !v.name.contains('\u{1b}') && !v.name.contains('\u{7}'),
            "{:?}",
            v.name
        );
    }
    for h in &fleet.hosts {
        let e = h.error.as_deref().unwrap_or("");
        assert!(!e.contains('\u{1b}'), "{e:?}");
    }
    // The broken row was skipped: hv-2 keeps what it showed.
    assert_eq!(fleet.hosts[1].vms.len(), 3);
}
