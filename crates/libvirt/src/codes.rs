//! libvirt's state and error numbers read into the core's vocabulary. A leaf: the source, the
//! actor and the gap filler all read libvirt's answers through here, so none of them needs
//! another for it.

use fleetwatch_core::model::sample::VmState;
use virt::error::ErrorNumber;

/// libvirt's `virDomainState` numbers, as bulk stats' `state.state` gives them.
pub fn state_from_number(state: u32) -> VmState {
    match state {
        1 | 2 => VmState::Running, // running, blocked (idle vCPU): both are "running" to a person
        3 | 7 => VmState::Paused,  // paused, pmsuspended
        4 | 5 => VmState::Shutoff, // shutting down counts as on its way off
        6 => VmState::Crashed,
        _ => VmState::Other,
    }
}

pub fn state_of(s: virt::domain::DomainStateEnum) -> VmState {
    use virt::domain::DomainState as S;
    match s {
        virt::enumutil::Enum::Known(S::Running | S::Blocked) => VmState::Running,
        virt::enumutil::Enum::Known(S::Paused | S::PMSuspended) => VmState::Paused,
        virt::enumutil::Enum::Known(S::Shutdown | S::Shutoff) => VmState::Shutoff,
        virt::enumutil::Enum::Known(S::Crashed) => VmState::Crashed,
        _ => VmState::Other,
    }
}

/// A call the driver or daemon does not offer (or not with these flags): worth not asking again.
pub fn unsupported(e: &virt::error::Error) -> bool {
    matches!(
        e.code(),
        virt::enumutil::Enum::Known(ErrorNumber::NoSupport | ErrorNumber::InvalidArg)
    )
}
