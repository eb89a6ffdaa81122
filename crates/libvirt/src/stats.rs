//! Turns libvirt's bulk-stats records into samples. Pure: driven in tests by hand-made records.

use super::ffi::ParamValue;
use fleetwatch_core::model::sample::DomainSample;
use fleetwatch_core::sanitize::clean;

/// Which bulk-stats groups came back for a domain, so gaps are filled by what is missing, not by
/// guessing from the URI.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Present {
    pub cpu: bool,
    pub balloon: bool,
    pub vcpu: bool,
    pub net: bool,
    pub block: bool,
}

pub fn domain_from_params(
    uuid: &str,
    name: &str,
    params: &[(String, ParamValue)],
) -> (DomainSample, Present) {
    let mut d = DomainSample {
        uuid: clean(uuid),
        name: clean(name),
        ..DomainSample::default()
    };
    let mut p = Present::default();
    let add = |slot: &mut Option<u64>, v: u64| *slot = Some(slot.unwrap_or(0).saturating_add(v));
    for (key, value) in params {
        let Some(v) = value.as_u64() else { continue };
        match key.as_str() {
            "state.state" => d.state = Some(crate::codes::state_from_number(v as u32)),
            "cpu.time" => {
                d.cpu_time_ns = Some(v);
                p.cpu = true;
            }
            "balloon.current" => {
                d.memory_bytes = Some(v.saturating_mul(1024));
                p.balloon = true;
            }
            "balloon.maximum" => d.max_memory_bytes = Some(v.saturating_mul(1024)),
            "balloon.rss" => d.rss_bytes = Some(v.saturating_mul(1024)),
            "vcpu.current" => {
                d.vcpus = Some(v as u32);
                p.vcpu = true;
            }
            "net.count" => {
                p.net = true;
                d.net_rx_bytes.get_or_insert(0);
                d.net_tx_bytes.get_or_insert(0);
            }
            "block.count" => {
                p.block = true;
                d.disk_read_bytes.get_or_insert(0);
                d.disk_write_bytes.get_or_insert(0);
            }
            k if k.starts_with("net.") && k.ends_with(".rx.bytes") => add(&mut d.net_rx_bytes, v),
            k if k.starts_with("net.") && k.ends_with(".tx.bytes") => add(&mut d.net_tx_bytes, v),
            k if k.starts_with("block.") && k.ends_with(".rd.bytes") => {
                add(&mut d.disk_read_bytes, v)
            }
            k if k.starts_with("block.") && k.ends_with(".wr.bytes") => {
                add(&mut d.disk_write_bytes, v)
            }
            _ => {}
        }
    }
    (d, p)
}

/// Host CPU busy/total from `virNodeGetCPUStats` fields.
pub fn node_cpu_from(fields: &[(String, u64)]) -> Option<fleetwatch_core::model::sample::NodeCpu> {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
    let idle = get("idle")?;
    let iowait = get("iowait").unwrap_or(0);
    let busy = if let Some(u) = get("utilization") {
        // Some drivers report only a percentage; scale it so busy/total gives it back.
        return Some(fleetwatch_core::model::sample::NodeCpu {
            busy_ns: u,
            total_ns: 100,
        });
    } else {
        get("kernel").unwrap_or(0) + get("user").unwrap_or(0)
    };
    Some(fleetwatch_core::model::sample::NodeCpu {
        busy_ns: busy,
        total_ns: busy + idle + iowait,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use fleetwatch_core::model::sample::VmState;

    fn u(k: &str, v: u64) -> (String, ParamValue) {
        (k.to_owned(), ParamValue::UInt(v))
    }

    #[test]
    fn full_record_sums_devices() {
        let params = vec![
            ("state.state".to_owned(), ParamValue::Int(1)),
            u("cpu.time", 5_000_000_000),
            u("balloon.current", 1_048_576),
            u("balloon.maximum", 2_097_152),
            u("balloon.rss", 524_288),
            u("vcpu.current", 2),
            u("net.count", 2),
            u("net.0.rx.bytes", 100),
            u("net.1.rx.bytes", 50),
            u("net.0.tx.bytes", 7),
            u("block.count", 1),
            u("block.0.rd.bytes", 4096),
            u("block.0.wr.bytes", 8192),
            ("block.0.name".to_owned(), ParamValue::Str("vda".into())),
        ];
        let (d, p) = domain_from_params("u-1", "web\u{1b}[31m", &params);
        assert_eq!(d.name, "web\u{FFFD}[31m");
        assert_eq!(d.state, Some(VmState::Running));
        assert_eq!(d.cpu_time_ns, Some(5_000_000_000));
        assert_eq!(d.memory_bytes, Some(1 << 30));
        assert_eq!(d.max_memory_bytes, Some(2 << 30));
        assert_eq!(d.rss_bytes, Some(512 << 20));
        assert_eq!(d.vcpus, Some(2));
        assert_eq!((d.net_rx_bytes, d.net_tx_bytes), (Some(150), Some(7)));
        assert_eq!(
            (d.disk_read_bytes, d.disk_write_bytes),
            (Some(4096), Some(8192))
        );
        assert_eq!(
            p,
            Present {
                cpu: true,
                balloon: true,
                vcpu: true,
                net: true,
                block: true
            }
        );
    }

    #[test]
    fn state_only_record_says_what_is_missing() {
        let (d, p) = domain_from_params("u", "n", &[("state.state".into(), ParamValue::Int(3))]);
        assert_eq!(d.state, Some(VmState::Paused));
        assert_eq!(d.cpu_time_ns, None);
        assert_eq!(p, Present::default());
    }

    #[test]
    fn zero_devices_is_zero_not_unknown() {
        let (d, _) = domain_from_params("u", "n", &[u("net.count", 0)]);
        assert_eq!(d.net_rx_bytes, Some(0));
        assert_eq!(d.disk_read_bytes, None);
    }

    #[test]
    fn node_cpu_busy_and_total() {
        let f = vec![
            ("kernel".into(), 10),
            ("user".into(), 30),
            ("idle".into(), 50),
            ("iowait".into(), 10),
        ];
        let c = node_cpu_from(&f).unwrap();
        assert_eq!((c.busy_ns, c.total_ns), (40, 100));
        assert!(node_cpu_from(&[("kernel".into(), 1)]).is_none());
    }
}
