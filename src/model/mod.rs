//! Model: pure fleet state. Samples go in, rates and totals come out; no I/O, no clocks of its
//! own (every time comes from a sample or the caller), so it is tested on recorded samples.

pub mod fleet;
pub mod rates;
pub mod sample;
pub mod series;
pub mod storage;
pub mod vm;

pub use fleet::{Fleet, Host, HostTotals, Vm};
