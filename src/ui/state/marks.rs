//! `:mark` and `:unmark`: the set of VMs an action acts on, chosen by what they are rather than
//! a row at a time (`space`): `~REGEX` (names), `host=NAME`, `flag=KIND`, or `shown` (the
//! table's rows now). An action on the set lists every VM in its pane, asks for their count and
//! re-verifies each before it runs.

use super::UiState;
use crate::ui::rows::Filter;
use fleetwatch_core::model::findings::Kind;
use fleetwatch_core::model::{Fleet, Vm};

const USAGE: &str = "mark what? ~REGEX (names), host=NAME, flag=KIND or shown";

/// Which VMs a `:mark` argument names.
enum Selector {
    Names(Filter),
    Host(usize),
    Flag(Kind),
    Shown,
}

fn parse(arg: &str, fleet: &Fleet) -> Result<Selector, String> {
    let arg = arg.trim();
    if arg == "shown" {
        return Ok(Selector::Shown);
    }
    if arg.starts_with('~') {
        return Filter::parse(arg)
            .map(Selector::Names)
            .map_err(|e| e.to_string());
    }
    match arg.split_once('=') {
        Some(("host", name)) => host_named(fleet, name.trim()).map(Selector::Host),
        Some(("flag" | "kind", k)) => finding_kind(k.trim()).map(Selector::Flag),
        _ => Err(USAGE.into()),
    }
}

/// The host of this name, as `:` commands take it.
pub(super) fn host_named(fleet: &Fleet, name: &str) -> Result<usize, String> {
    fleet
        .hosts
        .iter()
        .position(|h| h.name == name)
        .ok_or_else(|| format!("no host named {name:?}"))
}

/// The finding kind of this name, as `:` commands take it; the error lists them all.
pub(super) fn finding_kind(name: &str) -> Result<Kind, String> {
    Kind::parse(name).ok_or_else(|| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.name()).collect();
        format!("no finding kind {name:?}; one of: {}", names.join(" "))
    })
}

impl Selector {
    fn picks(&self, vm: &Vm) -> bool {
        match self {
            Selector::Names(Filter::Regex(r)) => r.is_match(&vm.name),
            Selector::Names(_) => false,
            Selector::Host(h) => vm.host == *h,
            Selector::Flag(k) => vm.flags.contains(k),
            Selector::Shown => false,
        }
    }
}

impl UiState {
    /// `:mark ARG` (`on`) or `:unmark ARG`; `:unmark` alone clears the set.
    pub(super) fn mark(&mut self, arg: &str, fleet: &Fleet, on: bool) {
        if !on && arg.trim().is_empty() {
            let n = self.marks.len();
            self.marks.clear();
            self.message = Some(format!("unmarked all {n} VM(s)"));
            return;
        }
        let sel = match parse(arg, fleet) {
            Ok(s) => s,
            Err(why) => {
                self.message = Some(why);
                return;
            }
        };
        let uuids: Vec<String> = match sel {
            Selector::Shown => self
                .rows
                .iter()
                .filter_map(|r| fleet.vm_at(*r))
                .map(|vm| vm.uuid.clone())
                .collect(),
            sel => fleet
                .vms()
                .filter(|vm| sel.picks(vm))
                .map(|vm| vm.uuid.clone())
                .collect(),
        };
        let changed = uuids
            .into_iter()
            .filter(|u| {
                if on {
                    self.marks.insert(u.clone())
                } else {
                    self.marks.remove(u)
                }
            })
            .count();
        let (verb, arg) = (if on { "marked" } else { "unmarked" }, arg.trim());
        self.message = Some(format!(
            "{verb} {changed} VM(s) by {arg}; {} marked; :unmark clears",
            self.marks.len()
        ));
    }
}
