#![allow(clippy::unwrap_used)]
//! The collectors' mailbox: bounded whatever the app's speed, a newer sample folding the older
//! one in with its events kept, links and samples in the order they happened, actions never
//! folded, and the app woken when something comes.

use fleetwatch_core::actions::{ActionUpdate, Progress};
use fleetwatch_core::link::{ACTION_BACKLOG, LinkState, Mailbox, Message, Update};
use fleetwatch_core::model::event::{DomainEvent, EventKind};
use fleetwatch_testkit as support;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn sample(host: usize, polls: u64, events: &[&str]) -> Message {
    let mut s = support::sample(support::info(4, 8), Instant::now(), Vec::new());
    s.calls = polls as u32;
    s.events = events.iter().map(|u| event(u)).collect();
    Message {
        host,
        at: Instant::now(),
        update: Update::Sample(Arc::new(s)),
    }
}

fn event(uuid: &str) -> DomainEvent {
    DomainEvent {
        uuid: uuid.into(),
        name: uuid.into(),
        kind: EventKind::MetadataChanged,
        at_ms: 0,
    }
}

fn link(host: usize, state: LinkState) -> Message {
    Message {
        host,
        at: Instant::now(),
        update: Update::Link {
            state,
            error: None,
            retry: None,
        },
    }
}

fn action(host: usize, id: u64) -> Message {
    Message {
        host,
        at: Instant::now(),
        update: Update::Action(ActionUpdate::Progress {
            id,
            progress: Progress::default(),
        }),
    }
}

/// What a message is, in a word: "s<poll>[events]", the link state, or "a<id>".
fn word(m: &Message) -> String {
    match &m.update {
        Update::Sample(s) => {
            let ev: Vec<&str> = s.events.iter().map(|e| e.uuid.as_str()).collect();
            format!("s{}{ev:?}", s.calls)
        }
        Update::Link { state, .. } => state.label().to_owned(),
        Update::Action(ActionUpdate::Progress { id, .. }) => format!("a{id}"),
        Update::Action(_) => "a?".into(),
    }
}

#[test]
fn a_newer_sample_replaces_the_untaken_one_and_keeps_its_events_in_front() {
    let (tx, mut rx) = Mailbox::new(2);
    tx.send(sample(0, 1, &["a", "b"])).unwrap();
    tx.send(sample(1, 1, &[])).unwrap();
    tx.send(sample(0, 2, &[])).unwrap();
    tx.send(sample(0, 3, &["c"])).unwrap();
    let got: Vec<(usize, String)> = rx.try_batch().iter().map(|m| (m.host, word(m))).collect();
    assert_eq!(
        got,
        [
            (0, r#"s3["a", "b", "c"]"#.to_owned()),
            (1, "s1[]".to_owned())
        ]
    );
    assert_eq!(rx.merged(), 2);
    // Taken samples are the app's: the next one stands alone.
    tx.send(sample(0, 4, &["d"])).unwrap();
    assert_eq!(word(&rx.try_recv().unwrap()), r#"s4["d"]"#);
    assert!(rx.try_recv().is_none());
}

#[test]
fn links_and_samples_keep_their_order() {
    let (tx, mut rx) = Mailbox::new(1);
    // A sample, then the host went down: the app must end with the host down, not up.
    tx.send(sample(0, 1, &[])).unwrap();
    tx.send(link(0, LinkState::Down)).unwrap();
    let got: Vec<String> = rx.try_batch().iter().map(word).collect();
    assert_eq!(got, ["s1[]", "down"]);
    // Stale, a late sample, down, reconnected and a sample: the app learns the host is up,
    // after the last link that came before that sample.
    tx.send(link(0, LinkState::Stale)).unwrap();
    tx.send(sample(0, 2, &["x"])).unwrap();
    tx.send(link(0, LinkState::Down)).unwrap();
    tx.send(link(0, LinkState::Connecting)).unwrap();
    tx.send(sample(0, 3, &[])).unwrap();
    tx.send(link(0, LinkState::Stale)).unwrap();
    let got: Vec<String> = rx.try_batch().iter().map(word).collect();
    assert_eq!(got, ["connecting", r#"s3["x"]"#, "stale"]);
}

#[test]
fn actions_are_never_folded_and_stay_in_order_among_the_rest() {
    let (tx, mut rx) = Mailbox::new(1);
    tx.send(link(0, LinkState::Up)).unwrap();
    tx.send(action(0, 1)).unwrap();
    tx.send(action(0, 1)).unwrap();
    tx.send(sample(0, 1, &[])).unwrap();
    tx.send(action(0, 2)).unwrap();
    tx.send(sample(0, 2, &[])).unwrap();
    let got: Vec<String> = rx.try_batch().iter().map(word).collect();
    assert_eq!(got, ["up", "a1", "a1", "a2", "s2[]"]);
}

#[test]
fn memory_stays_bounded_however_long_the_app_does_not_read() {
    let hosts = 100;
    let (tx, mut rx) = Mailbox::new(hosts);
    let mut events = 0;
    for round in 0..1_000u64 {
        for h in 0..hosts {
            let state = [LinkState::Stale, LinkState::Down, LinkState::Connecting][h % 3];
            tx.send(link(h, state)).unwrap();
            tx.send(sample(h, round, &["e"])).unwrap();
            events += 1;
        }
    }
    let got = rx.try_batch();
    assert!(got.len() <= 3 * hosts, "{} entries pending", got.len());
    // Every host's events survived the folding, in host order.
    let mut hosts_seen: Vec<usize> = got.iter().map(|m| m.host).collect();
    assert!(hosts_seen.is_sorted());
    hosts_seen.dedup();
    assert_eq!(hosts_seen.len(), hosts);
    let kept: usize = got
        .iter()
        .map(|m| match &m.update {
            Update::Sample(s) => s.events.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(kept, events);
    assert!(rx.merged() >= 2 * (events as u64 - hosts as u64));
}

#[test]
fn an_action_producer_waits_for_room_instead_of_folding() {
    let (tx, mut rx) = Mailbox::new(1);
    let producer = std::thread::spawn(move || {
        for id in 0..(ACTION_BACKLOG as u64 + 10) {
            tx.send(action(0, id)).unwrap();
        }
    });
    // The producer fills the slot and then waits: nothing is dropped or folded meanwhile.
    let end = Instant::now() + Duration::from_secs(30);
    let mut got = Vec::new();
    while got.len() < ACTION_BACKLOG + 10 {
        assert!(Instant::now() < end, "got {} actions", got.len());
        std::thread::sleep(Duration::from_millis(20));
        let batch = rx.try_batch();
        assert!(batch.len() <= ACTION_BACKLOG, "{} at once", batch.len());
        got.extend(batch.iter().map(word));
    }
    producer.join().unwrap();
    let want: Vec<String> = (0..ACTION_BACKLOG + 10).map(|i| format!("a{i}")).collect();
    assert_eq!(got, want);
    assert_eq!(rx.merged(), 0);
}

#[test]
fn a_waiting_producer_is_released_when_the_app_goes() {
    let (tx, rx) = Mailbox::new(1);
    let producer = std::thread::spawn(move || {
        (0..ACTION_BACKLOG as u64 + 1).all(|id| tx.send(action(0, id)).is_ok())
    });
    std::thread::sleep(Duration::from_millis(50));
    drop(rx);
    assert!(
        !producer.join().unwrap(),
        "the last send is refused, not stuck"
    );
}

#[test]
fn a_message_for_a_host_without_a_slot_is_refused() {
    let (tx, mut rx) = Mailbox::new(1);
    assert!(tx.send(sample(5, 1, &[])).is_err());
    assert_eq!(tx.hosts(), 1);
    assert!(rx.try_recv().is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn the_app_is_woken_and_sees_the_end() {
    let (tx, mut rx) = Mailbox::new(3);
    let producer = std::thread::spawn(move || {
        for round in 1..=50 {
            for h in [2, 0, 1] {
                tx.send(sample(h, round, &[])).unwrap();
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // Dropping the last sender ends the app's wait.
    });
    let mut last = [0u32; 3];
    let read = async {
        while let Some(batch) = rx.recv_batch().await {
            let hosts: Vec<usize> = batch.iter().map(|m| m.host).collect();
            assert!(hosts.is_sorted(), "host order: {hosts:?}");
            for m in batch {
                if let Update::Sample(s) = m.update {
                    assert!(s.calls > last[m.host], "samples go forward");
                    last[m.host] = s.calls;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the end of the senders ends the wait");
    producer.join().unwrap();
    assert_eq!(last, [50, 50, 50], "the newest sample of each host arrives");
}
