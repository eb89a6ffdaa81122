//! A domain's snapshots: the newest is one piece of backup evidence, the list is what the
//! snapshots pane shows. Listing is one round trip and the current one another; a snapshot's
//! XML (creation time, state, parent) is read once, when it is first seen.

use super::meter::Meter;
use chrono::{DateTime, Utc};
use fleetwatch_core::model::sample::SnapshotInfo;
use fleetwatch_core::sanitize::clean;
use std::collections::HashMap;
use virt::domain::Domain;

/// What a snapshot's XML says; `None` fields were not there (or not readable).
#[derive(Debug, Clone, Default, PartialEq)]
struct Parsed {
    created: Option<DateTime<Utc>>,
    state: String,
    parent: Option<String>,
}

#[derive(Debug, Default)]
pub struct SnapshotCache {
    seen: HashMap<String, Parsed>,
}

pub type Newest = Option<(String, DateTime<Utc>)>;

impl SnapshotCache {
    /// Every snapshot, oldest first, or `None` when the list could not be read: that is
    /// "unknown", never "no snapshot".
    pub fn list(&mut self, dom: &Domain, meter: &mut Meter) -> Option<Vec<SnapshotInfo>> {
        let snaps = meter.rpc(|| dom.list_all_snapshots(0)).ok()?;
        let mut seen = HashMap::with_capacity(snaps.len());
        for s in &snaps {
            // The name is in the handle: no round trip.
            let Ok(name) = s.name() else { continue };
            let p = match self.seen.get(&name) {
                Some(p) => p.clone(),
                None => meter
                    .rpc(|| s.xml_desc(0))
                    .ok()
                    .map(|x| parse(&x))
                    .unwrap_or_default(),
            };
            seen.insert(name, p);
        }
        // Forget deleted snapshots.
        self.seen = seen;
        let current = if self.seen.is_empty() {
            None
        } else {
            meter
                .rpc(|| dom.current_snapshot(0))
                .ok()
                .and_then(|s| s.name().ok())
        };
        let mut out: Vec<SnapshotInfo> = self
            .seen
            .iter()
            .map(|(n, p)| SnapshotInfo {
                name: clean(n),
                created: p.created,
                state: clean(&p.state),
                parent: p.parent.as_deref().map(clean),
                current: current.as_deref() == Some(n.as_str()),
            })
            .collect();
        // Creation times are whole seconds: within one, a child comes after its parent.
        let parents: HashMap<String, Option<String>> = out
            .iter()
            .map(|s| (s.name.clone(), s.parent.clone()))
            .collect();
        let depth = |name: &str| {
            let mut d = 0;
            let mut at = parents.get(name).cloned().flatten();
            // Bounded, as a cycle in hostile XML must not hang the poll.
            while let Some(p) = at.filter(|_| d < parents.len()) {
                d += 1;
                at = parents.get(&p).cloned().flatten();
            }
            d
        };
        out.sort_by_cached_key(|s| (s.created, depth(&s.name), s.name.clone()));
        Some(out)
    }
}

/// The newest snapshot of a list, by creation time.
pub fn newest(list: &[SnapshotInfo]) -> Newest {
    list.iter()
        .filter_map(|s| s.created.map(|t| (s.name.clone(), t)))
        .max_by_key(|(_, t)| *t)
}

fn parse(xml: &str) -> Parsed {
    let Ok(doc) = roxmltree::Document::parse(xml) else {
        return Parsed::default();
    };
    let root = doc.root_element();
    let child = |tag: &str| root.children().find(|n| n.has_tag_name(tag));
    let text = |tag: &str| {
        child(tag)
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
    };
    Parsed {
        created: text("creationTime")
            .and_then(|s| s.parse::<i64>().ok())
            .and_then(|secs| DateTime::from_timestamp(secs, 0)),
        state: text("state").unwrap_or_default(),
        parent: child("parent")
            .and_then(|p| p.children().find(|n| n.has_tag_name("name")))
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_creation_time_state_and_parent() {
        let x = "<domainsnapshot><name>n</name><state>running</state><parent><name>base</name></parent>\
                 <creationTime>1763690000</creationTime></domainsnapshot>";
        let p = parse(x);
        assert_eq!(p.created.unwrap().to_rfc3339(), "2025-11-21T01:53:20+00:00");
        assert_eq!(
            (p.state.as_str(), p.parent.as_deref()),
            ("running", Some("base"))
        );
        assert_eq!(parse("<domainsnapshot/>"), Parsed::default());
        assert_eq!(parse("not xml"), Parsed::default());
    }

    #[test]
    fn snapshots_on_the_test_driver() {
        crate::libvirt_init();
        let conn = virt::connect::Connect::open(Some("test:///default")).unwrap();
        let dom = conn.lookup_domain_by_name("test").unwrap();
        let beat = crate::Heartbeat::new();
        let mut meter = Meter::new(&beat);
        let mut cache = SnapshotCache::default();
        assert_eq!(cache.list(&dom, &mut meter), Some(Vec::new()));
        assert_eq!(meter.calls, 1, "an empty list is one round trip");
        for name in ["first", "second"] {
            dom.create_snapshot_xml(
                &format!("<domainsnapshot><name>{name}</name></domainsnapshot>"),
                0,
            )
            .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let list = cache.list(&dom, &mut meter).unwrap();
        let (name, t) = newest(&list).unwrap();
        assert_eq!(name, "second");
        assert_eq!(list[1].parent.as_deref(), Some("first"));
        assert!(list[1].current && !list[0].current);
        assert_eq!(list[0].state, "running");
        // List, each new snapshot's XML once, the current one; listed again, no XML.
        assert_eq!(meter.calls, 5);
        cache.list(&dom, &mut meter);
        assert_eq!(meter.calls, 7);
        assert!((Utc::now() - t).num_seconds() < 10);
        for s in dom.list_all_snapshots(0).unwrap() {
            s.delete(0).unwrap();
        }
        assert_eq!(cache.list(&dom, &mut meter), Some(Vec::new()));
    }
}
