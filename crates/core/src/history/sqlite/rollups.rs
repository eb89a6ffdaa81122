//! Rollups and retention in SQL: each level's complete buckets averaged (weighted by their
//! counts) and maximised from the level below, then every level trimmed to its own span.

use super::writes::{meta_get, meta_set};
use crate::history::config::HistoryConfig;
use crate::history::health::RollupMarks;
use crate::history::rollup::bucket;
use rusqlite::{Connection, params};

pub(super) fn maintain(c: &Connection, cfg: &HistoryConfig, now_ms: i64) -> rusqlite::Result<()> {
    c.execute_batch("BEGIN IMMEDIATE")?;
    let r = roll(c, cfg, now_ms);
    c.execute_batch(if r.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    r
}

fn roll(c: &Connection, cfg: &HistoryConfig, now_ms: i64) -> rusqlite::Result<()> {
    for (i, r) in cfg.rollup.iter().enumerate() {
        let level = i as i64 + 1;
        let w = r.every.as_millis() as i64;
        let key = format!("rolled_{level}");
        let done_to: i64 = meta_get(c, &key)?.and_then(|v| v.parse().ok()).unwrap_or(0);
        // Buckets that have ended; the first run starts at the oldest row of the level below.
        let until = bucket(now_ms, w);
        let from = if done_to > 0 {
            done_to
        } else {
            let oldest: Option<i64> = c.query_row(
                "SELECT MIN(at) FROM stats WHERE level = ?1",
                [level - 1],
                |x| x.get(0),
            )?;
            match oldest {
                Some(t) => bucket(t, w),
                None => until,
            }
        };
        if from < until {
            c.execute(
                "INSERT OR REPLACE INTO stats (series, level, at, n, cpu, cpu_max, mem, mem_max, disk, disk_max, net, net_max,
                                               disk_read, disk_write, net_rx, net_tx)
                 SELECT series, ?1, at - (at % ?2), SUM(n),
                        SUM(cpu * n) / NULLIF(SUM(CASE WHEN cpu IS NULL THEN 0 ELSE n END), 0), MAX(cpu_max),
                        SUM(mem * n) / NULLIF(SUM(CASE WHEN mem IS NULL THEN 0 ELSE n END), 0), MAX(mem_max),
                        SUM(disk * n) / NULLIF(SUM(CASE WHEN disk IS NULL THEN 0 ELSE n END), 0), MAX(disk_max),
                        SUM(net * n) / NULLIF(SUM(CASE WHEN net IS NULL THEN 0 ELSE n END), 0), MAX(net_max),
                        SUM(disk_read * n) / NULLIF(SUM(CASE WHEN disk_read IS NULL THEN 0 ELSE n END), 0),
                        SUM(disk_write * n) / NULLIF(SUM(CASE WHEN disk_write IS NULL THEN 0 ELSE n END), 0),
                        SUM(net_rx * n) / NULLIF(SUM(CASE WHEN net_rx IS NULL THEN 0 ELSE n END), 0),
                        SUM(net_tx * n) / NULLIF(SUM(CASE WHEN net_tx IS NULL THEN 0 ELSE n END), 0)
                 FROM stats WHERE level = ?3 AND at >= ?4 AND at < ?5
                 GROUP BY series, at - (at % ?2)",
                params![level, w, level - 1, from, until],
            )?;
        }
        meta_set(c, &key, &until.to_string())?;
    }
    // Retention: each level for its own span; a level is only deleted once rolled up.
    let keep = std::iter::once(cfg.raw_for).chain(cfg.rollup.iter().map(|r| r.keep));
    for (level, span) in keep.enumerate() {
        c.execute(
            "DELETE FROM stats WHERE level = ?1 AND at < ?2",
            params![level as i64, now_ms - span.as_millis() as i64],
        )?;
    }
    let horizon = now_ms - cfg.events_for.as_millis() as i64;
    c.execute("DELETE FROM events WHERE at < ?1", [horizon])?;
    c.execute(
        "DELETE FROM placements WHERE until IS NOT NULL AND until < ?1",
        [horizon],
    )?;
    c.execute(
        "DELETE FROM host_states WHERE until IS NOT NULL AND until < ?1",
        [horizon],
    )?;
    meta_set(c, "maintained_at", &now_ms.to_string())
}

/// The marks [`crate::history::health::stalls`] judges, for `levels` rollup levels.
pub(super) fn marks(c: &Connection, levels: usize) -> rusqlite::Result<RollupMarks> {
    let ms = |key: &str| -> rusqlite::Result<Option<i64>> {
        Ok(meta_get(c, key)?.and_then(|v| v.parse().ok()))
    };
    let mut oldest = Vec::with_capacity(levels + 1);
    for level in 0..=levels as i64 {
        oldest.push(
            c.query_row("SELECT MIN(at) FROM stats WHERE level = ?1", [level], |x| {
                x.get(0)
            })?,
        );
    }
    Ok(RollupMarks {
        last_write: ms("last_write")?,
        maintained_at: ms("maintained_at")?,
        rolled: (1..=levels)
            .map(|l| ms(&format!("rolled_{l}")))
            .collect::<rusqlite::Result<_>>()?,
        oldest,
    })
}
