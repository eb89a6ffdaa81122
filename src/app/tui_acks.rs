//! The TUI's acknowledgements: `K` on a finding ends the acknowledgement in force, or opens the
//! form for one; the form's answer is written to the history store on a blocking thread, and
//! what it came to returns as history answers (a message, and the acknowledgements anew).

use super::acks::{ack_record, place, unack_record};
use super::tui_history::History;
use crate::ui::state::{Effect, UiState};
use fleetwatch_core::actions::Operator;
use fleetwatch_core::config::Config;
use fleetwatch_core::history::reader::Response;
use fleetwatch_core::link::LinkState;
use fleetwatch_core::model::Fleet;
use fleetwatch_core::model::acks::{Ack, cleared, in_force, judged};
use fleetwatch_core::model::findings::Kind;
use fleetwatch_core::time::show_ms;

enum Change {
    Put(Ack),
    /// By hand (`K`), or because its finding cleared.
    End {
        kind: Kind,
        subject: String,
        cleared: bool,
    },
}

pub(super) fn effect(
    e: Effect,
    ui: &mut UiState,
    history: &History,
    config: &Config,
    op: &Operator,
) {
    let now = chrono::Utc::now().timestamp_millis();
    match e {
        Effect::AckKey(f) => match in_force(&history.data.acks, &f, now) {
            Some(a) => write(
                config,
                history,
                ui,
                op,
                Change::End {
                    kind: a.kind,
                    subject: a.subject.clone(),
                    cleared: false,
                },
            ),
            None => ui.open_ack_form(&f),
        },
        Effect::Ack {
            kind,
            subject,
            reason,
            lasts,
        } => {
            let lasts = match fleetwatch_core::time::parse_span(&lasts) {
                Ok(d) => d,
                Err(e) => {
                    ui.message = Some(format!("not acknowledged: for how long? {e}"));
                    return;
                }
            };
            match Ack::new(kind, &subject, &op.actor(), &reason, now, lasts) {
                Ok(a) => write(config, history, ui, op, Change::Put(a)),
                Err(e) => ui.message = Some(format!("not acknowledged: {e}")),
            }
        }
        _ => {}
    }
}

/// After an evaluation: acknowledgements whose finding is gone end (a return fires again), but
/// only where the fleet can tell (`acks::judged`): a silent host's findings are unknown, not
/// cleared, and a VM not seen is gone only when every host answered.
pub(super) fn end_cleared(
    fleet: &Fleet,
    history: &mut History,
    config: &Config,
    ui: &mut UiState,
    op: &Operator,
) {
    if history.data.acks.is_empty() || !fleet.settled() {
        return;
    }
    let complete = fleet.hosts.iter().all(|h| h.link == LinkState::Up);
    let gone: Vec<(Kind, String)> = cleared(&history.data.acks, &fleet.findings, |a| {
        judged(fleet, a, complete)
    })
    .into_iter()
    .map(|a| (a.kind, a.subject.clone()))
    .collect();
    for (kind, subject) in gone {
        // Gone here at once, so the next evaluation does not end it again.
        history
            .data
            .acks
            .retain(|a| !(a.kind == kind && a.subject == subject));
        write(
            config,
            history,
            ui,
            op,
            Change::End {
                kind,
                subject,
                cleared: true,
            },
        );
    }
}

fn write(config: &Config, history: &History, ui: &mut UiState, op: &Operator, change: Change) {
    let place = match place(config) {
        Ok(p) => p,
        Err(e) => {
            ui.message = Some(e);
            return;
        }
    };
    ui.message = Some("writing the acknowledgement ...".into());
    let answers = history.answers.clone();
    let op = op.clone();
    tokio::task::spawn_blocking(move || {
        let said = (|| -> Result<String, String> {
            let mut w = place.writer().map_err(|e| e.to_string())?;
            match change {
                Change::Put(a) => {
                    w.put_ack(&a, &ack_record(&op, &a))
                        .map_err(|e| e.to_string())?;
                    Ok(format!(
                        "acknowledged {} until {}",
                        a.kind,
                        show_ms(a.expires_ms)
                    ))
                }
                Change::End {
                    kind,
                    subject,
                    cleared,
                } => {
                    let why = if cleared { "cleared" } else { "by hand" };
                    let r = unack_record(&op, kind, &subject, why);
                    w.end_ack(kind, &subject, &r).map_err(|e| e.to_string())?;
                    Ok(if cleared {
                        format!(
                            "{kind} cleared: its acknowledgement ended; it fires again if it returns"
                        )
                    } else {
                        format!("{kind} is no longer acknowledged: it counts again")
                    })
                }
            }
        })();
        let _ = answers.send(Response::Said(
            said.unwrap_or_else(|e| format!("acknowledgement not written: {e}")),
        ));
        let acks = place.reader().and_then(|r| r.acks()).ok();
        let _ = answers.send(Response::Acks(acks));
    });
}
