//! End-to-end against the real-libvirtd lab (`make lab-up`, then `make e2e`): the real
//! `fleetwatch` binary, `snapshot --json` and the TUI under tmux, against real daemons, real QEMU
//! guests, a real live migration and real host failures. Ignored by `make test` (no lab there);
//! `make e2e` runs them one at a time.
#![allow(clippy::unwrap_used)]

mod evacuate;
mod far;
mod fleet;
mod history;
mod lab;
mod metrics;
mod remote;
mod shared;
