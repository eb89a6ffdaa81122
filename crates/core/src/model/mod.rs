//! Model: pure fleet state. Samples go in, rates and totals come out; no I/O, no clocks of its
//! own (every time comes from a sample or the caller), so it is tested on recorded samples.

pub mod acks;
pub mod approval;
pub mod event;
pub mod findings;
pub mod fleet;
pub mod fleet_rules;
pub mod guest;
pub mod host;
pub mod rates;
pub mod rules;
pub mod sample;
pub mod series;
pub mod services;
pub mod storage;
pub mod vm;

pub use fleet::{Fleet, Vm};
pub use host::{Host, HostTotals};

/// A duration as an operator reads it: "45s", "3m07s", "2h01m", "4d03h".
pub fn age(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}
