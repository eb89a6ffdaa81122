//! Queries for the TUI, on a thread of their own with a read-only connection, so a slow disk
//! never stalls the screen. Answers come back as messages.

use super::config::HistoryConfig;
use super::health::stalls;
use super::past::{Refusal, lookup};
use super::query::{EventQuery, EventRow, Past, Point};
use super::sqlite::SqliteStore;
use super::store::{HistoryRead, StoreError};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use tokio::sync::mpsc::UnboundedSender;

#[derive(Debug, Clone)]
pub enum Request {
    At(i64),
    Events(EventQuery),
    Timeline(String),
    Series {
        uuid: String,
        level: i64,
        since_ms: i64,
    },
    /// Whether the rollups of a history kept as this says advance (`health::stalls`).
    Health(Box<HistoryConfig>),
    /// The acknowledged findings.
    Acks,
}

/// Why the events could not be read; shared (`Arc`) so the answer can be cloned like the rest.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Unreadable {
    #[error("no history recorded yet")]
    NoHistory,
    #[error(transparent)]
    Store(#[from] Arc<StoreError>),
}

#[derive(Debug, Clone)]
pub enum Response {
    At(i64, Result<Past, Refusal>),
    Events(Result<Vec<EventRow>, Unreadable>),
    Timeline(String, Vec<EventRow>),
    Series(String, i64, Vec<Point>),
    /// Why the history is stalled; empty when it is not, or when there is none yet.
    Health(Vec<String>),
    /// None when they could not be read (the last answer stands).
    Acks(Option<Vec<crate::model::acks::Ack>>),
    /// What a change made through the store came to, for the operator.
    Said(String),
    /// Hosts in maintenance as the store has them once the change numbered `generation` is written
    /// (`list` None when unreadable); `error` when that change could not be written yet.
    Maintenance {
        generation: u64,
        list: Option<Vec<crate::actions::maintenance::Maintenance>>,
        error: Option<String>,
    },
}

/// `windows`: how far back each statistics level describes a moment (`moment::windows`).
pub fn spawn(
    path: PathBuf,
    windows: Vec<i64>,
    tx: UnboundedSender<Response>,
) -> std::io::Result<Sender<Request>> {
    let open: Opener = Box::new(move || {
        let (c, frozen) = SqliteStore::open_ro_frozen(&path)?;
        Ok((Box::new(c) as Box<dyn HistoryRead + Send>, frozen))
    });
    spawn_with(open, windows, tx)
}

/// Opens a reader, and says whether it is a frozen view to open anew for each question.
pub type Opener =
    Box<dyn Fn() -> Result<(Box<dyn HistoryRead + Send>, bool), StoreError> + Send + 'static>;

/// As [`spawn`], on whatever store `open` opens (a shared database, say). A question the
/// store failed to answer drops the connection: the next one opens it again, so a restarted
/// server is read again without restarting the TUI.
pub fn spawn_with(
    open: Opener,
    windows: Vec<i64>,
    tx: UnboundedSender<Response>,
) -> std::io::Result<Sender<Request>> {
    let (req_tx, req_rx) = mpsc::channel::<Request>();
    std::thread::Builder::new()
        .name("history-reader".into())
        .spawn(move || {
            let mut conn = None;
            while let Ok(first) = req_rx.recv() {
                // Of a burst (keys held down, fast scrolling) only the newest of each kind matters.
                let mut batch = vec![first];
                batch.extend(req_rx.try_iter());
                let mut latest: Vec<Request> = Vec::new();
                for r in batch {
                    latest.retain(|x| std::mem::discriminant(x) != std::mem::discriminant(&r));
                    latest.push(r);
                }
                for r in latest {
                    if !answer(&mut conn, &open, &windows, r, &tx) {
                        return;
                    }
                }
            }
        })?;
    Ok(req_tx)
}

fn answer(
    conn: &mut Option<Box<dyn HistoryRead + Send>>,
    open: &Opener,
    windows: &[i64],
    r: Request,
    tx: &UnboundedSender<Response>,
) -> bool {
    let (mut frozen, mut failed) = (false, false);
    // Why the store could not be opened, kept for the answer instead of opening it again.
    let mut unopened = String::new();
    if conn.is_none() {
        match open() {
            Ok((c, f)) => {
                frozen = f;
                *conn = Some(c);
            }
            Err(e) => unopened = e.to_string(),
        }
    }
    let answer = match (&*conn, r) {
        (None, Request::At(t)) => Response::At(t, Err(Refusal::Store(unopened))),
        (None, Request::Events(_)) => Response::Events(Err(Unreadable::NoHistory)),
        (None, Request::Timeline(u)) => Response::Timeline(u, Vec::new()),
        (None, Request::Series { uuid, level, .. }) => Response::Series(uuid, level, Vec::new()),
        (None, Request::Health(_)) => Response::Health(Vec::new()),
        (None, Request::Acks) => Response::Acks(Some(Vec::new())),
        (Some(c), Request::Acks) => {
            let found = c.acks();
            failed |= found.is_err();
            Response::Acks(found.ok())
        }
        (Some(c), Request::Health(cfg)) => {
            let found = c.rollup_marks(cfg.rollup.len());
            failed |= found.is_err();
            Response::Health(match found {
                Ok(m) => stalls(&cfg, &m),
                Err(e) => vec![format!("cannot read the rollups' marks: {e}")],
            })
        }
        (Some(c), Request::At(t)) => {
            let now = chrono::Utc::now().timestamp_millis();
            let found = lookup(&**c, t, now, windows);
            failed |= matches!(found, Err(Refusal::Store(_)));
            Response::At(t, found)
        }
        (Some(c), Request::Events(q)) => {
            let found = c.events(&q);
            failed |= found.is_err();
            Response::Events(found.map_err(|e| Arc::new(e).into()))
        }
        (Some(c), Request::Timeline(u)) => {
            let q = EventQuery {
                vm: Some(u.clone()),
                limit: 12,
                ..EventQuery::default()
            };
            Response::Timeline(u, c.events(&q).unwrap_or_default())
        }
        (
            Some(c),
            Request::Series {
                uuid,
                level,
                since_ms,
            },
        ) => {
            let pts = c.series(&uuid, level, since_ms).unwrap_or_default();
            Response::Series(uuid, level, pts)
        }
    };
    if frozen || failed {
        // A frozen view would not show what a recorder writes from now on; a failed one may
        // be a connection to a server that went away.
        *conn = None;
    }
    tx.send(answer).is_ok()
}
