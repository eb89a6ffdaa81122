//! Hosts in maintenance as the TUI keeps them. The list here is what the screen and the plans
//! use at once; each change goes to the history store in order on one thread of its own (the
//! host's whole maintenance put anew, or its end), and the store's list comes back after each
//! change and every few seconds, so another operator's evacuation shows here too and a restart
//! finds where the VMs came from. A store that refuses a write loses nothing: the change is
//! kept here and tried again until it is written, and the screen says so meanwhile.

use super::stores::Where;
use fleetwatch_core::actions::evacuate::Move;
use fleetwatch_core::actions::maintenance::{self, Maintenance};
use fleetwatch_core::history::reader::Response;
use fleetwatch_core::history::store::HistoryRead;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};
use tokio::sync::mpsc::UnboundedSender;

enum Cmd {
    Put(Maintenance),
    End(String),
    Read,
}

/// Another operator's evacuation shows within this long.
const READ_EVERY: Duration = Duration::from_secs(10);
/// A write the store refused is tried again this often.
const RETRY_EVERY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct Kept {
    pub hosts: Vec<Maintenance>,
    /// Counts local changes: a list the store gave before the newest one is stale.
    generation: u64,
    writes: Option<Sender<(u64, Cmd)>>,
    thread: Option<std::thread::JoinHandle<()>>,
    read_at: Option<Instant>,
    /// Why the store lacks the latest change, while it does.
    pub unsaved: Option<String>,
}

impl Kept {
    /// Kept in the store at `place`; in this session only without one.
    pub fn new(place: Option<Where>, answers: UnboundedSender<Response>) -> std::io::Result<Kept> {
        let Some(place) = place else {
            return Ok(Kept::default());
        };
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("maintenance".into())
            .spawn(move || serve(&place, &rx, &answers))?;
        Ok(Kept {
            writes: Some(tx),
            thread: Some(thread),
            ..Kept::default()
        })
    }

    pub fn of(&self, host: &str) -> Option<&Maintenance> {
        maintenance::of(&self.hosts, host)
    }

    /// The host enters maintenance; one already in it keeps who, since when and what is away.
    pub fn start(&mut self, host: &str, by: &str, now_ms: i64) {
        if self.of(host).is_none() {
            let m = Maintenance::new(host, by, now_ms);
            self.hosts.push(m.clone());
            self.send(Cmd::Put(m));
        }
    }

    /// A VM of `m.from`'s evacuation moved away.
    pub fn left(&mut self, m: &Move) {
        self.change(&m.from, |k| k.left(m.clone()));
    }

    /// A VM is back on `host`.
    pub fn back(&mut self, host: &str, uuid: &str) {
        self.change(host, |k| k.back(uuid));
    }

    /// Only what is still away on a host other than its home, still active (a VM gone from the
    /// fleet, stopped or home already has nothing to come back for).
    pub fn prune(&mut self, host: &str, still_away: impl Fn(&Move) -> bool) {
        let Some(m) = self.of(host) else { return };
        if m.away.iter().any(|a| !still_away(a)) {
            self.change(host, |k| k.away.retain(|a| still_away(a)));
        }
    }

    pub fn end(&mut self, host: &str) {
        if self.of(host).is_some() {
            self.hosts.retain(|m| m.host != host);
            self.send(Cmd::End(host.to_owned()));
        }
    }

    fn change(&mut self, host: &str, f: impl FnOnce(&mut Maintenance)) {
        let Some(m) = self.hosts.iter_mut().find(|m| m.host == host) else {
            return;
        };
        f(m);
        let m = m.clone();
        self.send(Cmd::Put(m));
    }

    fn send(&mut self, cmd: Cmd) {
        self.generation += 1;
        if let Some(tx) = &self.writes {
            let _ = tx.send((self.generation, cmd));
        }
    }

    /// On quit: the changes not yet written get `within` to be; false when some may not be.
    pub fn flush(&mut self, within: Duration) -> bool {
        self.writes = None;
        let Some(t) = self.thread.take() else {
            return true;
        };
        let until = Instant::now() + within;
        while !t.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(20));
        }
        t.is_finished()
    }

    /// Asks for the store's list when it is due.
    pub fn refresh(&mut self) {
        if self.read_at.is_none_or(|t| t.elapsed() >= READ_EVERY) {
            self.read_at = Some(Instant::now());
            if let Some(tx) = &self.writes {
                let _ = tx.send((self.generation, Cmd::Read));
            }
        }
    }

    /// The store's answer; a message for the operator when the saving failed or recovered.
    pub fn answer(
        &mut self,
        generation: u64,
        list: Option<Vec<Maintenance>>,
        error: Option<String>,
    ) -> Option<String> {
        if let Some(e) = error {
            let first = self.unsaved.is_none();
            self.unsaved = Some(e.clone());
            return first.then(|| {
                format!("maintenance not saved to the history store ({e}): kept here, trying again")
            });
        }
        // Answered in order: every change before this one is written.
        let said = self
            .unsaved
            .take()
            .map(|_| "maintenance saved to the history store".to_owned());
        if let Some(list) = list.filter(|_| generation == self.generation) {
            self.hosts = list;
        }
        said
    }
}

/// The store's side: one change after the other, each tried until written, then the list.
fn serve(place: &Where, rx: &Receiver<(u64, Cmd)>, answers: &UnboundedSender<Response>) {
    let mut writer = None;
    let mut reader: Option<Box<dyn HistoryRead + Send>> = None;
    while let Ok((generation, cmd)) = rx.recv() {
        loop {
            let written = (|| {
                let w = match &mut writer {
                    Some(w) => w,
                    None => writer.insert(place.writer()?),
                };
                match &cmd {
                    Cmd::Put(m) => w.put_maintenance(m),
                    Cmd::End(host) => w.end_maintenance(host).map(|_| ()),
                    Cmd::Read => Ok(()),
                }
            })();
            let Err(e) = written else { break };
            writer = None;
            let error = Some(format!("{}: {e}", place.describe()));
            if answers
                .send(Response::Maintenance {
                    generation,
                    list: None,
                    error,
                })
                .is_err()
            {
                return;
            }
            std::thread::sleep(RETRY_EVERY);
        }
        let list = (|| {
            let r = match &mut reader {
                Some(r) => r,
                None => reader.insert(place.reader()?),
            };
            r.maintenance()
        })();
        if list.is_err() {
            reader = None;
        }
        let answer = Response::Maintenance {
            generation,
            list: list.ok(),
            error: None,
        };
        if answers.send(answer).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

    fn mv(vm: &str) -> Move {
        Move {
            vm: vm.into(),
            uuid: format!("u-{vm}"),
            from: "hv1".into(),
            to: "hv2".into(),
            memory_bytes: 1 << 30,
        }
    }

    /// The next answer, applied as the TUI applies it.
    fn next(k: &mut Kept, rx: &mut UnboundedReceiver<Response>) -> Option<String> {
        match rx.blocking_recv() {
            Some(Response::Maintenance {
                generation,
                list,
                error,
            }) => k.answer(generation, list, error),
            _ => panic!("no answer"),
        }
    }

    #[test]
    fn changes_reach_the_store_in_order_and_a_new_session_finds_them() {
        let dir = tempfile::tempdir().unwrap();
        let place = Where::File(dir.path().join("h.db"));
        let (tx, mut rx) = unbounded_channel();
        let mut k = Kept::new(Some(place.clone()), tx).unwrap();
        k.start("hv1", "ann", 1_000);
        k.left(&mv("web"));
        k.left(&mv("db"));
        k.back("hv1", "u-web");
        // Only the last answer is newest: the ones before it change nothing here.
        for _ in 0..3 {
            assert_eq!(next(&mut k, &mut rx), None);
            assert_eq!(k.hosts[0].away, vec![mv("db")]);
        }
        assert_eq!(next(&mut k, &mut rx), None);
        assert!(k.flush(Duration::from_secs(5)));
        let stored = place.reader().unwrap().maintenance().unwrap();
        assert_eq!(stored, k.hosts);
        assert_eq!(stored[0].by, "ann");

        // A later session: the store's list is what it starts from.
        let (tx, mut rx) = unbounded_channel();
        let mut again = Kept::new(Some(place.clone()), tx).unwrap();
        again.refresh();
        next(&mut again, &mut rx);
        assert_eq!(again.hosts, stored);
        again.start("hv1", "bob", 2_000);
        assert_eq!(
            again.of("hv1").unwrap().by,
            "ann",
            "still ann's maintenance"
        );
        again.end("hv1");
        next(&mut again, &mut rx);
        assert!(again.hosts.is_empty());
        assert!(place.reader().unwrap().maintenance().unwrap().is_empty());
    }

    #[test]
    fn a_store_that_refuses_keeps_the_change_here_and_it_is_written_once_it_can_be() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("h.db");
        // A directory where the file should be: no store can be opened there.
        std::fs::create_dir(&db).unwrap();
        let place = Where::File(db.clone());
        let (tx, mut rx) = unbounded_channel();
        let mut k = Kept::new(Some(place.clone()), tx).unwrap();
        k.start("hv1", "ann", 1_000);
        let said = next(&mut k, &mut rx).unwrap();
        assert!(
            said.contains("not saved") && said.contains("h.db"),
            "{said}"
        );
        assert!(k.unsaved.is_some());
        assert_eq!(k.hosts.len(), 1, "kept here meanwhile");
        std::fs::remove_dir(&db).unwrap();
        // Tried again until written; then said so.
        let said = loop {
            if let Some(s) = next(&mut k, &mut rx) {
                break s;
            }
        };
        assert_eq!(said, "maintenance saved to the history store");
        assert!(k.unsaved.is_none());
        assert_eq!(place.reader().unwrap().maintenance().unwrap(), k.hosts);
    }

    #[test]
    fn without_a_store_it_is_kept_for_the_session() {
        let mut k = Kept::default();
        k.start("hv1", "ann", 1);
        k.left(&mv("web"));
        k.refresh();
        assert_eq!(k.of("hv1").unwrap().away.len(), 1);
        k.end("hv1");
        assert!(k.hosts.is_empty());
        assert!(k.flush(Duration::from_millis(10)));
    }
}
