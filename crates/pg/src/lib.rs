//! fleetwatch's PostgreSQL history store, the team tier: several recorders write one database,
//! each under per-host leases, and TUIs read it as clients. SQLite stays the embedded default;
//! nothing here is needed for `--demo` or a one-machine setup.
//!
//! - `connect`: the URL, the password from where libpq's users keep it, never the config;
//! - `schema`: the tables and their versioning;
//! - `store` + `record`: [`PgStore`], the core's `HistoryRead` and `RecordStore` over them,
//!   with the SQL in `writes`, `loads`, `queries`, `leases`, `rollups` and `audit`;
//!   `acks`: the acknowledged findings; `maintenance`: the hosts in maintenance.

mod acks;
mod audit;
pub mod connect;
mod leases;
mod live;
mod loads;
mod maintenance;
mod queries;
mod record;
mod rollups;
pub mod schema;
mod stats_batch;
mod store;
mod writes;

pub use connect::{ConnectError, connect};
pub use leases::PRESENCE;
pub use schema::{SchemaError, VERSION, migrate};
pub use store::PgStore;
