//! The fleets `check` tests run against, and running the binary as cron would.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

/// A two-host fleet of our own: `app-01` on a, nothing on b.
pub fn fleet_dir(inventory: &str, catalog: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    let node = |doms: &str| {
        format!(
            "<node><cpu><mhz>2000</mhz><model>x</model><nodes>1</nodes><sockets>1</sockets><cores>8</cores><threads>1</threads></cpu>\
             <memory>16777216</memory>{doms}</node>"
        )
    };
    let dom = "<domain type='test'><name>app-01</name><uuid>0a0a0a0a-1111-4222-8333-444444444444</uuid>\
               <memory unit='MiB'>1024</memory><vcpu>2</vcpu><os><type arch='x86_64'>hvm</type></os></domain>";
    std::fs::write(p.join("a.xml"), node(dom)).unwrap();
    std::fs::write(p.join("b.xml"), node("")).unwrap();
    std::fs::write(p.join("inventory.toml"), inventory).unwrap();
    std::fs::write(p.join("backups.jsonl"), catalog).unwrap();
    std::fs::write(
        p.join("fw.toml"),
        "[poll]\ninterval = \"500ms\"\n[[host]]\nname = \"a\"\nuri = \"test:a.xml\"\n[[host]]\nname = \"b\"\nuri = \"test:b.xml\"\n\
         [policy]\ninventory = \"inventory.toml\"\nbackup_catalog = \"backups.jsonl\"\n\
         [history]\npath = \"history.db\"\n",
    )
    .unwrap();
    dir
}

pub fn cfg(dir: &Path) -> String {
    dir.join("fw.toml").to_string_lossy().into_owned()
}

pub fn fresh_backup() -> String {
    let t = chrono::Utc::now() - chrono::Duration::hours(1);
    format!(
        "{{\"vm\": \"app-01\", \"completed_at\": \"{}\", \"status\": \"ok\"}}\n",
        t.to_rfc3339()
    )
}

pub fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(args)
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}
