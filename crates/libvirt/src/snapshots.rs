//! The newest snapshot of a domain, one piece of backup evidence. Listing is one round trip; a
//! snapshot's XML (for its creation time) is read once, when it is first seen.

use super::meter::Meter;
use chrono::{DateTime, Utc};
use fleetwatch_core::sanitize::clean;
use std::collections::HashMap;
use virt::domain::Domain;

#[derive(Debug, Default)]
pub struct SnapshotCache {
    created: HashMap<String, Option<DateTime<Utc>>>,
}

pub type Newest = Option<(String, DateTime<Utc>)>;

impl SnapshotCache {
    /// The newest snapshot, `Some(None)` when there is none, and `None` when the list could not
    /// be read: that is "unknown", never "no snapshot".
    pub fn newest(&mut self, dom: &Domain, meter: &mut Meter) -> Option<Newest> {
        let snaps = meter.rpc(|| dom.list_all_snapshots(0)).ok()?;
        let mut seen = HashMap::with_capacity(snaps.len());
        for s in &snaps {
            // The name is in the handle: no round trip.
            let Ok(name) = s.name() else { continue };
            let t = match self.created.get(&name) {
                Some(t) => *t,
                None => meter
                    .rpc(|| s.xml_desc(0))
                    .ok()
                    .and_then(|x| creation_time(&x)),
            };
            seen.insert(name, t);
        }
        // Forget deleted snapshots.
        self.created = seen;
        Some(
            self.created
                .iter()
                .filter_map(|(n, t)| t.map(|t| (clean(n), t)))
                .max_by_key(|(_, t)| *t),
        )
    }
}

fn creation_time(xml: &str) -> Option<DateTime<Utc>> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let secs: i64 = doc
        .root_element()
        .children()
        .find(|n| n.has_tag_name("creationTime"))?
        .text()?
        .trim()
        .parse()
        .ok()?;
    DateTime::from_timestamp(secs, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_creation_time() {
        let x = "<domainsnapshot><name>n</name><creationTime>1763690000</creationTime></domainsnapshot>";
        assert_eq!(
            creation_time(x).unwrap().to_rfc3339(),
            "2025-11-21T01:53:20+00:00"
        );
        assert!(creation_time("<domainsnapshot/>").is_none());
    }

    #[test]
    fn newest_snapshot_on_the_test_driver() {
        crate::libvirt_init();
        let conn = virt::connect::Connect::open(Some("test:///default")).unwrap();
        let dom = conn.lookup_domain_by_name("test").unwrap();
        let beat = crate::Heartbeat::new();
        let mut meter = Meter::new(&beat);
        let mut cache = SnapshotCache::default();
        assert_eq!(cache.newest(&dom, &mut meter), Some(None));
        assert_eq!(meter.calls, 1, "an empty list is one round trip");
        for name in ["first", "second"] {
            dom.create_snapshot_xml(
                &format!("<domainsnapshot><name>{name}</name></domainsnapshot>"),
                0,
            )
            .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let (name, t) = cache.newest(&dom, &mut meter).unwrap().unwrap();
        assert_eq!(name, "second");
        // List, then each new snapshot's XML once; listed again, only the list.
        assert_eq!(meter.calls, 4);
        cache.newest(&dom, &mut meter);
        assert_eq!(meter.calls, 5);
        assert!((Utc::now() - t).num_seconds() < 10);
        for s in dom.list_all_snapshots(0).unwrap() {
            s.delete(0).unwrap();
        }
        assert_eq!(cache.newest(&dom, &mut meter), Some(None));
    }
}
