#![allow(clippy::unwrap_used)]
//! Bad configuration is an error that names file, line and key, exits 2 and never panics; the
//! shipped example parses and documents the real defaults.

use fleetwatch::ui::bindings::key_rules;
use fleetwatch_core::config::{Config, PollConfig};
use std::path::Path;
use std::process::Command;

fn err(text: &str) -> String {
    Config::parse(text, Some(Path::new("/cfg/fw.toml")), &key_rules())
        .unwrap_err()
        .to_string()
}

const HOST: &str = "[[host]]\nname = \"a\"\nuri = \"qemu:///system\"\n";

#[test]
fn example_config_parses_and_states_the_defaults() {
    let c = Config::load(Path::new("config.example.toml"), &key_rules()).unwrap();
    assert!(c.hosts.len() >= 3);
    // The example must show the defaults, so reading it tells the truth about an empty [poll].
    assert_eq!(c.poll, PollConfig::default());
    let d = fleetwatch_core::policy::PolicyConfig::default();
    assert_eq!(c.policy.backup_max_age, d.backup_max_age);
    assert_eq!(c.policy.max_vcpu_overcommit, d.max_vcpu_overcommit);
    for (kind, sev) in &c.policy.severity {
        assert_eq!(
            *sev,
            kind.default_severity(),
            "the example shows {kind} at its default"
        );
    }
    assert!(c.policy.inventory.as_ref().unwrap().is_absolute());
    let lab = c.hosts.iter().find(|h| h.name == "lab-file").unwrap();
    assert!(
        lab.uri.starts_with("test:///") && lab.uri.ends_with("/hosts/lab.xml"),
        "{}",
        lab.uri
    );
}

#[test]
fn demo_config_parses() {
    let d = fleetwatch::demo::write().unwrap();
    assert_eq!(d.config.hosts.len(), 5);
    assert!(d.config.hosts.iter().all(|h| h.uri.starts_with("test:///")));
}

#[test]
fn messages_name_file_line_and_key() {
    let cases: &[(&str, &[&str])] = &[
        (
            "[poll]\nintervl = \"2s\"\n",
            &["/cfg/fw.toml", "line 2", "intervl", "unknown field"],
        ),
        (
            "[poll]\ninterval = 2\n",
            &["line 2", "interval = 2", "duration"],
        ),
        ("[poll]\ninterval = \"soon\"\n", &["line 2", "\"soon\""]),
        ("[pol]\n", &["line 1", "pol"]),
        ("[[host]]\nname = \"a\"\n", &["line 1", "uri"]),
        (
            "[[host]]\nname = \"a\"\nuri = \"x\"\ncolour = 1\n",
            &["line 4", "colour"],
        ),
        (
            "[[host]]\nname = \"a\"\nuri = \"hostname-only\"\n",
            &["line 1", "uri", "hostname-only"],
        ),
        (
            "[poll]\ninterval = \"10ms\"\n[[host]]\nname=\"a\"\nuri=\"test:///default\"\n",
            &["line 2", "interval", "200ms"],
        ),
        ("[poll]\ntimeout = \"100ms\"\n", &["line 2", "timeout"]),
        ("", &["no [[host]]"]),
        (
            "[[host]]\nname = \"a\"\nuri = \"test:///default\"\n[[host]]\nname = \"a\"\nuri = \"test:///default\"\n",
            &["line 4", "unique"],
        ),
        (
            "[policy]\nshared_storage = \"/srv\"\n",
            &["line 2", "shared_storage"],
        ),
        ("this is not toml", &["line 1"]),
        (
            "[keys]\nforce_off = \"q\"\n",
            &["[keys] force_off", "already does something else"],
        ),
        ("[keys]\nforce_off = \"KK\"\n", &["one character"]),
        ("[keys]\nnuke = \"N\"\n", &["nuke", "not an action"]),
        ("[keys]\nforce_off = \"u\"\n", &["two actions"]),
    ];
    for (text, needles) in cases {
        let text = if text.contains("[[host]]") || text.is_empty() || text.starts_with("this") {
            text.to_string()
        } else {
            format!("{text}{HOST}")
        };
        let e = err(&text);
        for n in *needles {
            assert!(e.contains(n), "for {text:?}: {e:?} lacks {n:?}");
        }
    }
}

#[test]
fn the_binary_exits_2_with_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, "[poll]\ninterval = \"2s\"\nbogus = true\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(["--config", p.to_str().unwrap(), "snapshot"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("bad.toml, line 3") && e.contains("bogus"), "{e}");
    assert!(!e.contains("panicked"), "{e}");

    let missing = dir.path().join("nope.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(["--config", missing.to_str().unwrap(), "snapshot"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.toml"));

    let out = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .arg("snapshot")
        .env("XDG_CONFIG_HOME", dir.path())
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("no config at") && e.contains("--demo"), "{e}");
}

#[test]
fn values_that_cannot_work_are_refused_with_their_key() {
    let cases = [
        (
            "[poll]\ntimeout = \"500000000000y\"\n",
            "longer than 100 years",
        ),
        ("[poll]\ninterval = \"2h\"\n", "interval"),
        (
            "[poll]\ninterval = \"5s\"\ntimeout = \"2s\"\n",
            "at least the interval",
        ),
        (
            "[policy]\nmax_vcpu_overcommit = inf\n",
            "max_vcpu_overcommit",
        ),
        (
            "[policy]\nmax_vcpu_overcommit = nan\n",
            "max_vcpu_overcommit",
        ),
        (
            "[[history.rollup]]\nevery = \"1h\"\nkeep = \"30m\"\n",
            "shorter than its every",
        ),
    ];
    for (text, want) in cases {
        let e = err(&format!("{text}{HOST}"));
        assert!(e.contains(want), "{text:?}: {e}");
        assert!(e.contains("/cfg/fw.toml"), "names the file: {e}");
    }
}

#[test]
fn host_names_that_differ_only_by_case_or_spaces_are_one_name() {
    for other in ["A", "a ", " a"] {
        let t = format!("{HOST}[[host]]\nname = \"{other}\"\nuri = \"qemu:///system\"\n");
        let e = err(&t);
        assert!(e.contains("used by two hosts"), "{other:?}: {e}");
    }
}

#[test]
fn an_absurd_timeout_is_an_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.toml");
    std::fs::write(&p, format!("[poll]\ntimeout = \"500000000000y\"\n{HOST}")).unwrap();
    for cmd in [vec!["snapshot"], vec!["check"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
            .args(["--config", p.to_str().unwrap()])
            .args(&cmd)
            .env("XDG_STATE_HOME", dir.path())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{cmd:?}: {stderr}");
        assert!(
            matches!(out.status.code(), Some(2 | 3)),
            "{cmd:?}: {:?} {stderr}",
            out.status
        );
        assert!(stderr.contains("timeout"), "{cmd:?}: {stderr}");
    }
}

#[test]
fn a_bad_keys_entry_names_the_file_and_its_own_line() {
    // HOST is lines 1-3; [keys] is line 5, `pause` line 6, the entry at fault line 7.
    let cases = [
        ("force_off = \"q\"", "already does something else"),
        ("force_off = \"KK\"", "one character"),
        ("nuke = \"N\"", "not an action"),
        ("\"force_off\" = \"d\"", "two actions"),
    ];
    for (entry, want) in cases {
        let text = format!("{HOST}\n[keys]\npause = \"P\"\n{entry}\n\n[poll]\ninterval = \"2s\"\n");
        let e = err(&text);
        assert!(e.contains("/cfg/fw.toml, line 7: [keys]"), "{entry}: {e}");
        assert!(e.contains(want), "{entry}: {e}");
    }
}

fn hosts(n: usize) -> String {
    (0..n)
        .map(|i| format!("[[host]]\nname = \"hv-{i}\"\nuri = \"qemu+tcp://hv-{i}/system\"\n"))
        .collect()
}

#[test]
fn ten_thousand_hosts_parse() {
    let c = Config::parse(
        &hosts(10_000),
        Some(Path::new("/cfg/fw.toml")),
        &key_rules(),
    )
    .unwrap();
    assert_eq!(c.hosts.len(), 10_000);
}

#[test]
fn more_than_ten_thousand_hosts_are_refused_with_exit_2_not_an_abort() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.toml");
    std::fs::write(&p, hosts(10_001)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(["--config", p.to_str().unwrap(), "snapshot"])
        .env("XDG_STATE_HOME", dir.path())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{:?} {e}", out.status);
    // The 10,001st host starts on line 30001.
    assert!(e.contains("huge.toml, line 30001"), "{e}");
    for want in ["10001 [[host]]", "limit of 10000", "split the fleet"] {
        assert!(e.contains(want), "{want}: {e}");
    }
    assert!(!e.contains("panicked"), "{e}");
}

#[test]
fn call_threads_and_connects_are_bounded() {
    let poll = |body: &str| format!("[poll]\n{body}\n{HOST}");
    let e = err(&poll("threads = 0"));
    assert!(e.contains("line 2: threads: must be 1 to 32"), "{e}");
    let e = err(&poll("threads = 33"));
    assert!(e.contains("threads: must be 1 to 32"), "{e}");
    let e = err(&poll("threads = 4\nconnects = 5"));
    assert!(
        e.contains("line 3: connects: must be 1 to threads (4)"),
        "{e}"
    );
    let e = err(&poll("connects = 0"));
    assert!(e.contains("connects: must be 1 to threads (16)"), "{e}");
    let c = Config::parse(&poll("threads = 4\nconnects = 4"), None, &key_rules()).unwrap();
    assert_eq!((c.poll.threads, c.poll.connects), (4, 4));
}

#[test]
fn a_keys_entry_cannot_take_a_key_the_bindings_use() {
    use fleetwatch::ui::bindings::BINDINGS;
    let used = BINDINGS
        .iter()
        .filter(|b| b.verb.is_none() && b.when.covers(false))
        .flat_map(|b| b.keys.iter().filter_map(|k| k.plain_char()));
    for c in used {
        let text = format!("{HOST}\n[keys]\nforce_off = {:?}\n", c.to_string());
        let e = err(&text);
        assert!(
            e.contains("/cfg/fw.toml, line 6: [keys] force_off") && e.contains("something else"),
            "{c:?}: {e}"
        );
    }
    // A verb's key is free once its own verb moves off it.
    let swap = format!("{HOST}\n[keys]\nstart = \"X\"\nforce_off = \"u\"\n");
    assert!(Config::parse(&swap, None, &key_rules()).is_ok());
}

/// An installed binary has no source tree: `config example` prints the shipped example, which
/// saved as it is is a config that loads, and the message for a missing config points at it.
#[test]
fn config_example_prints_a_config_that_loads_and_missing_configs_point_at_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(["config", "example"])
        .env("XDG_CONFIG_HOME", "/nonexistent")
        .output()
        .unwrap();
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("config.toml");
    std::fs::write(&saved, &out.stdout).unwrap();
    let c = Config::load(&saved, &key_rules()).unwrap();
    assert!(c.hosts.len() >= 3);
    let missing = Command::new(env!("CARGO_BIN_EXE_fleetwatch"))
        .args(["snapshot"])
        .env("XDG_CONFIG_HOME", dir.path().join("none"))
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    let said = String::from_utf8_lossy(&missing.stderr);
    assert!(said.contains("`fleetwatch config example`"), "{said}");
}

/// A host may name only a group the config defines (a typo would silently lose a read-only
/// group's protection); a group's colour is one of the names or #rrggbb; a read-only group's
/// hosts allow no action and are opened read-only whatever their `actions` say.
#[test]
fn host_groups_are_checked_and_a_read_only_group_allows_nothing() {
    let hosts = "[[host]]\nname = \"a\"\nuri = \"qemu+tcp://a/system\"\nactions = true\ngroup = \"prod\"\n\
                 [[host]]\nname = \"b\"\nuri = \"qemu+tcp://b/system\"\nactions = true\ngroup = \"lab\"\n";
    let typo = format!("{hosts}[group.prdo]\n[group.lab]\n");
    let e = err(&typo);
    for part in [
        "line 1",
        "[[host]] group",
        "\"prod\" has no [group.prod]",
        "defined: lab, prdo",
    ] {
        assert!(e.contains(part), "{part:?} in {e}");
    }
    let e = err(&format!(
        "{hosts}[group.prod]\ncolor = \"crimson\"\n[group.lab]\n"
    ));
    for part in [
        "[group.prod] color",
        "\"crimson\" is not a colour",
        "line 12",
    ] {
        assert!(e.contains(part), "{part:?} in {e}");
    }
    let ok = format!(
        "{hosts}[group.prod]\ncolor = \"#c03030\"\nread_only = true\nproduction = true\n[group.lab]\n"
    );
    let c = Config::parse(&ok, None, &key_rules()).unwrap();
    assert_eq!(c.actions_allowed(), [false, true]);
    let writable = c.writable_uris();
    assert!(!writable.contains("qemu+tcp://a/system"), "{writable:?}");
    assert!(writable.contains("qemu+tcp://b/system"), "{writable:?}");
    assert_eq!(c.production(), [Some("prod".to_owned()), None]);
    let (name, g) = c.group_of(&c.hosts[0]).unwrap();
    assert_eq!((name, g.color.as_deref()), ("prod", Some("#c03030")));
}
