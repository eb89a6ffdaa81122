//! Reads the parts of a domain's XML description that fleetwatch shows. Strings are cleaned here,
//! where they enter the program.

use fleetwatch_core::model::sample::{
    Approval, DiskConfig, DiskSource, DomainConfig, FleetMeta, NicConfig,
};
use fleetwatch_core::sanitize::{clean, clean_multiline};
use fleetwatch_core::time::{DayEdge, parse_stamp};
use roxmltree::{Document, Node};

pub const FLEET_NS: &str = "urn:fleetwatch:1";

/// A domain's XML that does not parse.
#[derive(Debug, thiserror::Error)]
#[error("domain XML: {0}")]
pub struct XmlError(#[from] roxmltree::Error);

pub fn parse(xml: &str) -> Result<DomainConfig, XmlError> {
    let doc = Document::parse(xml)?;
    let dom = doc.root_element();
    let child = |name: &str| dom.children().find(|n| n.has_tag_name(name));
    let text = |name: &str| {
        child(name)
            .and_then(|n| n.text())
            .unwrap_or("")
            .trim()
            .to_owned()
    };
    let vcpus = child("vcpu")
        .and_then(|n| n.attribute("current").or_else(|| n.text()))
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    let memory_bytes = child("currentMemory")
        .or_else(|| child("memory"))
        .map(memory_of)
        .unwrap_or(0);
    let max_memory_bytes = child("memory").map(memory_of).unwrap_or(memory_bytes);
    let devices = child("devices");
    let disks = devices
        .iter()
        .flat_map(|d| d.children().filter(|n| n.has_tag_name("disk")))
        .map(disk_of)
        .collect();
    let nics = devices
        .iter()
        .flat_map(|d| d.children().filter(|n| n.has_tag_name("interface")))
        .map(nic_of)
        .collect();
    let fleet_node = child("metadata").and_then(|m| {
        m.children()
            .find(|n| n.is_element() && n.tag_name().namespace() == Some(FLEET_NS))
    });
    let fleet_metadata = fleet_node.map(|n| xml[n.range()].to_owned());
    let fleet = fleet_node.map(fleet_meta);
    let boot = boot_order(child("os"), devices);
    Ok(DomainConfig {
        title: clean(&text("title")),
        description: clean_multiline(&text("description")),
        vcpus,
        memory_bytes,
        max_memory_bytes,
        disks,
        nics,
        fleet_metadata,
        fleet,
        newest_snapshot: None,
        snapshots: Vec::new(),
        boot,
    })
}

/// The boot order as libvirt reads it: `<os><boot dev='...'/>` in order, or else the devices'
/// own `<boot order='N'/>`, lowest first (the two are never mixed).
fn boot_order(os: Option<Node>, devices: Option<Node>) -> Vec<String> {
    let listed: Vec<String> = os
        .iter()
        .flat_map(|o| o.children().filter(|n| n.has_tag_name("boot")))
        .filter_map(|b| b.attribute("dev"))
        .map(clean)
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    let mut ordered: Vec<(u32, String)> = devices
        .iter()
        .flat_map(|d| d.children().filter(|n| n.is_element()))
        .filter_map(|n| {
            let boot = n.children().find(|c| c.has_tag_name("boot"))?;
            let order = boot.attribute("order")?.trim().parse().ok()?;
            let what = match (n.tag_name().name(), n.attribute("device")) {
                ("interface", _) => "network".to_owned(),
                ("disk", Some("cdrom")) => "cdrom".to_owned(),
                ("disk", Some("floppy")) => "fd".to_owned(),
                ("disk", _) => "hd".to_owned(),
                (other, _) => clean(other),
            };
            Some((order, what))
        })
        .collect();
    ordered.sort_by_key(|(o, _)| *o);
    ordered.into_iter().map(|(_, w)| w).collect()
}

/// Reads fleetwatch's own metadata element. A bad attribute is noted, not fatal: the rest of
/// what the element says still counts.
fn fleet_meta(n: Node) -> FleetMeta {
    let mut meta = FleetMeta::default();
    let find = |name: &str| {
        n.children()
            .find(|c| c.is_element() && c.tag_name().name() == name)
    };
    if let Some(a) = find("approval") {
        let attr = |k: &str| {
            a.attribute(k)
                .map(|v| clean(v.trim()))
                .filter(|v| !v.is_empty())
        };
        let mut approval = Approval {
            owner: attr("owner").unwrap_or_default(),
            ticket: attr("ticket").unwrap_or_default(),
            group: attr("group"),
            ..Approval::default()
        };
        if let Some(e) = attr("expires") {
            match parse_stamp(&e, DayEdge::End) {
                Ok(t) => approval.expires = Some(t),
                Err(err) => meta.problems.push(format!("approval expires: {err}")),
            }
        }
        match attr("vcpus").map(|v| v.parse::<u32>()) {
            Some(Ok(v)) => approval.vcpus = Some(v),
            Some(Err(_)) => meta
                .problems
                .push("approval vcpus is not a whole number".into()),
            None => {}
        }
        match attr("memory_mib").map(|v| v.parse::<u64>()) {
            Some(Ok(v)) => approval.memory_mib = Some(v),
            Some(Err(_)) => meta
                .problems
                .push("approval memory_mib is not a whole number".into()),
            None => {}
        }
        meta.approval = Some(approval);
    }
    if let Some(last) = find("backup").and_then(|b| b.attribute("last")) {
        match parse_stamp(last, DayEdge::Start) {
            Ok(t) => meta.backup_last = Some(t),
            Err(err) => meta
                .problems
                .push(format!("backup last: {}", clean(&err.to_string()))),
        }
    }
    meta
}

fn memory_of(n: Node) -> u64 {
    let v: u64 = n.text().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
    let unit = n.attribute("unit").unwrap_or("KiB");
    let mult: u64 = match unit {
        "b" | "bytes" => 1,
        "KB" => 1000,
        "k" | "KiB" => 1 << 10,
        "MB" => 1_000_000,
        "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "G" | "GiB" => 1 << 30,
        "TB" => 1_000_000_000_000,
        "T" | "TiB" => 1 << 40,
        _ => 1 << 10,
    };
    v.saturating_mul(mult)
}

fn attr_of(n: Node, child: &str, attr: &str) -> Option<String> {
    n.children()
        .find(|c| c.has_tag_name(child))
        .and_then(|c| c.attribute(attr))
        .map(clean)
}

fn disk_of(n: Node) -> DiskConfig {
    let kind = n.attribute("type").unwrap_or("file");
    let src = n.children().find(|c| c.has_tag_name("source"));
    let src_attr = |a: &str| src.and_then(|s| s.attribute(a)).map(clean);
    let (path, source) = match kind {
        "file" => (src_attr("file").unwrap_or_default(), DiskSource::File),
        "block" => (src_attr("dev").unwrap_or_default(), DiskSource::Block),
        "network" => (
            src_attr("name").unwrap_or_default(),
            DiskSource::Network {
                protocol: src_attr("protocol").unwrap_or_default(),
            },
        ),
        "volume" => (
            src_attr("volume").unwrap_or_default(),
            DiskSource::Volume {
                pool: src_attr("pool").unwrap_or_default(),
                pool_type: None,
            },
        ),
        other => (String::new(), DiskSource::Other(clean(other))),
    };
    DiskConfig {
        target: attr_of(n, "target", "dev").unwrap_or_default(),
        device: clean(n.attribute("device").unwrap_or("disk")),
        path,
        source,
    }
}

fn nic_of(n: Node) -> NicConfig {
    let kind = clean(n.attribute("type").unwrap_or(""));
    let source = ["network", "bridge", "dev"]
        .iter()
        .find_map(|a| attr_of(n, "source", a))
        .unwrap_or_default();
    NicConfig {
        mac: attr_of(n, "mac", "address").unwrap_or_default(),
        target: attr_of(n, "target", "dev"),
        kind,
        source,
        model: attr_of(n, "model", "type").unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const XML: &str = r#"<domain type='kvm'>
  <name>web-01</name>
  <title>Web &#x202E;front</title>
  <description>line one
line two</description>
  <metadata><other:x xmlns:other="urn:other"/><fw:fleet xmlns:fw="urn:fleetwatch:1"><fw:approval owner="a"/></fw:fleet></metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='MiB'>1024</currentMemory>
  <vcpu placement='static' current='2'>4</vcpu>
  <devices>
    <disk type='file' device='disk'><source file='/srv/shared/web-01.qcow2'/><target dev='vda' bus='virtio'/></disk>
    <disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vdb'/></disk>
    <disk type='volume' device='disk'><source pool='local' volume='v1'/><target dev='vdc'/></disk>
    <interface type='network'><mac address='52:54:00:aa:bb:cc'/><source network='default'/><target dev='vnet0'/><model type='virtio'/></interface>
    <interface type='bridge'><mac address='52:54:00:aa:bb:cd'/><source bridge='br0'/></interface>
  </devices>
</domain>"#;

    #[test]
    fn reads_what_the_ui_shows() {
        let c = parse(XML).unwrap();
        assert_eq!(c.title, "Web \u{FFFD}front");
        assert_eq!(c.description, "line one\nline two");
        assert_eq!(c.vcpus, 2);
        assert_eq!(c.memory_bytes, 1 << 30);
        assert_eq!(c.disks.len(), 3);
        assert_eq!(c.disks[0].path, "/srv/shared/web-01.qcow2");
        assert_eq!(
            c.disks[1].source,
            DiskSource::Network {
                protocol: "rbd".into()
            }
        );
        assert_eq!(
            c.disks[2].source,
            DiskSource::Volume {
                pool: "local".into(),
                pool_type: None
            }
        );
        assert_eq!(c.nics[0].target.as_deref(), Some("vnet0"));
        assert_eq!(c.nics[1].source, "br0");
        assert_eq!(c.nics[1].target, None);
        let f = c.fleet.as_ref().unwrap();
        assert_eq!(f.approval.as_ref().unwrap().owner, "a");
        assert_eq!(f.backup_last, None);
        let md = c.fleet_metadata.unwrap();
        assert!(
            md.starts_with("<fw:fleet") && md.contains("owner=\"a\""),
            "{md}"
        );
    }

    #[test]
    fn fleet_metadata_as_virsh_metadata_writes_it() {
        let xml = r#"<domain><name>x</name><metadata>
          <fleetwatch:fleet xmlns:fleetwatch="urn:fleetwatch:1">
            <fleetwatch:approval owner="team-db" ticket="CHG-7" expires="2027-01-31" group="db" vcpus="4" memory_mib="8192"/>
            <fleetwatch:backup last="2026-11-21T10:00:00Z"/>
          </fleetwatch:fleet></metadata></domain>"#;
        let f = parse(xml).unwrap().fleet.unwrap();
        let a = f.approval.unwrap();
        assert_eq!(
            (a.owner.as_str(), a.ticket.as_str(), a.group.as_deref()),
            ("team-db", "CHG-7", Some("db"))
        );
        assert_eq!((a.vcpus, a.memory_mib), (Some(4), Some(8192)));
        assert_eq!(a.expires.unwrap().to_rfc3339(), "2027-02-01T00:00:00+00:00");
        assert_eq!(
            f.backup_last.unwrap().to_rfc3339(),
            "2026-11-21T10:00:00+00:00"
        );
        assert!(f.problems.is_empty());
    }

    #[test]
    fn bad_metadata_attributes_are_noted_not_fatal() {
        let xml = r#"<domain><metadata><fw:fleet xmlns:fw="urn:fleetwatch:1">
            <fw:approval owner="x" vcpus="two" expires="someday"/><fw:backup last="never"/>
          </fw:fleet></metadata></domain>"#;
        let f = parse(xml).unwrap().fleet.unwrap();
        assert_eq!(f.approval.unwrap().owner, "x");
        assert_eq!(f.problems.len(), 3, "{:?}", f.problems);
        assert_eq!(f.backup_last, None);
    }

    #[test]
    fn the_boot_order_from_os_or_from_the_devices() {
        let os = "<domain><os><type>hvm</type><boot dev='network'/><boot dev='hd'/></os></domain>";
        assert_eq!(parse(os).unwrap().boot, ["network", "hd"]);
        let devices = "<domain><devices>\
            <disk device='cdrom'><boot order='3'/></disk>\
            <disk device='disk'><boot order='2'/></disk>\
            <interface type='bridge'><boot order='1'/></interface>\
            <interface type='bridge'/>\
            </devices></domain>";
        assert_eq!(parse(devices).unwrap().boot, ["network", "hd", "cdrom"]);
        assert!(parse(XML).unwrap().boot.is_empty(), "not said: the default");
        let hostile = "<domain><os><boot dev='net&#x202E;work'/></os></domain>";
        assert_eq!(parse(hostile).unwrap().boot, ["net\u{FFFD}work"]);
    }

    #[test]
    fn malformed_xml_is_an_error_not_a_panic() {
        assert!(parse("<domain><name>x</domain>").is_err());
    }
}
