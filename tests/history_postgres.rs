//! `[history] url`: `fleetwatch record` on a real PostgreSQL the test starts. Two recorders
//! for different hosts write one database side by side; a third for hosts already recorded is
//! refused by name; once a recorder is killed (-9), its hosts are taken by the next at once;
//! `history` and `at` read what they all wrote.
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit::postgres::Postgres;
use fleetwatch_testkit::reaped::Reaped;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A test-driver node file for host `h` with one running VM of its own.
fn node(dir: &Path, h: &str) -> PathBuf {
    let path = dir.join(format!("{h}.xml"));
    let n = h.bytes().map(u32::from).sum::<u32>() % 100;
    let xml = format!(
        "<node><cpu><mhz>2000</mhz><model>x</model><nodes>1</nodes><sockets>1</sockets><cores>8</cores>\
         <threads>1</threads></cpu><memory>16777216</memory>\
         <domain type='test'><name>app-{h}</name><uuid>0a0a0a0a-1111-4222-8333-4444444444{n:02}</uuid>\
         <memory unit='MiB'>1024</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain></node>"
    );
    std::fs::write(&path, xml).unwrap();
    path
}

fn config(dir: &Path, name: &str, hosts: &[&str], url: &str) -> PathBuf {
    let mut text = format!("[poll]\ninterval = \"1s\"\n\n[history]\nurl = {url:?}\n");
    for h in hosts {
        let file = node(dir, h);
        text.push_str(&format!(
            "\n[[host]]\nname = \"{h}\"\nuri = \"test://{}\"\n",
            file.display()
        ));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn fleetwatch(data: &Path, cfg: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fleetwatch"));
    c.env("XDG_DATA_HOME", data)
        .env("XDG_STATE_HOME", data)
        .env_remove("PGPASSWORD")
        .arg("--config")
        .arg(cfg);
    c
}

fn record(data: &Path, cfg: &Path) -> Reaped {
    Reaped::new(
        fleetwatch(data, cfg)
            .arg("record")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    )
}

/// Host name -> (state, VMs) of `at -2s` over the whole fleet.
fn fleet_at(data: &Path, cfg: &Path) -> Vec<(String, String, usize)> {
    let out = fleetwatch(data, cfg)
        .args(["at", "-2s", "--json"])
        .output()
        .unwrap();
    if !out.status.success() {
        return Vec::new();
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let vms = doc["vms"].as_array().cloned().unwrap_or_default();
    doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let name = h["name"].as_str().unwrap().to_owned();
            let n = vms.iter().filter(|v| v["host"] == h["name"]).count();
            (name, h["state"].as_str().unwrap_or("").to_owned(), n)
        })
        .collect()
}

/// What `record --status --json` says of `cfg`'s hosts.
struct Status {
    code: Option<i32>,
    /// The live recorders: (pid, the hosts each holds), sorted.
    live: Vec<(i64, Vec<String>)>,
    unrecorded: Vec<String>,
}

fn status(data: &Path, cfg: &Path) -> Status {
    let out = fleetwatch(data, cfg)
        .args(["record", "--status", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|h| h.as_str().map(str::to_owned))
            .collect()
    };
    let mut live: Vec<(i64, Vec<String>)> = doc["recorders"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["live"] == true)
        .map(|r| (r["pid"].as_i64().unwrap_or(0), strings(&r["hosts"])))
        .collect();
    live.sort();
    Status {
        code: out.status.code(),
        live,
        unrecorded: strings(&doc["unrecorded"]),
    }
}

fn stop(c: Reaped) -> String {
    let c = c.take();
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    let out = c.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn recorders_share_one_database_by_host_and_a_killed_ones_hosts_are_taken_over() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("fleet_history").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let a = config(data, "a", &["hv-a"], &url);
    let b = config(data, "b", &["hv-b"], &url);
    let all = config(data, "all", &["hv-a", "hv-b"], &url);

    let rec_a = record(data, &a);
    let rec_b = record(data, &b);
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let f = fleet_at(data, &all);
        if f.len() == 2 && f.iter().all(|(_, state, vms)| state == "up" && *vms == 1) {
            break;
        }
        if Instant::now() > end {
            panic!(
                "both hosts not recorded, each by its own recorder, within 30 s: {f:?}\n\
                 a said: {}\nb said: {}",
                stop(rec_a),
                stop(rec_b)
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }

    // record --status: two recorders, one host each, nothing unrecorded.
    let st = status(data, &all);
    assert_eq!(st.code, Some(0), "{:?}", st.live);
    let held = st.live;
    let mut want = vec![
        (i64::from(rec_a.id()), vec!["hv-a".to_owned()]),
        (i64::from(rec_b.id()), vec!["hv-b".to_owned()]),
    ];
    want.sort();
    assert_eq!(held, want);
    assert!(st.unrecorded.is_empty(), "{:?}", st.unrecorded);

    // A second recorder for hv-a while the first lives waits with no host (a standby)...
    let standby = record(data, &a);
    let holders = |cfg: &Path| status(data, cfg).live;
    let until = |what: &str, limit: Duration, ok: &dyn Fn() -> bool| {
        let t = Instant::now();
        while !ok() {
            assert!(
                t.elapsed() < limit,
                "{what}: not within {limit:?}: {:?}",
                holders(&all)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        t.elapsed()
    };
    let sb = i64::from(standby.id());
    until("the standby is there", Duration::from_secs(15), &|| {
        holders(&all).iter().any(|(p, h)| *p == sb && h.is_empty())
    });
    // ...and takes hv-a over once the first is killed (-9: nothing released).
    let mut rec_a = rec_a;
    rec_a.kill().unwrap();
    rec_a.wait().unwrap();
    let took = until("the standby takes hv-a", Duration::from_secs(15), &|| {
        holders(&all)
            .iter()
            .any(|(p, h)| *p == sb && h == &["hv-a".to_owned()])
    });
    eprintln!("standby took over hv-a {took:?} after the kill");
    let said = stop(standby);
    assert!(said.contains("recording no host for now"), "{said}");
    assert!(said.contains("recording 1 host(s) into"), "{said}");

    // What they wrote reads back as history, all hosts together.
    let out = fleetwatch(data, &all)
        .args(["history", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said_b = stop(rec_b);
    // Nobody records now: the check says so and fails.
    let out = fleetwatch(data, &all)
        .args(["record", "--status"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("not recorded now (2): hv-a, hv-b"), "{text}");
    assert!(said_b.contains("recording 1 host(s) into"), "{said_b}");
}

#[test]
fn a_database_that_does_not_answer_is_named_and_nothing_is_written_locally() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgresql://fleet@127.0.0.1:{port}/fleet");
    let cfg = config(data, "gone", &["hv-a"], &url);
    let t = Instant::now();
    let out = fleetwatch(data, &cfg).arg("record").output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains(&format!("127.0.0.1:{port}/fleet")), "{said}");
    assert!(
        t.elapsed() < Duration::from_secs(20),
        "took {:?}",
        t.elapsed()
    );
    let out = fleetwatch(data, &cfg).args(["history"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !data.join("fleetwatch").join("history.db").exists(),
        "a local file was written although the history is a database"
    );
}

/// Live recorders (pid, hosts held) and the hosts none records.
type Check = dyn Fn(&[(i64, usize)], &[String]) -> bool;

/// `n` live recorders holding `each` hosts, and no host unrecorded.
fn even(live: &[(i64, usize)], unrecorded: &[String], n: usize, each: usize) -> bool {
    live.len() == n && live.iter().all(|(_, h)| *h == each) && unrecorded.is_empty()
}

#[test]
fn three_recorders_with_one_config_divide_its_hosts_and_the_rest_take_a_killed_ones() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("shared_config").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let names = ["hv-1", "hv-2", "hv-3", "hv-4", "hv-5", "hv-6"];
    let cfg = config(data, "fleet", &names, &url);
    let mut recs: Vec<Reaped> = (0..3).map(|_| record(data, &cfg)).collect();
    let counts = || {
        let st = status(data, &cfg);
        let live: Vec<(i64, usize)> = st.live.iter().map(|(p, h)| (*p, h.len())).collect();
        (live, st.unrecorded)
    };
    let wait = |what: &str, ok: &Check| {
        let t = Instant::now();
        loop {
            let (live, unrecorded) = counts();
            if ok(&live, &unrecorded) {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(40),
                "{what}: not within 40 s: {live:?}, unrecorded {unrecorded:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    };
    let t = wait("two hosts each", &|l, u| even(l, u, 3, 2));
    eprintln!("three recorders hold two hosts each {t:?} after they started");
    let mut killed = recs.remove(1);
    killed.kill().unwrap();
    killed.wait().unwrap();
    let t = wait("the two left take the killed one's hosts", &|l, u| {
        even(l, u, 2, 3)
    });
    eprintln!("its hosts were taken {t:?} after kill -9");
    for r in recs {
        let said = stop(r);
        assert!(!said.contains("panicked"), "{said}");
        // The survivor kept its two hosts' connections and opened one, not three.
        let last = said
            .lines()
            .rfind(|l| l.contains("recording "))
            .unwrap_or("");
        assert!(
            last.contains("recording 3 host(s)")
                && last.contains("2 still connected, 1 connecting"),
            "a survivor's share change: {said}"
        );
    }
}

/// A recorder that looks to the others like one on another machine: its own host name (a UTS
/// namespace), so its pid means nothing to them and only its lease's age tells them it died.
fn record_elsewhere(data: &Path, cfg: &Path, hostname: &str) -> Reaped {
    let c = fleetwatch(data, cfg);
    let child = fleetwatch_testkit::elsewhere::on_another_machine(c.get_program(), hostname)
        .env("XDG_DATA_HOME", data)
        .env("XDG_STATE_HOME", data)
        .env_remove("PGPASSWORD")
        .args(c.get_args())
        .arg("record")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    Reaped::new(child)
}

#[test]
fn a_recorder_on_another_machine_that_dies_loses_its_hosts_when_its_leases_go_stale() {
    let pg = Postgres::start().unwrap();
    let url = pg.create_db("far_recorders").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let names = ["hv-1", "hv-2", "hv-3", "hv-4"];
    let cfg = config(data, "fleet", &names, &url);
    let mut far = record_elsewhere(data, &cfg, "mgmt-far");
    let near = record(data, &cfg);
    let wait = |what: &str, ok: &dyn Fn(&Status) -> bool| {
        let t = Instant::now();
        loop {
            let st = status(data, &cfg);
            if ok(&st) {
                return t.elapsed();
            }
            assert!(
                t.elapsed() < Duration::from_secs(40),
                "{what}: not within 40 s: {:?}, unrecorded {:?}",
                st.live,
                st.unrecorded
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait("two hosts each", &|st| {
        st.live.len() == 2 && st.live.iter().all(|(_, h)| h.len() == 2) && st.unrecorded.is_empty()
    });
    let far_pid = i64::from(far.id());
    let far_hosts: Vec<String> = status(data, &cfg)
        .live
        .into_iter()
        .find(|(pid, _)| *pid == far_pid)
        .map(|(_, h)| h)
        .expect("the far recorder holds hosts");
    far.kill().unwrap();
    far.wait().unwrap();
    let killed = Instant::now();
    let killed_at = chrono::Utc::now();
    // Its leases are not renewed any more; at the 1 s interval they renew every 0.5 s and go
    // stale after 1.5 s, and the one left takes all four (the pid of another machine's
    // recorder tells this one nothing).
    wait("the recorder left takes the far one's hosts", &|st| {
        st.live.len() == 1 && st.live[0].1.len() == 4 && st.unrecorded.is_empty()
    });
    let took = killed.elapsed();
    eprintln!("a far recorder's hosts were taken {took:?} after kill -9 (interval 1 s)");
    // The time between its last write and the takeover is in each of its hosts' state
    // history, as not recorded; the near recorder's own hosts have no such gap from then on
    // (while the two divided the hosts at the start, a host handed over may have one).
    std::thread::sleep(Duration::from_secs(2));
    let out = fleetwatch(data, &cfg)
        .args(["history", "--json", "--kind", "host-stale"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // (host, when the time not recorded began), to the second.
    let gaps: Vec<(String, chrono::DateTime<chrono::Utc>)> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| {
            e["detail"]
                .as_str()
                .is_some_and(|d| d.starts_with("not recorded for"))
        })
        .map(|e| {
            let at = e["at"].as_str().unwrap_or_default();
            let at = chrono::DateTime::parse_from_rfc3339(at).unwrap().to_utc();
            (e["host"].as_str().unwrap_or_default().to_owned(), at)
        })
        .collect();
    // Its last writes came within an interval of the kill.
    let since_kill =
        |at: &chrono::DateTime<chrono::Utc>| *at >= killed_at - chrono::Duration::seconds(3);
    for h in &far_hosts {
        assert!(
            gaps.iter().any(|(g, at)| g == h && since_kill(at)),
            "{h}, taken over, has its gap: {doc}"
        );
    }
    let own: Vec<_> = gaps
        .iter()
        .filter(|(h, at)| !far_hosts.contains(h) && *at >= killed_at)
        .collect();
    assert!(
        own.is_empty(),
        "the near recorder's own hosts were recorded throughout: {own:?}"
    );
    let said = stop(near);
    assert!(!said.contains("panicked"), "{said}");
}
