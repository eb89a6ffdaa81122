#![allow(clippy::unwrap_used)]
// Test code only: one environment write (in_utc) needs `unsafe` since edition 2024.
#![allow(unsafe_code)]
//! Builders for samples, shared by tests and benchmarks. Test data only: nothing here ships.
#![allow(dead_code)]

pub mod elsewhere;
pub mod month;
pub mod postgres;
pub mod prometheus;
pub mod reaped;
pub mod tmux;

use chrono::Utc;
use fleetwatch_core::config::HostConfig;
use fleetwatch_core::model::sample::{
    DiskConfig, DiskSource, DomainConfig, DomainSample, HostInfo, HostSample, NicConfig, VmState,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Pins this test process to UTC, once, before anything is drawn: the History view and the
/// header show local time (`chrono::Local`), so a screen must not depend on the machine's time
/// zone. Every screen test calls it through the harness (`Screen::new`) or its own drawing
/// helper. `TZ` is set while no screen has been drawn yet and before chrono first reads it.
pub fn in_utc() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // TODO: Audit that the environment access only happens in single-threaded code.
    // SAFETY: set once, before any screen is drawn; the only readers are std::env and chrono
    // (which reads TZ through std::env, under the same lock). No C code in these tests reads
    // the environment: they open no libvirt connection.
    ONCE.call_once(|| unsafe { std::env::set_var("TZ", "UTC") });
}

pub fn host_config(name: &str) -> HostConfig {
    HostConfig {
        name: name.to_owned(),
        uri: format!("qemu+tcp://{name}/system"),
        tags: Vec::new(),
        actions: false,
        host_down: None,
        group: None,
    }
}

pub fn info(cpus: u32, memory_gib: u64) -> Arc<HostInfo> {
    Arc::new(HostInfo {
        hostname: "hv".into(),
        cpus,
        memory_bytes: memory_gib << 30,
        cpu_model: "x86_64".into(),
        mhz: 2400,
        driver: "QEMU".into(),
        hypervisor_version: "7.2.0".into(),
        libvirt_version: "9.0.0".into(),
        is_local: false,
    })
}

pub fn config(disk_path: &str) -> Arc<DomainConfig> {
    Arc::new(DomainConfig {
        title: "a VM".into(),
        description: String::new(),
        vcpus: 2,
        memory_bytes: 2 << 30,
        max_memory_bytes: 4 << 30,
        disks: vec![DiskConfig {
            target: "vda".into(),
            device: "disk".into(),
            path: disk_path.into(),
            source: DiskSource::File,
        }],
        nics: vec![NicConfig {
            mac: "52:54:00:00:00:01".into(),
            target: Some("vnet0".into()),
            kind: "bridge".into(),
            source: "br0".into(),
            model: "virtio".into(),
        }],
        fleet_metadata: None,
        fleet: None,
        newest_snapshot: None,
        snapshots: Vec::new(),
        boot: Vec::new(),
    })
}

/// A running domain whose counters are `secs` seconds into a steady load:
/// half a CPU, 1 MB/s read, 2 MB/s written, 3 MB/s received, 4 MB/s sent.
pub fn domain(uuid: &str, name: &str, state: VmState, secs: u64) -> DomainSample {
    let active = state.is_active();
    let c = |per_s: u64| active.then_some(per_s * secs);
    DomainSample {
        uuid: uuid.into(),
        name: name.into(),
        state: Some(state),
        vcpus: Some(2),
        memory_bytes: Some(2 << 30),
        max_memory_bytes: Some(4 << 30),
        rss_bytes: active.then_some(1 << 30),
        cpu_time_ns: c(500_000_000),
        disk_read_bytes: c(1_000_000),
        disk_write_bytes: c(2_000_000),
        net_rx_bytes: c(3_000_000),
        net_tx_bytes: c(4_000_000),
        config: Some(config("/srv/shared/x.qcow2")),
        guest: None,
    }
}

pub fn sample(info: Arc<HostInfo>, taken: Instant, domains: Vec<DomainSample>) -> HostSample {
    HostSample {
        taken,
        wall: Utc::now(),
        poll_micros: 1500,
        rtt_micros: None,
        calls: 0,
        guest_calls: 0,
        configs_pending: 0,
        info,
        free_memory_bytes: None,
        node_cpu: None,
        local: None,
        domains,
        events: Vec::new(),
    }
}

/// A fleet of `hosts` hosts with `per_host` VMs each: its configs and one sample per host
/// taken `secs` seconds after `t0` (call twice with different `secs` for rates).
pub fn synthetic(
    hosts: usize,
    per_host: usize,
    t0: Instant,
    secs: u64,
) -> (Vec<HostConfig>, Vec<HostSample>) {
    let configs = (0..hosts)
        .map(|h| host_config(&format!("hv-{h:03}")))
        .collect();
    let samples = (0..hosts)
        .map(|h| {
            let doms = (0..per_host)
                .map(|v| {
                    let state = if v % 10 == 9 {
                        VmState::Shutoff
                    } else {
                        VmState::Running
                    };
                    domain(
                        &format!("{h:04}-{v:04}-uuid"),
                        &format!("vm-{h:03}-{v:03}"),
                        state,
                        secs,
                    )
                })
                .collect();
            sample(info(64, 512), t0 + Duration::from_secs(secs), doms)
        })
        .collect();
    (configs, samples)
}

/// Like [`domain`], but busy with `cpu_millis` thousandths of a CPU instead of 500, so VMs differ
/// in CPU% (with its 2 vCPUs, CPU% is `cpu_millis / 20`). Other counters as in [`domain`].
pub fn busy_domain(
    uuid: &str,
    name: &str,
    state: VmState,
    secs: u64,
    cpu_millis: u64,
) -> DomainSample {
    let mut d = domain(uuid, name, state, secs);
    if d.cpu_time_ns.is_some() {
        d.cpu_time_ns = Some(cpu_millis * 1_000_000 * secs);
    }
    d
}

/// Runs the binary at `bin` with `args` as a user would from a shell (its log in the temporary
/// folder, not the user's): its exit code (-1 for a signal), standard output and error.
pub fn run_cli(bin: &str, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(bin)
        .args(args)
        .env("XDG_STATE_HOME", std::env::temp_dir())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
