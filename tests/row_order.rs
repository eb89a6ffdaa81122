#![allow(clippy::unwrap_used)]
//! The table's rows, kept in order as hosts report one by one, are the rows a full sort gives:
//! under every sort key and direction, with VMs that come, go, migrate, change state and load,
//! and hosts that go down.

use fleetwatch_testkit as support;

use fleetwatch::ui::rows::{self, Filter, SortKey};
use fleetwatch::ui::state::UiState;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::sample::{DomainSample, VmState};
use std::time::{Duration, Instant};

const HOSTS: usize = 40;
const PER_HOST: usize = 12;

/// A small deterministic generator: the same run every time, varied enough to reorder rows.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn domains(h: usize, round: u64, rng: &mut Lcg) -> Vec<DomainSample> {
    let mut out = Vec::new();
    for v in 0..PER_HOST {
        // Some VMs are gone this round, and come back later.
        if rng.next(10) == 0 {
            continue;
        }
        out.push({
            let state = match rng.next(8) {
                0 => VmState::Shutoff,
                1 => VmState::Paused,
                _ => VmState::Running,
            };
            // A few names repeat across hosts, so ties on the key break by name and UUID.
            let name = format!("vm-{:02}", (h * PER_HOST + v) % 97);
            support::busy_domain(
                &format!("{h:04}-{v:04}"),
                &name,
                state,
                round * 2,
                rng.next(2_000) * round,
            )
        });
    }
    out
}

fn report(fleet: &mut Fleet, h: usize, round: u64, t0: Instant, rng: &mut Lcg) {
    let mut doms = domains(h, round, rng);
    // Now and then a VM of another host shows up here too: a migration, or a split brain.
    if rng.next(3) == 0 {
        let other = rng.next(HOSTS as u64) as usize;
        doms.push(support::busy_domain(
            &format!("{other:04}-0000"),
            "moved",
            VmState::Running,
            round * 2,
            700,
        ));
    }
    let s = support::sample(
        support::info(32, 256),
        t0 + Duration::from_secs(round * 2),
        doms,
    );
    fleet.apply(h, &s);
}

fn full(fleet: &Fleet, ui: &UiState) -> Vec<(u32, u32)> {
    rows::compute(
        fleet,
        &rows::Query {
            filter: &Filter::All,
            host: ui.host_filter,
            kind: ui.kind_filter,
            key: ui.sort,
            descending: ui.descending,
            follow: None,
        },
    )
    .refs
}

#[test]
fn rows_kept_in_order_host_by_host_are_the_rows_a_full_sort_gives() {
    let t0 = Instant::now();
    let configs: Vec<_> = (0..HOSTS)
        .map(|h| support::host_config(&format!("hv-{:02}", (h * 7) % HOSTS)))
        .collect();
    for key in SortKey::ALL {
        for descending in [false, true] {
            let mut rng = Lcg(key as u64 * 2 + u64::from(descending));
            let mut fleet = Fleet::new(&configs);
            for h in 0..HOSTS {
                report(&mut fleet, h, 1, t0, &mut rng);
            }
            let mut ui = UiState::default();
            ui.sort = key;
            ui.descending = descending;
            ui.host_filter = (key == SortKey::Vcpus).then_some(3);
            ui.refresh_rows(&fleet);
            for round in 2..40 {
                // A few hosts at a time, as they report in between frames.
                for _ in 0..rng.next(4) + 1 {
                    let h = rng.next(HOSTS as u64) as usize;
                    if rng.next(12) == 0 {
                        fleet.set_link(h, LinkState::Down, Some("gone".into()));
                    } else {
                        report(&mut fleet, h, round, t0, &mut rng);
                    }
                }
                ui.refresh_rows(&fleet);
                assert_eq!(
                    &*ui.rows,
                    full(&fleet, &ui).as_slice(),
                    "sort {key:?} descending {descending}, round {round}"
                );
                let running = fleet.vms().filter(|v| v.state == VmState::Running).count();
                assert_eq!(ui.running, running, "running VMs, round {round}");
            }
        }
    }
}

#[test]
fn the_chosen_vm_stays_selected_while_rows_move_around_it() {
    let t0 = Instant::now();
    let configs: Vec<_> = (0..HOSTS)
        .map(|h| support::host_config(&format!("hv-{h:02}")))
        .collect();
    let mut rng = Lcg(7);
    let mut fleet = Fleet::new(&configs);
    for h in 0..HOSTS {
        report(&mut fleet, h, 1, t0, &mut rng);
    }
    let mut ui = UiState::default();
    ui.sort = SortKey::Cpu;
    ui.descending = true;
    ui.refresh_rows(&fleet);
    let uuid = fleet.hosts[5].vms.keys().next().unwrap().clone();
    ui.select_vm(&uuid, &fleet);
    for round in 2..30 {
        let h = rng.next(HOSTS as u64) as usize;
        if h != 5 {
            report(&mut fleet, h, round, t0, &mut rng);
        }
        ui.refresh_rows(&fleet);
        assert_eq!(ui.selected_uuid(), Some(uuid.as_str()), "round {round}");
        let at = ui.rows[ui.selected];
        assert_eq!(
            fleet.vm_at(at).map(|v| v.uuid.as_str()),
            Some(uuid.as_str())
        );
    }
}
