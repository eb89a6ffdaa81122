//! Numbers as an operator reads them: short, fixed width, "-" for unknown.

pub fn bytes(v: Option<u64>) -> String {
    v.map_or_else(|| "-".into(), |b| scaled(b as f64, "B"))
}

pub fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |r| scaled(r, "/s").replace("B/s", "/s"))
}

fn scaled(v: f64, unit: &str) -> String {
    const UNITS: [&str; 6] = ["", "K", "M", "G", "T", "P"];
    let mut v = v.max(0.0);
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    let suffix = if unit == "B" {
        format!("{}B", UNITS[i])
    } else {
        format!("{}{unit}", UNITS[i])
    };
    if i == 0 {
        format!("{v:.0}{suffix}")
    } else if v < 10.0 {
        format!("{v:.1}{suffix}")
    } else {
        format!("{v:.0}{suffix}")
    }
}

pub fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |p| format!("{p:.1}"))
}

/// A short duration in microseconds, as read: "4µs", "310µs", "3.1ms", "212ms".
pub fn millis(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if us < 1000 {
        format!("{us}µs")
    } else if ms < 10.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.0}ms")
    }
}

pub fn ratio(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |r| format!("{r:.1}x"))
}

pub use fleetwatch_core::model::age;

/// Cuts `s` to at most `w` columns, marking the cut with an ellipsis.
pub fn fit(s: &str, w: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    if s.width() <= w {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    if w > 0 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(bytes(Some(512)), "512B");
        assert_eq!(bytes(Some(2 << 30)), "2.0GB");
        assert_eq!(bytes(Some(200 << 20)), "200MB");
        assert_eq!(bytes(None), "-");
        assert_eq!(rate(Some(51_200.0)), "50K/s");
        assert_eq!(percent(Some(3.26)), "3.3");
        assert_eq!(ratio(Some(4.25)), "4.2x");
        assert_eq!(age(std::time::Duration::from_secs(75)), "1m15s");
        assert_eq!(age(std::time::Duration::from_secs(7300)), "2h01m");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
    }
}
