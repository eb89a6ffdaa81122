//! The metric families an [`Exposition`] writes: names, help, types and labels.

use super::Health;
use super::rows::{Exposition, HostRow, LINK_STATES, VmRow};
use crate::link::LinkState;
use crate::model::sample::VmState;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// One family of gauges (or counters): a descriptor, then a sample per row that has a value.
fn family<L, I>(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    ty: MetricType,
    rows: I,
) -> std::fmt::Result
where
    L: prometheus_client::encoding::EncodeLabelSet,
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
        if self.fleet {
            self.encode_fleet(&mut enc)?;
        }
        match &self.health {
            Some(h) => encode_health(h, &mut enc),
            None => Ok(()),
        }
    }
}

impl Exposition {
    fn encode_fleet(&self, enc: &mut DescriptorEncoder) -> std::fmt::Result {
        // Labels borrow the rows: a scrape of 10,000 VMs writes 100,000 samples.
        fn host(h: &HostRow) -> [(&'static str, &str); 1] {
            [("host", h.name.as_str())]
        }
        let up = |h: &HostRow| Some(f64::from(u8::from(h.link == LinkState::Up)));
        let hosts = &self.hosts;
        family(
            enc,
            "fleetwatch_host_up",
            "Whether the host answers its polls (1) or not (0).",
            GAUGE,
            hosts.iter().map(|h| (host(h), up(h))),
        )?;
        family(
            enc,
            "fleetwatch_host_maintenance",
            "Whether the host is in maintenance (evacuated, not yet returned): 1, else 0.",
            GAUGE,
            hosts
                .iter()
                .map(|h| (host(h), Some(f64::from(u8::from(h.maintenance))))),
        )?;
        family(
            enc,
            "fleetwatch_host_state",
            "The host's connection state: 1 for the state it is in.",
            GAUGE,
            hosts.iter().flat_map(|h| {
                LINK_STATES.map(|s| {
                    (
                        [("host", h.name.as_str()), ("state", s.label())],
                        Some(f64::from(u8::from(h.link == s))),
                    )
                })
            }),
        )?;
        family(
            enc,
            "fleetwatch_host_cpus",
            "Logical CPUs of the host.",
            GAUGE,
            hosts.iter().map(|h| (host(h), h.cpus.map(f64::from))),
        )?;
        family(
            enc,
            "fleetwatch_host_memory_bytes",
            "Memory of the host.",
            GAUGE,
            hosts
                .iter()
                .map(|h| (host(h), h.memory_bytes.map(|b| b as f64))),
        )?;
        family(
            enc,
            "fleetwatch_host_vms",
            "VMs defined on the host, in any state.",
            GAUGE,
            hosts.iter().map(|h| (host(h), Some(h.vms as f64))),
        )?;
        family(
            enc,
            "fleetwatch_host_last_sample_timestamp_seconds",
            "When the host's newest sample was taken.",
            GAUGE,
            hosts.iter().map(|h| (host(h), h.last_sample_s)),
        )?;

        let vms = &self.vms;
        fn vm(v: &VmRow) -> [(&'static str, &str); 3] {
            let [h, n, u] = &v.labels;
            [
                ("host", h.as_str()),
                ("vm", n.as_str()),
                ("uuid", u.as_str()),
            ]
        }
        family(
            enc,
            "fleetwatch_vm_state",
            "The VM's state on this host, as the label; always 1.",
            GAUGE,
            vms.iter().map(|v| {
                let [h, n, u] = vm(v);
                ([h, n, u, ("state", v.state.label())], Some(1.0))
            }),
        )?;
        family(
            enc,
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
            enc,
            "fleetwatch_vm_vcpus",
            "Virtual CPUs of the VM.",
            GAUGE,
            vms.iter().map(|v| (vm(v), v.vcpus.map(f64::from))),
        )?;
        family(
            enc,
            "fleetwatch_vm_memory_bytes",
            "Memory the VM has now.",
            GAUGE,
            vms.iter()
                .map(|v| (vm(v), v.memory_bytes.map(|b| b as f64))),
        )?;
        family(
            enc,
            "fleetwatch_vm_memory_rss_bytes",
            "Host memory the VM's process holds.",
            GAUGE,
            vms.iter().map(|v| (vm(v), v.rss_bytes.map(|b| b as f64))),
        )?;
        family(
            enc,
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
                enc,
                name,
                help,
                COUNTER,
                vms.iter().map(|v| (vm(v), v.bytes[i].map(|b| b as f64))),
            )?;
        }

        family(
            enc,
            "fleetwatch_findings",
            "Active findings per kind and severity (the policy's, or a host group's).",
            GAUGE,
            self.by_severity.iter().map(|(k, s, n)| {
                (
                    [("kind", k.name()), ("severity", s.name())],
                    Some(*n as f64),
                )
            }),
        )?;
        family(
            enc,
            "fleetwatch_findings_acknowledged",
            "Findings per kind that someone acknowledged (fleetwatch ack): not in fleetwatch_findings or fleetwatch_finding until they expire or clear.",
            GAUGE,
            self.kinds
                .iter()
                .map(|(k, _, _, a, _)| ([("kind", k.name())], Some(*a as f64))),
        )?;
        family(
            enc,
            "fleetwatch_findings_maintenance",
            "Findings per kind on hosts in maintenance (evacuated, not yet returned): not in fleetwatch_findings or fleetwatch_finding until the host leaves maintenance.",
            GAUGE,
            self.kinds
                .iter()
                .map(|(k, _, _, _, m)| ([("kind", k.name())], Some(*m as f64))),
        )?;
        family(
            enc,
            "fleetwatch_finding",
            "One series per active finding; always 1.",
            GAUGE,
            self.findings.iter().map(|f| {
                let [h, v, u] = &f.place;
                (
                    [
                        ("kind", f.kind),
                        ("severity", f.severity),
                        ("host", h.as_str()),
                        ("vm", v.as_str()),
                        ("uuid", u.as_str()),
                    ],
                    Some(1.0),
                )
            }),
        )?;

        family(
            enc,
            "fleetwatch_build_info",
            "The fleetwatch version; always 1.",
            GAUGE,
            [(
                [("version", env!("CARGO_PKG_VERSION").to_owned())],
                Some(1.0),
            )],
        )?;
        Ok(())
    }
}

fn encode_health(h: &Health, enc: &mut DescriptorEncoder) -> std::fmt::Result {
    family(
        enc,
        "fleetwatch_recorder_hosts",
        "Hosts this process records.",
        GAUGE,
        one(Some(h.hosts_recorded as f64)),
    )?;
    family(
        enc,
        "fleetwatch_recorder_poll_lag_seconds",
        "Age of the newest sample this process wrote.",
        GAUGE,
        one(h.poll_lag_s),
    )?;
    family(
        enc,
        "fleetwatch_recorder_write_errors",
        "History writes that failed.",
        COUNTER,
        one(Some(h.write_errors as f64)),
    )?;
    family(
        enc,
        "fleetwatch_history_last_rollup_timestamp_seconds",
        "When the history's rollups last ran.",
        GAUGE,
        one(h.last_rollup_s),
    )?;
    family(
        enc,
        "fleetwatch_history_stalled",
        "Whether the history's rollups or retention stopped advancing (1) or not (0).",
        GAUGE,
        one(Some(f64::from(u8::from(!h.stalled.is_empty())))),
    )?;
    Ok(())
}
