//! A connection given up while a call hangs keeps its ssh process alive (the call's thread is
//! stuck inside libvirt); ending that process also frees the thread. Ending one waits a grace
//! period for it to go, so it is done on a thread of its own, never on the scheduler's, which
//! keeps time for every host.

use crate::children;
use fleetwatch_core::transport::{self, Transport};
use std::sync::mpsc::{self, Sender};

pub(super) struct Reaper {
    hosts: Sender<String>,
}

impl Reaper {
    /// Only a fleet with ssh hosts needs one.
    pub(super) fn start_for(uris: &[String]) -> std::io::Result<Option<Reaper>> {
        if !uris.iter().any(|u| Transport::of(u) == Transport::Ssh) {
            return Ok(None);
        }
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name("fw-reap".into())
            .spawn(move || {
                while let Ok(host) = rx.recv() {
                    children::end_for_host(&host);
                }
            })?;
        Ok(Some(Reaper { hosts: tx }))
    }

    /// Ends the ssh processes of a connection to `uri` that was given up.
    pub(super) fn end_for(&self, uri: &str) {
        if Transport::of(uri) == Transport::Ssh {
            let _ = self.hosts.send(transport::host(uri).to_owned());
        }
    }
}
