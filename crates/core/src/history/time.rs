//! Moments as people type them: "-6h", "6h ago", "2026-11-21 14:30" (local time), "14:30"
//! (today), or RFC 3339.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use std::time::Duration;

/// The longest span anyone means: a century. Longer ones overflow the clock arithmetic
/// (a moment 300,000 years back does not exist for chrono) and are typing mistakes anyway.
pub const MAX_SPAN: Duration = Duration::from_secs(100 * 365 * 86_400);

pub fn parse_span(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s.trim())
        .map_err(|e| format!("{s:?} is not a span of time like 6h, 30m or 2d: {e}"))?;
    if d > MAX_SPAN {
        return Err(format!("{s:?} is longer than 100 years"));
    }
    Ok(d)
}

pub fn parse_moment(s: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
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
            .ok_or_else(|| format!("{s:?} is before any time fleetwatch can show"));
    }
    if let Ok(x) = DateTime::parse_from_rfc3339(t) {
        return Ok(x.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
            return local(n);
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        return local(d.and_time(NaiveTime::MIN));
    }
    for f in ["%H:%M:%S", "%H:%M"] {
        if let Ok(tm) = NaiveTime::parse_from_str(t, f) {
            return local(now.with_timezone(&Local).date_naive().and_time(tm));
        }
    }
    Err(format!(
        "{s:?} is not a moment: write -6h, \"6h ago\", 14:30, \"2026-11-21 14:30\" (local time) or an RFC 3339 time"
    ))
}

fn local(n: NaiveDateTime) -> Result<DateTime<Utc>, String> {
    Local
        .from_local_datetime(&n)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("{n} does not exist in the local time zone"))
}

/// A moment for the screen: local time with its offset.
pub fn show(t: DateTime<Utc>) -> String {
    t.with_timezone(&Local)
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_spans_are_refused_not_panicked_on() {
        let now = Utc::now();
        for s in ["-300000y", "300000y ago", "-99999999999999y"] {
            assert!(parse_moment(s, now).is_err(), "{s}");
        }
        assert!(parse_span("300000y").unwrap_err().contains("100 years"));
        assert!(parse_span("500000000000y").is_err());
        assert!(parse_moment("-99y", now).is_ok());
    }

    #[test]
    fn moments() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T15:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_moment("-6h", now).unwrap(),
            now - chrono::Duration::hours(6)
        );
        assert_eq!(
            parse_moment("90m ago", now).unwrap(),
            now - chrono::Duration::minutes(90)
        );
        assert_eq!(
            parse_moment("2026-11-21T10:00:00Z", now)
                .unwrap()
                .to_rfc3339(),
            "2026-11-21T10:00:00+00:00"
        );
        let local = parse_moment("2026-11-21 14:30", now).unwrap();
        assert_eq!(
            local.with_timezone(&Local).format("%H:%M").to_string(),
            "14:30"
        );
        assert!(
            parse_moment("yesterday-ish", now)
                .unwrap_err()
                .contains("not a moment")
        );
        assert!(
            parse_span("6h").is_ok() && parse_span("6 hours").is_ok() && parse_span("x").is_err()
        );
    }
}
