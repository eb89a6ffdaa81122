//! `[group.NAME] actions`: only the listed actions on the group's hosts. The config refuses a
//! name that is no action (naming the group, the value and the line); a plan for one not
//! listed is refused by name, a migration needs `migrate` in both hosts' groups, and an
//! evacuation takes no target whose group forbids it.
#![allow(clippy::unwrap_used)]

use fleetwatch_core::actions::ActionKind;
use fleetwatch_core::actions::evacuate::evacuation;
use fleetwatch_core::actions::keys::KeyRules;
use fleetwatch_core::actions::plan::{PlanContext, plan};
use fleetwatch_core::config::Config;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::VmState;
use fleetwatch_testkit::{domain, host_config, info, sample};
use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

const CONFIG: &str = "\
[[host]]
name = \"hv0\"
uri = \"test:///default\"
actions = true
group = \"prod\"

[[host]]
name = \"hv1\"
uri = \"test:///default\"
actions = true
group = \"lab\"

[[host]]
name = \"hv2\"
uri = \"test:///default\"
actions = true

[group.prod]
actions = [\"start\", \"shutdown\", \"pause\", \"snapshot\"]

[group.lab]
";

fn config(text: &str) -> Result<Config, String> {
    Config::parse(
        text,
        Some(Path::new("/etc/fw/config.toml")),
        &KeyRules::default(),
    )
    .map_err(|e| e.to_string())
}

#[test]
fn a_name_that_is_no_action_is_refused_where_it_is_written() {
    let bad = CONFIG.replace("\"snapshot\"]", "\"snapshot\", \"delete\"]");
    let e = config(&bad).unwrap_err();
    assert!(e.contains("[group.prod] actions"), "{e}");
    assert!(e.contains("\"delete\" is not an action"), "{e}");
    assert!(e.contains("delete-snapshot"), "the names it could be: {e}");
    assert!(e.contains("line 19"), "{e}");
    let c = config(CONFIG).unwrap();
    let limits = c.group_actions();
    assert_eq!(limits[0].as_ref().unwrap().0, "prod");
    assert_eq!(limits[1], None, "a group without actions limits nothing");
    assert_eq!(limits[2], None);
}

fn fleet() -> Fleet {
    let configs = [host_config("hv0"), host_config("hv1"), host_config("hv2")];
    let mut f = Fleet::new(&configs);
    let on = |names: &[&str]| -> Vec<_> {
        names
            .iter()
            .map(|n| domain(&format!("u-{n}"), n, VmState::Running, 10))
            .collect()
    };
    f.apply(
        0,
        &sample(info(64, 512), Instant::now(), on(&["db-1", "db-2"])),
    );
    f.apply(1, &sample(info(64, 512), Instant::now(), on(&["t-1"])));
    f.apply(2, &sample(info(64, 512), Instant::now(), on(&["x-1"])));
    f
}

#[test]
fn plans_keep_to_each_groups_actions() {
    let c = config(CONFIG).unwrap();
    let limits = c.group_actions();
    let (allowed, shared, groups) = (
        vec![true; 3],
        vec!["/srv/shared/".to_owned()],
        HashMap::new(),
    );
    let cx = PlanContext {
        read_only: false,
        actions_allowed: &allowed,
        shared_storage: &shared,
        groups: &groups,
        now: chrono::Utc::now(),
        max_vcpu_overcommit: 4.0,
        production: &[],
        maintenance: &[],
        group_actions: &limits,
    };
    let f = fleet();
    let refusals = |uuid: &str, kind: ActionKind| plan(&f, &[uuid.to_owned()], kind, &cx).refusals;
    let r = refusals("u-db-1", ActionKind::Reboot);
    assert!(
        r.iter().any(|x| x
            == "no reboot on hv0: its group prod allows only: start, shutdown, pause, snapshot \
                ([group.prod] actions)"),
        "{r:?}"
    );
    assert!(refusals("u-db-1", ActionKind::ForceOff).len() == 1);
    assert!(refusals("u-db-1", ActionKind::Shutdown).is_empty());
    // Resume is pause's other half.
    assert!(
        !refusals("u-db-1", ActionKind::Resume)
            .iter()
            .any(|x| x.contains("group")),
    );
    // lab limits nothing, but a migration onto prod needs prod's `migrate`.
    assert!(refusals("u-t-1", ActionKind::ForceOff).is_empty());
    let to_prod = ActionKind::Migrate {
        to: 0,
        to_name: "hv0".into(),
        to_uri: "test:///default".into(),
        copy_storage: false,
    };
    let r = refusals("u-t-1", to_prod);
    assert!(
        r.iter()
            .any(|x| x.starts_with("no migration onto hv0: its group prod")),
        "{r:?}"
    );
    // An evacuation of prod's host is refused; one of hv2 does not land on hv0.
    let off_prod = evacuation(&f, 0, &cx, false);
    assert!(
        off_prod
            .refusals
            .iter()
            .any(|x| x.starts_with("no migration off hv0")),
        "{:?}",
        off_prod.refusals
    );
    let off_hv2 = evacuation(&f, 2, &cx, false);
    assert!(
        off_hv2.moves.iter().all(|m| m.to == "hv1"),
        "{:?}",
        off_hv2.moves
    );
    assert!(
        off_hv2
            .not_targets
            .iter()
            .any(|n| n.host == "hv0" && n.reason.contains("group prod allows only")),
        "{:?}",
        off_hv2.not_targets
    );
}

#[test]
fn evacuation_parallel_is_one_to_eight() {
    assert_eq!(config(CONFIG).unwrap().evacuation.parallel, 1);
    let two = format!("{CONFIG}\n[evacuation]\nparallel = 2\n");
    assert_eq!(config(&two).unwrap().evacuation.parallel, 2);
    for bad in ["0", "9"] {
        let e = config(&format!("{CONFIG}\n[evacuation]\nparallel = {bad}\n")).unwrap_err();
        assert!(
            e.contains("[evacuation] parallel") && e.contains("from 1 to 8"),
            "{e}"
        );
    }
}
