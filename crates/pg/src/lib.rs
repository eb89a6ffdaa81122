//! fleetwatch's PostgreSQL history store, the team tier: several recorders write one database,
//! each under per-host leases, and TUIs read it as clients. SQLite stays the embedded default;
//! nothing here is needed for `--demo` or a one-machine setup.
//!
//! So far: reaching the server (the password never in the config) and the schema with its
//! versioning. The store traits' implementation comes next.

pub mod connect;
pub mod schema;

pub use connect::{ConnectError, connect};
pub use schema::{SchemaError, VERSION, migrate};
