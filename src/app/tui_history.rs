//! The TUI's side of the history: its reader (the file it records into, or the shared
//! database), the questions it asks as the operator moves, and the answers kept for drawing.

use super::stores::Where;
use crate::ui::history::HistoryData;
use crate::ui::state::{Effect, UiState};
use fleetwatch_core::config::Config;
use fleetwatch_core::history::past::fleet_at;
use fleetwatch_core::history::query::EventQuery;
use fleetwatch_core::history::reader::{self, Request, Response};
use fleetwatch_core::history::writer::Status;
use fleetwatch_core::model::Fleet;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

/// The History view's reader: the file the TUI records into, or the shared database the
/// recorders write (which the TUI reads, never records into: `fleetwatch record` does).
pub(super) fn reader_of(
    config: &Config,
    answers: UnboundedSender<reader::Response>,
    status: &UnboundedSender<Status>,
) -> std::io::Result<Option<std::sync::mpsc::Sender<Request>>> {
    if !config.history.enabled {
        return Ok(None);
    }
    let windows = fleetwatch_core::history::moment::windows(&config.history, config.poll.interval);
    match Where::of(config) {
        Ok(Where::File(p)) => reader::spawn(p, windows, answers).map(Some),
        Ok(place) => {
            let _ = status.send(Status::ReadOnly(format!(
                "history from {}, recorded there by `fleetwatch record`",
                place.describe()
            )));
            let open: reader::Opener = Box::new(move || Ok((place.reader()?, false)));
            reader::spawn_with(open, windows, answers).map(Some)
        }
        Err(_) => Ok(None),
    }
}

/// History requests and what they answered, kept between frames.
pub(super) struct History {
    pub(super) requests: Option<std::sync::mpsc::Sender<Request>>,
    pub(super) data: HistoryData,
    pub(super) past: Option<Fleet>,
    pub(super) asked_timeline: Option<String>,
    pub(super) events_at: Option<Instant>,
    /// When the rollups' health was last asked for.
    pub(super) health_at: Option<Instant>,
    /// When the acknowledged findings were last asked for.
    pub(super) acks_at: Option<Instant>,
    /// Where answers go, for the tasks that change the store (acknowledgements).
    pub(super) answers: UnboundedSender<Response>,
}

/// The rollups' health is asked for this often: they run once a minute.
const HEALTH_EVERY: Duration = Duration::from_secs(30);
/// Acknowledgements are asked for this often.
const ACKS_EVERY: Duration = Duration::from_secs(10);

impl History {
    /// Asks for the rollups' health when it is due.
    pub(super) fn check_health(&mut self, config: &Config) {
        if self.health_at.is_none_or(|t| t.elapsed() >= HEALTH_EVERY) {
            self.health_at = Some(Instant::now());
            self.ask(Request::Health(Box::new(config.history.clone())));
        }
        // Another operator's acknowledgement shows within this long.
        if self.acks_at.is_none_or(|t| t.elapsed() >= ACKS_EVERY) {
            self.acks_at = Some(Instant::now());
            self.ask(Request::Acks);
        }
    }

    pub(super) fn ask(&self, r: Request) {
        if let Some(tx) = &self.requests {
            let _ = tx.send(r);
        }
    }

    fn events_query(span: Duration) -> Request {
        let since = chrono::Utc::now().timestamp_millis() - span.as_millis() as i64;
        Request::Events(EventQuery {
            since_ms: Some(since),
            limit: 2_000,
            ..EventQuery::default()
        })
    }

    pub(super) fn effect(&mut self, e: Effect, ui: &mut UiState) {
        match e {
            Effect::TimeTravel(t) => {
                ui.message = Some(format!(
                    "loading the fleet as of {} ...",
                    fleetwatch_core::time::show(dt(t))
                ));
                self.ask(Request::At(t));
            }
            Effect::Live => {
                self.past = None;
                ui.historical = None;
                ui.invalidate();
                ui.message = Some("live".into());
            }
            Effect::LoadEvents => {
                self.events_at = Some(Instant::now());
                self.ask(History::events_query(ui.history_since));
            }
            Effect::LoadGraph => self.graph(ui),
            _ => {}
        }
    }

    fn graph(&mut self, ui: &UiState) {
        match (ui.graph_range.query(), ui.selected_uuid()) {
            (Some((level, span)), Some(u)) => self.ask(Request::Series {
                uuid: u.to_owned(),
                level,
                since_ms: chrono::Utc::now().timestamp_millis() - span,
            }),
            _ => self.data.graph = None,
        }
    }

    pub(super) fn answer(&mut self, r: Response, config: &Config, ui: &mut UiState) {
        match r {
            Response::At(t, Ok(past)) => {
                let empty = past.vms.is_empty();
                self.past = Some(fleet_at(&config.hosts, &past));
                ui.historical = Some(t);
                ui.invalidate();
                ui.message = Some(if empty {
                    "recorded, but no VM was on any host at that moment".into()
                } else {
                    format!(
                        "HISTORICAL: the fleet as of {} · [ ] step 5 min · L live",
                        fleetwatch_core::time::show(dt(t))
                    )
                });
            }
            Response::At(_, Err(e)) => ui.message = Some(format!("history: {e}")),
            Response::Events(Ok(ev)) => {
                self.data.events = ev;
                self.data.events_error = None;
            }
            Response::Events(Err(e)) => self.data.events_error = Some(format!("history: {e}")),
            Response::Timeline(u, ev) => self.data.timeline = Some((u, ev)),
            Response::Series(u, level, pts) => self.data.graph = Some((u, level, pts)),
            Response::Health(why) => self.data.stalled = why,
            Response::Acks(Some(acks)) => self.data.acks = acks,
            // Unreadable this time: the last answer stands.
            Response::Acks(None) => {}
            Response::Said(s) => ui.message = Some(s),
            // The evacuations' (tui.rs hands them over before this).
            Response::Maintenance { .. } => {}
        }
    }

    /// Follows the selection: its timeline (and graph) are asked for when it changes.
    pub(super) fn follow(&mut self, ui: &UiState) {
        let sel = ui.selected_uuid().map(str::to_owned);
        if sel != self.asked_timeline {
            if let Some(u) = &sel {
                self.ask(Request::Timeline(u.clone()));
                self.graph(ui);
            }
            self.asked_timeline = sel;
        }
    }
}

fn dt(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
