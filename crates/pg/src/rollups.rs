//! Rollups and retention, as the SQLite store does them: each level's complete buckets
//! averaged (weighted by their counts) and maximised from the level below, then every level
//! trimmed to its own span. Of several recorders one rolls up at a time (an advisory lock
//! held for the transaction); the others skip their turn rather than wait.

use crate::writes::{meta_get, meta_set};
use fleetwatch_core::history::config::HistoryConfig;
use fleetwatch_core::history::health::RollupMarks;
use fleetwatch_core::history::rollup::bucket;
use postgres::Client;

/// "fleetwatch rollup" in ASCII, apart from the migrations' key.
const ROLLUP_LOCK: i64 = 0x6677_726f_6c6c_7570;

pub(crate) fn maintain(
    c: &mut Client,
    cfg: &HistoryConfig,
    now_ms: i64,
) -> Result<(), postgres::Error> {
    c.batch_execute("BEGIN")?;
    let r = roll(c, cfg, now_ms);
    c.batch_execute(if r.is_ok() { "COMMIT" } else { "ROLLBACK" })?;
    r
}

fn roll(c: &mut Client, cfg: &HistoryConfig, now_ms: i64) -> Result<(), postgres::Error> {
    let ours: bool = c
        .query_one("SELECT pg_try_advisory_xact_lock($1)", &[&ROLLUP_LOCK])?
        .get(0);
    if !ours {
        return Ok(());
    }
    for (i, r) in cfg.rollup.iter().enumerate() {
        let level = i as i32 + 1;
        let w = r.every.as_millis() as i64;
        let key = format!("rolled_{level}");
        let done_to: i64 = meta_get(c, &key)?.and_then(|v| v.parse().ok()).unwrap_or(0);
        let until = bucket(now_ms, w);
        let from = if done_to > 0 {
            done_to
        } else {
            let oldest: Option<i64> = c
                .query_one(
                    "SELECT MIN(at) FROM stats WHERE level = $1",
                    &[&(level - 1)],
                )?
                .get(0);
            match oldest {
                Some(t) => bucket(t, w),
                None => until,
            }
        };
        if from < until {
            c.execute(
                "INSERT INTO stats (kind, id, level, at, n, cpu, cpu_max, mem, mem_max, disk, disk_max, net, net_max,
                                    disk_read, disk_write, net_rx, net_tx)
                 SELECT kind, id, $1, at - (at % $2), SUM(n),
                        SUM(cpu * n) / NULLIF(SUM(CASE WHEN cpu IS NULL THEN 0 ELSE n END), 0), MAX(cpu_max),
                        SUM(mem * n) / NULLIF(SUM(CASE WHEN mem IS NULL THEN 0 ELSE n END), 0), MAX(mem_max),
                        SUM(disk * n) / NULLIF(SUM(CASE WHEN disk IS NULL THEN 0 ELSE n END), 0), MAX(disk_max),
                        SUM(net * n) / NULLIF(SUM(CASE WHEN net IS NULL THEN 0 ELSE n END), 0), MAX(net_max),
                        SUM(disk_read * n) / NULLIF(SUM(CASE WHEN disk_read IS NULL THEN 0 ELSE n END), 0),
                        SUM(disk_write * n) / NULLIF(SUM(CASE WHEN disk_write IS NULL THEN 0 ELSE n END), 0),
                        SUM(net_rx * n) / NULLIF(SUM(CASE WHEN net_rx IS NULL THEN 0 ELSE n END), 0),
                        SUM(net_tx * n) / NULLIF(SUM(CASE WHEN net_tx IS NULL THEN 0 ELSE n END), 0)
                 FROM stats WHERE level = $3 AND at >= $4 AND at < $5
                 GROUP BY kind, id, at - (at % $2)
                 ON CONFLICT (kind, id, level, at) DO UPDATE SET
                    n = EXCLUDED.n, cpu = EXCLUDED.cpu, cpu_max = EXCLUDED.cpu_max, mem = EXCLUDED.mem,
                    mem_max = EXCLUDED.mem_max, disk = EXCLUDED.disk, disk_max = EXCLUDED.disk_max,
                    net = EXCLUDED.net, net_max = EXCLUDED.net_max, disk_read = EXCLUDED.disk_read,
                    disk_write = EXCLUDED.disk_write, net_rx = EXCLUDED.net_rx, net_tx = EXCLUDED.net_tx",
                &[&level, &w, &(level - 1), &from, &until],
            )?;
        }
        meta_set(c, &key, &until.to_string())?;
    }
    let keep = std::iter::once(cfg.raw_for).chain(cfg.rollup.iter().map(|r| r.keep));
    for (level, span) in keep.enumerate() {
        c.execute(
            "DELETE FROM stats WHERE level = $1 AND at < $2",
            &[&(level as i32), &(now_ms - span.as_millis() as i64)],
        )?;
    }
    let horizon = now_ms - cfg.events_for.as_millis() as i64;
    c.execute("DELETE FROM events WHERE at < $1", &[&horizon])?;
    c.execute(
        "DELETE FROM placements WHERE until IS NOT NULL AND until < $1",
        &[&horizon],
    )?;
    c.execute(
        "DELETE FROM host_states WHERE until IS NOT NULL AND until < $1",
        &[&horizon],
    )?;
    meta_set(c, "maintained_at", &now_ms.to_string())
}

/// The marks [`fleetwatch_core::history::health::stalls`] judges, for `levels` rollup levels.
pub(crate) fn marks(c: &mut Client, levels: usize) -> Result<RollupMarks, postgres::Error> {
    let mut ms = |key: &str| -> Result<Option<i64>, postgres::Error> {
        Ok(meta_get(c, key)?.and_then(|v| v.parse().ok()))
    };
    let last_write = ms("last_write")?;
    let maintained_at = ms("maintained_at")?;
    let rolled = (1..=levels)
        .map(|l| ms(&format!("rolled_{l}")))
        .collect::<Result<_, _>>()?;
    let mut oldest = Vec::with_capacity(levels + 1);
    for level in 0..=levels as i32 {
        oldest.push(
            c.query_one("SELECT MIN(at) FROM stats WHERE level = $1", &[&level])?
                .get(0),
        );
    }
    Ok(RollupMarks {
        last_write,
        maintained_at,
        rolled,
        oldest,
    })
}
