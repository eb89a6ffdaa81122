//! Prometheus, the real server (Debian's package), scraping a recorder that watches the lab:
//! promtool accepts the live response, the query API has `fleetwatch_host_up` for every lab
//! host, and the shipped host-down rule fires for a host whose libvirtd is killed.

use crate::lab::{Lab, Restore, fleetwatch};
use fleetwatch_testkit::prometheus::{metrics_addr, promtool_accepts};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child killed (and waited for) when the test ends, however it ends.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The body of a GET; empty while the server is not listening yet.
fn get(addr: &str, path: &str) -> String {
    let Ok(mut c) = TcpStream::connect(addr) else {
        return String::new();
    };
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // HTTP/1.0: the body is not chunked, and the server closes when done.
    write!(c, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut all = String::new();
    let _ = c.read_to_string(&mut all);
    all.split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn until<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> (T, Duration) {
    let t = Instant::now();
    loop {
        if let Some(v) = f() {
            return (v, t.elapsed());
        }
        assert!(t.elapsed() < limit, "waiting for {what} for {limit:?}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The shipped rules, with every `for:` cut to 3 s so the test need not wait minutes: the
/// expressions and labels are the ones an operator installs.
fn quick_rules(dir: &Path) -> String {
    let rules =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/alerts.yml")).unwrap();
    let quick: String = rules
        .lines()
        .map(|l| match l.trim_start().strip_prefix("for:") {
            Some(_) => format!("{}for: 3s", &l[..l.len() - l.trim_start().len()]),
            None => l.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    let path = dir.join("alerts.yml");
    std::fs::write(&path, quick).unwrap();
    path.display().to_string()
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn q_prometheus_scrapes_a_recorder_and_the_host_down_rule_fires_for_a_killed_host() {
    let lab = Lab::load();
    let n = lab.hosts();
    let names: Vec<String> = (1..=n).map(|i| lab.name(i)).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut rec = fleetwatch()
        .env("XDG_DATA_HOME", dir.path())
        .args([
            "--config",
            &lab.config(),
            "record",
            "--metrics",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let target = metrics_addr(&mut rec);
    let _rec = Killed(rec);

    // A live response, every lab host up in it, is what promtool checks.
    let (body, t) = until(
        "every lab host up in /metrics",
        Duration::from_secs(60),
        || {
            let b = get(&target, "/metrics");
            names
                .iter()
                .all(|h| b.contains(&format!("fleetwatch_host_up{{host=\"{h}\"}} 1.0")))
                .then_some(b)
        },
    );
    eprintln!(
        "every lab host up in /metrics after {t:?} ({} bytes)",
        body.len()
    );
    promtool_accepts(&body);
    // Every guest, running where libvirt says, with its CPU time counted.
    for i in 1..=n {
        let host = lab.name(i);
        for g in lab.guests(i) {
            let at = format!("{{host=\"{host}\",vm=\"{g}\",uuid=");
            let running = body.lines().any(|l| {
                l.starts_with(&format!("fleetwatch_vm_running{at}")) && l.ends_with(" 1.0")
            });
            let cpu = body
                .lines()
                .any(|l| l.starts_with(&format!("fleetwatch_vm_cpu_seconds_total{at}")));
            assert!(
                running && cpu,
                "{g} on {host}: running {running}, cpu {cpu}"
            );
        }
    }

    let web = format!("127.0.0.1:{}", free_port());
    let rules = quick_rules(dir.path());
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [\"{rules}\"]\n\
             scrape_configs:\n  - job_name: fleetwatch\n    static_configs: [{{targets: [\"{target}\"]}}]\n"
        ),
    )
    .unwrap();
    let server = Command::new("prometheus")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("tsdb").display()
        ))
        .arg(format!("--web.listen-address={web}"))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .expect("prometheus (Debian's package; make deps installs it)");
    let _server = Killed(server);

    let query = |q: &str| -> Vec<Value> {
        let doc: Value = serde_json::from_str(&get(&web, &format!("/api/v1/query?query={q}")))
            .unwrap_or(Value::Null);
        doc["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let (up, t) = until(
        "fleetwatch_host_up for every lab host in Prometheus",
        Duration::from_secs(60),
        || {
            let r = query("fleetwatch_host_up");
            let mut hosts: Vec<String> = r
                .iter()
                .filter_map(|s| s["metric"]["host"].as_str().map(str::to_owned))
                .collect();
            hosts.sort();
            let mut want = names.clone();
            want.sort();
            (hosts == want).then_some(r)
        },
    );
    eprintln!(
        "Prometheus has fleetwatch_host_up for {} lab hosts after {t:?}",
        up.len()
    );
    assert!(up.iter().all(|s| s["value"][1] == "1"), "{up:?}");

    let victim = lab.name(n);
    let restart = n.to_string();
    let _restart = Restore(|| {
        lab.try_script(&["restart", &restart]);
    });
    assert!(
        Command::new("kill")
            .arg(lab.pid(n))
            .status()
            .unwrap()
            .success()
    );
    let (alert, t) = until(
        "FleetwatchHostDown firing for the killed host",
        Duration::from_secs(90),
        || {
            let doc: Value =
                serde_json::from_str(&get(&web, "/api/v1/alerts")).unwrap_or(Value::Null);
            doc["data"]["alerts"]
                .as_array()?
                .iter()
                .find(|a| {
                    a["labels"]["alertname"] == "FleetwatchHostDown"
                        && a["labels"]["host"] == victim.as_str()
                        && a["state"] == "firing"
                })
                .cloned()
        },
    );
    eprintln!(
        "FleetwatchHostDown firing for {victim} {t:?} after its libvirtd was killed: {}",
        alert["annotations"]["summary"]
    );
    assert_eq!(alert["labels"]["severity"], "critical");
    // Only the killed host: the others answer.
    let doc: Value = serde_json::from_str(&get(&web, "/api/v1/alerts")).unwrap();
    let down: Vec<&str> = doc["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["labels"]["alertname"] == "FleetwatchHostDown")
        .filter_map(|a| a["labels"]["host"].as_str())
        .collect();
    assert_eq!(down, [victim.as_str()], "{doc}");
}
