//! Facts about a host read once per connection, and what its URI says about where it is.

use super::meter::Heartbeat;
use fleetwatch_core::model::sample::HostInfo;
use fleetwatch_core::sanitize::clean;
use fleetwatch_core::transport::host;
use virt::connect::Connect;

pub fn is_remote(uri: &str) -> bool {
    !host(uri).is_empty()
}

fn is_local_machine(uri: &str, driver: &str) -> bool {
    if driver.eq_ignore_ascii_case("test") {
        return false;
    }
    let h = host(uri);
    h.is_empty() || h == "localhost" || h.starts_with("127.") || h == "::1"
}

fn version_string(v: u32) -> String {
    format!("{}.{}.{}", v / 1_000_000, (v / 1000) % 1000, v % 1000)
}

/// Five round trips; each answered one is a beat, so a slow far host that answers every call
/// is not taken for a hung one.
pub fn host_info(conn: &Connect, uri: &str, progress: &Heartbeat) -> HostInfo {
    fn answered<T>(progress: &Heartbeat, r: T) -> T {
        progress.beat();
        r
    }
    let node = answered(progress, conn.node_info().ok());
    let driver = answered(
        progress,
        conn.driver_type().map(|s| clean(&s)).unwrap_or_default(),
    );
    let hostname = answered(
        progress,
        conn.hostname().map(|s| clean(&s)).unwrap_or_default(),
    );
    let hypervisor_version = answered(
        progress,
        conn.hyp_version().map(version_string).unwrap_or_default(),
    );
    let libvirt_version = answered(
        progress,
        conn.lib_version().map(version_string).unwrap_or_default(),
    );
    HostInfo {
        hostname,
        cpus: node.as_ref().map_or(0, |n| n.cpus),
        memory_bytes: node.as_ref().map_or(0, |n| n.memory.saturating_mul(1024)),
        cpu_model: node.as_ref().map(|n| clean(&n.model)).unwrap_or_default(),
        mhz: node.as_ref().map_or(0, |n| n.mhz),
        hypervisor_version,
        libvirt_version,
        is_local: is_local_machine(uri, &driver),
        driver,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_hosts() {
        assert_eq!(host("qemu+ssh://root@hv1:2222/system"), "hv1");
        assert_eq!(host("qemu:///system"), "");
        assert!(is_local_machine("qemu+tcp://[::1]/system", "QEMU"));
        assert!(is_remote("qemu+tcp://127.0.0.11/system"));
        assert!(!is_remote("test:///default"));
        assert!(is_local_machine("qemu:///system", "QEMU"));
        assert!(is_local_machine("qemu+tcp://127.0.0.11/system", "QEMU"));
        assert!(!is_local_machine("qemu+ssh://hv1/system", "QEMU"));
        assert!(!is_local_machine("test:///default", "Test"));
        assert_eq!(version_string(9_000_000), "9.0.0");
        assert_eq!(version_string(7_002_011), "7.2.11");
    }
}
