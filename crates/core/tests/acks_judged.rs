//! Which acknowledgements a fleet can judge cleared: those whose subject sits on a host that
//! answers. One silent host of many keeps only its own (and, while the fleet is incomplete,
//! those of VMs nobody sees) from ending.
#![allow(clippy::unwrap_used)]

use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::acks::{Ack, DEFAULT_FOR, judged};
use fleetwatch_core::model::findings::Kind;
use fleetwatch_core::model::sample::VmState;
use fleetwatch_testkit::{domain, host_config, info, sample};
use std::time::Instant;

#[test]
fn a_subject_is_judged_where_its_host_answers() {
    let configs = [host_config("hv0"), host_config("hv1")];
    let mut f = Fleet::new(&configs);
    for (h, name) in [(0, "web-01"), (1, "db-01")] {
        let d = domain(&format!("u-{name}"), name, VmState::Running, 10);
        f.apply(h, &sample(info(64, 512), Instant::now(), vec![d]));
    }
    f.set_link(1, LinkState::Down, Some("no route".into()));
    let ack =
        |subject: &str| Ack::new(Kind::Unbacked, subject, "ann", "r", 0, DEFAULT_FOR).unwrap();
    assert!(
        judged(&f, &ack("u-web-01"), false),
        "by UUID, on a host that answers"
    );
    assert!(judged(&f, &ack("web-01"), false), "by name");
    assert!(judged(&f, &ack("hv0"), false), "a host that answers");
    assert!(!judged(&f, &ack("u-db-01"), false), "on the silent host");
    assert!(!judged(&f, &ack("hv1"), false), "the silent host itself");
    assert!(
        !judged(&f, &ack("gone-vm"), false),
        "nobody sees it: maybe on the silent host"
    );
    assert!(
        judged(&f, &ack("gone-vm"), true),
        "every host answered: it is gone"
    );
}
