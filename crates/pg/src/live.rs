//! The live fleet's rows (`live_hosts`, `live_configs`): written by each recorder for its own
//! hosts inside its batch's transaction, read by TUIs watching through the store for what
//! changed since their last look (`seq` grows with every write).

use crate::leases::SERVER_NOW_MS;
use fleetwatch_core::history::live::{LiveChanges, LiveHost, LiveRow};
use postgres::{Client, GenericClient};

pub(crate) fn publish(
    c: &mut impl GenericClient,
    holder: &str,
    hosts: &[LiveHost],
) -> Result<(), postgres::Error> {
    if hosts.is_empty() {
        return Ok(());
    }
    let names: Vec<&str> = hosts.iter().map(|h| h.host.as_str()).collect();
    let links: Vec<&str> = hosts.iter().map(|h| h.link.label()).collect();
    let errors: Vec<Option<&str>> = hosts.iter().map(|h| h.error.as_deref()).collect();
    let samples: Vec<Option<&str>> = hosts.iter().map(|h| h.sample.as_deref()).collect();
    // One statement for the batch's hosts. A row with only link news keeps its last sample.
    c.execute(
        &format!(
            "INSERT INTO live_hosts (host, seq, written, recorder, link, error, sample)
             SELECT h, nextval('live_seq'), {SERVER_NOW_MS}, $2, l, e, s
             FROM unnest($1::text[], $3::text[], $4::text[], $5::text[]) AS t(h, l, e, s)
             ON CONFLICT (host) DO UPDATE SET seq = EXCLUDED.seq, written = EXCLUDED.written,
                 recorder = EXCLUDED.recorder, link = EXCLUDED.link, error = EXCLUDED.error,
                 sample = COALESCE(EXCLUDED.sample, live_hosts.sample)"
        ),
        &[&names, &holder, &links, &errors, &samples],
    )?;
    let mut of: Vec<&str> = Vec::new();
    let (uuids, configs): (Vec<&str>, Vec<&str>) = hosts
        .iter()
        .flat_map(|h| {
            h.configs
                .iter()
                .map(move |(u, c)| (h.host.as_str(), u.as_str(), c.as_str()))
        })
        .map(|(h, u, c)| {
            of.push(h);
            (u, c)
        })
        .unzip();
    if !uuids.is_empty() {
        c.execute(
            "INSERT INTO live_configs (host, uuid, seq, config)
             SELECT h, u, nextval('live_seq'), c
             FROM unnest($1::text[], $2::text[], $3::text[]) AS t(h, u, c)
             ON CONFLICT (host, uuid) DO UPDATE SET seq = EXCLUDED.seq, config = EXCLUDED.config",
            &[&of, &uuids, &configs],
        )?;
    }
    Ok(())
}

/// Rows written since `hosts_after` and configs since `configs_after` (the highest `seq` of
/// each the reader has seen; 0 for everything), the write times on this machine's clock.
pub(crate) fn changes(
    c: &mut Client,
    hosts_after: i64,
    configs_after: i64,
) -> Result<LiveChanges, postgres::Error> {
    // One snapshot for both, so a sample never arrives before the configs written with it.
    let mut tx = c
        .build_transaction()
        .isolation_level(postgres::IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()?;
    let server: i64 = tx
        .query_one(&format!("SELECT {SERVER_NOW_MS}"), &[])?
        .get(0);
    let shift = chrono::Utc::now().timestamp_millis() - server;
    let configs = tx
        .query(
            "SELECT seq, host, uuid, config FROM live_configs WHERE seq > $1 ORDER BY seq",
            &[&configs_after],
        )?
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    let hosts = tx
        .query(
            "SELECT host, seq, written, recorder, link, error, sample FROM live_hosts
             WHERE seq > $1 ORDER BY seq",
            &[&hosts_after],
        )?
        .iter()
        .map(|r| LiveRow {
            host: r.get(0),
            seq: r.get(1),
            written_ms: r.get::<_, i64>(2) + shift,
            recorder: r.get(3),
            link: r.get(4),
            error: r.get(5),
            sample: r.get(6),
        })
        .collect();
    tx.commit()?;
    Ok(LiveChanges { hosts, configs })
}

/// When `host`'s live row was last written, on this machine's clock.
pub(crate) fn written_until(
    c: &mut impl GenericClient,
    host: &str,
) -> Result<Option<i64>, postgres::Error> {
    let row = c.query_opt(
        &format!("SELECT written - {SERVER_NOW_MS} FROM live_hosts WHERE host = $1"),
        &[&host],
    )?;
    Ok(row.map(|r| chrono::Utc::now().timestamp_millis() + r.get::<_, i64>(0)))
}
