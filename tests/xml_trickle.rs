#![allow(clippy::unwrap_used)]
//! The shipped collector on libvirt's real test driver, one host of 40 domains: after connect,
//! domain XML is read a bounded number a poll, every domain's within a few polls, and an unread
//! one is "unknown"; CPU time comes per VM there, since the driver's bulk records lack it.

use fleetwatch_core::model::sample::{HostSample, VmState};
use fleetwatch_libvirt::known::Pace;
use fleetwatch_libvirt::libvirt::LibvirtConnector;
use fleetwatch_libvirt::{Connector, Heartbeat, Source, libvirt_init};
use std::time::Duration;

const DOMAINS: usize = 40;

/// A test-driver node file: every fifth domain shut off, the rest running, one NIC each.
fn host_file(dir: &std::path::Path) -> String {
    let mut xml = String::from(
        "<node><cpu><mhz>2000</mhz><model>x</model><nodes>1</nodes><sockets>1</sockets>\
         <cores>16</cores><threads>2</threads></cpu><memory>134217728</memory>",
    );
    for i in 0..DOMAINS {
        let state = if i % 5 == 0 {
            "<test:runstate>5</test:runstate>"
        } else {
            ""
        };
        xml.push_str(&format!(
            "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\
             <name>vm-{i:02}</name><uuid>00000000-0000-4000-8000-0000000000{i:02}</uuid>\
             <memory unit='MiB'>1024</memory><vcpu>2</vcpu><os><type>hvm</type></os>\
             <devices><disk type='file' device='disk'><source file='/srv/shared/vm-{i}.img'/>\
             <target dev='vda'/></disk><interface type='bridge'><mac address='52:54:00:00:00:{i:02}'/>\
             <source bridge='br0'/><target dev='tap{i}'/></interface></devices>{state}</domain>"
        ));
    }
    xml.push_str("</node>");
    let path = dir.join("big.xml");
    std::fs::write(&path, xml).unwrap();
    format!("test://{}", path.display())
}

fn source(uri: &str, pace: Pace) -> Box<dyn Source> {
    libvirt_init();
    LibvirtConnector {
        writable: Default::default(),
        slow_every: 5,
        interval: Duration::from_secs(2),
        pace,
        cpu: None,
    }
    .connect(uri, &Heartbeat::new())
    .unwrap()
}

fn poll(s: &mut Box<dyn Source>) -> HostSample {
    s.poll(&Heartbeat::new()).unwrap()
}

#[test]
fn xml_is_read_a_few_domains_a_poll_and_every_one_within_a_few_polls() {
    let dir = tempfile::tempdir().unwrap();
    let uri = host_file(dir.path());
    let mut src = source(&uri, Pace::Trickle);
    let mut pending = Vec::new();
    let mut calls = Vec::new();
    let mut guests = Vec::new();
    let mut guest_calls = Vec::new();
    for _ in 0..8 {
        let s = poll(&mut src);
        assert_eq!(s.domains.len(), DOMAINS);
        let read = s.domains.iter().filter(|d| d.config.is_some()).count();
        assert_eq!(read + s.configs_pending as usize, DOMAINS);
        for d in &s.domains {
            if d.state == Some(VmState::Running) {
                // Per VM where the driver's bulk records have no cpu.time.
                assert!(d.cpu_time_ns.is_some() && d.vcpus == Some(2), "{d:?}");
            }
            if d.config.is_none() {
                // Not read yet is unknown: no disks, NICs or snapshot claimed.
                assert_eq!(d.disk_read_bytes, None, "{d:?}");
            }
        }
        pending.push(s.configs_pending);
        guests.push(s.domains.iter().filter(|d| d.guest.is_some()).count());
        guest_calls.push(s.guest_calls);
        calls.push(s.calls);
    }
    // Eight a poll (the trickle's floor; 40 domains over 8 polls would be 5): never all at once.
    assert_eq!(&pending[..5], &[32, 24, 16, 8, 0], "{pending:?}");
    assert!(pending[5..].iter().all(|&p| p == 0), "{pending:?}");
    // Once read, fast polls read no XML: the bulk call, a GetInfo and an interface-stats call
    // per running VM (the test driver lacks those groups), and node CPU.
    // The guests' addresses, counted apart: 32 running over 15 polls is three a poll, one
    // DHCP-lease call each on this read-only connection (no agent there), never all at once.
    let running = DOMAINS - DOMAINS / 5;
    let asks = running.div_ceil(15);
    assert_eq!(guests, (1..=8).map(|p| p * asks).collect::<Vec<_>>());
    assert!(
        guest_calls.iter().all(|&c| c as usize == asks),
        "{guest_calls:?}"
    );
    assert_eq!(calls[6], (1 + 2 * running + 1) as u32, "{calls:?}");
    assert_eq!(calls[7], calls[6], "{calls:?}");
    // The first poll: the bulk call and GetInfos, free memory, node CPU with its field count,
    // eight reads of XML and snapshot list (vm-00 to vm-07), and then the first device
    // counters of the six of those running (a NIC, and the disk on this slow poll).
    assert_eq!(
        calls[0],
        (1 + running + 1 + 2 + 8 * 2 + 6 * 2) as u32,
        "{calls:?}"
    );
}

#[test]
fn one_shot_commands_read_every_config_in_the_first_poll() {
    let dir = tempfile::tempdir().unwrap();
    let uri = host_file(dir.path());
    let mut src = source(&uri, Pace::Eager);
    let s = poll(&mut src);
    assert_eq!(s.configs_pending, 0);
    assert!(s.domains.iter().all(|d| d.config.is_some()));
    assert!(
        s.rtt_micros.is_some(),
        "the RTT is measured from the first poll"
    );
    let again = poll(&mut src);
    assert_eq!(again.configs_pending, 0);
    assert!(again.calls < s.calls, "{} then {}", s.calls, again.calls);
}
