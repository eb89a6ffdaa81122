//! A process serving `/metrics` as the tests see it: the address it says it serves on, and
//! Prometheus's own `promtool` as the judge of what it serves.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

/// The address (`127.0.0.1:PORT`) from the first line a `--metrics 127.0.0.1:0` process
/// writes to its piped stderr; the rest of its stderr is drained so it never blocks.
pub fn metrics_addr(child: &mut Child) -> String {
    let mut lines = BufReader::new(child.stderr.take().expect("stderr piped")).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("fleetwatch: serving metrics on http://")
        .and_then(|r| r.strip_suffix("/metrics"))
        .unwrap_or_else(|| panic!("not the metrics address: {first}"))
        .to_owned();
    std::thread::spawn(move || lines.for_each(drop));
    addr
}

/// Panics with promtool's words unless `promtool check metrics` accepts `body`.
pub fn promtool_accepts(body: &str) {
    let mut p = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package; make deps installs it)");
    p.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = p.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
