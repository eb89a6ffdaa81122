//! Which findings someone acknowledged, or are of a host in maintenance, for the counts the
//! header and the wall show (those nobody handles yet) and for the findings view, which shows
//! them dimmed with who, when, why.

use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::acks::{Ack, in_force};
use fleetwatch_core::model::findings::{Finding, Severity};
use std::collections::BTreeMap;

/// The findings the header, the wall and the findings view count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Critical and warning findings nobody handles yet.
    pub crit: usize,
    pub warn: usize,
    /// Acknowledged ones, and those of hosts in maintenance (expected while someone works on
    /// the host; an acknowledged one there counts as acknowledged).
    pub acked: usize,
    pub held: usize,
}

/// With no acknowledgement and no host in maintenance (the usual case) this is the fleet's
/// own counts, at no cost.
pub fn live_counts(fleet: &Fleet, acks: &[Ack], maintenance: &BTreeMap<String, String>) -> Counts {
    let (crit, warn) = fleet.finding_counts();
    let mut c = Counts {
        crit,
        warn,
        ..Counts::default()
    };
    if acks.is_empty() && maintenance.is_empty() {
        return c;
    }
    let now = chrono::Utc::now().timestamp_millis();
    for f in &fleet.findings {
        if in_force(acks, f, now).is_some() {
            c.acked += 1;
        } else if held(maintenance, f).is_some() {
            c.held += 1;
        } else {
            continue;
        }
        match f.severity {
            Severity::Critical => c.crit = c.crit.saturating_sub(1),
            Severity::Warning => c.warn = c.warn.saturating_sub(1),
        }
    }
    c
}

/// What the maintenance of the finding's host says of it ("by ann since ..."), when it is in.
pub fn held<'a>(maintenance: &'a BTreeMap<String, String>, f: &Finding) -> Option<&'a str> {
    f.host
        .as_deref()
        .and_then(|h| maintenance.get(h))
        .map(String::as_str)
}

/// The acknowledgement in force for one finding.
pub fn of<'a>(acks: &'a [Ack], f: &Finding) -> Option<&'a Ack> {
    if acks.is_empty() {
        return None;
    }
    in_force(acks, f, chrono::Utc::now().timestamp_millis())
}

/// "ack ann 2h ago, until 12-04 10:00: CHG-88": what the findings view says of one.
pub fn describe(a: &Ack) -> String {
    let now = chrono::Utc::now().timestamp_millis();
    let ago = std::time::Duration::from_millis(u64::try_from(now - a.at_ms).unwrap_or(0));
    let until = chrono::DateTime::from_timestamp_millis(a.expires_ms)
        .map(|t| {
            t.with_timezone(&chrono::Local)
                .format("%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default();
    format!(
        "ack {} {} ago, until {until}: {}",
        a.by,
        fleetwatch_core::model::age(ago),
        a.reason
    )
}
