#![allow(clippy::unwrap_used)]
//! The collectors against the demo fleet through libvirt's real test driver, and the
//! `snapshot` command as a user runs it.

use fleetwatch::app::{apply, start_collectors};
use fleetwatch_core::link::{LinkState, Update};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::VmState;
use serde_json::Value;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// What the demo files say, read independently of fleetwatch's own parser.
fn expected() -> HashMap<String, (String, VmState, u32)> {
    let mut out = HashMap::new();
    for entry in std::fs::read_dir("assets/demo").unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "xml") {
            continue;
        }
        let host = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        let doc = roxmltree::Document::parse(&text).unwrap();
        for d in doc
            .root_element()
            .children()
            .filter(|n| n.has_tag_name("domain"))
        {
            let get = |t: &str| {
                d.children()
                    .find(|n| n.has_tag_name(t))
                    .and_then(|n| n.text())
                    .map(str::trim)
            };
            let state = match get("runstate") {
                None | Some("1") | Some("2") => VmState::Running,
                Some("3") => VmState::Paused,
                Some("5") => VmState::Shutoff,
                Some(other) => panic!("demo uses runstate {other}"),
            };
            let vcpus = get("vcpu").unwrap().parse().unwrap();
            out.insert(
                get("uuid").unwrap().to_owned(),
                (host.clone(), state, vcpus),
            );
        }
    }
    out
}

#[test]
fn demo_fleet_through_the_test_driver() {
    let demo = fleetwatch::demo::write().unwrap();
    let (tx, mut rx) = fleetwatch_core::link::Mailbox::new(demo.config.hosts.len());
    let mut cfg = demo.config.clone();
    cfg.poll.interval = Duration::from_millis(300);
    // Disk statistics come on every other poll here: the third sample has a disk rate.
    cfg.poll.slow_stats_every = 2;
    let collectors = start_collectors(&cfg, tx).unwrap();
    let mut fleet = Fleet::new(&cfg.hosts);
    let mut samples = vec![0; cfg.hosts.len()];
    let end = Instant::now() + Duration::from_secs(20);
    // XML is read a few domains a poll, and device counters (the test driver has no bulk
    // groups for them) need it: a domain read late has its disk rate a few polls later.
    let complete = |f: &Fleet| {
        f.vm_count() > 0
            && f.hosts.iter().all(|h| h.configs_pending == Some(0))
            && f.vms()
                .filter(|v| v.state.is_active())
                .all(|v| v.disk_read_bps.is_some() && v.net_rx_bps.is_some())
    };
    while (samples.iter().any(|&n| n < 3) || !complete(&fleet)) && Instant::now() < end {
        match rx.try_recv() {
            Some(m) => {
                if let Update::Sample(_) = m.update {
                    samples[m.host] += 1;
                }
                apply(&mut fleet, m);
            }
            None => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    drop(collectors);
    assert!(samples.iter().all(|&n| n >= 3), "{samples:?}");

    let want = expected();
    assert!(want.len() >= 40, "the demo promises 40+ VMs");
    assert_eq!(fleet.vm_count(), want.len());
    for h in &fleet.hosts {
        assert_eq!(h.link, LinkState::Up, "{}: {:?}", h.name, h.error);
        let info = h.info.as_ref().unwrap();
        assert!(
            info.cpus >= 16 && info.memory_bytes >= 64 << 30,
            "{}: {info:?}",
            h.name
        );
        assert!(!info.is_local, "the test driver is not this machine");
    }
    for (uuid, (host, state, vcpus)) in &want {
        let vm = fleet.vm(uuid).unwrap_or_else(|| panic!("{uuid} missing"));
        assert_eq!(&fleet.hosts[vm.host].name, host, "{}", vm.name);
        assert_eq!(vm.state, *state, "{}", vm.name);
        assert_eq!(vm.vcpus, Some(*vcpus), "{}", vm.name);
        assert!(vm.memory_bytes.unwrap() >= 512 << 20, "{}", vm.name);
        let cfg = vm
            .config
            .as_ref()
            .unwrap_or_else(|| panic!("{}: no XML read", vm.name));
        assert!(!cfg.disks.is_empty() && !cfg.nics.is_empty(), "{}", vm.name);
        if vm.state.is_active() {
            // Filled in from per-domain calls: the test driver's bulk stats carry only state.
            let cpu = vm
                .cpu_percent
                .unwrap_or_else(|| panic!("{}: no CPU%", vm.name));
            assert!(cpu > 0.0 && cpu <= 100.0, "{}: {cpu}", vm.name);
            assert!(vm.disk_read_bps.unwrap() > 0.0, "{}", vm.name);
            assert!(vm.net_rx_bps.unwrap() > 0.0, "{}", vm.name);
        } else {
            assert_eq!(vm.cpu_percent, Some(0.0), "{}", vm.name);
        }
    }
    assert!(fleet.vms().any(|v| v.state == VmState::Paused));
    assert!(fleet.vms().any(|v| v.state == VmState::Shutoff));
    let shared = &demo.config.policy.shared_storage;
    let disks: Vec<bool> = fleet
        .vms()
        .flat_map(|v| v.config.as_ref().unwrap().disks.clone())
        .map(|d| fleetwatch_core::model::storage::is_shared(&d, shared))
        .collect();
    assert!(
        disks.contains(&true) && disks.contains(&false),
        "demo has shared and local disks"
    );
}

fn run(args: &[&str]) -> (i32, String, String) {
    fleetwatch_testkit::run_cli(env!("CARGO_BIN_EXE_fleetwatch"), args)
}

#[test]
fn snapshot_json_has_the_promised_shape() {
    let (code, out, err) = run(&["--demo", "snapshot", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    chrono::DateTime::parse_from_rfc3339(doc["taken_at"].as_str().unwrap()).unwrap();
    let hosts = doc["hosts"].as_array().unwrap();
    assert_eq!(hosts.len(), 5);
    for h in hosts {
        for k in [
            "name",
            "uri",
            "state",
            "error",
            "cpus",
            "memory_bytes",
            "vm_count",
            "rtt_ms",
            "calls",
            "configs_pending",
        ] {
            assert!(h.get(k).is_some(), "host lacks {k}: {h}");
        }
        assert_eq!(h["state"], "up");
        assert!(
            h["rtt_ms"].as_f64().is_some() && h["calls"].as_u64() > Some(0),
            "{h}"
        );
        // snapshot reads every XML in its first poll.
        assert_eq!(h["configs_pending"], 0, "{h}");
    }
    let vms = doc["vms"].as_array().unwrap();
    assert_eq!(vms.len(), expected().len());
    for v in vms {
        for k in [
            "uuid",
            "name",
            "host",
            "state",
            "vcpus",
            "memory_bytes",
            "cpu_percent",
            "disk_read_bps",
            "disk_write_bps",
            "net_rx_bps",
            "net_tx_bps",
            "flags",
        ] {
            assert!(v.get(k).is_some(), "vm lacks {k}: {v}");
        }
        assert!(
            ["running", "paused", "shutoff", "crashed", "other"]
                .contains(&v["state"].as_str().unwrap())
        );
        assert!(v["flags"].is_array());
        assert!(v["disks"].is_array() && v["nics"].is_array(), "{v}");
        if v["state"] == "running" {
            assert!(v["cpu_percent"].as_f64().unwrap() > 0.0, "{v}");
        }
    }
    // Every running demo guest has addresses of its own (from its network's DHCP range, through
    // the test driver) and a hostname; a stopped one has none.
    let mut seen = std::collections::HashMap::new();
    for v in vms {
        if v["state"] == "shutoff" {
            assert_eq!(v["addresses"], serde_json::json!([]), "{v}");
            assert!(v["guest_hostname"].is_null(), "{v}");
        }
        if v["state"] != "running" {
            continue;
        }
        let addrs = v["addresses"].as_array().unwrap();
        assert!(!addrs.is_empty(), "{v}");
        assert_eq!(v["address_source"], "agent", "{v}");
        assert!(
            v["guest_hostname"].as_str().is_some_and(|h| !h.is_empty()),
            "{v}"
        );
        for a in addrs {
            let ip: std::net::IpAddr = a["address"].as_str().unwrap().parse().unwrap();
            assert!(a["prefix"].as_u64() == Some(24), "{a}");
            let name = v["name"].as_str().unwrap();
            if let Some(other) = seen.insert(ip, name) {
                panic!("{ip} reported by {other} and {name}");
            }
        }
    }
}

#[test]
fn unreachable_host_is_down_with_the_error_while_others_are_up() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    std::fs::write(
        &cfg,
        "[poll]\ninterval = \"500ms\"\ntimeout = \"3s\"\n\
         [[host]]\nname = \"ok\"\nuri = \"test:///default\"\n\
         [[host]]\nname = \"gone\"\nuri = \"qemu+tcp://127.0.0.1:1/system\"\n",
    )
    .unwrap();
    let started = Instant::now();
    let (code, out, err) = run(&["--config", cfg.to_str().unwrap(), "snapshot", "--json"]);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(code, 0, "{err}");
    let doc: Value = serde_json::from_str(&out).unwrap();
    let by = |n: &str| {
        doc["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(by("ok")["state"], "up");
    let gone = by("gone");
    assert_eq!(gone["state"], "down");
    assert!(
        gone["error"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("connect"),
        "{gone}"
    );

    std::fs::write(
        &cfg,
        "[[host]]\nname = \"gone\"\nuri = \"qemu+tcp://127.0.0.1:1/system\"\n",
    )
    .unwrap();
    let (code, out, _) = run(&["--config", cfg.to_str().unwrap(), "snapshot"]);
    assert_eq!(code, 1, "no host up is exit 1");
    assert!(out.contains("gone") && out.contains("down"), "{out}");
}
