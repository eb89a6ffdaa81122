//! History: a store of what happened in the fleet (events, with who did it), where every VM
//! was when (placements), host up/down, and statistics with rollups. One writer (the recorder,
//! under a lease), any number of readers. The store is a trait (`store`); SQLite (`sqlite`)
//! is the embedded one.

pub mod config;
pub mod events;
pub mod health;
pub mod lease;
pub mod live;
pub mod moment;
pub mod past;
pub mod query;
pub mod queue;
pub mod reader;
pub mod recorder;
pub mod rollup;
pub mod sqlite;
pub mod store;
/// The screens read times through here; the parser lives in [`crate::time`] for every reader.
pub use crate::time;
pub mod writer;
