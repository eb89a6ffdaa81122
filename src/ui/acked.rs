//! Which findings someone acknowledged, for the counts the header and the wall show (those
//! nobody handles yet) and for the findings view, which shows them dimmed with who, when, why.

use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::acks::{Ack, in_force};
use fleetwatch_core::model::findings::{Finding, Severity};

/// Critical and warning findings nobody acknowledged, and how many are acknowledged. With no
/// acknowledgement (the usual case) this is the fleet's own counts, at no cost.
pub fn live_counts(fleet: &Fleet, acks: &[Ack]) -> (usize, usize, usize) {
    let (crit, warn) = fleet.finding_counts();
    if acks.is_empty() {
        return (crit, warn, 0);
    }
    let now = chrono::Utc::now().timestamp_millis();
    let (mut ac, mut aw) = (0, 0);
    for f in fleet
        .findings
        .iter()
        .filter(|f| in_force(acks, f, now).is_some())
    {
        match f.severity {
            Severity::Critical => ac += 1,
            Severity::Warning => aw += 1,
        }
    }
    (crit - ac.min(crit), warn - aw.min(warn), ac + aw)
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
