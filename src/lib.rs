//! fleetwatch: watch a fleet of libvirt hypervisor hosts live.
//!
//! collection (threads owning libvirt connections) → model (pure fleet state) → ui (draws,
//! maps keys), joined by app (the loop); config reads the settings.

pub mod actions;
pub mod app;
pub mod collection;
pub mod config;
pub mod demo;
pub mod history;
pub mod model;
pub mod policy;
pub mod report;
pub mod sanitize;
pub mod text_table;
pub mod ui;
