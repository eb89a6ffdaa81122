//! fleetwatch's core: everything that is neither libvirt nor a terminal.
//!
//! Data flow: a collector (the libvirt crate) sends [`link::Message`]s; [`model::Fleet`] merges
//! them; [`model::rules`] turns the fleet and [`policy`] into findings; [`history`] records
//! placements and events through a store; the UI (the binary) draws the fleet. An action goes
//! [`actions::plan`] → confirmation ([`actions::confirm`]) → the libvirt actor → [`actions::audit`].
//!
//! Around that flow: [`config`] reads the file into typed settings (errors name file, line and
//! key); [`time`] is the one reader of moments, for the CLI, the policy files and domain
//! metadata alike; [`dirs`] says where files go when the config does not.

pub mod actions;
pub mod config;
pub mod diagnose;
pub mod dirs;
pub mod history;
pub mod link;
pub mod metrics;
pub mod model;
pub mod policy;
pub mod sanitize;
pub mod text_table;
pub mod time;
pub mod transport;
