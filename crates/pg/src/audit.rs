//! The audit's table: every action's records beside the events they caused, shared by every
//! operator's TUI and every recorder.

use fleetwatch_core::actions::record::Record;
use postgres::Client;

pub(crate) fn append(
    c: &mut impl postgres::GenericClient,
    r: &Record,
) -> Result<(), postgres::Error> {
    c.execute(
        "INSERT INTO actions (action_id, at, phase, operator, action, vm, uuid, host, params, outcome, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &r.action_id,
            &r.at_ms,
            &r.phase,
            &r.operator,
            &r.action,
            &r.vm,
            &r.uuid,
            &r.host,
            &r.params.to_string(),
            &r.outcome,
            &r.error,
        ],
    )?;
    Ok(())
}

/// Every record, oldest first.
pub(crate) fn all(c: &mut Client) -> Result<Vec<Record>, postgres::Error> {
    Ok(c.query(
        "SELECT action_id, at, phase, operator, action, vm, uuid, host, params, outcome, error
             FROM actions ORDER BY at, id",
        &[],
    )?
    .iter()
    .map(|r| {
        let at_ms: i64 = r.get(1);
        let params: String = r.get(8);
        Record {
            action_id: r.get(0),
            at: chrono::DateTime::from_timestamp_millis(at_ms)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .unwrap_or_default(),
            at_ms,
            phase: r.get(2),
            operator: r.get(3),
            action: r.get(4),
            vm: r.get(5),
            uuid: r.get(6),
            host: r.get(7),
            params: serde_json::from_str(&params).unwrap_or(serde_json::Value::Null),
            outcome: r.get(9),
            error: r.get(10),
        }
    })
    .collect())
}
