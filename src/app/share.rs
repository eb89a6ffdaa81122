//! Recorders that share one config over a database divide its hosts: each takes an equal
//! share of those no live recorder holds (`lease::fair_share`), looks again every lease
//! renewal, and starts over with its new share when that changed (one joined, one died). A
//! start over is a recorder restart, which the store is built for: what it loads back makes
//! the new recorder go on without inventing events. The collectors are not restarted: they
//! connect to the hosts gained and let go of those lost (`Feed`).

use fleetwatch_core::config::{Config, HostConfig};
use fleetwatch_core::history::lease::{Holder, fair_share, renew_every_ms};
use fleetwatch_core::history::recorder::{BATCH_MAX, BATCH_WINDOW};
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::{Mailbox, MailboxReceiver, MailboxSender, Message};
use fleetwatch_libvirt::known::Pace;
use fleetwatch_libvirt::supervisor::Collectors;
use std::collections::HashMap;
use std::time::Duration;

use super::start_collectors_watching;

/// How often a sharing recorder looks whether its share changed: at each renewal, so a dead
/// recorder's hosts are seen free at most one renewal after they went stale.
pub fn look_every(config: &Config) -> Duration {
    Duration::from_millis(renew_every_ms(config.poll.interval) as u64)
}

/// The hosts of `config` this recorder should record now, by the leases `looker` reads (a
/// connection to the shared database; none for a file, which is not shared: every host).
/// `me`: this recorder (the same holder for all its sessions).
pub fn target(
    looker: Option<&dyn HistoryRead>,
    config: &Config,
    me: &Holder,
) -> Result<Vec<HostConfig>, String> {
    let Some(looker) = looker else {
        return Ok(config.hosts.clone());
    };
    let leases = looker.leases().map_err(|e| e.to_string())?;
    let names: Vec<&str> = config.hosts.iter().map(|h| h.name.as_str()).collect();
    let now = chrono::Utc::now().timestamp_millis();
    let share = fair_share(&names, &leases, me, now);
    Ok(config
        .hosts
        .iter()
        .filter(|h| share.contains(&h.name))
        .cloned()
        .collect())
}

/// The collectors of a recorder, kept across its shares: they know every host of the config
/// and watch this share's, so a changed share opens connections to the hosts it gained and
/// closes those it lost, and the hosts it kept go on on their connections (1,000 hosts
/// reconnecting at every change kept a survivor from taking a dead recorder's hosts in time).
/// Messages come out numbered as the share's recorder knows its hosts.
pub struct Feed {
    tx: MailboxSender,
    rx: MailboxReceiver,
    collectors: Option<Collectors>,
    /// Config index -> index in the share, for the hosts of the share.
    into_share: Vec<Option<usize>>,
}

impl Feed {
    pub fn new(config: &Config) -> Feed {
        let (tx, rx) = Mailbox::new(config.hosts.len().max(1));
        Feed {
            tx,
            rx,
            collectors: None,
            into_share: vec![None; config.hosts.len()],
        }
    }

    /// Watches `share` (a list of the config's hosts) and nothing else. Says how many hosts
    /// of the share were watched already (their connections kept) and how many are new.
    pub fn follow(
        &mut self,
        config: &Config,
        share: &[HostConfig],
    ) -> std::io::Result<(usize, usize)> {
        let at: HashMap<&str, usize> = share
            .iter()
            .enumerate()
            .map(|(i, h)| (h.name.as_str(), i))
            .collect();
        let was = std::mem::take(&mut self.into_share);
        self.into_share = config
            .hosts
            .iter()
            .map(|h| at.get(h.name.as_str()).copied())
            .collect();
        let kept = match &self.collectors {
            Some(_) => was
                .iter()
                .zip(&self.into_share)
                .filter(|(a, b)| a.is_some() && b.is_some())
                .count(),
            None => 0,
        };
        let watched: Vec<bool> = self.into_share.iter().map(Option::is_some).collect();
        match &self.collectors {
            Some(c) => c.watch_only(watched),
            // A share of no host (more recorders than hosts) opens nothing until it has one.
            None if share.is_empty() => {}
            None => {
                let c =
                    start_collectors_watching(config, &watched, self.tx.clone(), Pace::Trickle)?;
                self.collectors = Some(c);
            }
        }
        Ok((kept, share.len() - kept))
    }

    /// The next message of a host of the share; what a host let go had sent is dropped.
    pub async fn recv(&mut self) -> Option<Message> {
        loop {
            let mut m = self.rx.recv().await?;
            if let Some(i) = self.into_share.get(m.host).copied().flatten() {
                m.host = i;
                return Some(m);
            }
        }
    }

    /// The first message and what else comes within the batch window: one transaction for
    /// all.
    pub async fn gather(&mut self, first: Message) -> Vec<Message> {
        let mut batch = vec![first];
        let until = tokio::time::Instant::now() + BATCH_WINDOW;
        while batch.len() < BATCH_MAX {
            match tokio::time::timeout_at(until, self.recv()).await {
                Ok(Some(m)) => batch.push(m),
                Ok(None) | Err(_) => break,
            }
        }
        batch
    }
}
