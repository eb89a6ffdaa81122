//! Remote transports against the lab's real sshd and TLS listeners: qemu+ssh and qemu+tls as
//! admins use them, an unknown host key named and never answered, a dead ssh link noticed and
//! recovered, no ssh left behind, and a screen that nothing but the UI writes to.

use crate::lab::*;
use std::process::Command;
use std::time::{Duration, Instant};

fn config(name: &str, body: &str) -> String {
    let p = std::env::temp_dir().join(format!("fw-e2e-{name}-{}.toml", std::process::id()));
    std::fs::write(&p, body).unwrap();
    p.to_str().unwrap().to_owned()
}

fn host(name: &str, uri: &str) -> String {
    format!("\n[[host]]\nname = \"{name}\"\nuri = \"{uri}\"\n")
}

fn ssh_config(lab: &Lab, extra: &str) -> String {
    let mut t = String::from("[poll]\ninterval = \"2s\"\ntimeout = \"8s\"\n");
    for n in 1..=lab.hosts() {
        t += &host(&lab.name(n), lab.get(&format!("LAB_SSH_URI_{n}")));
    }
    config(&format!("ssh{extra}"), &t)
}

/// ssh processes (of anyone) going to a lab address: a host's own or its relay's.
fn lab_ssh_processes(lab: &Lab) -> Vec<String> {
    let addrs: Vec<String> = (1..=lab.hosts())
        .flat_map(|n| [format!("LAB_ADDR_{n}"), format!("LAB_DIRECT_ADDR_{n}")])
        .map(|k| lab.get(&k).to_owned())
        .collect();
    let out = Command::new("ps")
        .args(["-eo", "pid=,args="])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| {
            let args = l.trim_start().split_once(' ').map_or("", |(_, a)| a);
            args.starts_with("ssh ") && addrs.iter().any(|a| args.contains(a.as_str()))
        })
        .map(str::to_owned)
        .collect()
}

fn known_hosts_remove(addr: &str) {
    let _ = Command::new("ssh-keygen").args(["-R", addr]).output();
}

fn known_hosts_add(addr: &str) {
    let out = Command::new("ssh-keyscan")
        .args(["-t", "ed25519", addr])
        .output()
        .unwrap();
    assert!(!out.stdout.is_empty(), "ssh-keyscan {addr} found no key");
    let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
    let path = format!("{home}/.ssh/known_hosts");
    let mut text = std::fs::read(&path).unwrap_or_default();
    text.extend_from_slice(&out.stdout);
    std::fs::write(&path, text).unwrap();
}

const PROMPTS: [&str; 4] = ["authenticity", "yes/no", "Are you sure", "password:"];

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn j_snapshot_and_the_tui_over_ssh_with_real_cpu() {
    let lab = Lab::load();
    let cfg = ssh_config(&lab, "");
    let t = Instant::now();
    let doc = snapshot_of(&cfg);
    eprintln!(
        "snapshot over ssh of {} hosts: {:?}",
        lab.hosts(),
        t.elapsed()
    );
    for n in 1..=lab.hosts() {
        let h = &doc["hosts"][n - 1];
        assert_eq!(h["state"], "up", "{h}");
        assert_eq!(h["transport"], "ssh", "{h}");
        eprintln!("  {}: poll {} ms", lab.name(n), h["poll_ms"]);
    }
    let running: Vec<_> = doc["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["state"] == "running")
        .collect();
    assert!(running.len() >= 4 * lab.hosts(), "{doc}");
    assert!(
        running.iter().all(|v| v["cpu_percent"].is_number()),
        "every running guest has a real CPU%: {doc}"
    );
    let hosts = lab.hosts();
    let tui = Tui::start_with(&cfg, 120, 30, "ssh hosts up", move |s| {
        s.contains(&format!("hosts {hosts}/{hosts}"))
    });
    tui.wait_for("CPU% of a guest", Duration::from_secs(10), |s| {
        s.lines()
            .any(|l| l.contains("lab-") && l.contains("running"))
    });
    drop(tui);
    assert_eq!(
        lab_ssh_processes(&lab),
        Vec::<String>::new(),
        "ssh left after quitting"
    );
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn k_an_unknown_host_key_is_named_never_answered_and_f5_brings_the_host_up() {
    let lab = Lab::load();
    // The address fleetwatch's ssh dials (the relay's), which names the host in known_hosts.
    let addr = lab.get("LAB_ADDR_1").to_owned();
    known_hosts_remove(&addr);
    let _restore = Restore(|| {
        known_hosts_remove(&addr);
        known_hosts_add(&addr);
    });
    let body = format!(
        "[poll]\ninterval = \"2s\"\ntimeout = \"8s\"\n{}{}",
        host("ssh-new", lab.get("LAB_SSH_URI_1")),
        host("tcp-one", &lab.uri(2))
    );
    let cfg = config("unknown-key", &body);
    let tui = Tui::start_with(&cfg, 120, 30, "ssh host down, tcp host up", |s| {
        s.lines()
            .any(|l| l.contains("ssh-new") && l.contains("DOWN"))
            && s.lines()
                .any(|l| l.contains("tcp-one") && l.contains(" UP "))
    });
    let s = tui.screen();
    assert!(
        s.contains(&format!("ssh host key of {addr} is not known")),
        "the cause in plain words:\n{s}"
    );
    // Keys still reach the UI, never ssh: the detail opens and shows the next step.
    tui.keys(&["Tab"]);
    tui.keys(&["Enter"]);
    tui.wait_for("host detail", Duration::from_secs(5), |s| {
        s.contains("Host ssh-new") && s.contains("ssh-keyscan")
    });
    for _ in 0..10 {
        let s = tui.screen();
        for p in PROMPTS {
            assert!(!s.contains(p), "prompt text {p:?} on screen:\n{s}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    known_hosts_add(&addr);
    let t = Instant::now();
    tui.keys(&["F5"]);
    tui.keys(&["Escape"]);
    let up = tui.wait_for("ssh host up after F5", Duration::from_secs(15), |s| {
        s.lines()
            .any(|l| l.contains("ssh-new") && l.contains(" UP "))
    });
    eprintln!("after the key was added, F5 brought the host up in {up:?}");
    assert!(t.elapsed() < Duration::from_secs(15));
    tui.keys(&["q"]);
    let gone = Instant::now() + Duration::from_secs(10);
    while tui.alive() && Instant::now() < gone {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!tui.alive(), "q quits");
    assert_eq!(
        lab_ssh_processes(&lab),
        Vec::<String>::new(),
        "ssh left after q"
    );
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn l_a_dead_ssh_link_is_down_within_the_keepalive_window_and_comes_back() {
    let lab = Lab::load();
    let cfg = ssh_config(&lab, "-dead");
    let name = lab.name(1);
    let hosts = lab.hosts();
    let tui = Tui::start_with(&cfg, 120, 30, "ssh hosts up", move |s| {
        s.contains(&format!("hosts {hosts}/{hosts}"))
    });
    let _restore = Restore(|| {
        let _ = Command::new(lab.get("LAB_SCRIPT"))
            .args(["sshd-resume", "1"])
            .output();
        let _ = Command::new(lab.get("LAB_SCRIPT"))
            .args(["sshd-start", "1"])
            .output();
    });
    // A frozen link: every sshd of the host stopped, the TCP connection stays open.
    lab.script(&["sshd-pause", "1"]);
    let t = Instant::now();
    let down = tui.wait_for("frozen ssh link down", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains(&name) && l.contains("DOWN"))
    });
    eprintln!(
        "frozen ssh link DOWN after {down:?}: {}",
        tui.host_line(&name).trim()
    );
    lab.script(&["sshd-resume", "1"]);
    let back = tui.wait_for("ssh host back", Duration::from_secs(45), |s| {
        s.lines().any(|l| l.contains(&name) && l.contains(" UP "))
    });
    eprintln!("resumed: UP again after {back:?}");
    // sshd killed, sessions and all.
    lab.script(&["sshd-stop", "1"]);
    let down = tui.wait_for("killed sshd down", Duration::from_secs(30), |s| {
        s.lines().any(|l| l.contains(&name) && l.contains("DOWN"))
    });
    eprintln!(
        "killed sshd DOWN after {down:?}: {}",
        tui.host_line(&name).trim()
    );
    lab.script(&["sshd-start", "1"]);
    let back = tui.wait_for("ssh host back", Duration::from_secs(45), |s| {
        s.lines().any(|l| l.contains(&name) && l.contains(" UP "))
    });
    eprintln!(
        "sshd restarted: UP again after {back:?} (total {:?})",
        t.elapsed()
    );
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn m_sixty_checks_against_a_hung_ssh_host_leave_no_ssh() {
    let lab = Lab::load();
    let body = format!(
        "[poll]\ninterval = \"1s\"\ntimeout = \"2s\"\n{}",
        host("hung", lab.get("LAB_SSH_URI_1"))
    );
    let cfg = config("hung", &body);
    lab.script(&["sshd-pause", "1"]);
    let _restore = Restore(|| {
        let _ = Command::new(lab.get("LAB_SCRIPT"))
            .args(["sshd-resume", "1"])
            .output();
    });
    let t = Instant::now();
    for _batch in 0..6 {
        let children: Vec<_> = (0..10)
            .map(|_| {
                fleetwatch()
                    .args(["--config", &cfg, "check"])
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("hung"), "check names the host: {text}");
        }
    }
    eprintln!("60 checks against a hung ssh host took {:?}", t.elapsed());
    assert_eq!(
        lab_ssh_processes(&lab),
        Vec::<String>::new(),
        "ssh left behind"
    );
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn n_a_test_uri_to_a_missing_file_leaves_the_screen_clean() {
    let body = format!(
        "[poll]\ninterval = \"1s\"\ntimeout = \"2s\"\n{}{}",
        host("missing", "test:///no/such/node.xml"),
        host("default", "test:///default")
    );
    let cfg = config("missing-file", &body);
    let tui = Tui::start_with(&cfg, 80, 24, "one up", |s| s.contains("hosts 1/2"));
    // Several retries (1 s, 2 s, 4 s back-off) with the screen read throughout.
    let end = Instant::now() + Duration::from_secs(8);
    while Instant::now() < end {
        let s = tui.screen();
        assert!(!s.contains("I/O warning"), "{s}");
        assert!(!s.contains("external entity"), "{s}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        tui.screen().contains("XML file cannot be read"),
        "{}",
        tui.screen()
    );
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn o_tls_with_good_certificates_and_a_named_failure_with_a_wrong_ca() {
    let lab = Lab::load();
    let good = lab.get("LAB_TLS_URI_1").to_owned();
    let wrong = good.replace(lab.get("LAB_PKI_GOOD"), lab.get("LAB_PKI_WRONGCA"));
    let expired = good.replace(lab.get("LAB_PKI_GOOD"), lab.get("LAB_PKI_EXPIRED"));
    assert_ne!(good, wrong);
    assert_ne!(good, expired);
    let body = format!(
        "[poll]\ninterval = \"1s\"\ntimeout = \"5s\"\n{}{}{}",
        host("tls-good", &good),
        host("tls-wrong-ca", &wrong),
        host("tls-expired", &expired)
    );
    let doc = snapshot_of(&config("tls", &body));
    let (g, w) = (&doc["hosts"][0], &doc["hosts"][1]);
    assert_eq!(g["state"], "up", "{g}");
    assert_eq!(g["transport"], "tls", "{g}");
    assert!(g["running"].as_u64().unwrap() >= 1, "{g}");
    assert_eq!(w["state"], "down", "{w}");
    let reason = w["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("not trusted"), "named, not raw: {w}");
    eprintln!("wrong CA: {reason} / {}", w["error"]);
    let x = &doc["hosts"][2];
    assert_eq!(x["state"], "down", "{x}");
    let reason = x["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("expired"), "named, not raw: {x}");
    eprintln!("expired client certificate: {reason} / {}", x["error"]);
}
