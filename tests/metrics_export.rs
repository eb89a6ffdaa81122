//! `record --metrics`: a real recorder on the demo fleet serves `/metrics` that Prometheus's
//! own `promtool` accepts, answers other requests plainly, stops on SIGTERM, and says when the
//! history's rollups are stalled (as `check` does).
#![allow(clippy::unwrap_used)]

use fleetwatch_testkit as support;

use chrono::{DateTime, Utc};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::link::{Message, Update};
use fleetwatch_core::model::sample::VmState;
use fleetwatch_testkit::prometheus::{metrics_addr, promtool_accepts};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn fleetwatch(data: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fleetwatch"));
    c.env("XDG_DATA_HOME", data).env("XDG_STATE_HOME", data);
    c
}

/// A recorder that is killed if a test fails before it stops it.
struct Running(Option<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A demo recorder serving metrics on a port of its choosing, and that port's address.
fn recorder(data: &Path) -> (Running, String) {
    let mut child = fleetwatch(data)
        .args(["--demo", "record", "--metrics", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let addr = metrics_addr(&mut child);
    (Running(Some(child)), addr)
}

/// One HTTP exchange: the status line and the body.
fn exchange(addr: &str, request: &str) -> (String, String) {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(request.as_bytes()).unwrap();
    let mut all = String::new();
    c.read_to_string(&mut all).unwrap();
    let (head, body) = all.split_once("\r\n\r\n").unwrap_or((&all, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

fn scrape(addr: &str) -> String {
    let (status, body) = exchange(addr, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 200 OK");
    body
}

/// Scrapes until `done` holds for the body (30 s at most).
fn scrape_until(addr: &str, done: impl Fn(&str) -> bool) -> String {
    let end = Instant::now() + Duration::from_secs(30);
    loop {
        let body = scrape(addr);
        if done(&body) || Instant::now() > end {
            return body;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn stop(mut running: Running) {
    let mut child = running.0.take().unwrap();
    let pid = rustix::process::Pid::from_child(&child);
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end {
        if let Some(s) = child.try_wait().unwrap() {
            assert!(s.success(), "record after SIGTERM: {s}");
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    running.0 = Some(child);
    panic!("record did not stop within 15 s of SIGTERM");
}

fn line<'a>(body: &'a str, prefix: &str) -> Option<&'a str> {
    body.lines().find(|l| l.starts_with(prefix))
}

#[test]
fn a_recorder_serves_metrics_promtool_accepts() {
    let data = tempfile::tempdir().unwrap();
    let (child, addr) = recorder(data.path());
    let body = scrape_until(&addr, |b| {
        b.lines()
            .filter(|l| l.starts_with("fleetwatch_host_up{") && l.ends_with(" 1.0"))
            .count()
            == 5
            && b.contains("fleetwatch_history_last_rollup_timestamp_seconds ")
    });
    promtool_accepts(&body);
    for host in ["hv-ams-01", "hv-fra-02"] {
        assert!(
            body.contains(&format!("fleetwatch_host_up{{host=\"{host}\"}} ")),
            "{host}: {body}"
        );
    }
    assert!(
        body.contains("fleetwatch_vm_cpu_seconds_total{host=\"hv-ams-01\",vm=\"lb-haproxy-01\"")
    );
    assert!(line(&body, "fleetwatch_finding{kind=\"unapproved\"").is_some());
    assert_eq!(
        line(&body, "fleetwatch_recorder_hosts "),
        Some("fleetwatch_recorder_hosts 5.0")
    );
    assert_eq!(
        line(&body, "fleetwatch_history_stalled "),
        Some("fleetwatch_history_stalled 0.0")
    );
    assert_eq!(
        line(&body, "fleetwatch_recorder_write_errors_total "),
        Some("fleetwatch_recorder_write_errors_total 0.0")
    );
    // Anything but GET /metrics is answered, briefly.
    assert_eq!(
        exchange(&addr, "GET /nope HTTP/1.1\r\n\r\n").0,
        "HTTP/1.1 404 Not Found"
    );
    assert_eq!(
        exchange(&addr, "DELETE /metrics HTTP/1.1\r\n\r\n").0,
        "HTTP/1.1 405 Method Not Allowed"
    );
    assert_eq!(exchange(&addr, "\r\n\r\n").0, "HTTP/1.1 400 Bad Request");
    assert_eq!(
        exchange(&addr, "\u{1b}[2J /metrics\r\n\r\n").0,
        "HTTP/1.1 405 Method Not Allowed"
    );
    let (status, body) = exchange(&addr, "HEAD /metrics HTTP/1.1\r\n\r\n");
    assert_eq!((status.as_str(), body.as_str()), ("HTTP/1.1 200 OK", ""));
    // A client that connects and says nothing holds no one up.
    let _idle: Vec<TcpStream> = (0..20)
        .map(|_| TcpStream::connect(&addr).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    drop(_idle);
    scrape(&addr);
    // A second recorder told the same address, and one told nonsense, say so and stop before
    // they touch the history.
    for (arg, said) in [
        (addr.as_str(), "cannot listen on"),
        ("localhost", "not an address and port"),
    ] {
        let out = fleetwatch(data.path())
            .args(["--demo", "record", "--metrics", arg])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(said) && err.contains("--metrics"), "{err}");
    }
    stop(child);
}

/// Thirty minutes of one host's polls, ending now, into a history whose rollups the database
/// refuses (a trigger rejects every rollup row).
fn stalled_history(db: &Path) {
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    drop(SqliteStore::open_rw(db).unwrap());
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(
            "CREATE TRIGGER no_rollups BEFORE INSERT ON stats WHEN NEW.level > 0
             BEGIN SELECT RAISE(ABORT, 'rollups refused by the test'); END;",
        )
        .unwrap();
    let now = Utc::now().timestamp_millis();
    let start = now - 30 * 60_000;
    let store = SqliteStore::open_rw(db).unwrap();
    let hosts = [support::host_config("hv-old")];
    let mut rec = Recorder::start(store, HistoryConfig::default(), &hosts, start).unwrap();
    let t0 = Instant::now();
    for s in (10..=1800u64).step_by(10) {
        let doms = vec![support::domain("u-1", "old-vm", VmState::Running, s)];
        let mut sample = support::sample(support::info(8, 32), t0 + Duration::from_secs(s), doms);
        sample.wall = DateTime::<Utc>::from_timestamp_millis(start + s as i64 * 1000).unwrap();
        let m = Message {
            host: 0,
            at: Instant::now(),
            update: Update::Sample(Arc::new(sample)),
        };
        rec.record(&m, start + s as i64 * 1000).unwrap();
    }
    rec.stop();
}

#[test]
fn a_stalled_history_is_critical_in_check_and_in_the_metrics() {
    let data = tempfile::tempdir().unwrap();
    stalled_history(&data.path().join("fleetwatch/demo-history.db"));
    let out = fleetwatch(data.path())
        .args(["--demo", "check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("CRITICAL history-stalled history: 5m rollups stopped"),
        "{text}"
    );
    let out = fleetwatch(data.path())
        .args(["--demo", "check", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["findings"][0]["kind"], "history-stalled", "{doc}");
    assert_eq!(doc["findings"][0]["severity"], "critical");

    let (child, addr) = recorder(data.path());
    let body = scrape_until(&addr, |b| b.contains("fleetwatch_history_stalled 1.0"));
    assert!(body.contains("fleetwatch_history_stalled 1.0"), "{body}");
    promtool_accepts(&body);
    stop(child);
}

/// The TUI, in tmux at 80x24 on the same stalled history, shows the banner.
#[test]
fn a_stalled_history_is_a_banner_in_the_tui() {
    let data = tempfile::tempdir().unwrap();
    stalled_history(&data.path().join("fleetwatch/demo-history.db"));
    let cmd = format!(
        "XDG_STATE_HOME={0} XDG_DATA_HOME={0} {1} --demo",
        data.path().display(),
        env!("CARGO_BIN_EXE_fleetwatch")
    );
    let tui = fleetwatch_testkit::tmux::Session::start("stalled", 80, 24, &cmd);
    let screen = tui.screen_when(Duration::from_secs(30), |s| s.contains("history stalled:"));
    let banner = screen.lines().find(|l| l.contains("history stalled:"));
    assert!(
        banner.is_some_and(
            |l| l.starts_with("! history stalled: rollups and retention last ran at ")
        ),
        "{screen}"
    );
}

fn value(body: &str, name: &str) -> Option<f64> {
    line(body, &format!("{name} "))?
        .rsplit(' ')
        .next()?
        .parse()
        .ok()
}

/// A store that refuses writes: the recorder still answers scrapes, counts the failures and its
/// poll lag grows; once the store takes writes again the lag is back to a poll or two.
#[test]
fn a_failing_store_shows_in_write_errors_and_poll_lag() {
    let data = tempfile::tempdir().unwrap();
    let (child, addr) = recorder(data.path());
    let db = data.path().join("fleetwatch/demo-history.db");
    let body = scrape_until(&addr, |b| {
        value(b, "fleetwatch_recorder_poll_lag_seconds").is_some_and(|l| l < 5.0)
    });
    assert_eq!(
        value(&body, "fleetwatch_recorder_write_errors_total"),
        Some(0.0),
        "{body}"
    );
    let c = rusqlite::Connection::open(&db).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c.execute_batch(
        "CREATE TRIGGER no_writes BEFORE INSERT ON stats
         BEGIN SELECT RAISE(ABORT, 'writes refused by the test'); END;",
    )
    .unwrap();
    let body = scrape_until(&addr, |b| {
        value(b, "fleetwatch_recorder_write_errors_total").is_some_and(|e| e >= 2.0)
            && value(b, "fleetwatch_recorder_poll_lag_seconds").is_some_and(|l| l > 8.0)
    });
    let (errors, lag) = (
        value(&body, "fleetwatch_recorder_write_errors_total").unwrap_or(0.0),
        value(&body, "fleetwatch_recorder_poll_lag_seconds").unwrap_or(0.0),
    );
    assert!(errors >= 2.0 && lag > 8.0, "errors {errors}, lag {lag}");
    c.execute_batch("DROP TRIGGER no_writes").unwrap();
    let body = scrape_until(&addr, |b| {
        value(b, "fleetwatch_recorder_poll_lag_seconds").is_some_and(|l| l < 5.0)
    });
    let after = value(&body, "fleetwatch_recorder_poll_lag_seconds").unwrap();
    assert!(after < 5.0, "lag after the store recovered: {after}");
    eprintln!("refused writes: {errors} errors, lag {lag:.1} s; after: lag {after:.1} s");
    stop(child);
}

/// A history that cannot be read is said in `check`, as a problem, not as a stall.
#[test]
fn an_unreadable_history_is_a_problem_in_check_not_a_stall() {
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("fleetwatch/demo-history.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    std::fs::write(&db, b"this is not a database\n".repeat(300)).unwrap();
    let out = fleetwatch(data.path())
        .args(["--demo", "check"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("PROBLEM cannot read the history")),
        "{text}"
    );
    assert!(!text.contains("history-stalled"), "{text}");
}

#[test]
fn an_acknowledged_finding_leaves_the_recorders_alerting_series() {
    let data = tempfile::tempdir().unwrap();
    let (child, addr) = recorder(data.path());
    let series = "fleetwatch_finding{kind=\"unapproved\",severity=\"critical\",host=\"hv-ams-01\",vm=\"web-03-clone\"";
    scrape_until(&addr, |b| line(b, series).is_some());
    let out = fleetwatch(data.path())
        .args([
            "--demo",
            "ack",
            "unapproved",
            "web-03-clone",
            "--reason",
            "CHG-88 in review",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Read again within ten seconds of the recorder's last reading.
    let body = scrape_until(&addr, |b| line(b, series).is_none());
    assert!(line(&body, series).is_none(), "still alerting: {body}");
    assert_eq!(
        line(
            &body,
            "fleetwatch_findings_acknowledged{kind=\"unapproved\"}"
        ),
        Some("fleetwatch_findings_acknowledged{kind=\"unapproved\"} 1.0")
    );
    promtool_accepts(&body);
    stop(child);
}

/// The acknowledgements the store holds now, as (kind, subject).
fn acked(data: &Path) -> Vec<(String, String)> {
    let out = fleetwatch(data)
        .args(["--demo", "ack", "--list", "--json"])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["acknowledged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let s = |k: &str| a[k].as_str().unwrap_or_default().to_owned();
            (s("kind"), s("subject"))
        })
        .collect()
}

#[test]
fn a_recorder_alone_ends_an_acknowledgement_whose_finding_cleared() {
    let data = tempfile::tempdir().unwrap();
    let (child, addr) = recorder(data.path());
    scrape_until(&addr, |b| b.contains("vm=\"web-03-clone\""));
    // web-03-clone is unapproved (that one stays) and has no drift (as if it had cleared).
    for kind in ["unapproved", "drift"] {
        let out = fleetwatch(data.path())
            .args(["--demo", "ack", kind, "web-03-clone", "--reason", "CHG-90"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // No TUI, no check: only the recorder, within its ten seconds of reading them again.
    let end = Instant::now() + Duration::from_secs(40);
    let mut left = acked(data.path());
    while left.len() > 1 && Instant::now() < end {
        scrape(&addr);
        std::thread::sleep(Duration::from_millis(500));
        left = acked(data.path());
    }
    assert_eq!(
        left,
        [("unapproved".to_owned(), "web-03-clone".to_owned())],
        "the cleared one ended, the present one stays"
    );
    let out = fleetwatch(data.path())
        .args(["--demo", "audit", "--json"])
        .output()
        .unwrap();
    let audit: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        audit["actions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "unack"
                && a["params"]["kind"] == "drift"
                && a["params"]["more"]["why"] == "cleared"),
        "{audit}"
    );
    stop(child);
}
