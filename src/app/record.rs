//! `fleetwatch record`: the collectors feed a recorder until SIGTERM or SIGINT. The store is
//! written on a thread of its own: a write may wait on a disk or a database server, and the
//! PostgreSQL client blocks (it may not run on the async runtime's thread at all).

use super::cli::fail;
use super::exporter::{Exporter, http};
use super::record_metrics::RecordMetrics;
use super::share;
use super::stores::Where;
use fleetwatch_core::config::{Config, HostConfig};
use fleetwatch_core::history::lease::{Holder, RENEW_EVERY_MS, Role, renew_every_ms};
use fleetwatch_core::history::recorder::{RecordError, Recorder};
use fleetwatch_core::history::sqlite::SqliteStore;
use fleetwatch_core::history::store::HistoryRead;
use fleetwatch_core::link::Message;
use fleetwatch_pg::PgStore;
use std::process::ExitCode;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};
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
    /// Recording these hosts (all of the config's, or this recorder's share).
    Started(Vec<HostConfig>),
    /// Its share changed: it stopped, and the command starts over.
    Reassign,
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

fn start(
    config: &Config,
    place: &Where,
    hosts: &[HostConfig],
    me: &Holder,
) -> Result<Recorder, String> {
    let (cfg, now) = (config.history.clone(), now_ms());
    // The config's hosts outside this share are the other recorders' (sharing a database).
    let ours: std::collections::HashSet<&str> = names(hosts).into_iter().collect();
    let others: Vec<HostConfig> = config
        .hosts
        .iter()
        .filter(|h| !ours.contains(h.name.as_str()))
        .cloned()
        .collect();
    let hosts = (hosts, others.as_slice());
    let started = match place {
        Where::File(p) => SqliteStore::open_rw(p)
            .map_err(|e| e.to_string())
            .map(|s| Recorder::start_holding(me.clone(), s, cfg, hosts, now))?,
        Where::Database { url, password_file } => PgStore::open_rw(url, password_file.as_deref())
            .map_err(|e| e.to_string())
            .map(|s| s.renewing_every(renew_every_ms(config.poll.interval)))
            .map(|s| Recorder::start_holding(me.clone(), s, cfg, hosts, now))?,
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

/// Starts on this recorder's share; tried again a few times when another recorder took a
/// host between the look and the take. Busy is never final for a shared database.
fn start_share(
    config: &Config,
    place: &Where,
    looker: Option<&dyn HistoryRead>,
    me: &Holder,
) -> Result<(Recorder, Vec<HostConfig>), String> {
    for _ in 0..3 {
        let hosts = share::target(looker, config, me)?;
        match start(config, place, &hosts, me) {
            Ok(r) => return Ok((r, hosts)),
            Err(_) if looker.is_some() => std::thread::sleep(Duration::from_millis(300)),
            Err(why) => return Err(why),
        }
    }
    // Others keep taking what we looked at: start with no host (a presence only, which nobody
    // else holds) and take a share at the next look, once they have settled.
    start(config, place, &[], me).map(|r| (r, Vec::new()))
}

/// The writing thread: starts the recorder, then writes what it is sent until told to stop
/// (or, sharing a config, until its share changes).
fn writer(
    config: Config,
    place: Where,
    me: Holder,
    cmds: mpsc::Receiver<Cmd>,
    said: UnboundedSender<Said>,
    exporter: Option<Arc<Exporter>>,
) {
    // For a shared database, a connection of its own to look at the leases (opened for
    // writing: the first recorder on a new database creates the schema it reads).
    let looker: Option<Box<dyn HistoryRead>> = match &place {
        Where::File(_) => None,
        Where::Database { url, password_file } => {
            match PgStore::open_rw(url, password_file.as_deref()) {
                Ok(s) => Some(Box::new(s)),
                Err(e) => {
                    let _ = said.send(Said::Refused(e.to_string()));
                    return;
                }
            }
        }
    };
    let (mut rec, hosts) = match start_share(&config, &place, looker.as_deref(), &me) {
        Ok(r) => r,
        Err(why) => {
            let _ = said.send(Said::Refused(why));
            return;
        }
    };
    let _ = said.send(Said::Started(hosts.clone()));
    let mut metrics = exporter.map(|x| RecordMetrics::new(x, &config, hosts.len()));
    let look_every = share::look_every(&config);
    let mut next_look = Instant::now() + look_every;
    let mut failing = false;
    while let Ok(cmd) = cmds.recv() {
        let (result, wrote) = match cmd {
            Cmd::Batch(b) => (rec.record_batch(&b, now_ms()), true),
            Cmd::Tick => (rec.tick(now_ms()), false),
            Cmd::Stop => break,
        };
        if let Some(m) = &mut metrics {
            m.after(&mut rec, &result, wrote, &config);
        }
        if !wrote && looker.is_some() && Instant::now() >= next_look {
            next_look = Instant::now() + look_every;
            let now = share::target(looker.as_deref(), &config, &me);
            if let Some(t) = now.ok().filter(|t| names(t) != names(&hosts)) {
                // The hosts both shares hold stay ours across the start over: nobody else
                // sees them free, nor takes them in between.
                rec.hand_over(&names(&t));
                let _ = said.send(Said::Reassign);
                return;
            }
        }
        match result {
            // A tick that had nothing to renew proves nothing about the store.
            Ok(()) if failing && wrote => {
                failing = false;
                let _ = said.send(Said::Recovered);
            }
            Ok(()) => {}
            // Sharing, a lost host is a changed share: start over with what is ours now,
            // giving up the rest first (the next start is a new holder, and would otherwise
            // wait out the stale time for its own old rows).
            Err(RecordError::LostLease) if looker.is_some() => {
                rec.stop();
                let _ = said.send(Said::Reassign);
                return;
            }
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

fn names(hosts: &[HostConfig]) -> Vec<&str> {
    hosts.iter().map(|h| h.name.as_str()).collect()
}

enum Session {
    Ended(ExitCode),
    /// Start over with a new share.
    Again,
}

/// SIGTERM and SIGINT, listened to for the whole run: a signal that came while a session
/// started over (its share changed) would otherwise be taken by the runtime and never seen.
struct Stops {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl Stops {
    async fn recv(&mut self) {
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
    }
}

/// `metrics`: where to serve `/metrics` (`127.0.0.1:9177`), for the whole run.
pub async fn record(config: &Config, metrics: Option<&str>) -> ExitCode {
    let place = match Where::of(config) {
        Ok(p) => p,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let exporter = match metrics {
        Some(addr) => match http::bind(addr).await {
            Ok(listener) => {
                let x = Arc::new(Exporter::default());
                crate::errln!(
                    "fleetwatch: serving metrics on http://{}/metrics",
                    listener
                        .local_addr()
                        .map_or(addr.to_owned(), |a| a.to_string())
                );
                tokio::spawn(http::serve(listener, x.clone()));
                Some(x)
            }
            Err(e) => return fail(&e, 2),
        },
        None => None,
    };
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(term), Ok(int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return fail("cannot install signal handlers", 1);
    };
    let mut stops = Stops { term, int };
    // One holder for the whole run: its sessions (one per share) hold leases as the same one.
    let renew = match &place {
        Where::File(_) => RENEW_EVERY_MS,
        Where::Database { .. } => renew_every_ms(config.poll.interval),
    };
    let me = Holder::renewing(Role::Service, renew);
    let mut feed = share::Feed::new(config);
    loop {
        let run = Run {
            me: &me,
            stops: &mut stops,
            feed: &mut feed,
        };
        match session(config, place.clone(), run, exporter.clone()).await {
            Session::Ended(code) => return code,
            Session::Again => {}
        }
    }
}

/// What a recorder's sessions share: who it is, the signals, and the collectors.
struct Run<'a> {
    me: &'a Holder,
    stops: &'a mut Stops,
    feed: &'a mut share::Feed,
}

async fn session(
    config: &Config,
    place: Where,
    run: Run<'_>,
    exporter: Option<Arc<Exporter>>,
) -> Session {
    let Run { me, stops, feed } = run;
    let fail = |msg: &str, code| Session::Ended(fail(msg, code));
    let described = place.describe();
    let (cmd_tx, cmd_rx) = mpsc::channel();
    let (said_tx, mut said) = unbounded_channel();
    let thread = {
        let (config, me) = (config.clone(), me.clone());
        std::thread::Builder::new()
            .name("history".into())
            .spawn(move || writer(config, place, me, cmd_rx, said_tx, exporter))
    };
    let Ok(thread) = thread else {
        return fail("cannot start the history thread", 1);
    };
    let started = tokio::select! {
        s = said.recv() => s,
        () = stops.recv() => {
            // Told to stop while starting: the thread stops once it has started (or failed).
            let _ = cmd_tx.send(Cmd::Stop);
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
            return Session::Ended(ExitCode::SUCCESS);
        }
    };
    let hosts = match started {
        Some(Said::Started(hosts)) => hosts,
        Some(Said::Refused(why)) => return fail(&why, 1),
        _ => return fail("the history thread ended before it started", 1),
    };
    // A share of no host (more recorders than hosts) waits, ready to take one over.
    let (kept, new) = match feed.follow(config, &hosts) {
        Ok(n) => n,
        Err(e) => return fail(&e.to_string(), 1),
    };
    let of = if hosts.len() == config.hosts.len() {
        String::new()
    } else {
        format!(
            " (its share of {}: {})",
            config.hosts.len(),
            names(&hosts).join(", ")
        )
    };
    if hosts.is_empty() {
        crate::errln!(
            "fleetwatch: recording no host for now: other recorders hold this config's {} in {described}; \
             taking a share when they settle or one stops",
            config.hosts.len()
        );
    } else {
        let connected = if kept > 0 {
            format!("; {kept} still connected, {new} connecting")
        } else {
            String::new()
        };
        crate::errln!(
            "fleetwatch: recording {} host(s){of} into {described}{connected}",
            hosts.len()
        );
    }
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    // Ticks missed while a write took long are not made up in a burst.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let lost = || fail("another recorder took over this history; stopping", 1);
    let mut thread = Some(thread);
    let mut in_flight = false;
    loop {
        tokio::select! {
            _ = tick.tick(), if !in_flight => {
                in_flight = true;
                let _ = cmd_tx.send(Cmd::Tick);
            }
            Some(m) = feed.recv(), if !in_flight => {
                in_flight = true;
                let _ = cmd_tx.send(Cmd::Batch(feed.gather(m).await));
            }
            s = said.recv() => match s {
                Some(Said::Done) => in_flight = false,
                Some(Said::Failing(e)) => crate::errln!("fleetwatch: {e}; will retry"),
                Some(Said::Recovered) => crate::errln!("fleetwatch: writing history again"),
                Some(Said::LostLease) => return lost(),
                Some(Said::Reassign) => {
                    if let Some(t) = thread.take() {
                        let _ = tokio::task::spawn_blocking(move || t.join()).await;
                    }
                    return Session::Again;
                }
                Some(Said::Started(_) | Said::Refused(_)) => {}
                None => return fail("the history thread ended", 1),
            },
            () = stops.recv() => break,
        }
    }
    let _ = cmd_tx.send(Cmd::Stop);
    // Its last write and the lease's release, before the process ends.
    if let Some(t) = thread.take() {
        let _ = tokio::task::spawn_blocking(move || t.join()).await;
    }
    Session::Ended(ExitCode::SUCCESS)
}
