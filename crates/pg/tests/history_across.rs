#![allow(clippy::unwrap_used)]
//! Recorders sharing a database, each holding some of the config's hosts: a VM that moves
//! between two of them is seen in halves (one recorder sees it go, the other sees it come),
//! and the history has the one migration, whichever half comes first. Before, each half was an
//! event of its own ("undefined" on the source, "defined" on the destination), and a recorder
//! starting for a third host confirmed the others' waiting judgments as they looked.

use chrono::{DateTime, Utc};
use fleetwatch_core::config::HostConfig;
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::lease::{Holder, Role};
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::recorder::Recorder;
use fleetwatch_core::history::store::{HistoryRead, RecordStore};
use fleetwatch_core::link::{LinkState, Message, Update};
use fleetwatch_core::model::sample::{DomainSample, HostSample, VmState};
use fleetwatch_pg::PgStore;
use fleetwatch_testkit::postgres::Postgres;
use fleetwatch_testkit::{domain, host_config, info};
use std::time::Instant;

const T0: i64 = 1_795_233_600_000;
/// Renewals every 100 ms: a judgment waits 700 ms for the other recorders' polls.
const RENEW_MS: i64 = 100;

fn s(n: i64) -> i64 {
    T0 + n * 1000
}

fn sample(at_ms: i64, domains: Vec<DomainSample>) -> Message {
    let mut s: HostSample = fleetwatch_testkit::sample(info(8, 32), Instant::now(), domains);
    s.wall = DateTime::<Utc>::from_timestamp_millis(at_ms).unwrap();
    Message {
        host: 0,
        at: Instant::now(),
        update: Update::Sample(std::sync::Arc::new(s)),
    }
}

fn web(state: VmState) -> DomainSample {
    domain("u-web", "web", state, 10)
}

struct Shared {
    _pg: Postgres,
    url: String,
}

impl Shared {
    fn new() -> Shared {
        let pg = Postgres::start().unwrap();
        let url = pg.create_db("across").unwrap();
        Shared { _pg: pg, url }
    }

    /// A recorder holding host `mine` of the config a, b, c.
    fn recorder(&self, mine: &str) -> Recorder {
        self.recorder_at(mine, s(0))
    }

    fn recorder_at(&self, mine: &str, now: i64) -> Recorder {
        self.recorder_as(Holder::renewing(Role::Service, RENEW_MS), mine, now)
    }

    fn recorder_as(&self, me: Holder, mine: &str, now: i64) -> Recorder {
        let all: Vec<HostConfig> = ["a", "b", "c"].map(host_config).to_vec();
        let (ours, others): (Vec<_>, Vec<_>) = all.into_iter().partition(|h| h.name == mine);
        let store = PgStore::open_rw(&self.url, None)
            .unwrap()
            .renewing_every(RENEW_MS);
        let cfg = HistoryConfig::default();
        Recorder::start_holding(me, store, cfg, (&ours, &others), now).unwrap()
    }

    /// The VM events, oldest first, as "kind host" or "migrated from->to".
    fn events(&self) -> Vec<String> {
        let mut v = PgStore::open_ro(&self.url, None)
            .unwrap()
            .events(&EventQuery::default())
            .unwrap();
        v.reverse();
        v.into_iter()
            .filter(|e| e.vm.is_some())
            .map(|e| match (&e.from_host, &e.to_host) {
                (Some(a), Some(b)) => format!("{} {a}->{b}", e.kind),
                _ => format!("{} {}", e.kind, e.host.unwrap_or_default()),
            })
            .collect()
    }
}

impl Shared {
    /// The host-stale events' details.
    fn gaps(&self) -> Vec<String> {
        PgStore::open_ro(&self.url, None)
            .unwrap()
            .events(&EventQuery {
                kinds: vec!["host-stale".into()],
                ..EventQuery::default()
            })
            .unwrap()
            .into_iter()
            .map(|e| e.detail)
            .collect()
    }
}

/// web runs on a, b is empty: both recorded.
fn start(sh: &Shared) -> (Recorder, Recorder) {
    let (mut ra, mut rb) = (sh.recorder("a"), sh.recorder("b"));
    ra.record(&sample(s(0), vec![web(VmState::Running)]), s(0))
        .unwrap();
    rb.record(&sample(s(0), vec![]), s(0)).unwrap();
    (ra, rb)
}

#[test]
fn a_move_seen_first_on_the_destination_is_one_migration() {
    let sh = Shared::new();
    let (mut ra, mut rb) = start(&sh);
    // b's recorder sees web come while a's copy is still running: a move under way.
    rb.record(&sample(s(2), vec![web(VmState::Running)]), s(2))
        .unwrap();
    assert_eq!(sh.events(), Vec::<String>::new(), "nothing while it moves");
    ra.record(&sample(s(3), vec![]), s(3)).unwrap();
    ra.record(&sample(s(5), vec![]), s(5)).unwrap();
    rb.record(&sample(s(5), vec![web(VmState::Running)]), s(5))
        .unwrap();
    assert_eq!(sh.events(), ["migrated a->b"]);
}

#[test]
fn a_move_seen_first_on_the_source_is_one_migration_and_no_undefined_after() {
    let sh = Shared::new();
    let (mut ra, mut rb) = start(&sh);
    // a's recorder sees web go first: its judgment waits for the others' polls.
    ra.record(&sample(s(2), vec![]), s(2)).unwrap();
    assert_eq!(sh.events(), Vec::<String>::new(), "a judgment waits");
    rb.record(&sample(s(2) + 300, vec![web(VmState::Running)]), s(2) + 300)
        .unwrap();
    assert_eq!(sh.events(), ["migrated a->b"]);
    // a's next polls, long after its wait ended, write nothing more.
    ra.record(&sample(s(4), vec![]), s(4)).unwrap();
    ra.record(&sample(s(6), vec![]), s(6)).unwrap();
    assert_eq!(sh.events(), ["migrated a->b"]);
}

#[test]
fn the_incoming_copy_running_before_the_source_is_seen_gone_is_no_resume() {
    let sh = Shared::new();
    let (mut ra, mut rb) = start(&sh);
    rb.record(&sample(s(2), vec![web(VmState::Paused)]), s(2))
        .unwrap();
    rb.record(&sample(s(4), vec![web(VmState::Running)]), s(4))
        .unwrap();
    ra.record(&sample(s(5), vec![]), s(5)).unwrap();
    assert_eq!(sh.events(), ["migrated a->b"]);
}

#[test]
fn the_paused_copy_a_vm_was_moved_onto_running_is_no_resume() {
    let sh = Shared::new();
    let (mut ra, mut rb) = start(&sh);
    rb.record(&sample(s(2), vec![web(VmState::Paused)]), s(2))
        .unwrap();
    // a's recorder sees web gone while b's copy is still paused: the move, written by it.
    ra.record(&sample(s(3), vec![]), s(3)).unwrap();
    assert_eq!(sh.events(), ["migrated a->b"]);
    rb.record(&sample(s(4), vec![web(VmState::Running)]), s(4))
        .unwrap();
    assert_eq!(sh.events(), ["migrated a->b"]);
}

#[test]
fn a_vm_that_went_for_good_is_undefined_once_the_others_had_their_polls() {
    let sh = Shared::new();
    let (mut ra, mut rb) = start(&sh);
    ra.record(&sample(s(2), vec![]), s(2)).unwrap();
    rb.record(&sample(s(2) + 300, vec![]), s(2) + 300).unwrap();
    // Within the wait, a's own poll does not end it: b's recorder may not have written yet.
    ra.record(&sample(s(2) + 500, vec![]), s(2) + 500).unwrap();
    assert_eq!(sh.events(), Vec::<String>::new());
    ra.record(&sample(s(4), vec![]), s(4)).unwrap();
    assert_eq!(sh.events(), ["undefined a"]);
}

#[test]
fn an_incoming_copy_given_up_on_the_destination_is_no_move_back() {
    let sh = Shared::new();
    let (mut ra, mut rb) = start(&sh);
    // A migration to b that fails: b's paused incoming copy comes and goes, web stays on a.
    rb.record(&sample(s(2), vec![web(VmState::Paused)]), s(2))
        .unwrap();
    rb.record(&sample(s(4), vec![]), s(4)).unwrap();
    ra.record(&sample(s(4), vec![web(VmState::Running)]), s(4))
        .unwrap();
    rb.record(&sample(s(6), vec![]), s(6)).unwrap();
    let moves: Vec<String> = sh
        .events()
        .into_iter()
        .filter(|e| e.starts_with("migrated"))
        .collect();
    assert_eq!(moves, Vec::<String>::new());
}

#[test]
fn a_recorder_starting_for_a_third_host_leaves_the_others_judgments_to_them() {
    let sh = Shared::new();
    let (mut ra, mut rb) = start(&sh);
    ra.record(&sample(s(2), vec![]), s(2)).unwrap();
    // c's recorder starts while a's judgment waits: it is a's, not c's to confirm.
    let mut rc = sh.recorder("c");
    rc.record(&sample(s(2) + 100, vec![]), s(2) + 100).unwrap();
    assert_eq!(
        sh.events(),
        Vec::<String>::new(),
        "c confirmed a's judgment"
    );
    rb.record(&sample(s(2) + 300, vec![web(VmState::Running)]), s(2) + 300)
        .unwrap();
    assert_eq!(sh.events(), ["migrated a->b"]);
}

#[test]
fn a_host_taken_over_is_not_recorded_until_its_first_sample_not_its_first_connection_try() {
    let sh = Shared::new();
    let now = || Utc::now().timestamp_millis();
    let mut ra = sh.recorder_at("a", now());
    ra.record(&sample(now(), vec![web(VmState::Running)]), now())
        .unwrap();
    // a's recorder dies without a word; once its lease is stale another takes its host.
    drop(ra);
    std::thread::sleep(std::time::Duration::from_millis(400));
    let mut store = PgStore::open_rw(&sh.url, None).unwrap();
    let last = store.host_written_until("a").unwrap().unwrap();
    let mut taker = sh.recorder_at("a", now());
    // Its connection is tried at once, within the stale time of the last write; the host is
    // written again only with the first sample, well after it.
    let trying = Update::Link {
        state: LinkState::Connecting,
        error: None,
        retry: None,
    };
    let m = Message {
        host: 0,
        at: Instant::now(),
        update: trying,
    };
    taker.record(&m, last + 200).unwrap();
    let first = last + 2_000;
    taker
        .record(&sample(first, vec![web(VmState::Running)]), first)
        .unwrap();
    let gaps = sh.gaps();
    assert_eq!(gaps.len(), 1, "{gaps:?}");
    assert!(gaps[0].starts_with("not recorded for 2.0 s"), "{gaps:?}");
}

#[test]
fn a_recorder_starting_over_as_the_same_holder_left_none_of_its_kept_hosts_unrecorded() {
    let sh = Shared::new();
    let now = || Utc::now().timestamp_millis();
    let me = Holder::renewing(Role::Service, RENEW_MS);
    let mut r = sh.recorder_as(me.clone(), "a", now());
    r.record(&sample(now(), vec![web(VmState::Running)]), now())
        .unwrap();
    let last = PgStore::open_rw(&sh.url, None)
        .unwrap()
        .host_written_until("a")
        .unwrap()
        .unwrap();
    // Its share changes (it keeps a): it starts over as the same holder, and its first sample
    // of a comes well past the stale time of its own last write.
    r.hand_over(&["a"]);
    let mut again = sh.recorder_as(me, "a", now());
    let first = last + 2_000;
    again
        .record(&sample(first, vec![web(VmState::Running)]), first)
        .unwrap();
    assert_eq!(sh.gaps(), Vec::<String>::new());
}
