//! What readers ask and get: events by VM, host, time and kind; the fleet as it was at a
//! moment; a statistics series at the resolution its time range keeps. The store answers
//! them (`store::HistoryRead`).

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// Unix milliseconds as the RFC 3339 text every store gives its readers.
pub fn rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_default()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRow {
    #[serde(skip)]
    pub at_ms: i64,
    pub at: String,
    pub kind: String,
    pub vm: Option<String>,
    pub uuid: Option<String>,
    pub host: Option<String>,
    pub from_host: Option<String>,
    pub to_host: Option<String>,
    pub started_at: Option<String>,
    pub duration_s: Option<f64>,
    pub actor: String,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// VM name or UUID.
    pub vm: Option<String>,
    /// Any of host, from or to host.
    pub host: Option<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub kinds: Vec<String>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastVm {
    pub uuid: String,
    pub name: String,
    pub host: String,
    pub state: String,
    pub vcpus: Option<u32>,
    /// The current allocation then (unknown in rows written before schema 3).
    pub memory_bytes: Option<u64>,
    pub max_memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PastHost {
    pub name: String,
    pub uri: String,
    pub state: String,
    pub error: Option<String>,
    /// The host's size as last recorded.
    pub cpus: Option<u32>,
    pub memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Past {
    pub at_ms: i64,
    pub hosts: Vec<PastHost>,
    pub vms: Vec<PastVm>,
    /// Statistics recorded around that moment, by VM UUID and by host name.
    pub vm_stats: std::collections::HashMap<String, super::moment::Stat>,
    pub host_stats: std::collections::HashMap<String, super::moment::Stat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Point {
    pub at_ms: i64,
    pub cpu: Option<f64>,
    pub cpu_max: Option<f64>,
    pub mem: Option<f64>,
    pub disk: Option<f64>,
    pub net: Option<f64>,
}
