//! fleetwatch, the program: the app loop, the terminal UI and the CLI, over
//! [`fleetwatch_core`] (model, findings, history, actions) and [`fleetwatch_libvirt`]
//! (collectors).

pub mod app;
pub mod demo;
pub mod report;
pub mod ui;
