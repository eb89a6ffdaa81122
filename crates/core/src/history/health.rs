//! Whether the history's rollups and retention advance. A rollup job that never runs shows no
//! error anywhere: raw statistics just pile up. So the marks the rollups leave (how far each
//! level is rolled, when maintenance last committed, the oldest row of each level) are read
//! back and judged against the newest write. The newest write, not the wall clock: a history
//! whose recorder was stopped is old, not stalled.

use super::config::HistoryConfig;
use crate::time::show_ms;
use std::time::Duration;

/// How late a mark may be beyond its own bucket: maintenance runs every minute, so this is a
/// few missed runs and a slow one, never one unlucky minute.
pub const GRACE_MS: i64 = 5 * 60_000;

/// What a store says about its rollups; all times in ms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollupMarks {
    /// The newest batch written (meta `last_write`).
    pub last_write: Option<i64>,
    /// When maintenance last committed (meta `maintained_at`).
    pub maintained_at: Option<i64>,
    /// Per rollup level (1..): up to where it is rolled (meta `rolled_{level}`).
    pub rolled: Vec<Option<i64>>,
    /// Per level (0 = raw, then the rollups): its oldest row.
    pub oldest: Vec<Option<i64>>,
}

fn age(ms: i64) -> String {
    humantime::format_duration(Duration::from_secs((ms.max(0) / 1000) as u64)).to_string()
}

/// Why the history is stalled; empty when its rollups and retention keep up.
pub fn stalls(cfg: &HistoryConfig, m: &RollupMarks) -> Vec<String> {
    let Some(now) = m.last_write else {
        return Vec::new();
    };
    let mut why = Vec::new();
    let oldest = |level: usize| m.oldest.get(level).copied().flatten();
    let any_rolled = m.rolled.iter().any(Option::is_some);
    match m.maintained_at {
        Some(t) if now - t > GRACE_MS => why.push(format!(
            "rollups and retention last ran at {}, {} before the newest write",
            show_ms(t),
            age(now - t)
        )),
        None if !any_rolled && oldest(0).is_some_and(|o| now - o > GRACE_MS) => why.push(format!(
            "rollups and retention never ran: raw statistics since {} were never rolled up",
            show_ms(oldest(0).unwrap_or(now))
        )),
        _ => {}
    }
    for (i, r) in cfg.rollup.iter().enumerate() {
        let w = r.every.as_millis() as i64;
        let rolled = m.rolled.get(i).copied().flatten();
        let behind = match (rolled, oldest(i)) {
            (Some(to), _) => now - to > w + GRACE_MS,
            (None, Some(o)) => any_rolled && now - o > w + GRACE_MS,
            (None, None) => false,
        };
        if behind {
            let to = rolled.map_or("never".to_owned(), show_ms);
            why.push(format!(
                "{} rollups stopped: rolled up to {to}, newest write {}",
                humantime::format_duration(r.every),
                show_ms(now)
            ));
        }
    }
    let keeps = std::iter::once(("raw statistics".to_owned(), cfg.raw_for)).chain(
        cfg.rollup.iter().map(|r| {
            (
                format!("{} rollups", humantime::format_duration(r.every)),
                r.keep,
            )
        }),
    );
    for (level, (what, keep)) in keeps.enumerate() {
        if let Some(o) = oldest(level)
            && now - o > keep.as_millis() as i64 + GRACE_MS
        {
            why.push(format!(
                "{what} from {} outlive their retention of {}",
                show_ms(o),
                humantime::format_duration(keep)
            ));
        }
    }
    why
}
