//! The one reader of moments for the whole program: what an operator types ("-6h", "6h ago",
//! "14:30", "2026-11-21 14:30", RFC 3339) and what the policy files and domain metadata hold
//! (RFC 3339 or a plain date). Every reader of a time goes through here, so a date means one
//! thing wherever it is written.
//!
//! A date or a time without an offset is read in the operator's local time zone, in every
//! source alike: the person who wrote "2026-12-31" in an inventory and the person who typed it
//! after `--at` both meant their own calendar day. What differs per use is only which end of
//! that day counts, and [`DayEdge`] names the rule each caller picks.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use std::time::Duration;

/// The longest span anyone means: a century. Longer ones overflow the clock arithmetic
/// (a moment 300,000 years back does not exist for chrono) and are typing mistakes anyway.
pub const MAX_SPAN: Duration = Duration::from_secs(100 * 365 * 86_400);

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TimeError {
    #[error("{0:?} is not a span of time like 6h, 30m or 2d: {1}")]
    NotASpan(String, humantime::DurationError),
    #[error("{0:?} is longer than 100 years")]
    TooLong(String),
    #[error("{0:?} is before any time fleetwatch can show")]
    TooEarly(String),
    #[error("{0} does not exist in the local time zone")]
    NotLocal(NaiveDateTime),
    #[error("date {0:?} out of range")]
    OutOfRange(String),
    #[error(
        "{0:?} is not a moment: write -6h, \"6h ago\", 14:30, \"2026-11-21 14:30\" (local time) or an RFC 3339 time"
    )]
    NotAMoment(String),
    #[error("{0:?} is neither an RFC 3339 time (2026-11-21T10:00:00Z) nor a date (2026-11-21)")]
    NotAStamp(String),
}

/// Which instant a bare date stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayEdge {
    /// The day's first instant: a moment to look at ("what ran on 2026-11-21") and the time a
    /// backup finished (evidence never looks newer than it may be, so an age check errs late
    /// rather than never).
    Start,
    /// The day's last instant (the next day's local midnight): an expiry. "Approved until
    /// 2026-12-31" holds through the whole of that day, not until the morning it starts.
    End,
}

pub fn parse_span(s: &str) -> Result<Duration, TimeError> {
    let d = humantime::parse_duration(s.trim()).map_err(|e| TimeError::NotASpan(s.into(), e))?;
    if d > MAX_SPAN {
        return Err(TimeError::TooLong(s.into()));
    }
    Ok(d)
}

/// What the operator types after `--at`, `--since` and the like; a date is its start.
pub fn parse_moment(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, TimeError> {
    parse_moment_in(s, now, &Local)
}

/// [`parse_moment`] in a given zone, so the rules can be tested away from the machine's zone.
pub fn parse_moment_in<Tz: TimeZone>(
    s: &str,
    now: DateTime<Utc>,
    tz: &Tz,
) -> Result<DateTime<Utc>, TimeError> {
    let t = s.trim();
    if t == "now" {
        return Ok(now);
    }
    let ago = t
        .strip_prefix('-')
        .or_else(|| t.strip_suffix("ago").map(str::trim));
    if let Some(span) = ago {
        let d = parse_span(span)?;
        return chrono::Duration::from_std(d)
            .ok()
            .and_then(|d| now.checked_sub_signed(d))
            .ok_or_else(|| TimeError::TooEarly(s.into()));
    }
    if let Some(at) = absolute(t, DayEdge::Start, tz) {
        return at;
    }
    for f in ["%H:%M:%S", "%H:%M"] {
        if let Ok(tm) = NaiveTime::parse_from_str(t, f) {
            let today = now.with_timezone(tz).date_naive();
            return local(today.and_time(tm), tz);
        }
    }
    Err(TimeError::NotAMoment(s.into()))
}

/// A time written in a file or in domain metadata: no relative forms (a file has no "now").
pub fn parse_stamp(s: &str, edge: DayEdge) -> Result<DateTime<Utc>, TimeError> {
    parse_stamp_in(s, edge, &Local)
}

/// [`parse_stamp`] in a given zone.
pub fn parse_stamp_in<Tz: TimeZone>(
    s: &str,
    edge: DayEdge,
    tz: &Tz,
) -> Result<DateTime<Utc>, TimeError> {
    let t = s.trim();
    absolute(t, edge, tz).unwrap_or_else(|| Err(TimeError::NotAStamp(t.into())))
}

/// RFC 3339, a local date and time, or a local date; None when `t` is none of them.
fn absolute<Tz: TimeZone>(
    t: &str,
    edge: DayEdge,
    tz: &Tz,
) -> Option<Result<DateTime<Utc>, TimeError>> {
    if let Ok(x) = DateTime::parse_from_rfc3339(t) {
        return Some(Ok(x.with_timezone(&Utc)));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return Some(local(n, tz));
        }
    }
    let d = NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()?;
    let day = match edge {
        DayEdge::Start => Some(d),
        DayEdge::End => d.succ_opt(),
    };
    Some(match day {
        Some(day) => local(day.and_time(NaiveTime::MIN), tz),
        None => Err(TimeError::OutOfRange(t.into())),
    })
}

fn local<Tz: TimeZone>(n: NaiveDateTime, tz: &Tz) -> Result<DateTime<Utc>, TimeError> {
    tz.from_local_datetime(&n)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or(TimeError::NotLocal(n))
}

/// A moment for the screen: local time with its offset.
pub fn show(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// [`show`] for a time in Unix milliseconds.
pub fn show_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms).map_or_else(|| format!("{ms} ms"), show)
}

#[cfg(test)]
#[path = "time_tests.rs"]
mod tests;
