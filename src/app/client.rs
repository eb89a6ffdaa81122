//! A TUI watching the fleet through the shared store (`--store URL`, `[history] client`): what
//! the recorders last saw of each host comes out of the database once a poll interval, turned
//! back into the messages the collectors would have sent, so the model, findings and screens
//! are the same. No libvirt connection is opened to watch; an action opens one to its host.

use super::connector;
use fleetwatch_core::config::Config;
use fleetwatch_core::history::live::{self, LiveChanges, LiveRow};
use fleetwatch_core::link::{LinkState, MailboxSender, Message, Update};
use fleetwatch_core::model::sample::DomainConfig;
use fleetwatch_libvirt::known::Pace;
use fleetwatch_libvirt::libvirt_init;
use fleetwatch_libvirt::supervisor::{Collectors, Limits};
use fleetwatch_pg::PgStore;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Collectors for actions only, and the thread that feeds `tx` from the store.
pub fn start(config: &Config, tx: MailboxSender) -> std::io::Result<Collectors> {
    libvirt_init();
    let uris: Vec<String> = config.hosts.iter().map(|h| h.uri.clone()).collect();
    let limits = Limits {
        threads: config.poll.threads,
        connects: config.poll.connects,
        migrations_per_host: config.evacuation.parallel,
        ..Limits::default()
    };
    let acting = Collectors::on_demand(
        &uris,
        limits,
        Arc::new(connector(config, Pace::Trickle)),
        tx.clone(),
    )?;
    let config = config.clone();
    std::thread::Builder::new()
        .name("store-feed".into())
        .spawn(move || feed(&config, &tx))?;
    Ok(acting)
}

/// What the feed knows of one host between looks.
#[derive(Default)]
struct Seen {
    /// The newest row's write time (this machine's clock) and who wrote it.
    written_ms: Option<i64>,
    recorder: String,
    /// What the newest row says.
    row_link: Option<(LinkState, Option<String>)>,
    /// What was sent last, so a repeat is not sent again.
    sent_link: Option<(LinkState, Option<String>)>,
    /// Sample times: the first one's wall time and this machine's instant for it.
    base: Option<(i64, Instant)>,
    last_wall: Option<i64>,
}

struct Feed<'a> {
    tx: &'a MailboxSender,
    index: HashMap<String, usize>,
    hosts: Vec<Seen>,
    /// Host -> UUID -> its config there.
    configs: HashMap<String, HashMap<String, Arc<DomainConfig>>>,
    hosts_after: i64,
    configs_after: i64,
    /// A host not written for this long has no recorder now.
    stale_after_ms: i64,
    /// Why the store could not be read at the last look.
    unreadable: Option<String>,
}

/// Reads the store every interval until the app is gone.
fn feed(config: &Config, tx: &MailboxSender) {
    let Some(url) = config.history.url.clone() else {
        return;
    };
    let interval = config.poll.interval;
    let mut f = Feed {
        tx,
        index: (config.hosts.iter().enumerate())
            .map(|(i, h)| (h.name.clone(), i))
            .collect(),
        hosts: config.hosts.iter().map(|_| Seen::default()).collect(),
        configs: HashMap::new(),
        hosts_after: 0,
        configs_after: 0,
        stale_after_ms: 3 * interval.as_millis() as i64 + 2_000,
        unreadable: None,
    };
    let mut store: Option<PgStore> = None;
    loop {
        let started = Instant::now();
        if store.is_none() {
            match PgStore::open_ro(&url, config.history.password_file.as_deref()) {
                Ok(s) => store = Some(s),
                Err(e) => f.unreadable = Some(e.to_string()),
            }
        }
        if let Some(s) = &mut store {
            match s.live_changes(f.hosts_after, f.configs_after) {
                Ok(changes) => {
                    f.unreadable = None;
                    if f.apply(changes).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    store = None;
                    f.unreadable = Some(e.to_string());
                }
            }
        }
        if f.judge().is_err() {
            return;
        }
        std::thread::sleep(
            interval
                .saturating_sub(started.elapsed())
                .max(Duration::from_millis(100)),
        );
    }
}

/// The app is gone: the feed stops.
struct Gone;

impl Feed<'_> {
    fn send(&self, host: usize, update: Update) -> Result<(), Gone> {
        self.tx
            .send(Message {
                host,
                at: Instant::now(),
                update,
            })
            .map_err(|_| Gone)
    }

    fn apply(&mut self, changes: LiveChanges) -> Result<(), Gone> {
        for (seq, host, uuid, text) in changes.configs {
            self.configs_after = self.configs_after.max(seq);
            if let Some(c) = live::decode_config(&text) {
                self.configs
                    .entry(host)
                    .or_default()
                    .insert(uuid, Arc::new(c));
            }
        }
        for row in changes.hosts {
            self.hosts_after = self.hosts_after.max(row.seq);
            let Some(&h) = self.index.get(&row.host) else {
                // A host of another config: not this TUI's.
                continue;
            };
            self.row(h, &row)?;
        }
        Ok(())
    }

    fn row(&mut self, h: usize, row: &LiveRow) -> Result<(), Gone> {
        let seen = &mut self.hosts[h];
        seen.written_ms = Some(row.written_ms);
        seen.recorder = fleetwatch_core::sanitize::clean(&row.recorder);
        seen.row_link = Some(live::link_of(row));
        let Some(text) = &row.sample else {
            return Ok(());
        };
        let now = Instant::now();
        let none = HashMap::new();
        let configs = self.configs.get(&row.host).unwrap_or(&none);
        let Some(sample) = live::decode(text, now, configs) else {
            return Ok(());
        };
        let wall = sample.wall.timestamp_millis();
        if seen.last_wall.is_some_and(|w| w >= wall) {
            return Ok(());
        }
        seen.last_wall = Some(wall);
        let age = Duration::from_millis(
            (chrono::Utc::now().timestamp_millis() - row.written_ms).max(0) as u64,
        );
        // The recorder's clock is mapped to ours once per host, so rates come from the
        // samples' own spacing, not from when this TUI happened to look.
        let (base_wall, base_at) = *seen
            .base
            .get_or_insert((wall, now.checked_sub(age).unwrap_or(now)));
        let taken = if wall >= base_wall {
            base_at + Duration::from_millis((wall - base_wall) as u64)
        } else {
            base_at
        };
        let sample = fleetwatch_core::model::sample::HostSample { taken, ..sample };
        let link = self.link_now(h, chrono::Utc::now().timestamp_millis());
        self.sync_link(h, link)?;
        self.send(h, Update::Sample(Arc::new(sample)))
    }

    /// What the host's link is as far as this TUI can tell: the store unreadable, no recorder
    /// writing it, or what its recorder says.
    fn link_now(&self, h: usize, now: i64) -> (LinkState, Option<String>) {
        let seen = &self.hosts[h];
        if let Some(why) = &self.unreadable {
            return (
                LinkState::Stale,
                Some(format!("cannot read the shared store: {why}")),
            );
        }
        match (seen.written_ms, &seen.row_link) {
            (Some(w), _) if now - w > self.stale_after_ms => (
                LinkState::Stale,
                Some(format!(
                    "no recorder has written this host for {} s (last: {}); \
                     see fleetwatch record --status",
                    (now - w) / 1000,
                    seen.recorder
                )),
            ),
            (Some(_), Some(link)) => link.clone(),
            _ => (
                LinkState::Connecting,
                Some("no recorder has written this host yet".into()),
            ),
        }
    }

    /// Sends the host's link state when it changed.
    fn sync_link(&mut self, h: usize, link: (LinkState, Option<String>)) -> Result<(), Gone> {
        let seen = &mut self.hosts[h];
        if seen.sent_link.as_ref() == Some(&link) {
            return Ok(());
        }
        seen.sent_link = Some(link.clone());
        self.send(
            h,
            Update::Link {
                state: link.0,
                error: link.1,
                retry: None,
            },
        )
    }

    /// Every host's link as it stands now: hosts go stale when no recorder writes them.
    fn judge(&mut self) -> Result<(), Gone> {
        let now = chrono::Utc::now().timestamp_millis();
        for h in 0..self.hosts.len() {
            let link = self.link_now(h, now);
            self.sync_link(h, link)?;
        }
        Ok(())
    }
}
