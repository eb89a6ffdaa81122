//! Carrying out an action on the host's own connection (the test driver keeps a private state
//! per connection, so only the polled one shows the result), on a thread of its own so polling
//! goes on during a migration. Just before acting it checks that the VM is still what the
//! confirmation pane showed.

use super::codes::state_of;
use super::error::{ActionError, LibvirtError};
use super::ffi;
use fleetwatch_core::actions::{ActionKind, ActionRequest, Progress};
use fleetwatch_core::model::sample::VmState;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use virt::connect::Connect;
use virt::domain::Domain;
use virt_sys as sys;

/// Carries out actions on one host. Implemented on the live connection of a source.
pub trait Actor: Send + Sync {
    fn execute(
        &self,
        req: &ActionRequest,
        abort: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<String, ActionError>;
}

pub struct LibvirtActor {
    pub conn: Arc<Connect>,
    /// Domains whose XML (and snapshots) the next poll must read again: an action changed them.
    pub refresh: Arc<std::sync::Mutex<std::collections::HashSet<String>>>,
}

fn state_now(dom: &Domain) -> Result<VmState, LibvirtError> {
    dom.info()
        .map(|i| state_of(i.state))
        .map_err(LibvirtError::of("virDomainGetInfo"))
}

fn failed(call: &'static str) -> impl Fn(virt::error::Error) -> ActionError {
    move |e| LibvirtError::new(call, &e).into()
}

fn xml_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Actor for LibvirtActor {
    fn execute(
        &self,
        req: &ActionRequest,
        abort: &AtomicBool,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<String, ActionError> {
        let e = &req.expect;
        let dom = self
            .conn
            .lookup_domain_by_uuid_string(&e.uuid)
            .map_err(|_| ActionError::Gone {
                name: e.name.clone(),
                uuid: e.uuid.clone(),
                host: e.host.clone(),
            })?;
        let name = dom.name().map_err(LibvirtError::of("virDomainGetName"))?;
        let state = state_now(&dom)?;
        let mut changed = Vec::new();
        if fleetwatch_core::sanitize::clean(&name) != e.name {
            changed.push(format!(
                "name {} → {}",
                e.name,
                fleetwatch_core::sanitize::clean(&name)
            ));
        }
        if state != e.state {
            changed.push(format!("state {} → {}", e.state.label(), state.label()));
        }
        if !changed.is_empty() {
            return Err(ActionError::Changed {
                name: e.name.clone(),
                changes: changed,
            });
        }
        if let Ok(mut r) = self.refresh.lock() {
            r.insert(e.uuid.clone());
        }
        match &req.kind {
            ActionKind::Start => dom
                .create()
                .map(|_| format!("{} started", e.name))
                .map_err(failed("virDomainCreate")),
            ActionKind::Shutdown => dom
                .shutdown()
                .map(|_| format!("{} asked to shut down", e.name))
                .map_err(failed("virDomainShutdown")),
            ActionKind::Reboot => dom
                .reboot(0)
                .map(|_| format!("{} asked to reboot", e.name))
                .map_err(failed("virDomainReboot")),
            ActionKind::Pause => dom
                .suspend()
                .map(|_| format!("{} paused", e.name))
                .map_err(failed("virDomainSuspend")),
            ActionKind::Resume => dom
                .resume()
                .map(|_| format!("{} resumed", e.name))
                .map_err(failed("virDomainResume")),
            ActionKind::ForceOff => dom
                .destroy()
                .map(|_| format!("{} forced off", e.name))
                .map_err(failed("virDomainDestroy")),
            ActionKind::Snapshot { name, description } => {
                let xml = format!(
                    "<domainsnapshot><name>{}</name><description>{}</description></domainsnapshot>",
                    xml_text(name),
                    xml_text(description)
                );
                dom.create_snapshot_xml(&xml, 0)
                    .map(|_| format!("snapshot {name:?} of {} taken", e.name))
                    .map_err(failed("virDomainSnapshotCreateXML"))
            }
            ActionKind::Migrate {
                to_uri,
                to_name,
                copy_storage,
                ..
            } => migrate(dom, to_uri, *copy_storage, abort, progress)
                .map(|secs| format!("{} moved to {to_name} in {secs:.1}s", e.name)),
            ActionKind::RevertSnapshot { name } => find_snapshot(&dom, name)?
                .revert(0)
                .map(|_| format!("{} is back at snapshot {name:?}", e.name))
                .map_err(failed("virDomainRevertToSnapshot")),
            ActionKind::DeleteSnapshot { name } => find_snapshot(&dom, name)?
                .delete(0)
                .map(|_| format!("snapshot {name:?} of {} deleted; the VM stays", e.name))
                .map_err(failed("virDomainSnapshotDelete")),
            ActionKind::Evacuate { .. } => Err(ActionError::NotOneAction),
        }
    }
}

/// The snapshot the pane showed by its (cleaned) name: looked up as is, else among the list
/// by its cleaned name, since a name with characters shown replaced is not the name itself.
fn find_snapshot(
    dom: &virt::domain::Domain,
    name: &str,
) -> Result<virt::domain_snapshot::DomainSnapshot, ActionError> {
    if let Ok(s) = virt::domain::Domain::lookup_snapshot_by_name(dom, name, 0) {
        return Ok(s);
    }
    let list = dom
        .list_all_snapshots(0)
        .map_err(LibvirtError::of("virDomainListAllSnapshots"))?;
    list.into_iter()
        .find(|s| {
            s.name()
                .is_ok_and(|n| fleetwatch_core::sanitize::clean(&n) == name)
        })
        .ok_or_else(|| ActionError::Changed {
            name: name.to_owned(),
            changes: vec![format!("snapshot {name:?} is not there any more")],
        })
}

/// A peer-to-peer live migration (the source daemon talks to the target itself), watched
/// through the domain's job information until it ends or is aborted.
fn migrate(
    dom: Domain,
    to_uri: &str,
    copy_storage: bool,
    abort: &AtomicBool,
    progress: &mut dyn FnMut(Progress),
) -> Result<f64, ActionError> {
    let mut flags = sys::VIR_MIGRATE_LIVE
        | sys::VIR_MIGRATE_PEER2PEER
        | sys::VIR_MIGRATE_PERSIST_DEST
        | sys::VIR_MIGRATE_UNDEFINE_SOURCE;
    if copy_storage {
        flags |= sys::VIR_MIGRATE_NON_SHARED_DISK;
    }
    let started = std::time::Instant::now();
    let dom = Arc::new(dom);
    let worker = dom.clone();
    let uri = to_uri.to_owned();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("migrate".into())
        .spawn(move || {
            let r = worker
                .migrate_to_uri(&uri, flags, None, 0)
                .map_err(LibvirtError::of("virDomainMigrateToURI"));
            let _ = tx.send(r);
        })
        .map_err(ActionError::Spawn)?;
    let mut aborted = false;
    loop {
        match rx.recv_timeout(Duration::from_millis(500)) {
            Ok(r) => {
                return match (r, aborted) {
                    (Ok(()), _) => Ok(started.elapsed().as_secs_f64()),
                    (Err(_), true) => Err(ActionError::Aborted),
                    (Err(e), false) => Err(e.into()),
                };
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(ActionError::MigrationLost);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
        }
        if abort.load(Ordering::SeqCst) && !aborted {
            aborted = true;
            if let Err(e) = ffi::abort_job(&dom) {
                tracing::warn!("abort: {}", e.message());
            }
        }
        if let Ok(j) = dom.job_stats(0) {
            let percent = match (j.data_processed, j.data_total) {
                (Some(p), Some(t)) if t > 0 => Some(p as f64 / t as f64 * 100.0),
                _ => None,
            };
            progress(Progress {
                percent,
                remaining_bytes: j.data_remaining,
                downtime_ms: j.downtime,
                elapsed_ms: Some(started.elapsed().as_millis() as u64),
            });
        }
    }
}
