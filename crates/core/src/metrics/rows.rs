//! The rows an exposition is written from, and the metric families they make.

use super::{Health, label};
use crate::link::LinkState;
use crate::model::Fleet;
use crate::model::findings::{Kind, Severity};
use crate::model::sample::VmState;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::collections::BTreeMap;

const LINK_STATES: [LinkState; 4] = [
    LinkState::Connecting,
    LinkState::Up,
    LinkState::Stale,
    LinkState::Down,
];

#[derive(Debug)]
struct HostRow {
    name: String,
    link: LinkState,
    cpus: Option<u32>,
    memory_bytes: Option<u64>,
    vms: usize,
    last_sample_s: Option<f64>,
}

#[derive(Debug)]
struct VmRow {
    /// host, vm, uuid
    labels: [String; 3],
    state: VmState,
    vcpus: Option<u32>,
    memory_bytes: Option<u64>,
    rss_bytes: Option<u64>,
    cpu_s: Option<f64>,
    bytes: [Option<u64>; 4],
}

/// Everything one scrape shows, owned.
#[derive(Debug)]
pub struct Exposition {
    hosts: Vec<HostRow>,
    vms: Vec<VmRow>,
    /// Per kind: its severity under the policy and how many findings it has now.
    kinds: Vec<(Kind, Severity, usize)>,
    /// kind, severity, host, vm, uuid: one series each, however many findings share them.
    findings: BTreeMap<[String; 5], ()>,
    health: Option<Health>,
}

impl Exposition {
    pub fn of(fleet: &Fleet, health: Option<Health>) -> Exposition {
        let hosts = fleet
            .hosts
            .iter()
            .map(|h| HostRow {
                name: label(&h.name),
                link: h.link,
                cpus: h.info.as_ref().map(|i| i.cpus),
                memory_bytes: h.info.as_ref().map(|i| i.memory_bytes),
                vms: h.vms.len(),
                last_sample_s: h
                    .last_sample_wall
                    .map(|t| t.timestamp_millis() as f64 / 1e3),
            })
            .collect();
        // Every copy, not only the shown one: a VM running on two hosts is two series, which
        // is what the split-brain alert counts.
        let vms = fleet
            .hosts
            .iter()
            .flat_map(|h| h.vms.values().map(move |v| (h, v)))
            .map(|(h, v)| VmRow {
                labels: [label(&h.name), label(&v.name), label(&v.uuid)],
                state: v.state,
                vcpus: v.vcpus,
                memory_bytes: v.memory_bytes,
                rss_bytes: v.rss_bytes,
                cpu_s: v.cpu_time_ns().map(|ns| ns as f64 / 1e9),
                bytes: v.byte_counters(),
            })
            .collect();
        let severity = |k: Kind| {
            fleet
                .severities
                .get(&k)
                .copied()
                .unwrap_or(k.default_severity())
        };
        let kinds = Kind::ALL
            .into_iter()
            .map(|k| {
                let n = fleet.findings.iter().filter(|f| f.kind == k).count();
                (k, severity(k), n)
            })
            .collect();
        let opt = |s: &Option<String>| s.as_deref().map(label).unwrap_or_default();
        let findings = fleet
            .findings
            .iter()
            .map(|f| {
                let key = [
                    f.kind.name().to_owned(),
                    f.severity.name().to_owned(),
                    opt(&f.host),
                    opt(&f.vm),
                    opt(&f.uuid),
                ];
                (key, ())
            })
            .collect();
        Exposition {
            hosts,
            vms,
            kinds,
            findings,
            health,
        }
    }
}

/// One family of gauges (or counters): a descriptor, then a sample per row that has a value.
fn family<'r, L, I>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    ty: MetricType,
    rows: I,
) -> std::fmt::Result
where
    L: prometheus_client::encoding::EncodeLabelSet + 'r,
    I: IntoIterator<Item = (L, Option<f64>)>,
{
    let mut m = enc.encode_descriptor(name, help, None, ty)?;
    for (labels, value) in rows {
        let Some(v) = value.filter(|v| v.is_finite()) else {
            continue;
        };
        let sample = m.encode_family(&labels)?;
        match ty {
            MetricType::Counter => ConstCounter::new(v).encode(sample)?,
            _ => ConstGauge::new(v).encode(sample)?,
        }
    }
    Ok(())
}

/// A sample without labels.
type Single = ([(&'static str, String); 0], Option<f64>);

fn one(v: Option<f64>) -> [Single; 1] {
    [([], v)]
}

const GAUGE: MetricType = MetricType::Gauge;
const COUNTER: MetricType = MetricType::Counter;

impl Collector for Exposition {
    fn encode(&self, mut enc: DescriptorEncoder) -> std::fmt::Result {
        let host = |h: &HostRow| [("host", h.name.clone())];
        let up = |h: &HostRow| Some(f64::from(u8::from(h.link == LinkState::Up)));
        let hosts = &self.hosts;
        family(
            &mut enc,
            "fleetwatch_host_up",
            "Whether the host answers its polls (1) or not (0).",
            GAUGE,
            hosts.iter().map(|h| (host(h), up(h))),
        )?;
        family(
            &mut enc,
            "fleetwatch_host_state",
            "The host's connection state: 1 for the state it is in.",
            GAUGE,
            hosts.iter().flat_map(|h| {
                LINK_STATES.map(|s| {
                    (
                        [("host", h.name.clone()), ("state", s.label().to_owned())],
                        Some(f64::from(u8::from(h.link == s))),
                    )
                })
            }),
        )?;
        family(
            &mut enc,
            "fleetwatch_host_cpus",
            "Logical CPUs of the host.",
            GAUGE,
            hosts.iter().map(|h| (host(h), h.cpus.map(f64::from))),
        )?;
        family(
            &mut enc,
            "fleetwatch_host_memory_bytes",
            "Memory of the host.",
            GAUGE,
            hosts
                .iter()
                .map(|h| (host(h), h.memory_bytes.map(|b| b as f64))),
        )?;
        family(
            &mut enc,
            "fleetwatch_host_vms",
            "VMs defined on the host, in any state.",
            GAUGE,
            hosts.iter().map(|h| (host(h), Some(h.vms as f64))),
        )?;
        family(
            &mut enc,
            "fleetwatch_host_last_sample_timestamp_seconds",
            "When the host's newest sample was taken.",
            GAUGE,
            hosts.iter().map(|h| (host(h), h.last_sample_s)),
        )?;

        let vms = &self.vms;
        let vm = |v: &VmRow| {
            let [h, n, u] = v.labels.clone();
            [("host", h), ("vm", n), ("uuid", u)]
        };
        family(
            &mut enc,
            "fleetwatch_vm_state",
            "The VM's state on this host, as the label; always 1.",
            GAUGE,
            vms.iter().map(|v| {
                let [h, n, u] = v.labels.clone();
                (
                    [
                        ("host", h),
                        ("vm", n),
                        ("uuid", u),
                        ("state", v.state.label().to_owned()),
                    ],
                    Some(1.0),
                )
            }),
        )?;
        family(
            &mut enc,
            "fleetwatch_vm_running",
            "Whether the VM runs on this host (1) or not (0).",
            GAUGE,
            vms.iter().map(|v| {
                (
                    vm(v),
                    Some(f64::from(u8::from(v.state == VmState::Running))),
                )
            }),
        )?;
        family(
            &mut enc,
            "fleetwatch_vm_vcpus",
            "Virtual CPUs of the VM.",
            GAUGE,
            vms.iter().map(|v| (vm(v), v.vcpus.map(f64::from))),
        )?;
        family(
            &mut enc,
            "fleetwatch_vm_memory_bytes",
            "Memory the VM has now.",
            GAUGE,
            vms.iter()
                .map(|v| (vm(v), v.memory_bytes.map(|b| b as f64))),
        )?;
        family(
            &mut enc,
            "fleetwatch_vm_memory_rss_bytes",
            "Host memory the VM's process holds.",
            GAUGE,
            vms.iter().map(|v| (vm(v), v.rss_bytes.map(|b| b as f64))),
        )?;
        family(
            &mut enc,
            "fleetwatch_vm_cpu_seconds",
            "CPU time the VM used, all vCPUs.",
            COUNTER,
            vms.iter().map(|v| (vm(v), v.cpu_s)),
        )?;
        let bytes = [
            (
                "fleetwatch_vm_disk_read_bytes",
                "Bytes the VM read from its disks.",
            ),
            (
                "fleetwatch_vm_disk_written_bytes",
                "Bytes the VM wrote to its disks.",
            ),
            (
                "fleetwatch_vm_network_receive_bytes",
                "Bytes the VM received on its interfaces.",
            ),
            (
                "fleetwatch_vm_network_transmit_bytes",
                "Bytes the VM sent on its interfaces.",
            ),
        ];
        for (i, (name, help)) in bytes.into_iter().enumerate() {
            family(
                &mut enc,
                name,
                help,
                COUNTER,
                vms.iter().map(|v| (vm(v), v.bytes[i].map(|b| b as f64))),
            )?;
        }

        family(
            &mut enc,
            "fleetwatch_findings",
            "Active findings per kind (severity as the policy sets it).",
            GAUGE,
            self.kinds.iter().map(|(k, s, n)| {
                (
                    [
                        ("kind", k.name().to_owned()),
                        ("severity", s.name().to_owned()),
                    ],
                    Some(*n as f64),
                )
            }),
        )?;
        family(
            &mut enc,
            "fleetwatch_finding",
            "One series per active finding; always 1.",
            GAUGE,
            self.findings.keys().map(|[k, s, h, v, u]| {
                (
                    [
                        ("kind", k.clone()),
                        ("severity", s.clone()),
                        ("host", h.clone()),
                        ("vm", v.clone()),
                        ("uuid", u.clone()),
                    ],
                    Some(1.0),
                )
            }),
        )?;

        family(
            &mut enc,
            "fleetwatch_build_info",
            "The fleetwatch version; always 1.",
            GAUGE,
            [(
                [("version", env!("CARGO_PKG_VERSION").to_owned())],
                Some(1.0),
            )],
        )?;
        let Some(h) = &self.health else { return Ok(()) };
        family(
            &mut enc,
            "fleetwatch_recorder_hosts",
            "Hosts this process records.",
            GAUGE,
            one(Some(h.hosts_recorded as f64)),
        )?;
        family(
            &mut enc,
            "fleetwatch_recorder_poll_lag_seconds",
            "Age of the newest sample this process wrote.",
            GAUGE,
            one(h.poll_lag_s),
        )?;
        family(
            &mut enc,
            "fleetwatch_recorder_write_errors",
            "History writes that failed.",
            COUNTER,
            one(Some(h.write_errors as f64)),
        )?;
        family(
            &mut enc,
            "fleetwatch_history_last_rollup_timestamp_seconds",
            "When the history's rollups last ran.",
            GAUGE,
            one(h.last_rollup_s),
        )?;
        family(
            &mut enc,
            "fleetwatch_history_stalled",
            "Whether the history's rollups or retention stopped advancing (1) or not (0).",
            GAUGE,
            one(Some(f64::from(u8::from(!h.stalled.is_empty())))),
        )?;
        Ok(())
    }
}
