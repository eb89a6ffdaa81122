//! The worker thread: the only thread that calls libvirt for a host's connection. The supervisor
//! can abandon it in a hung call; it then ends on its own when the call returns.

use super::panics::internal_error;
use crate::error::LinkError;
use crate::executor::Actor;
use crate::meter::Heartbeat;
use crate::source::{Connector, Source};
use fleetwatch_core::model::sample::HostSample;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender};

pub(super) enum Reply {
    Connected(Option<Arc<dyn Actor>>),
    ConnectFailed(LinkError),
    Polled(Result<HostSample, LinkError>),
}

pub(super) struct Worker {
    /// Each poll request carries the heartbeat the worker beats while it polls.
    pub(super) cmd: Sender<Heartbeat>,
    pub(super) reply: Receiver<Reply>,
}

/// A worker thread counted in `live_workers` until it ends, however it ends.
pub(super) struct Live(pub(super) Arc<AtomicUsize>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The worker: owns the connection, polls when asked. If the supervisor gave up on it, its
/// channels are closed and it exits as soon as the stuck call returns. A panic in the
/// connector or the source is that host's error: the connection is dropped and the
/// supervisor reconnects with back-off, as after any failure.
pub(super) fn work(
    host: usize,
    uri: &str,
    connector: &dyn Connector,
    progress: &Heartbeat,
    cmd: Receiver<Heartbeat>,
    reply: Sender<Reply>,
) {
    let connected = catch_unwind(AssertUnwindSafe(|| {
        connector.connect(uri, progress).map(|source| {
            let actor = source.actor();
            (source, actor)
        })
    }));
    let mut source: Box<dyn Source> = match connected {
        Ok(Ok((source, actor))) => {
            if reply.send(Reply::Connected(actor)).is_err() {
                return;
            }
            source
        }
        Ok(Err(e)) => {
            let _ = reply.send(Reply::ConnectFailed(e.into()));
            return;
        }
        Err(p) => {
            let e = internal_error(host, uri, "connect", &*p);
            let _ = reply.send(Reply::ConnectFailed(e.into()));
            return;
        }
    };
    while let Ok(progress) = cmd.recv() {
        match catch_unwind(AssertUnwindSafe(|| source.poll(&progress))) {
            Ok(r) => {
                if reply
                    .send(Reply::Polled(r.map_err(LinkError::from)))
                    .is_err()
                {
                    return;
                }
            }
            Err(p) => {
                let e = internal_error(host, uri, "poll", &*p);
                let _ = reply.send(Reply::Polled(Err(e.into())));
                // The source may be half-updated: drop it; the supervisor reconnects.
                return;
            }
        }
    }
}
