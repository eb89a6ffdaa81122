//! Where a disk lives decides whether its VM can move: network disks and paths under a shared
//! prefix are reachable from every host; anything else is local to the host.

use super::sample::{DiskConfig, DiskSource};

/// Storage pool types whose volumes every host can reach.
pub const SHARED_POOLS: &[&str] = &[
    "netfs",
    "rbd",
    "iscsi",
    "iscsi-direct",
    "gluster",
    "sheepdog",
    "vstorage",
    "mpath",
];

pub fn is_shared(disk: &DiskConfig, shared_prefixes: &[String]) -> bool {
    match &disk.source {
        DiskSource::Network { .. } => true,
        DiskSource::File | DiskSource::Block => shared_prefixes
            .iter()
            .any(|p| !p.is_empty() && disk.path.starts_with(p.as_str())),
        DiskSource::Volume { pool_type, .. } => pool_type
            .as_deref()
            .is_some_and(|t| SHARED_POOLS.contains(&t)),
        DiskSource::Other(_) => false,
    }
}

/// The paths of a VM's disks (not CD-ROMs) that stay behind on its host when it migrates:
/// what a move without a storage copy cannot take along.
pub fn local_disk_paths(vm: &super::Vm, shared_prefixes: &[String]) -> Vec<String> {
    vm.config
        .iter()
        .flat_map(|c| c.disks.iter())
        .filter(|d| d.device == "disk" && !is_shared(d, shared_prefixes))
        .map(|d| d.path.clone())
        .collect()
}

pub fn source_label(s: &DiskSource) -> String {
    match s {
        DiskSource::File => "file".into(),
        DiskSource::Block => "block".into(),
        DiskSource::Network { protocol } => format!("network/{protocol}"),
        DiskSource::Volume { pool, pool_type } => match pool_type {
            Some(t) => format!("volume/{pool} ({t})"),
            None => format!("volume/{pool}"),
        },
        DiskSource::Other(o) => o.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disk(path: &str, source: DiskSource) -> DiskConfig {
        DiskConfig {
            target: "vda".into(),
            device: "disk".into(),
            path: path.into(),
            source,
        }
    }

    #[test]
    fn shared_by_prefix_or_network() {
        let p = vec!["/srv/shared/".to_owned()];
        assert!(is_shared(
            &disk("/srv/shared/a.qcow2", DiskSource::File),
            &p
        ));
        assert!(!is_shared(
            &disk("/srv/sharedx/a.qcow2", DiskSource::File),
            &p
        ));
        assert!(!is_shared(
            &disk("/var/lib/libvirt/images/a", DiskSource::File),
            &p
        ));
        assert!(is_shared(
            &disk(
                "pool/img",
                DiskSource::Network {
                    protocol: "rbd".into()
                }
            ),
            &[]
        ));
        assert!(!is_shared(
            &disk("/srv/shared/a", DiskSource::File),
            &[String::new()]
        ));
        let vol = |t: Option<&str>| DiskSource::Volume {
            pool: "p".into(),
            pool_type: t.map(str::to_owned),
        };
        assert!(is_shared(&disk("v", vol(Some("netfs"))), &[]));
        assert!(!is_shared(&disk("v", vol(Some("dir"))), &[]));
        assert!(!is_shared(&disk("v", vol(None)), &[]));
    }
}
