//! The fleet in the Prometheus text exposition format (0.0.4), for `record --metrics` and the
//! TUI's `--metrics`. What is exported is copied out of the model into rows first: the
//! encoder's collectors must own what they write, and the model stays free to change under
//! the next batch while the text is produced.

mod families;
mod rows;

pub use rows::Exposition;

use crate::model::Fleet;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

/// What a scraper is told the body is.
pub const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

/// How the history is kept, as far as the process knows: a recorder's, or a TUI's own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Health {
    /// Hosts this process records (its share, when recorders share a config).
    pub hosts_recorded: usize,
    /// Seconds since the newest sample this process wrote was taken; none before the first.
    pub poll_lag_s: Option<f64>,
    /// Batches whose write failed since the start.
    pub write_errors: u64,
    /// When the rollups last ran (Unix seconds).
    pub last_rollup_s: Option<f64>,
    /// Why the history's rollups or retention do not advance; empty when they do.
    pub stalled: Vec<String>,
}

/// The whole exposition: the fleet (hosts, VMs, findings) and, for a process that records,
/// its health.
pub fn render(fleet: &Fleet, health: Option<&Health>) -> String {
    render_acked(fleet, health, &[], &[])
}

/// As [`render`], with the findings someone acknowledged, and those on hosts in maintenance,
/// counted apart: an alert on `fleetwatch_finding` stops for them,
/// `fleetwatch_findings_acknowledged` and `fleetwatch_findings_maintenance` count them.
pub fn render_acked(
    fleet: &Fleet,
    health: Option<&Health>,
    acks: &[crate::model::acks::Ack],
    maintenance: &[crate::actions::maintenance::Maintenance],
) -> String {
    encode(Exposition::of(fleet, health.cloned(), acks, maintenance))
}

/// Only the health figures, to follow a fleet rendered with no health.
pub fn render_health(h: &Health) -> String {
    encode(Exposition::health(h.clone()))
}

pub fn encode(e: Exposition) -> String {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(e));
    let mut text = String::with_capacity(64 * 1024);
    // Writing into a String cannot fail.
    let _ = prometheus_text::encode(&mut text, &registry);
    text
}

/// A label value as exported: cleaned again (it came from a hypervisor) and bounded, so a
/// hostile name can neither break the format nor blow up a time series database's index. The
/// encoder escapes quotes, backslashes and line breaks.
pub fn label(s: &str) -> String {
    const MAX: usize = 200;
    let clean = crate::sanitize::clean(s);
    match clean.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &clean[..i]),
        None => clean,
    }
}
