//! What is known of a guest from inside it or next to it: its IP addresses, hostname and OS. All
//! of it comes from the guest (its agent) or from what it sent on the wire (DHCP lease, ARP),
//! so all of it is hostile: an address is kept only when it parses as one, strings are cleaned
//! and cut, and the lists are bounded however much a guest claims.

use crate::sanitize::clean;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A guest with more addresses than this is lying or a router; the rest are dropped.
pub const MAX_ADDRESSES: usize = 32;
/// Longest hostname, OS name or interface name kept (characters).
const MAX_TEXT: usize = 64;

/// Where the addresses came from, most trustworthy first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressSource {
    /// The QEMU guest agent, asked on a writable connection.
    Agent,
    /// The DHCP leases of the libvirt network the NIC is on.
    Lease,
    /// The host's ARP table.
    Arp,
}

impl AddressSource {
    pub fn label(self) -> &'static str {
        match self {
            AddressSource::Agent => "agent",
            AddressSource::Lease => "lease",
            AddressSource::Arp => "arp",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestAddress {
    pub ip: IpAddr,
    pub prefix: u8,
    /// The interface's name as the source gave it (the guest's own name with the agent).
    pub interface: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GuestInfo {
    pub addresses: Vec<GuestAddress>,
    pub source: Option<AddressSource>,
    pub hostname: Option<String>,
    pub os: Option<String>,
}

/// One address as a source reported it, before anything is believed.
#[derive(Debug, Clone, Copy)]
pub struct RawAddress<'a> {
    pub interface: &'a str,
    pub addr: &'a str,
    pub prefix: u64,
}

/// Loopback, link-local, unspecified and multicast addresses say nothing about where a guest
/// can be reached.
pub fn is_reachable(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast())
        }
        IpAddr::V6(v6) => {
            // fe80::/10
            let link_local = (v6.segments()[0] & 0xffc0) == 0xfe80;
            !(v6.is_loopback() || v6.is_unspecified() || v6.is_multicast() || link_local)
        }
    }
}

/// A guest-given string, made safe to draw and bounded; `None` when nothing is left.
pub fn guest_text(s: &str) -> Option<String> {
    let c = clean(s.trim());
    let c: String = c.chars().take(MAX_TEXT).collect();
    (!c.trim().is_empty()).then_some(c)
}

impl GuestInfo {
    /// Believes what can be believed of a source's answer: addresses that parse, are reachable
    /// and are not repeated, at most [`MAX_ADDRESSES`], in the order given.
    pub fn from_raw<'a>(
        raw: impl IntoIterator<Item = RawAddress<'a>>,
        source: AddressSource,
    ) -> GuestInfo {
        let mut addresses: Vec<GuestAddress> = Vec::new();
        for r in raw {
            if addresses.len() >= MAX_ADDRESSES {
                break;
            }
            // A zone or a prefix written into the address is not an address.
            let Ok(ip) = r.addr.trim().parse::<IpAddr>() else {
                continue;
            };
            if !is_reachable(&ip) || addresses.iter().any(|a| a.ip == ip) {
                continue;
            }
            let max = if ip.is_ipv4() { 32 } else { 128 };
            addresses.push(GuestAddress {
                ip,
                prefix: u8::try_from(r.prefix.min(max)).unwrap_or(0),
                interface: guest_text(r.interface).unwrap_or_default(),
            });
        }
        GuestInfo {
            source: (!addresses.is_empty()).then_some(source),
            addresses,
            hostname: None,
            os: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.hostname.is_none() && self.os.is_none()
    }

    pub fn has_address(&self, ip: &IpAddr) -> bool {
        self.addresses.iter().any(|a| a.ip == *ip)
    }

    /// The address to show in a narrow column: the first IPv4 one, else the first.
    pub fn main_address(&self) -> Option<IpAddr> {
        self.addresses
            .iter()
            .find(|a| a.ip.is_ipv4())
            .or(self.addresses.first())
            .map(|a| a.ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw<'a>(addr: &'a str, prefix: u64) -> RawAddress<'a> {
        RawAddress {
            interface: "eth0",
            addr,
            prefix,
        }
    }

    #[test]
    fn only_reachable_parsed_unique_addresses_are_kept() {
        let g = GuestInfo::from_raw(
            [
                raw("10.1.2.3", 24),
                raw("127.0.0.1", 8),
                raw("::1", 128),
                raw("169.254.9.9", 16),
                raw("fe80::5054:ff:fe00:1", 64),
                raw("10.1.2.3", 24),
                raw("not-an-ip\u{1b}[2J", 24),
                raw("10.1.2.3/24", 24),
                raw("2001:db8::7", 999),
                raw("0.0.0.0", 0),
                raw("224.0.0.1", 4),
            ],
            AddressSource::Agent,
        );
        let ips: Vec<String> = g.addresses.iter().map(|a| a.ip.to_string()).collect();
        assert_eq!(ips, ["10.1.2.3", "2001:db8::7"]);
        assert_eq!(
            g.addresses[1].prefix, 128,
            "a prefix is cut to the family's width"
        );
        assert_eq!(g.source, Some(AddressSource::Agent));
        assert!(g.has_address(&"10.1.2.3".parse().unwrap()));
        assert!(!g.has_address(&"10.1.2.30".parse().unwrap()));
    }

    #[test]
    fn a_flood_of_addresses_is_bounded_and_nothing_found_has_no_source() {
        let many: Vec<String> = (0..500)
            .map(|i| format!("10.9.{}.{}", i / 250, i % 250 + 1))
            .collect();
        let g = GuestInfo::from_raw(many.iter().map(|a| raw(a, 16)), AddressSource::Arp);
        assert_eq!(g.addresses.len(), MAX_ADDRESSES);
        let none = GuestInfo::from_raw([raw("127.0.0.1", 8)], AddressSource::Lease);
        assert!(none.is_empty() && none.source.is_none());
    }

    #[test]
    fn guest_strings_are_cleaned_and_cut() {
        assert_eq!(
            guest_text("  \u{1b}[31mweb\u{202e}  "),
            Some("\u{FFFD}[31mweb\u{FFFD}".into())
        );
        assert_eq!(
            guest_text(&"x".repeat(500)).map(|s| s.len()),
            Some(MAX_TEXT)
        );
        assert_eq!(guest_text("   "), None);
    }

    #[test]
    fn the_main_address_prefers_ipv4() {
        let g = GuestInfo::from_raw(
            [raw("2001:db8::1", 64), raw("10.0.0.5", 24)],
            AddressSource::Lease,
        );
        assert_eq!(g.main_address().unwrap().to_string(), "10.0.0.5");
    }
}
