//! `fleetwatch record`: the collectors feed a recorder until SIGTERM or SIGINT. The store is
//! written on a thread of its own: a write may wait on a disk or a database server, and the
//! PostgreSQL client blocks (it may not run on the async runtime's thread at all).

use super::cli::fail;
use super::start_collectors;
use super::stores::Where;
use fleetwatch_core::config::Config;
use fleetwatch_core::history::recorder::{BATCH_MAX, BATCH_WINDOW, RecordError, Recorder};
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::link::{Mailbox, MailboxReceiver, Message};
use fleetwatch_pg::PgStore;
use std::process::ExitCode;
use std::sync::mpsc;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

enum Cmd {
    Batch(Vec<Message>),
    /// Once a second: the lease is kept while no message comes, so a quiet fleet is not taken
    /// for a dead recorder.
    Tick,
    Stop,
}

/// What the writing thread tells the command.
enum Said {
    Started,
    /// It could not start: the message to print and exit with.
    Refused(String),
    Failing(String),
    Recovered,
    LostLease,
    /// A batch or tick is done with (written or not): the next may come. One at a time, so
    /// while the store is slow or away the collectors' mailbox (bounded, merging each host's
    /// samples) holds the backlog, not an ever longer queue here.
    Done,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn start(config: &Config, place: &Where) -> Result<Recorder, String> {
    let (cfg, hosts, now) = (config.history.clone(), &config.hosts, now_ms());
    let started = match place {
        Where::File(p) => SqliteStore::open_rw(p)
            .map_err(|e| e.to_string())
            .map(|s| Recorder::start(s, cfg, hosts, now))?,
        Where::Database { url, password_file } => PgStore::open_rw(url, password_file.as_deref())
            .map_err(|e| e.to_string())
            .map(|s| Recorder::start(s, cfg, hosts, now))?,
    };
    started.map_err(|e| match e {
        RecordError::Busy { pid, hostname } => format!(
            "another recorder (pid {pid} on {hostname}) writes {}; not starting a second",
            place.describe()
        ),
        // A store's error names its file or database already.
        e => e.to_string(),
    })
}

/// The writing thread: starts the recorder, then writes what it is sent until told to stop.
fn writer(config: Config, place: Where, cmds: mpsc::Receiver<Cmd>, said: UnboundedSender<Said>) {
    let mut rec = match start(&config, &place) {
        Ok(r) => r,
        Err(why) => {
            let _ = said.send(Said::Refused(why));
            return;
        }
    };
    let _ = said.send(Said::Started);
    let mut failing = false;
    while let Ok(cmd) = cmds.recv() {
        let (result, wrote) = match cmd {
            Cmd::Batch(b) => (rec.record_batch(&b, now_ms()), true),
            Cmd::Tick => (rec.tick(now_ms()), false),
            Cmd::Stop => break,
        };
        match result {
            // A tick that had nothing to renew proves nothing about the store.
            Ok(()) if failing && wrote => {
                failing = false;
                let _ = said.send(Said::Recovered);
            }
            Ok(()) => {}
            Err(RecordError::LostLease) => {
                let _ = said.send(Said::LostLease);
                return;
            }
            Err(e) if !failing => {
                failing = true;
                let _ = said.send(Said::Failing(e.to_string()));
            }
            Err(_) => {}
        }
        let _ = said.send(Said::Done);
    }
    rec.stop();
}

pub async fn record(config: &Config) -> ExitCode {
    let place = match Where::of(config) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let described = place.describe();
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (said_tx, mut said) = unbounded_channel();
    let thread = {
        let config = config.clone();
        std::thread::Builder::new()
            .name("history".into())
            .spawn(move || writer(config, place, cmd_rx, said_tx))
    };
    let Ok(thread) = thread else {
        return fail("cannot start the history thread", 1);
    };
    match said.recv().await {
        Some(Said::Started) => {}
        Some(Said::Refused(why)) => return fail(&why, 1),
        _ => return fail("the history thread ended before it started", 1),
    }
    let (tx, mut rx) = Mailbox::new(config.hosts.len());
    let _collectors = match start_collectors(config, tx) {
        Ok(c) => c,
        Err(e) => return fail(&e.to_string(), 1),
    };
    crate::errln!(
        "fleetwatch: recording {} host(s) into {described}",
        config.hosts.len()
    );
    let signal = |k| tokio::signal::unix::signal(k).ok();
    let (Some(mut term), Some(mut int)) = (
        signal(tokio::signal::unix::SignalKind::terminate()),
        signal(tokio::signal::unix::SignalKind::interrupt()),
    ) else {
        return fail("cannot install signal handlers", 1);
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    // Ticks missed while a write took long are not made up in a burst.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let lost = || fail("another recorder took over this history; stopping", 1);
    let mut in_flight = false;
    loop {
        tokio::select! {
            _ = tick.tick(), if !in_flight => {
                in_flight = true;
                let _ = cmd_tx.send(Cmd::Tick);
            }
            Some(m) = rx.recv(), if !in_flight => {
                in_flight = true;
                let _ = cmd_tx.send(Cmd::Batch(gather(m, &mut rx).await));
            }
            s = said.recv() => match s {
                Some(Said::Done) => in_flight = false,
                Some(Said::Failing(e)) => crate::errln!("fleetwatch: {e}; will retry"),
                Some(Said::Recovered) => crate::errln!("fleetwatch: writing history again"),
                Some(Said::LostLease) => return lost(),
                Some(Said::Started | Said::Refused(_)) => {}
                None => return fail("the history thread ended", 1),
            },
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    let _ = cmd_tx.send(Cmd::Stop);
    // Its last write and the lease's release, before the process ends.
    let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    ExitCode::SUCCESS
}

/// The first message and what else comes within the batch window: one transaction for all.
async fn gather(first: Message, rx: &mut MailboxReceiver) -> Vec<Message> {
    let mut batch = vec![first];
    let until = tokio::time::Instant::now() + BATCH_WINDOW;
    while batch.len() < BATCH_MAX {
        match tokio::time::timeout_at(until, rx.recv()).await {
            Ok(Some(m)) => batch.push(m),
            Ok(None) | Err(_) => break,
        }
    }
    batch
}
