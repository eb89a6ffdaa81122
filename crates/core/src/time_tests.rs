use super::*;
use chrono::FixedOffset;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[test]
fn absurd_spans_are_refused_not_panicked_on() {
    let now = Utc::now();
    for s in ["-300000y", "300000y ago", "-99999999999999y"] {
        assert!(parse_moment(s, now).is_err(), "{s}");
    }
    assert!(
        parse_span("300000y")
            .unwrap_err()
            .to_string()
            .contains("100 years")
    );
    assert!(parse_span("500000000000y").is_err());
    assert!(parse_moment("-99y", now).is_ok());
}

#[test]
fn moments() {
    let now = utc("2026-11-21T15:00:00Z");
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
            .to_string()
            .contains("not a moment")
    );
    assert!(parse_span("6h").is_ok() && parse_span("6 hours").is_ok() && parse_span("x").is_err());
}

#[test]
fn stamps_in_files() {
    let tz = FixedOffset::east_opt(0).unwrap();
    let at = |s| parse_stamp_in(s, DayEdge::End, &tz).map(|t| t.to_rfc3339());
    assert_eq!(
        at("2026-11-21T12:00:00+02:00").unwrap(),
        "2026-11-21T10:00:00+00:00"
    );
    assert_eq!(at("2026-11-21").unwrap(), "2026-11-22T00:00:00+00:00");
    assert!(at("tomorrow").unwrap_err().to_string().contains("tomorrow"));
    // A file has no "now" to count back from.
    assert!(at("-6h").is_err());
    assert!(matches!(
        at("+262143-12-31"),
        Err(TimeError::OutOfRange(_)) | Err(TimeError::NotAStamp(_))
    ));
}

/// Before one parser, an expiry "2026-12-31" ended at the next UTC midnight while `--at
/// 2027-01-01` meant local midnight: two hours apart in Berlin's summer, so a VM could show as
/// expired at a moment the CLI called the first of January. Now both are one local calendar.
#[test]
fn a_date_is_the_same_local_day_for_expiries_and_moments() {
    let berlin = FixedOffset::east_opt(2 * 3600).unwrap();
    let now = utc("2026-11-21T15:00:00Z");
    let start = parse_moment_in("2026-12-31", now, &berlin).unwrap();
    let expiry = parse_stamp_in("2026-12-31", DayEdge::End, &berlin).unwrap();
    assert_eq!(start.to_rfc3339(), "2026-12-30T22:00:00+00:00");
    assert_eq!(expiry, parse_moment_in("2027-01-01", now, &berlin).unwrap());
    assert_eq!(expiry - start, chrono::Duration::days(1));
    assert_eq!(
        parse_stamp_in("2026-12-31", DayEdge::Start, &berlin).unwrap(),
        start
    );
}
