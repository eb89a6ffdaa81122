//! Actions: what an operator can do to a VM from fleetwatch, and everything that makes that
//! safe: the plan (what will change, the risks known now), the confirmation pane (Cancel first,
//! typed names for the disruptive ones), the check just before executing, and the audit.

pub mod audit;
pub mod confirm;
pub mod evacuate;
pub mod evacuate_run;
pub mod keys;
pub mod maintenance;
pub mod plan;
pub mod record;

use crate::model::sample::VmState;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "action")]
pub enum ActionKind {
    Start,
    Shutdown,
    Reboot,
    Pause,
    Resume,
    Snapshot {
        name: String,
        description: String,
    },
    /// Live migration to a host (index in the config), copying local disks only when asked.
    Migrate {
        to: usize,
        to_name: String,
        to_uri: String,
        copy_storage: bool,
    },
    ForceOff,
    /// Back to a snapshot: everything since it is lost. Only from the snapshots pane.
    RevertSnapshot {
        name: String,
    },
    /// Deletes one snapshot; the VM and its disks stay. Only from the snapshots pane: there is
    /// no action that deletes a VM or its storage.
    DeleteSnapshot {
        name: String,
    },
    /// Every move of a host's evacuation (`back`: of its return), run by the app one live
    /// migration at a time; no host's action thread is ever given it.
    Evacuate {
        host: String,
        back: bool,
        moves: Vec<evacuate::Move>,
    },
}

impl ActionKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Start => "start",
            ActionKind::Shutdown => "shutdown",
            ActionKind::Reboot => "reboot",
            ActionKind::Pause => "pause",
            ActionKind::Resume => "resume",
            ActionKind::Snapshot { .. } => "snapshot",
            ActionKind::Migrate { .. } => "migrate",
            ActionKind::ForceOff => "force-off",
            ActionKind::RevertSnapshot { .. } => "revert-snapshot",
            ActionKind::DeleteSnapshot { .. } => "delete-snapshot",
            ActionKind::Evacuate { back: false, .. } => "evacuate",
            ActionKind::Evacuate { back: true, .. } => "return",
        }
    }

    /// Its name in a group's `actions` list: resume goes with pause, an evacuation's moves are
    /// migrations.
    pub fn group_verb(&self) -> &'static str {
        match self {
            ActionKind::Resume => "pause",
            ActionKind::Evacuate { .. } => "migrate",
            k => k.name(),
        }
    }

    /// Takes a service down or moves it: the name must be typed to confirm.
    pub fn disruptive(&self) -> bool {
        matches!(
            self,
            ActionKind::Reboot
                | ActionKind::ForceOff
                | ActionKind::Migrate { .. }
                | ActionKind::RevertSnapshot { .. }
                | ActionKind::Evacuate { .. }
        )
    }

    /// Whether the action makes sense for a VM in this state.
    pub fn allowed(&self, state: VmState) -> bool {
        use VmState::*;
        match self {
            ActionKind::Start => matches!(state, Shutoff | Crashed),
            ActionKind::Shutdown | ActionKind::Reboot => state == Running,
            ActionKind::Pause => state == Running,
            ActionKind::Resume => state == Paused,
            ActionKind::Snapshot { .. } => true,
            ActionKind::Migrate { .. } => matches!(state, Running | Paused),
            ActionKind::ForceOff => matches!(state, Running | Paused | Crashed),
            ActionKind::RevertSnapshot { .. } | ActionKind::DeleteSnapshot { .. } => true,
            ActionKind::Evacuate { .. } => state.is_active(),
        }
    }

    /// The history event this action causes, to credit its operator.
    pub fn event_kinds(&self) -> &'static [&'static str] {
        match self {
            ActionKind::Start => &["started"],
            ActionKind::Shutdown | ActionKind::ForceOff => &["stopped"],
            ActionKind::Reboot => &["stopped", "started"],
            ActionKind::Pause => &["paused"],
            ActionKind::Resume => &["resumed"],
            ActionKind::Snapshot { .. } => &["snapshot-taken"],
            ActionKind::RevertSnapshot { .. } => &["snapshot-reverted"],
            ActionKind::DeleteSnapshot { .. } => &["snapshot-deleted"],
            ActionKind::Migrate { .. } => &["migrated"],
            // Its migrations are audited one by one, and credited as those.
            ActionKind::Evacuate { .. } => &[],
        }
    }
}

/// What the VM must still be when the action runs: the pane showed exactly this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expect {
    pub uuid: String,
    pub name: String,
    pub host: String,
    pub state: VmState,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionRequest {
    pub id: u64,
    pub kind: ActionKind,
    pub expect: Expect,
}

/// Progress of a long action (a migration), from libvirt's job information.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Progress {
    pub percent: Option<f64>,
    pub remaining_bytes: Option<u64>,
    pub downtime_ms: Option<u64>,
    pub elapsed_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ActionUpdate {
    Running {
        id: u64,
    },
    Progress {
        id: u64,
        progress: Progress,
    },
    /// Ok: what happened, in words; Err: why not.
    Done {
        id: u64,
        result: Result<String, ActionFailure>,
    },
}

/// Why an action did not do what was asked, sorted the way the audit records its outcome. The
/// text is the actor's own (libvirt's error, cleaned): the libvirt crate sorts its errors into
/// these at the boundary, so the app never reads an outcome out of a message's wording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionFailure {
    /// Checked before anything was done: the VM moved or changed since the pane opened.
    #[error("{0}")]
    Refused(String),
    /// Stopped by the operator; the VM stays where it was.
    #[error("{0}")]
    Aborted(String),
    /// Tried and failed, or could not be tried.
    #[error("{0}")]
    Failed(String),
}

impl ActionFailure {
    /// The audit's `outcome` for it.
    pub fn outcome(&self) -> &'static str {
        match self {
            ActionFailure::Refused(_) => "refused",
            ActionFailure::Aborted(_) => "aborted",
            ActionFailure::Failed(_) => "failed",
        }
    }
}

/// The login name of this process's real user, from /proc and /etc/passwd (no environment, as
/// under sudo -i or a service).
fn user_from_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_owned();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 2 && f[2] == uid).then(|| f[0].to_owned())
    })
}

/// Who acts: the OS user, and where their SSH session comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Operator {
    pub user: String,
    pub ssh_from: Option<String>,
}

impl Operator {
    pub fn from_env() -> Operator {
        let user = ["USER", "LOGNAME"]
            .iter()
            .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
            .or_else(user_from_uid)
            .unwrap_or_else(|| "uid-unknown".into());
        let ssh_from = std::env::var("SSH_CLIENT")
            .ok()
            .and_then(|v| v.split_whitespace().next().map(str::to_owned));
        Operator { user, ssh_from }
    }

    /// As it appears in history: `alice` or `alice@10.0.0.5`.
    pub fn actor(&self) -> String {
        match &self.ssh_from {
            Some(from) => format!("{}@{from}", self.user),
            None => self.user.clone(),
        }
    }
}
