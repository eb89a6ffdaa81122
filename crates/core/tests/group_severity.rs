//! `[group.NAME.severity]`: a finding's severity on the group's hosts, over `[policy.severity]`;
//! a host's own `host_down` over its group's. A kind that does not exist is refused by name.
#![allow(clippy::unwrap_used)]

use fleetwatch_core::actions::keys::KeyRules;
use fleetwatch_core::config::Config;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::findings::{Kind, Severity};
use fleetwatch_core::model::rules::evaluate;
use fleetwatch_core::model::sample::VmState;
use fleetwatch_core::policy::loader::Inputs;
use fleetwatch_testkit::{domain, info, sample};
use std::path::Path;
use std::time::Instant;

const CONFIG: &str = "\
[[host]]
name = \"prod-1\"
uri = \"test:///default\"
group = \"prod\"

[[host]]
name = \"lab-1\"
uri = \"test:///default\"
group = \"lab\"

[[host]]
name = \"lab-2\"
uri = \"test:///default\"
group = \"lab\"
host_down = \"critical\"

[group.prod]

[group.lab]
[group.lab.severity]
unbacked = \"warning\"
host-down = \"warning\"

[policy]
shared_storage = [\"/srv/shared/\"]
";

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(
        text,
        Some(Path::new("/etc/fw/config.toml")),
        &KeyRules::default(),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_labs_findings_take_its_severities_and_productions_keep_the_policys() {
    let c = parse(CONFIG).unwrap();
    let mut f = Fleet::new(&c.hosts);
    for (h, name) in [(0, "db"), (1, "scratch")] {
        let d = domain(&format!("u-{name}"), name, VmState::Running, 10);
        f.apply(h, &sample(info(64, 512), Instant::now(), vec![d]));
    }
    f.set_link(2, LinkState::Down, Some("no route".into()));
    let found = evaluate(&f, &c.policy, &Inputs::default(), chrono::Utc::now());
    let of = |kind: Kind, host: &str| {
        found
            .iter()
            .find(|x| x.kind == kind && x.host.as_deref() == Some(host))
            .unwrap_or_else(|| panic!("no {kind} on {host}: {found:#?}"))
            .severity
    };
    assert_eq!(of(Kind::Unbacked, "prod-1"), Severity::Critical);
    assert_eq!(of(Kind::Unbacked, "lab-1"), Severity::Warning);
    // lab-2's own host_down is more particular than lab's.
    assert_eq!(of(Kind::HostDown, "lab-2"), Severity::Critical);
    // The metrics count each severity apart.
    f.set_findings(found.clone(), Vec::new());
    let text = fleetwatch_core::metrics::render(&f, None);
    for line in [
        "fleetwatch_findings{kind=\"unbacked\",severity=\"critical\"} 1",
        "fleetwatch_findings{kind=\"unbacked\",severity=\"warning\"} 1",
        "fleetwatch_findings{kind=\"drift\",severity=\"warning\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(line)),
            "{line} in\n{text}"
        );
    }
    f.set_link(1, LinkState::Down, Some("no route".into()));
    let found = evaluate(&f, &c.policy, &Inputs::default(), chrono::Utc::now());
    let lab1 = found
        .iter()
        .find(|x| x.kind == Kind::HostDown && x.host.as_deref() == Some("lab-1"))
        .unwrap();
    assert_eq!(lab1.severity, Severity::Warning);
}

#[test]
fn a_kind_that_does_not_exist_is_refused() {
    let e = parse(&CONFIG.replace("unbacked = \"warning\"", "unbaked = \"warning\"")).unwrap_err();
    assert!(e.contains("unbaked"), "{e}");
    assert!(e.contains("/etc/fw/config.toml"), "{e}");
}
