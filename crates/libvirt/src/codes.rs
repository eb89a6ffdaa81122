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

/// The same reading for a state from a per-domain call: one table of what each state means.
pub fn state_of(s: virt::domain::DomainStateEnum) -> VmState {
    state_from_number(s.to_raw())
}

/// A call the driver or daemon does not offer (or not with these flags): worth not asking again.
pub fn unsupported(e: &virt::error::Error) -> bool {
    matches!(
        e.code(),
        virt::enumutil::Enum::Known(ErrorNumber::NoSupport | ErrorNumber::InvalidArg)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use virt::domain::{DomainState as S, DomainStateEnum};

    #[test]
    fn each_libvirt_state_reads_as_a_person_would_say_it() {
        let of = |s: S| state_of(DomainStateEnum::Known(s));
        assert_eq!(of(S::Running), VmState::Running);
        assert_eq!(of(S::Blocked), VmState::Running);
        assert_eq!(of(S::Paused), VmState::Paused);
        assert_eq!(of(S::PMSuspended), VmState::Paused);
        assert_eq!(of(S::Shutdown), VmState::Shutoff);
        assert_eq!(of(S::Shutoff), VmState::Shutoff);
        assert_eq!(of(S::Crashed), VmState::Crashed);
        assert_eq!(of(S::NoState), VmState::Other);
        assert_eq!(state_of(DomainStateEnum::Unknown(99)), VmState::Other);
    }
}
