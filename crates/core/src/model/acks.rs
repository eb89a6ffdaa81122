//! Acknowledged findings: someone said "I know, I am on it" (who, when, why, until when). An
//! acknowledged finding still shows, dimmed, but no longer raises `check`'s status, until the
//! acknowledgement expires or the finding clears; a finding that returns after clearing fires
//! again. Pure: the store keeps the acknowledgements, the callers give the findings and time.

use super::findings::{Finding, Kind};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How long an acknowledgement lasts unless told otherwise.
pub const DEFAULT_FOR: Duration = Duration::from_secs(24 * 3600);
/// Longest one may last: an acknowledgement is not a way to switch a rule off (the policy is).
pub const MAX_FOR: Duration = Duration::from_secs(90 * 24 * 3600);
/// Longest reason kept (characters).
pub const MAX_REASON: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub kind: Kind,
    /// What the finding is about: the VM's UUID (or name), else the host's name.
    pub subject: String,
    pub by: String,
    pub at_ms: i64,
    pub reason: String,
    pub expires_ms: i64,
}

/// What an acknowledgement of `f` names it by: the UUID when the finding has one, else the
/// host, else the VM's name.
pub fn subject_of(f: &Finding) -> String {
    f.uuid
        .clone()
        .or_else(|| f.host.clone())
        .or_else(|| f.vm.clone())
        .unwrap_or_default()
}

/// Why an acknowledgement cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckError {
    #[error("a reason is needed: say why this finding may wait (who handles it, which ticket)")]
    NoReason,
    #[error(
        "an acknowledgement lasts at most 90 days ({0} asked); a rule that never applies belongs in the policy"
    )]
    TooLong(String),
    #[error("nothing to acknowledge: name the VM (name or UUID) or the host")]
    NoSubject,
}

impl Ack {
    /// A new acknowledgement, checked: a reason, a subject, a sane length.
    pub fn new(
        kind: Kind,
        subject: &str,
        by: &str,
        reason: &str,
        now_ms: i64,
        lasts: Duration,
    ) -> Result<Ack, AckError> {
        let reason = crate::sanitize::clean(reason.trim());
        if reason.is_empty() {
            return Err(AckError::NoReason);
        }
        let subject = subject.trim();
        if subject.is_empty() {
            return Err(AckError::NoSubject);
        }
        if lasts > MAX_FOR {
            return Err(AckError::TooLong(crate::model::age(lasts)));
        }
        let ms = i64::try_from(lasts.as_millis()).unwrap_or(i64::MAX);
        Ok(Ack {
            kind,
            subject: crate::sanitize::clean(subject),
            by: by.to_owned(),
            at_ms: now_ms,
            reason: reason.chars().take(MAX_REASON).collect(),
            expires_ms: now_ms.saturating_add(ms),
        })
    }

    pub fn covers(&self, f: &Finding) -> bool {
        self.kind == f.kind
            && [&f.uuid, &f.vm, &f.host]
                .into_iter()
                .flatten()
                .any(|s| *s == self.subject)
    }

    pub fn expired(&self, now_ms: i64) -> bool {
        self.expires_ms <= now_ms
    }
}

/// The acknowledgement in force for a finding, if any.
pub fn in_force<'a>(acks: &'a [Ack], f: &Finding, now_ms: i64) -> Option<&'a Ack> {
    acks.iter().find(|a| !a.expired(now_ms) && a.covers(f))
}

/// Acknowledgements whose finding is not there any more: the condition cleared, so the
/// acknowledgement ends (a return fires again). Only for a complete evaluation: with a host
/// not answering, its VMs' findings are unknown, not cleared; `judged` says whether a finding
/// of this subject could be judged at all.
pub fn cleared<'a>(
    acks: &'a [Ack],
    findings: &[Finding],
    judged: impl Fn(&Ack) -> bool,
) -> Vec<&'a Ack> {
    acks.iter()
        .filter(|a| judged(a) && !findings.iter().any(|f| a.covers(f)))
        .collect()
}

/// Whether `fleet` can tell that a finding of this acknowledgement's subject is gone: the
/// subject (a host, or a VM by UUID or name) is on a host that answers; a subject the fleet
/// does not hold only when it is `complete` (every host there, all answering: a VM deleted).
/// One silent host of hundreds leaves the others' acknowledgements judged.
pub fn judged(fleet: &super::Fleet, a: &Ack, complete: bool) -> bool {
    use crate::link::LinkState;
    let up = |h: usize| fleet.hosts.get(h).is_some_and(|x| x.link == LinkState::Up);
    if let Some(h) = fleet.hosts.iter().position(|h| h.name == a.subject) {
        return up(h);
    }
    match fleet
        .vm(&a.subject)
        .or_else(|| fleet.vms().find(|v| v.name == a.subject))
    {
        Some(v) => up(v.host),
        None => complete,
    }
}

/// Findings split into those that count and those acknowledged (with their acknowledgement).
pub fn split<'a>(
    findings: &'a [Finding],
    acks: &'a [Ack],
    now_ms: i64,
) -> (Vec<&'a Finding>, Vec<(&'a Finding, &'a Ack)>) {
    let mut live = Vec::new();
    let mut acked = Vec::new();
    for f in findings {
        match in_force(acks, f, now_ms) {
            Some(a) => acked.push((f, a)),
            None => live.push(f),
        }
    }
    (live, acked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::findings::Severity;

    fn finding(kind: Kind, vm: &str, uuid: &str, host: &str) -> Finding {
        Finding {
            kind,
            severity: Severity::Critical,
            vm: Some(vm.into()),
            uuid: Some(uuid.into()),
            host: Some(host.into()),
            detail: String::new(),
        }
    }

    const H: i64 = 3_600_000;

    #[test]
    fn an_ack_covers_its_kind_and_subject_until_it_expires() {
        let f = finding(Kind::Unbacked, "web-01", "u-1", "hv1");
        let a = Ack::new(
            Kind::Unbacked,
            "u-1",
            "ann",
            "CHG-7 backup job fixed tonight",
            0,
            DEFAULT_FOR,
        )
        .unwrap();
        assert_eq!(a.expires_ms, 24 * H);
        assert!(in_force(std::slice::from_ref(&a), &f, 23 * H).is_some());
        assert!(
            in_force(std::slice::from_ref(&a), &f, 24 * H).is_none(),
            "expired"
        );
        // The VM's name works too; another kind or another VM is not covered.
        let by_name = Ack::new(Kind::Unbacked, "web-01", "ann", "why", 0, DEFAULT_FOR).unwrap();
        assert!(by_name.covers(&f));
        assert!(!a.covers(&finding(Kind::Unapproved, "web-01", "u-1", "hv1")));
        assert!(!a.covers(&finding(Kind::Unbacked, "web-02", "u-2", "hv1")));
        let (live, acked) = split(std::slice::from_ref(&f), std::slice::from_ref(&a), H);
        assert!(live.is_empty() && acked.len() == 1);
    }

    #[test]
    fn an_ack_needs_a_reason_a_subject_and_a_sane_length() {
        let long = Duration::from_secs(91 * 24 * 3600);
        assert_eq!(
            Ack::new(Kind::Drift, "x", "a", "  ", 0, DEFAULT_FOR),
            Err(AckError::NoReason)
        );
        assert_eq!(
            Ack::new(Kind::Drift, " ", "a", "r", 0, DEFAULT_FOR),
            Err(AckError::NoSubject)
        );
        assert!(matches!(
            Ack::new(Kind::Drift, "x", "a", "r", 0, long),
            Err(AckError::TooLong(_))
        ));
        let a = Ack::new(
            Kind::Drift,
            "x",
            "a",
            &format!("\u{1b}[2J{}", "y".repeat(500)),
            0,
            DEFAULT_FOR,
        )
        .unwrap();
        assert!(!a.reason.contains('\u{1b}') && a.reason.chars().count() == MAX_REASON);
    }

    #[test]
    fn a_cleared_finding_ends_its_ack_but_an_unjudged_one_does_not() {
        let a = Ack::new(Kind::Unbacked, "u-1", "ann", "r", 0, DEFAULT_FOR).unwrap();
        let acks = [a];
        let present = [finding(Kind::Unbacked, "web-01", "u-1", "hv1")];
        assert!(cleared(&acks, &present, |_| true).is_empty());
        assert_eq!(cleared(&acks, &[], |_| true).len(), 1);
        assert!(
            cleared(&acks, &[], |_| false).is_empty(),
            "its host is not answering"
        );
    }
}
