//! What a recorder serving `--metrics` does on its writing thread after each batch or tick:
//! its health for the next scrape, and, when a scraper is around, the fleet's findings and
//! text.

use super::exporter::Exporter;
use super::stores::Where;
use fleetwatch_core::actions::Operator;
use fleetwatch_core::config::Config;
use fleetwatch_core::history::recorder::{RecordError, Recorder};
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::metrics::{self, Health};
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::acks::{Ack, cleared, judged};
use fleetwatch_core::model::findings::Kind;
use fleetwatch_core::model::rules;
use fleetwatch_core::policy::loader::Inputs;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The inventory and backup catalog are read again this often, as the TUI does.
const INPUTS_EVERY: Duration = Duration::from_secs(60);
/// Acknowledgements are read again this often, as the TUI does.
const ACKS_EVERY: Duration = Duration::from_secs(10);

pub struct RecordMetrics {
    exporter: Arc<Exporter>,
    inputs: Inputs,
    inputs_at: Instant,
    hosts: usize,
    /// Recording a share of the config's hosts: findings that weigh hosts against each other
    /// (failover capacity, anti-affinity, split brain) would be judged on the share alone, so
    /// they are left to a recorder of the whole fleet (or, for split brain, to the alert that
    /// counts `fleetwatch_vm_running` across recorders).
    partial: bool,
    /// The store's acknowledgements, read through a reader of its own when a scrape wants
    /// the fleet; the last answer stands while the store does not answer.
    acks: Vec<Ack>,
    /// Hosts in maintenance, read with the acknowledgements: their findings alert no one.
    maintenance: Vec<fleetwatch_core::actions::maintenance::Maintenance>,
    acks_at: Option<Instant>,
    reader: Option<Box<dyn HistoryRead + Send>>,
}

const FLEET_WIDE: [Kind; 3] = [Kind::FailoverCapacity, Kind::AntiAffinity, Kind::SplitBrain];

impl RecordMetrics {
    pub fn new(exporter: Arc<Exporter>, config: &Config, hosts: usize) -> RecordMetrics {
        // A new share: the lag is of its own writes.
        exporter.start_session();
        RecordMetrics {
            partial: hosts < config.hosts.len(),
            exporter,
            inputs: Inputs::load(&config.policy),
            inputs_at: Instant::now(),
            hosts,
            acks: Vec::new(),
            maintenance: Vec::new(),
            acks_at: None,
            reader: None,
        }
    }

    fn refresh_acks(&mut self, config: &Config) {
        if self.acks_at.is_some_and(|t| t.elapsed() < ACKS_EVERY) {
            return;
        }
        self.acks_at = Some(Instant::now());
        if self.reader.is_none() {
            self.reader = Where::of(config).ok().and_then(|w| w.reader().ok());
        }
        let read = self
            .reader
            .as_ref()
            .map(|r| r.acks().and_then(|a| Ok((a, r.maintenance()?))));
        match read {
            Some(Ok((a, m))) => (self.acks, self.maintenance) = (a, m),
            // Opened anew next time: a restarted server or a replaced file.
            Some(Err(e)) => {
                tracing::debug!("acknowledgements or maintenance not read: {e}");
                self.reader = None;
            }
            None => {}
        }
    }

    /// Ends the acknowledgements whose finding cleared, as the TUI and `check` do: a recorder
    /// serving alerts with neither around would otherwise keep a finding silenced when it
    /// returns. Only where this recorder can tell (`acks::judged`).
    fn end_cleared(&mut self, fleet: &Fleet, config: &Config) {
        if self.acks.is_empty() || !fleet.settled() {
            return;
        }
        let complete = !self.partial && fleet.hosts.iter().all(|h| h.link == LinkState::Up);
        let gone: Vec<(Kind, String)> = cleared(&self.acks, &fleet.findings, |a| {
            !(self.partial && FLEET_WIDE.contains(&a.kind)) && judged(fleet, a, complete)
        })
        .into_iter()
        .map(|a| (a.kind, a.subject.clone()))
        .collect();
        if gone.is_empty() {
            return;
        }
        let mut w = match super::acks::writer(config) {
            Ok(w) => w,
            Err(e) => return tracing::warn!("cleared acknowledgements not ended: {e}"),
        };
        let op = Operator::from_env();
        for (kind, subject) in gone {
            let r = super::acks::unack_record(&op, kind, &subject, "cleared");
            match w.end_ack(kind, &subject, &r) {
                // Ended here or by another recorder of the same store: gone either way.
                Ok(_) => self
                    .acks
                    .retain(|a| !(a.kind == kind && a.subject == subject)),
                Err(e) => tracing::warn!("acknowledgement of {kind} for {subject} not ended: {e}"),
            }
        }
    }

    pub fn after(
        &mut self,
        rec: &mut Recorder,
        result: &Result<(), RecordError>,
        wrote: bool,
        config: &Config,
    ) {
        let x = &self.exporter;
        match result {
            Ok(()) if wrote => x.wrote(rec.fleet().newest_sample_ms()),
            Ok(()) => {}
            Err(_) => x.write_failed(),
        }
        let (maintained, stalled) = rec.history_health();
        x.set_health(Health {
            hosts_recorded: self.hosts,
            last_rollup_s: maintained.map(|ms| ms as f64 / 1e3),
            stalled: stalled.to_vec(),
            ..Health::default()
        });
        if !x.wants() {
            return;
        }
        if self.inputs_at.elapsed() >= INPUTS_EVERY {
            self.inputs = Inputs::load(&config.policy);
            self.inputs_at = Instant::now();
        }
        let mut list = rules::evaluate(
            rec.fleet(),
            &config.policy,
            &self.inputs,
            chrono::Utc::now(),
        );
        if self.partial {
            list.retain(|f| !FLEET_WIDE.contains(&f.kind));
        }
        rec.set_findings(list, self.inputs.problems(&config.policy));
        self.refresh_acks(config);
        self.end_cleared(rec.fleet(), config);
        let text = metrics::render_acked(rec.fleet(), None, &self.acks, &self.maintenance);
        self.exporter.publish(text);
    }
}
