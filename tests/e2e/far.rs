//! A far host: the lab's lab-hv-far, reached through a relay that adds 200 ms of round trip,
//! with LAB_FAR_GUESTS (20) running guests; tests/lab/run/far.toml polls only it (2 s interval,
//! 8 s timeout). Before the fix it was down for good: a poll made a call per VM and every
//! reconnect re-read every VM's XML, past the timeout.

use crate::lab::*;
use serde_json::Value;
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn far_config() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/lab/run/far.toml");
    assert!(path.exists(), "{}: the lab writes it", path.display());
    path.display().to_string()
}

/// LAB_FAR_GUESTS is a count; a list of names would do as well.
fn far_guests(lab: &Lab) -> usize {
    let g = lab.get("LAB_FAR_GUESTS");
    g.trim()
        .parse()
        .unwrap_or_else(|_| g.split_whitespace().count())
}

/// The CPU% cells of the far host's rows in the VMs table, top to bottom.
fn cpu_cells(screen: &str, host: &str) -> Vec<String> {
    screen
        .lines()
        .filter_map(|l| {
            let table = l.strip_prefix('│')?.split('│').next()?;
            // NAME HOST STATE VCPU CPU% ...; the hosts pane's lines have no state third.
            let cells: Vec<&str> = table.split_whitespace().collect();
            let state = cells.get(2)?.trim_end_matches('?');
            let is_row = ["running", "paused", "shutoff", "crashed", "other"].contains(&state);
            // The HOST column is 10 wide: a longer name is cut, with an ellipsis.
            let cell = *cells.get(1)?;
            let ours = cell == host
                || cell
                    .strip_suffix('…')
                    .is_some_and(|p| !p.is_empty() && host.starts_with(p));
            (is_row && ours).then(|| cells.get(4).map(|c| (*c).to_owned()))?
        })
        .collect()
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn far_a_snapshot_of_a_far_host_with_20_guests_is_up_with_few_calls_a_poll() {
    let lab = Lab::load();
    let name = lab.get("LAB_FAR_NAME").to_owned();
    let guests = far_guests(&lab);
    lab.settled(lab.get("LAB_FAR_URI"));
    let t = Instant::now();
    let doc = snapshot_of(&far_config());
    let took = t.elapsed();
    let h = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{name} not in {doc}"))
        .clone();
    eprintln!(
        "far snapshot in {took:?}: rtt {} ms, poll {} ms, {} calls, {} configs pending",
        h["rtt_ms"], h["poll_ms"], h["calls"], h["configs_pending"]
    );
    assert_eq!(h["state"], "up", "{h}");
    assert_eq!(h["error"], Value::Null, "{h}");
    assert_eq!(h["running"].as_u64(), Some(guests as u64), "{h}");
    let rtt = h["rtt_ms"]
        .as_f64()
        .unwrap_or_else(|| panic!("no rtt: {h}"));
    assert!(rtt >= 150.0, "the relay adds 200 ms, measured {rtt} ms");
    // The last poll: one bulk call (state, interfaces, CPU and the slow groups), node CPU and
    // free memory, and at most a few XML re-reads. A call per guest would make it 20 or more.
    let calls = h["calls"]
        .as_u64()
        .unwrap_or_else(|| panic!("no calls: {h}"));
    assert!(calls <= 8, "{calls} calls a poll for {guests} guests");
    assert!(
        (calls as usize) < guests,
        "{calls} calls for {guests} guests"
    );
    // snapshot reads every XML in its first poll.
    assert_eq!(h["configs_pending"].as_u64(), Some(0), "{h}");
    let vms: Vec<&Value> = doc["vms"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["host"] == name.as_str())
        .collect();
    assert_eq!(vms.len(), guests, "{doc}");
    for v in vms {
        assert_eq!(v["state"], "running", "{v}");
        assert!(v["cpu_percent"].as_f64().is_some(), "no CPU%: {v}");
        assert!(v["vcpus"].as_u64().is_some_and(|n| n >= 1), "{v}");
        assert!(v["memory_bytes"].as_u64().is_some_and(|m| m > 0), "{v}");
        assert!(v["disks"].is_array(), "XML read: {v}");
    }
}

#[test]
#[ignore = "needs the lab: make lab-up && make e2e"]
fn far_b_the_tui_keeps_a_far_host_up_with_fresh_cpu_for_30_seconds() {
    let lab = Lab::load();
    let name = lab.get("LAB_FAR_NAME").to_owned();
    let guests = far_guests(&lab);
    let up = |s: &str| {
        s.lines()
            .any(|l| l.contains(&format!(" {name} ")) && l.contains(" UP "))
    };
    let t = Instant::now();
    let tui = Tui::start_with(&far_config(), 120, 30, "the far host up", up);
    eprintln!("far host UP after {:?}", t.elapsed());
    // Rates need two samples; after that every running guest has a CPU%.
    tui.wait_for("a CPU% for every guest", Duration::from_secs(10), |s| {
        let cells = cpu_cells(s, &name);
        cells.len() == guests && cells.iter().all(|c| c.parse::<f64>().is_ok())
    });
    let start = Instant::now();
    let mut last = cpu_cells(&tui.screen(), &name);
    let mut changes = 0;
    while start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(500));
        let s = tui.screen();
        let line = tui.host_line(&name);
        assert!(
            line.contains(" UP "),
            "not up after {:?}: {line}\n{s}",
            start.elapsed()
        );
        assert!(!s.contains("no answer within"), "{s}");
        let cells = cpu_cells(&s, &name);
        assert!(
            cells.iter().all(|c| c.parse::<f64>().is_ok()),
            "a guest lost its CPU%: {cells:?}\n{s}"
        );
        if cells != last {
            changes += 1;
            last = cells;
        }
    }
    eprintln!(
        "far host up for 30 s, CPU% changed {changes} times: {}",
        tui.host_line(&name).trim()
    );
    // New rates every 2 s poll: about 15 in 30 s; 10 allows for guests idle alike.
    assert!(changes >= 10, "CPU% changed only {changes} times in 30 s");
    let line = tui.host_line(&name);
    assert!(
        line.contains("slow: rtt"),
        "shown slow, with its rtt: {line}"
    );
}
